# SPDX-License-Identifier: LGPL-2.1-or-later
"""Groups of small tasks in one call: what makes Parallel cheap per task.

Every ``Joblib.Call`` crosses from Python into C and back (a source
callback, argument and result variants, a result signal): microseconds
that dwarf a task like ``x + 1``.  joblib pays per task too, and batches
for it.  Here ``Parallel`` groups consecutive tasks into one call made with
``Joblib.Call.new_with_task_count`` (so progress, verbose lines and the
automatic batch size still count tasks) and the group runs in a loop:

* on process backends, ``run_chunk`` below runs in the Python worker on a
  pickled list of tasks (functions by module and name, or pickled by
  value as their references are) and returns its results pickled, with
  the time they took;
* on threads (and n_jobs=1), the group stays a Python list in this
  process and ``run_local_chunk`` runs it: nothing is converted at all.

The size of a group adapts as joblib's batches do: it starts at one task
and aims at about 10 ms of work, growing at most twice at a time, so that
slow tasks are never grouped and the C dispatcher keeps balancing the
work between workers.
"""

import itertools
import pickle
import sys
import threading
import time

from . import _interrupt
from ._functions import PythonFunction, mapped_result, pickled_function_or_name, \
    qualified_name, raise_as_glib_error, run_nested
from ._gi import GLib, Joblib
from ._values import _PLAIN_TYPES, _needs_variant, dumps, from_variant, pickled_args_variant


def _note_task(exc, index, func):
    """The note a failed task gets, as the C run writes it for one call:
    "task 12 (module.function)"."""
    if hasattr(exc, "add_note"):
        exc.add_note(f"task {index} ({qualified_name(func)})")


# --- in the worker process ------------------------------------------------

_resolved = {}
# Functions sent by value are kept for the next groups of their run, but
# not for ever: a pickled callable may carry data (joblib's batches carry
# the estimator and the arrays of a scikit-learn fit), so the worker
# would keep every one it ever ran.
_RESOLVED_PICKLES = 16


def _resolve(entry):
    """A function table entry: ("name", module, qualname) or
    ("pickle", bytes), as _FunctionTable makes them."""
    found = _resolved.get(entry)
    if found is None:
        if entry[0] == "pickle" and \
                sum(1 for key in _resolved if key[0] == "pickle") >= _RESOLVED_PICKLES:
            for key in [key for key in _resolved if key[0] == "pickle"]:
                del _resolved[key]
        import importlib
        kind = entry[0]
        if kind == "name":
            found = importlib.import_module(entry[1])
            for part in entry[2].split("."):
                found = getattr(found, part)
        elif kind == "pickle":
            found = pickle.loads(entry[1])
        else:
            raise ValueError(f"unknown function entry {kind!r}")
        _resolved[entry] = found
    return found


def run_chunk(first, table, data):
    """Run the tasks of a group in a worker process.  ``data`` is the
    pickle of the group's columns (see TaskSource._remote_group): the
    function of each task (an index in ``table``, or None when all run
    the first), the argument tuples, and the keyword arguments (None when
    no task has any).  Returns the pickled (seconds, results): bytes, which
    travel as an ``ay`` variant (written by the worker with no GLib call)."""
    funcs = [_resolve(entry) for entry in table]
    indexes, args_list, kwargs_list = pickle.loads(data)
    start = time.perf_counter()
    results = []
    append = results.append
    try:
        if indexes is None and kwargs_list is None:
            func = funcs[0]
            for args in args_list:
                append(func(*args))
        else:
            for position, args in enumerate(args_list):
                func = funcs[0 if indexes is None else indexes[position]]
                append(func(*args) if kwargs_list is None else
                       func(*args, **kwargs_list[position]))
    except BaseException as exc:  # noqa: BLE001 -- re-raised with its task
        position = len(results)
        _note_task(exc, first + position, funcs[0 if indexes is None else indexes[position]])
        raise
    elapsed = time.perf_counter() - start
    numpy = sys.modules.get("numpy")
    if numpy is not None and any(type(result) is numpy.memmap for result in results):
        results = [mapped_result(result) for result in results]
    # as loky sends results: classes that exist only here go by value
    return dumps((elapsed, results), by_value=True)


