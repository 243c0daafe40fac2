# SPDX-License-Identifier: LGPL-2.1-or-later
"""joblib's Parallel and delayed over Joblib.Parallel (the scopes: _config)."""

import asyncio
import collections
import contextlib
import json
import re
import sys
import threading
import warnings
import weakref

from . import _backend_base, _interrupt
from ._chunks import TaskSource, unpack_task
from ._cluster import remote_n_jobs, start_exception
from ._config import (DEFAULTS, _DEFAULT_BACKEND, _backend_name, _backend_object,
                      _is_process_backend, _parse_nbytes, _python_backend, _scope_names_backend,
                      _scope_python_backend, check_mmap_mode, check_temp_folder, is_shared_backend,
                      parallel_backend, parallel_config, register_parallel_backend,
                      scope_setting)
from ._functions import DEFAULT_ARRAYS, FunctionCache, TerminatedWorkerError, \
    forget_exceptions, nesting_level, reraise, run_nested
from ._gi import Gio, GLib, Joblib
from ._logger import write_verbose_line
from ._memmapping import Memmapper


class _Delayed:
    """``delayed(f)``: calling it captures the arguments. A class rather
    than a functools.wraps closure, which costs microseconds per task."""

    __slots__ = ("function",)

    def __init__(self, function):
        self.function = function

    def __call__(self, *args, **kwargs):
        return self.function, args, kwargs

    def __getattr__(self, name):
        return getattr(self.function, name)

    def __repr__(self):
        return f"delayed({self.function!r})"


_new_object = object.__new__


def delayed(function):
    """Capture a function and its arguments: ``delayed(f)(*args, **kwargs)``."""
    # made without calling __init__: one Python frame less per task
    captured = _new_object(_Delayed)
    captured.function = function
    return captured


def cpu_count(only_physical_cores=False):
    """The number of CPUs this process may use (affinity and cgroup aware)."""
    return Joblib.cpu_count()


def effective_n_jobs(n_jobs=-1):
    """joblib's n_jobs rules: -1 all CPUs, -2 all but one, 0 is an error.
    As joblib asks the active backend: inside a parallel_config of a
    backend of other machines (ssh, dask, ipyparallel, slurm) the workers
    a run of it gets, which is what ``Parallel(n_jobs)`` uses there (see
    _cluster.remote_n_jobs)."""
    if n_jobs == 1:
        return 1
    config = Joblib.ParallelConfig.get_current()
    if n_jobs is None:
        n_jobs = _current_config_n_jobs(config)
    try:
        local = Joblib.effective_n_jobs(n_jobs)
    except GLib.Error as error:
        raise ValueError(error.message) from None
    backend = config.get_backend()
    if isinstance(backend, Joblib.RemoteBackend) and _scope_python_backend() is None:
        return remote_n_jobs(backend, n_jobs, local)
    return local


def _current_config_n_jobs(config=None):
    n_jobs = (config or Joblib.ParallelConfig.get_current()).get_n_jobs()
    return 1 if n_jobs == Joblib.N_JOBS_DEFAULT else n_jobs


# Nested Parallel calls deeper than this raise RecursionError (below it
# they run in their caller from the second level on: see Parallel.__init__)
MAX_NESTING = 64
def _check_channel(backend):
    """Refuse a cluster backend whose workers' answers could be altered on
    the network: results of Python tasks are pickles, and unpickling runs
    code, so they may only arrive over a channel that is authenticated
    (always) and integrity-protected (TLS, or loopback)."""
    if not isinstance(backend, (Joblib.SlurmBackend, Joblib.SshBackend,
                                Joblib.ClusterBackend)):
        return
    if backend.props.tls_certificate is not None or backend.props.tls:
        return
    address = backend.props.listen_address
    inet = Gio.InetAddress.new_from_string(address) if address else None
    if inet is not None and inet.get_is_loopback():
        return
    raise ValueError(
        f"this {type(backend).__name__} has tls=False and listens off loopback "
        f"({address or 'every interface'}): the results of Python tasks are "
        "pickles, which joblib_glib unpickles only from TLS or loopback "
        "connections; keep tls on, or listen on 127.0.0.1")


_worker_path = {"value": None}
_worker_lock = threading.Lock()

# Run by the worker's interpreter: the caller's sys.path first, so that
# the worker imports the same modules (the script's folder, pytest's
# rootdir, a virtualenv), then the worker itself.
_WORKER_BOOTSTRAP = (
    "import json, sys; "
    "sys.path[:0] = [p for p in json.loads(sys.argv.pop(1)) if p not in sys.path]; "
    "from joblib_glib.worker import main; sys.exit(main())"
)


def _python_executable():
    return sys.executable or "/usr/bin/python3"


def _prepare_python_worker():
    """Point the process backend's "python" workers at this interpreter
    and this sys.path (done again when sys.path changes)."""
    path = [p or "." for p in sys.path]
    with _worker_lock:
        if _worker_path["value"] == path:
            return
        _worker_path["value"] = path
        Joblib.ProcessBackend.set_worker_command(
            "python", [_python_executable(), "-c", _WORKER_BOOTSTRAP, json.dumps(path)])



class Parallel:
    """Run ``delayed`` calls on several workers: joblib's ``Parallel``.

    ``Parallel(n_jobs=2)(delayed(f)(x) for x in xs)`` returns the results in
    input order; ``return_as="generator"`` yields them in order as they are
    ready and ``"generator_unordered"`` as they complete.
    """

    def __init__(self, n_jobs=None, backend=None, return_as="list", verbose=0, timeout=None,
                 pre_dispatch="2 * n_jobs", batch_size="auto", prefer=None, require=None,
                 max_nbytes=DEFAULTS["max_nbytes"], mmap_mode=DEFAULTS["mmap_mode"],
                 temp_folder=DEFAULTS["temp_folder"]):
        if return_as not in ("list", "generator", "generator_unordered"):
            raise ValueError(f"return_as must be 'list', 'generator' or 'generator_unordered', "
                             f"not {return_as!r}")
        if batch_size != "auto" and (not isinstance(batch_size, int) or batch_size < 1):
            raise ValueError(f"batch_size must be 'auto' or a positive integer, got: "
                             f"{batch_size!r}")
        config = Joblib.ParallelConfig.get_current()
        if n_jobs is None:
            # as joblib: the n_jobs of the parallel_config in force (which
            # is -1 inside parallel_backend(name) without one), else 1
            n_jobs = _current_config_n_jobs(config)
        else:
            # as joblib >= 1.3: 2.0 and "2" are 2, 1.5 is 1
            try:
                n_jobs = int(n_jobs)
            except ValueError:
                raise ValueError("n_jobs could not be converted to int") from None
        self.n_jobs = n_jobs
        self.return_as = return_as
        self.timeout = timeout
        self._parallel = Joblib.Parallel.new(n_jobs)
        self._python_backend = _python_backend(backend)
        if self._python_backend is None and backend is None and require is None and \
                prefer is None:
            self._python_backend = _scope_python_backend()
        if backend is None:
            # as joblib: the hints of the scope apply to the backend the
            # scope gives, not to one named here
            prefer = scope_setting("prefer", prefer)
            require = scope_setting("require", require)
        name = None if self._python_backend is not None else \
            _backend_name(backend, prefer, require)
        self._level = nesting_level()
        if self._python_backend is not None:
            name = "sequential"   # unused: the Python backend runs the tasks
        elif self._level >= 2:
            # joblib's thread-bomb mitigation: nested calls below the first
            # level run in their caller
            name = "sequential"
        elif self._level == 1 and backend is None and _scope_python_backend() is None and \
                not _scope_names_backend():
            name = "threading"   # the first nested level: threads
        elif name is None:
            name = config.get_backend() or config.get_backend_name() or _DEFAULT_BACKEND
            if isinstance(name, str) or require == "sharedmem":
                name = _backend_name(name, prefer, require, explicit=False)
        name = _backend_object(name)
        if is_shared_backend(name) and _one_job(n_jobs):
            # as joblib's process backends, which fall back to the
            # sequential one: the tasks get the caller's very objects
            name = "sequential"
        if isinstance(name, Joblib.Backend):
            self._parallel.set_backend(name)
        else:
            self._parallel.set_backend_name(name)
        self.backend = name
        self._backend_object = None
        self._backend_lock = threading.Lock()
        self._processes = _is_process_backend(name)
        self._grouping = _grouping(name) if batch_size == "auto" else None
        self._live_generators = weakref.WeakSet()
        max_nbytes = _parse_nbytes(scope_setting("max_nbytes", max_nbytes))
        mmap_mode = check_mmap_mode(scope_setting("mmap_mode", mmap_mode))
        self._temp_folder = check_temp_folder(scope_setting("temp_folder", temp_folder))
        arrays = (max_nbytes, mmap_mode)
        # None: joblib's defaults, which the workers know
        self._arrays = None if arrays == DEFAULT_ARRAYS else arrays
        if verbose:
            self._parallel.set_verbose(int(verbose))
        if timeout is not None:
            self._parallel.set_timeout(float(timeout))
        self._parallel.set_pre_dispatch(str(pre_dispatch))
        if batch_size != "auto":
            self._parallel.set_batch_size(batch_size)

    def __repr__(self):
        return f"Parallel(n_jobs={self.n_jobs})"

    def _run_parallel(self):
        """A Joblib.Parallel for one run, configured as self._parallel and
        sharing one backend object across runs (a thread backend keeps its
        threads): each run connects its own result handler, so runs of one
        Parallel (from several threads, or interleaved generators) never
        see each other's results."""
        with self._backend_lock:
            if self._backend_object is None:
                name = self._parallel.get_backend() or self._parallel.get_backend_name()
                self._backend_object = name if isinstance(name, Joblib.Backend) \
                    else Joblib.Backend.new_for_name(name)
        _check_channel(self._backend_object)
        parallel = Joblib.Parallel.new(self._parallel.get_n_jobs())
        parallel.set_backend(self._backend_object)
        parallel.set_verbose(self._parallel.get_verbose())
        parallel.set_timeout(self._parallel.get_timeout())
        parallel.set_pre_dispatch(self._parallel.get_pre_dispatch())
        parallel.set_batch_size(self._parallel.get_batch_size())
        return parallel

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __call__(self, iterable):
        if self._level >= MAX_NESTING:
            raise RecursionError(f"Parallel calls nested {self._level} levels deep: a task "
                                 f"that calls Parallel on itself without end?")
        if any(generator.gi_frame is not None for generator in self._live_generators):
            # as joblib: one run at a time per Parallel with a generator out
            raise RuntimeError("This Parallel instance is already running ! Before "
                               "submitting new tasks, you must wait for the completion of all "
                               "the previous tasks, or clean all references to the output "
                               "generator.")
        if self._level >= 2:
            # nested below the first level: a plain loop in the caller, as
            # joblib's SequentialBackend (stops at the first error)
            results = _run_inline(iterable, self._level + 1)
            return list(results) if self.return_as == "list" else results
        if self._python_backend is not None:
            results = _backend_base.run(self._python_backend, self, iterable, self.timeout)
            return list(results) if self.return_as == "list" else results
        source = self._make_source(iter(iterable))
        if self._processes:
            _prepare_python_worker()
        if self.return_as == "list":
            return self._run_list(source, None)
        generator = self._run_generator(source, ordered=self.return_as == "generator")
        self._live_generators.add(generator)
        return generator

    async def run_async(self, iterable):
        """``await parallel.run_async(calls)``: the results as a list,
        computed without blocking the asyncio event loop (the dispatcher
        runs in the loop's default executor).  Cancelling the awaiting task
        cancels the run: queued tasks are dropped, running workers stopped."""
        loop = asyncio.get_running_loop()
        cancellable = Gio.Cancellable.new()
        source = self._make_source(iter(iterable))
        if self._processes:
            _prepare_python_worker()
        future = loop.run_in_executor(None, self._run_list, source, cancellable)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            cancellable.cancel()
            with contextlib.suppress(BaseException):
                await future
            raise

    def start(self, iterable, on_done, on_progress=None, cancellable=None):
        """Start the run on the GLib main loop of this thread and return at
        once: the form for GTK applications (see
        :func:`joblib_glib.start`, which documents the arguments)."""
        from ._mainloop import start
        return start(self, iterable, on_done, on_progress, cancellable)

    # Hooks for _mainloop.start, which sits below this module: it reaches
    # them through the Parallel it is given, never by importing this one.
    def _prepare_workers(self):
        if self._processes:
            _prepare_python_worker()

    @staticmethod
    def _exception_of(error):
        """The exception __call__ raises for this GLib.Error."""
        try:
            _reraise(error)
        except BaseException as exc:  # noqa: BLE001 -- handed to on_done
            return exc
        return error

    def _make_source(self, iterator):
        # The input is consumed lazily, as workers free up (pre_dispatch),
        # like joblib does with generators; small tasks are grouped (see
        # _chunks).
        level = self._level + 1
        memmapper = self._memmapper()
        functions = FunctionCache(self._arrays if self._processes else None,
                                  None if self._processes else level, memmapper)
        return TaskSource(iterator, lambda task: self._to_call(task, functions), self._grouping,
                          level, memmapper)

    def _memmapper(self):
        """The run's Memmapper on local process workers (joblib maps
        arrays for loky and multiprocessing, not for one job, which runs
        in the caller, nor for remote workers)."""
        if not isinstance(self.backend, Joblib.ProcessBackend):
            return None
        if _one_job(self.n_jobs):
            return None
        max_nbytes, mmap_mode = self._arrays or DEFAULT_ARRAYS
        return Memmapper(max_nbytes, mmap_mode, self._temp_folder)

    def _to_call(self, task, functions):
        function, args, kwargs = unpack_task(task)
        make_call = getattr(function, "_joblib_glib_make_call", None)
        if make_call is not None:
            return make_call(args, kwargs, self._processes)
        return functions.get(function).make_call(args, kwargs, self._processes)

    def _run_list(self, source, cancellable):
        # Without groups the run keeps the results (no signal per call);
        # groups are read as they complete: their durations size the next
        # groups.
        run = _Run(self._run_parallel(), source, "collect" if source.grouping is None
                   else "ordered", cancellable)
        try:
            run.start()
            run.wait_done()
            run.raise_error()
            if run.ready is None:
                return [value for index, result in enumerate(run.results)
                        for value in source.results_of(index, result)]
            ready = run.ready
            return [value for index in range(len(ready)) for value in ready[index]]
        finally:
            run.close()

    def _run_generator(self, source, ordered):
        run = _Run(self._run_parallel(), source, "ordered" if ordered else "unordered", None)
        next_index = 0
        try:
            run.start()
            while True:
                if ordered:
                    while next_index in run.ready:
                        yield from run.ready.pop(next_index)
                        next_index += 1
                else:
                    while run.arrived:
                        yield run.arrived.popleft()
                if run.done:
                    break
                run.wait()
            run.raise_error()
            while ordered and next_index in run.ready:
                yield from run.ready.pop(next_index)
                next_index += 1
        finally:
            # Dropped half way (close(), garbage collection, an exception
            # in the consumer): cancel the rest and wait until the run has
            # released its tasks and workers.
            run.close()