def read_chunk_result(value):
    """(seconds, results) of a value returned by run_chunk, as the parent
    reads it: bytes, or the ``ay`` GLib.Variant a worker of an earlier
    version answered."""
    if isinstance(value, GLib.Variant):
        value = value.get_data_as_bytes().get_data() or b""
    return pickle.loads(value)


# --- in this process (threads, n_jobs=1) ----------------------------------

_local_chunks = {}
_local_lock = threading.Lock()
_local_ids = itertools.count(1)


def add_local_chunk(first, tasks, level=None):
    """Keep a group of (function, args, kwargs) for run_local_chunk, whose
    tasks run at nesting ``level``; its id."""
    chunk_id = next(_local_ids)
    with _local_lock:
        _local_chunks[chunk_id] = (first, tasks, level)
    return chunk_id


def run_local_chunk(chunk_id):
    """Run a group kept by add_local_chunk (on a worker thread)."""
    with _local_lock:
        first, tasks, level = _local_chunks[chunk_id]
    if level is not None:
        return run_nested(level, _run_local_tasks, chunk_id, first, tasks)
    return _run_local_tasks(chunk_id, first, tasks)


def _run_local_tasks(chunk_id, first, tasks):
    start = time.perf_counter()
    results = []
    for position, (function, args, kwargs) in enumerate(tasks):
        try:
            results.append(function(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 -- re-raised with its task
            _note_task(exc, first + position, function)
            raise
    elapsed = time.perf_counter() - start
    with _local_lock:
        _local_chunks[chunk_id] = (first, None, (elapsed, results))
    return chunk_id


def take_local_result(chunk_id):
    """(seconds, results) of a group that ran, forgetting it."""
    with _local_lock:
        return _local_chunks.pop(chunk_id)[2]


def forget_local_chunks(chunk_ids):
    """Drop groups that never ran or whose results nobody took."""
    with _local_lock:
        for chunk_id in chunk_ids:
            _local_chunks.pop(chunk_id, None)


# --- in the parent ------------------------------------------------------------

class ChunkSizer:
    """How many tasks the next group holds: about TARGET seconds of work."""

    TARGET = 0.01
    MAX = 10000

    def __init__(self):
        self.size = 1

    def update(self, n_tasks, seconds):
        if n_tasks <= 0:
            return
        per_task = seconds / n_tasks
        ideal = self.MAX if per_task <= 0 else int(self.TARGET / per_task)
        if ideal > self.size:
            # A group much shorter than the size says little about the
            # next ones: only one of at least half the size makes it
            # double.  Half, not all: several groups are in flight, those
            # sent before the last doubling are half the size, and each
            # of them doubling it too makes the ramp from one task to
            # large groups take about three round trips to the workers
            # rather than ten (each costs a wake-up of a worker and of
            # this process, and a call of a few tasks).
            if 2 * n_tasks >= self.size:
                self.size = min(ideal, self.size * 2, self.MAX)
        else:
            self.size = max(1, ideal)


class FunctionTable:
    """The functions of a run's groups, as run_chunk finds them: by module
    and qualified name when that names them, else pickled by value (the
    same rule as function references)."""

    def __init__(self):
        self.entries = {}

    def entry(self, func):
        key = id(func)
        found = self.entries.get(key)
        if found is None:
            found = self.entries[key] = (func, pickled_function_or_name(func))
        return found[1]


def _is_variant(value):
    return isinstance(value, GLib.Variant)


def unpack_task(task):
    """(function, args, kwargs) of a delayed(f)(...) call, checked."""
    try:
        function, args, kwargs = task
    except (TypeError, ValueError):
        raise TypeError("Parallel expects an iterable of delayed(f)(...) calls") from None
    if not callable(function):
        raise TypeError(f"delayed() needs a callable, not {type(function).__name__}")
    return function, args, kwargs


_runners = {}
_runners_lock = threading.Lock()


def _runner(func):
    """The PythonFunction of run_chunk or run_local_chunk, made once."""
    with _runners_lock:
        found = _runners.get(func)
        if found is None:
            found = _runners[func] = PythonFunction(func)
        return found


class TaskSource:
    """The calls of one Parallel run, pulled by the C dispatcher one at a
    time (``next_call``, its JobCallIterateFunc), and the results of each
    call's tasks (``results_of``).

    ``grouping`` is None (one call per task), "local" (groups run by
    run_local_chunk in this process) or "remote" (groups run by run_chunk
    in worker processes).  ``single_call`` makes the call of one task.
    Tasks that cannot be grouped (cached functions, and for "remote"
    arrays or variants as arguments, which keep their zero-copy path) get
    their own call."""

    def __init__(self, iterator, single_call, grouping, level=None, memmapper=None):
        self.level = level       # the nesting level of local groups' tasks
        # the run's _memmapping.Memmapper (local process workers), closed
        # with the source: arrays go in groups too, the large ones mapped
        self.memmapper = memmapper
        self.iterator = iterator
        self.single_call = single_call
        self.grouping = grouping
        self.sizer = ChunkSizer()
        self.table = FunctionTable()
        # per call: (kind, first task, number of tasks, function of a group)
        self.spans = []
        self.n_tasks = 0
        self.pending = None      # a task pulled but not yet in a call
        self.exhausted = False
        self.local_ids = set()

    def next_call(self, *_user_data):
        # (True, call), (True, None) at the end; an exception fails the
        # run: as a GLib.Error that carries it, or, should even that fail,
        # as the (False, None) PyGObject returns, never as an early end.
        try:
            return True, self._next_call()
        except BaseException as exc:  # noqa: BLE001 -- must reach C as an error
            raise_as_glib_error(exc)

    def _pull(self):
        if self.pending is not None:
            task, self.pending = self.pending, None
            return task
        if self.exhausted:
            return None
        try:
            return unpack_task(next(self.iterator))
        except StopIteration:
            self.exhausted = True
            return None

    def _next_call(self):
        task = self._pull()
        if task is None:
            return None
        if self.grouping is None or not self._groupable(*task):
            first = self.n_tasks
            call = self.single_call(task)
            self.spans.append(("one", first, 1, None))
            self.n_tasks += 1
            return call
        if self.grouping == "remote":
            return self._remote_group(*task)
        group = [task]
        while len(group) < self.sizer.size:
            task = self._pull()
            if task is None:
                break
            if not self._groupable(*task):
                self.pending = task
                break
            group.append(task)
        return self._local_group(group)

    def _groupable(self, function, args, kwargs):
        if isinstance(function, PythonFunction) or \
                getattr(function, "_joblib_glib_make_call", None) is not None:
            return False
        if self.grouping == "local":
            return True
        for value in args:
            if type(value) not in _PLAIN_TYPES:
                break
        else:
            if not kwargs or all(type(value) in _PLAIN_TYPES for value in kwargs.values()):
                return True   # the common case: scalars and plain containers
        # Variants keep a call of their own; arrays too without a memmapper
        # (zero copy), and with one when they are small and alone with
        # scalars (Memmapper.keeps_variant); else they are pickled, large
        # ones mapped.
        values = list(itertools.chain(args, kwargs.values()))
        if self.memmapper is not None:
            return not self.memmapper.keeps_variant(values) and \
                not any(_is_variant(value) for value in values)
        return not any(_needs_variant(value) for value in values)

    def _remote_group(self, function, args, kwargs):
        """The call of a group run by run_chunk in a worker, from its first
        task (groupable) and the next ones of the input.  The group goes
        as columns (the function of each task only when they differ, the
        keyword arguments only when a task has some), pickled once: the
        loop below is the only work done per task, and a task of the
        function already in the group with plain arguments (the common
        case) costs no call of a Python function in it."""
        first = self.n_tasks
        size = self.sizer.size
        table = [self.table.entry(function)]
        functions = [function]
        indexes = None
        args_list = [args]
        kwargs_list = [kwargs] if kwargs else None
        head = function
        if size > 1:
            plain = _PLAIN_TYPES.issuperset
            add_args = args_list.append
            positions = {id(head): 0}
            for item in itertools.islice(self.iterator, size - 1):
                try:
                    function, args, kwargs = item
                except (TypeError, ValueError):
                    unpack_task(item)   # raises joblib's TypeError
                index = 0 if function is head else positions.get(id(function))
                if index is None or not plain(map(type, args)) or \
                        (kwargs and not plain(map(type, kwargs.values()))):
                    function, args, kwargs = unpack_task(item)
                    if not self._groupable(function, args, kwargs):
                        self.pending = (function, args, kwargs)
                        break
                    if index is None:
                        index = positions[id(function)] = len(functions)
                        functions.append(function)
                        table.append(self.table.entry(function))
                if index or indexes is not None:
                    if indexes is None:
                        indexes = [0] * len(args_list)
                    indexes.append(index)
                if kwargs or kwargs_list is not None:
                    if kwargs_list is None:
                        kwargs_list = [{}] * len(args_list)
                    kwargs_list.append(kwargs)
                add_args(args)
            else:
                if len(args_list) < size:
                    self.exhausted = True
        n_tasks = len(args_list)
        tasks = (indexes, args_list, kwargs_list)
        data = dumps(tasks, by_value=True) if self.memmapper is None else \
            self.memmapper.dumps(tasks)
        # the table holds names and pickles already: plain pickle suffices
        payload = pickle.dumps(((first, table, data), False), protocol=pickle.HIGHEST_PROTOCOL)
        call = Joblib.Call.new_with_task_count(_runner(run_chunk).referenced(),
                                               pickled_args_variant(payload), n_tasks)
        self.spans.append(("remote", first, n_tasks, head))
        self.n_tasks += n_tasks
        return call

    def _local_group(self, group):
        first = self.n_tasks
        chunk_id = add_local_chunk(first, group, self.level)
        self.local_ids.add(chunk_id)
        runner = _runner(run_local_chunk)
        call = Joblib.Call.new_with_task_count(
            runner.gfunction, runner.make_args((chunk_id,), {}), len(group))
        self.spans.append((self.grouping, first, len(group), group[0][0]))
        self.n_tasks += len(group)
        return call

    def results_of(self, index, value):
        """The results of the tasks of call ``index`` (in task order), from
        the call's result ``value``; groups also size the next ones."""
        kind, _first, n_tasks, _function = self.spans[index]
        if kind == "one":
            # Results are ours alone: arrays in them may be written to.
            return [from_variant(value, writable=True)]
        if kind == "remote":
            seconds, results = read_chunk_result(from_variant(value))
        else:
            chunk_id = from_variant(value)
            self.local_ids.discard(chunk_id)
            seconds, results = take_local_result(chunk_id)
        self.sizer.update(n_tasks, seconds)
        return results

    def describe_call(self, index):
        """How an error names call ``index``: "task 12 (module.f)", or for
        a group "tasks 12-19 (module.f)" (its tasks, its first function)."""
        try:
            _kind, first, n_tasks, function = self.spans[index]
        except (IndexError, TypeError):
            return "a task of the Parallel call"
        if function is None:
            return None
        name = qualified_name(function)
        if n_tasks == 1:
            return f"task {first} ({name})"
        return f"tasks {first}-{first + n_tasks - 1} ({name})"

    def close(self):
        """Forget the groups of this process that never ran or were not read."""
        forget_local_chunks(self.local_ids)
        self.local_ids.clear()
        if self.memmapper is not None:
            self.memmapper.close()


# The input generator runs inside next_call: Ctrl-C there ends the run as
# an error of the source.
_interrupt.raise_inside(TaskSource.next_call)