def _one_job(n_jobs):
    try:
        return Joblib.effective_n_jobs(n_jobs) == 1
    except (GLib.Error, TypeError):
        return False   # the run reports it


def _run_inline(iterable, level):
    for task in iterable:
        function, args, kwargs = unpack_task(task)
        yield run_nested(level, function, *args, **kwargs) if not kwargs else \
            run_nested(level, lambda: function(*args, **kwargs))


class _Run:
    """One run of a Parallel call, waited for on a private main context in
    the caller's thread (the dispatcher, the task source and the result
    handler all run there).

    ``mode``: "collect" (the run keeps the results: ``results``), "ordered"
    (results of call i in ``ready[i]``) or "unordered" (results in
    ``arrived`` as they complete).  Any exception in a callback is kept and
    raised by ``raise_error`` in the caller, Ctrl-C included (see
    _interrupt)."""

    def __init__(self, parallel, source, mode, cancellable):
        self.parallel = parallel
        self.source = source
        self.context = GLib.MainContext.new()
        self.cancellable = Gio.Cancellable.new()
        self.outer = cancellable
        self.forward = 0
        self.handler = 0
        self.verbose_handler = 0
        self.started = False
        self.done = False
        self.error = None      # the run's GLib.Error
        self.failure = None    # an exception raised by a result handler
        self.results = None
        self.ready = {} if mode == "ordered" else None
        self.arrived = collections.deque() if mode == "unordered" else None
        self.guard = _interrupt.Guard(self.cancellable)

    def start(self):
        if self.outer is not None:
            self.forward = self.outer.connect(self.cancellable.cancel)
        if self.ready is not None:
            self.handler = self.parallel.connect("result", self._on_ordered)
        elif self.arrived is not None:
            self.handler = self.parallel.connect("result", self._on_unordered)
        self.verbose_handler = self.parallel.connect("verbose-line", self._on_verbose_line)
        _interrupt.enter(self.guard, self.context)
        self.context.push_thread_default()
        try:
            self.parallel.run_iterate_async(self.source.next_call, cancellable=self.cancellable,
                                            callback=self._on_done)
            self.started = True
        finally:
            self.context.pop_thread_default()

    def _failed(self, exc):
        if self.failure is None:
            self.failure = exc
        self.cancellable.cancel()

    def _on_ordered(self, _parallel, index, value):
        try:
            self.ready[index] = self.source.results_of(index, value)
        except BaseException as exc:  # noqa: BLE001 -- raised by the caller
            self._failed(exc)

    def _on_unordered(self, _parallel, index, value):
        try:
            self.arrived.extend(self.source.results_of(index, value))
        except BaseException as exc:  # noqa: BLE001 -- raised by the caller
            self._failed(exc)

    def _on_verbose_line(self, parallel, line):
        try:
            write_verbose_line(parallel, line)
        except BaseException as exc:  # noqa: BLE001 -- raised by the caller
            self._failed(exc)

    def _on_done(self, parallel, result):
        try:
            self.results = parallel.run_iterate_finish(result)
        except GLib.Error as error:
            self.error = error
        except BaseException as exc:  # noqa: BLE001 -- raised by the caller
            self._failed(exc)
        finally:
            self.done = True

    def wait(self):
        """Dispatch what is ready on the run's context, blocking for it."""
        context = self.context
        context.push_thread_default()
        try:
            context.iteration(True)
        finally:
            context.pop_thread_default()

    def wait_done(self):
        context = self.context
        context.push_thread_default()
        try:
            while not self.done:
                context.iteration(True)
        finally:
            context.pop_thread_default()

    def raise_error(self):
        """Raise what ended the run: Ctrl-C first, then a result handler's
        exception, then the run's error."""
        interrupted = self.guard.exception
        failure = interrupted if interrupted is not None else self.failure
        if failure is not None:
            self.guard.exception = None
            self.failure = None
            if self.error is not None:
                forget_exceptions([self.error])
                self.error = None
            raise failure
        if self.error is not None:
            error, self.error = self.error, None
            _reraise(error, self.source)

    def close(self):
        """Cancel the run if it is still going, wait for its end, let go."""
        try:
            if self.started and not self.done:
                self.cancellable.cancel()
                self.wait_done()
        finally:
            _interrupt.leave(self.guard)
            if self.handler:
                self.parallel.disconnect(self.handler)
                self.handler = 0
            if self.verbose_handler:
                self.parallel.disconnect(self.verbose_handler)
                self.verbose_handler = 0
            if self.forward:
                self.outer.disconnect(self.forward)
                self.forward = 0
            self.source.close()
            if self.error is not None:
                forget_exceptions([self.error])
            if self.guard.exception is not None and sys.exc_info()[1] is None:
                exc, self.guard.exception = self.guard.exception, None
                raise exc


_interrupt.record_inside(_Run.wait, _Run.wait_done, _Run._on_ordered, _Run._on_unordered,
                         _Run._on_done, _Run._on_verbose_line, _Run.start, _Run.close)



def _grouping(backend):
    """How Parallel groups small tasks on this backend (see _chunks):
    "remote" for Python worker processes, "local" for threads and the
    sequential backend, None (one call per task) for other backends."""
    if _is_process_backend(backend):
        return "remote"
    if isinstance(backend, (Joblib.ThreadBackend, Joblib.SequentialBackend)) or \
            backend in ("threading", "sequential"):
        return "local"
    return None


# The C run names the failed call ("task 27 (joblib_glib._chunks.run_chunk)"
# for a group of tasks); the worker noted the task itself ("task 777
# (module.f)", the last line of its traceback text; see _chunks).
_GROUP_CONTEXT = re.compile(r"task (\d+) \(joblib_glib\._chunks\.run_(?:local_)?chunk\)")
_TASK_NOTE = re.compile(r"^task \d+ \([^)\n]*\)$", re.MULTILINE)
_TASK_PREFIX = re.compile(r"^tasks? \d+")
_JOB_DOMAIN = "job-error-quark"
# Errors of the run itself as joblib raises them, the GLib.Error kept as
# __cause__.  Argument errors only when they are the run's, not a task's
# (a task's start with "task N (...)").
_RUN_EXCEPTIONS = {
    int(Joblib.Error.TIMEOUT): TimeoutError,
    int(Joblib.Error.WORKER_DIED): TerminatedWorkerError,
    int(Joblib.Error.INVALID_ARGUMENT): ValueError,
    int(Joblib.Error.UNKNOWN_BACKEND): ValueError,
    int(Joblib.Error.NESTING_TOO_DEEP): RecursionError,
}
_TASK_ONLY = (TimeoutError, TerminatedWorkerError, RecursionError)


def _name_tasks(text, source):
    """The user's function in place of the group runner in a message."""
    def name(match):
        found = source.describe_call(int(match.group(1))) if source is not None else None
        return found or "a task of the Parallel call"
    return _GROUP_CONTEXT.sub(name, text)


def _run_exception(error, source):
    if getattr(error, "domain", None) != _JOB_DOMAIN:
        return None
    # A backend of other machines that could not start: the workers of
    # the first tasks report it ("task 0 (f): Dask: cannot connect...").
    started = start_exception(error)
    if started is not None:
        return started
    kind = _RUN_EXCEPTIONS.get(error.code)
    if kind is None:
        return None
    message = error.message or ""
    if kind not in _TASK_ONLY and _TASK_PREFIX.match(message):
        return None
    return kind(_name_tasks(message, source))


def _reraise(error, source=None):
    exc = _run_exception(error, source)
    if exc is not None:
        raise exc from error
    try:
        reraise(error)
    except BaseException as exc:
        notes = getattr(exc, "__notes__", None)
        cause = exc.__cause__
        text = getattr(cause, "text", None)
        found = _TASK_NOTE.findall(text) if text else None
        if text and _GROUP_CONTEXT.search(text):
            cause.text = _GROUP_CONTEXT.sub(
                lambda m: found[-1] if found else _name_tasks(m.group(0), source), text)
            cause.args = (cause.text,)
        if notes and any(_GROUP_CONTEXT.search(note) for note in notes):
            if found:
                notes[:] = [_GROUP_CONTEXT.sub(found[-1], note) for note in notes]
            else:
                notes[:] = [_name_tasks(note, source) for note in notes]
        if isinstance(exc, GLib.Error) and exc.message and _GROUP_CONTEXT.search(exc.message):
            exc.message = _name_tasks(exc.message, source)
        raise


def _warn_once(message):
    warnings.warn(message, RuntimeWarning, stacklevel=3)


__all__ = ["Parallel", "delayed", "cpu_count", "effective_n_jobs", "parallel_config",
           "parallel_backend", "register_parallel_backend", "forget_exceptions"]
