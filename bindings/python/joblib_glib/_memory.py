# SPDX-License-Identifier: LGPL-2.1-or-later
"""joblib's Memory over Joblib.Memory and Joblib.MemorizedFunction.

A function's identity is its module and qualified name; its version is a
hash of its source (inspect.getsource), so editing the function clears
its cached results, as joblib does.  A cached function works inside
Parallel on threads and on the process backend: its workers open the same
cache folder (JobMemory is safe across processes).

The argument tuple given to C is (key_0 .. key_n-1, values, last):

* key_i: the lossless GVariant form of argument i with dicts in key order
  (what C hashes with xxh3), or a placeholder when the call is keyed by
  the hasher of _hashing (values without such a form); ignored arguments
  are left out of the hash by C;
* values: an ignored slot that carries the arguments themselves: a token
  for the objects of a call made in this process (the function gets the
  very objects, as with joblib), pickle bytes for another process, or ()
  when the keys give the values back exactly;
* last: the "opaque signature" flag, or (flag, digest) for hashed calls.

The handles on stored results are in _memory_results.

Outputs are stored losslessly (_values): pickled when they have no
GVariant form.  Pickled outputs are unpickled only from a cache folder
that nobody else can write (as ssh's StrictModes): see _folder_problem.
"""

import datetime
import functools
import glob
import itertools
import os
import stat
import struct
import sys
import threading
import time
import warnings

from gi.module import get_introspection_module

from . import _location
from ._functions import (PythonFunction, python_reference, qualified_name, reraise,
                         source_version)
from ._gi import Gio, GLib, Joblib
from ._hashing import DECODERS, call_key, key_packer
from ._memory_results import MemorizedResult, NotMemorizedFunc, _StoredResult
from ._persist import parse_compress
from ._store import NotMemorizedResult, StoreMemorizedFunc, get_store_backend
from ._values import dumps, from_variant, to_variant

_new_tuple = get_introspection_module("GLib").Variant.new_tuple
_new_uint64 = GLib.Variant.new_uint64
_TRUE = GLib.Variant.new_boolean(True)
_FALSE = GLib.Variant.new_boolean(False)
_UNIT = GLib.Variant("()", ())
_AY = GLib.VariantType.new("ay")
_ARGUMENTS = "joblib-glib:arguments"
# Stored results up to this size come back from a fast lookup as bytes;
# larger ones as the loaded GLib.Variant (no copy).
_INLINE_MAX = 4096
_new_variant_type = GLib.VariantType.new
_new_bytes = GLib.Bytes.new
_new_from_bytes = GLib.Variant.new_from_bytes
_unpack_int64 = struct.Struct("=q").unpack  # an int result, the most common
_MMAP_MODES = (None, "r", "r+", "w+", "c")

# token -> [values, opaque, output or _NOTHING, unpicklable (output, error)]
_pending = {}
# (thread ident, MemorizedPython id) -> the exception a
# cache_validation_callback raised in that thread for that function, until
# the call it was asked for raises it (see validation_func).  Not a threading.local: PyGObject gives each
# callback from a thread that C started a new Python thread state, so such
# locals are gone by the next callback.
_failed_checks = {}
# thread ident -> (MemorizedPython, _pending entry) of the call that this
# thread's MemorizedFunc._run has in C right now: when C calls that very
# function back in the same thread (a direct call's miss), _invoke takes
# the values from here instead of reading the argument tuple, about seven
# PyGObject calls and their variants.  Taken once (a call the function
# makes inside reads its own arguments); the token in the tuple stays the
# way for every other caller (Parallel, worker threads, processes).
_calling = {}
_tokens = itertools.count(1)
# Free (token, uint64 variant) pairs: a call takes one and gives it back,
# so a hit makes no token variant (a PyGObject constructor, then a Python
# __del__ and an unref: about a tenth of a hit).  list.pop/append are
# atomic under the GIL; a token is in one call at a time.
_free_tokens = []
_NOTHING = object()


def _take_token():
    try:
        return _free_tokens.pop()
    except IndexError:
        token = next(_tokens)
        return token, _new_uint64(token)


def _hashed(opaque, digest):
    """The last child of a hashed call: (opaque flag, digest)."""
    return _new_tuple([_TRUE if opaque else _FALSE,
                       GLib.Variant.new_from_bytes(_AY, GLib.Bytes.new(digest), True)])


def _compression_name(compress):
    method, level = parse_compress(compress)
    if method == Joblib.Compression.AUTO:
        return None
    name = Joblib.compression_get_name(method)
    return name if level == Joblib.COMPRESSION_DEFAULT_LEVEL else f"{name}:{level}"


def _seconds(age):
    if isinstance(age, datetime.timedelta):
        return age.total_seconds()
    return float(age)


def _check_mmap_mode(mmap_mode):
    if mmap_mode not in _MMAP_MODES:
        raise ValueError(f"mmap_mode must be one of None, 'r', 'r+', 'w+', 'c', "
                         f"not {mmap_mode!r}")


def _folder_problem(path):
    """Why a cache folder is unsafe to unpickle from, or None: writable by
    its group or by anyone (unless sticky, as /tmp), or owned by another
    user (root aside)."""
    try:
        info = os.stat(path)
    except OSError:
        return None  # nothing stored there: nothing to unpickle either
    owner = info.st_uid
    if owner not in (os.geteuid(), 0):
        return f"{path} belongs to another user (uid {owner})"
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o022 and not (mode & stat.S_ISVTX and mode & 0o002):
        who = "anyone" if mode & 0o002 else "its group"
        return f"{path} can be written by {who} (mode {mode:04o})"
    return None


class Memory:
    """Cache function results on disk: joblib's ``Memory``.

    ``location`` None disables caching (functions are called as they are).
    ``compress`` as in :func:`dump`; ``mmap_mode`` "r" loads cached arrays
    as read-only memory maps, "r+"/"w+" as writable ones (changes reach
    the cache), "c" as copy-on-write; ``bytes_limit``, ``items_limit`` and
    ``age_limit`` (seconds or timedelta) are enforced on every write.
    ``backend_options={"trust_folder": True}`` allows pickled outputs from
    a cache folder that others can write.

    ``location`` is a local folder (a path), or any location GIO can write
    as a URI string or a Gio.File (``sftp://me@host/srv/cache``, ``smb://``,
    ``dav://`` through GVfs; mmap_mode has no effect there); ``.location``
    is what was given.  ValueError for a URI that GIO cannot open here."""

    _gfile = None  # the location when it is remote (not a local folder)

    def __init__(self, location=None, backend="local", mmap_mode=None, compress=False,
                 verbose=1, bytes_limit=None, backend_options=None, items_limit=None,
                 age_limit=None):
        _check_mmap_mode(mmap_mode)
        self.location = location
        self.backend = backend
        self.mmap_mode = mmap_mode
        self.compress = compress
        self._verbose = verbose
        self.bytes_limit = bytes_limit
        self.items_limit = items_limit
        self.age_limit = age_limit
        self.backend_options = dict(backend_options or {})
        self.timestamp = time.time()
        self._memory = None
        self.store_backend = get_store_backend(backend, location, self)
        if compress and mmap_mode is not None:
            warnings.warn("Compressed results cannot be memmapped", stacklevel=2)
        if location is None or self.store_backend is not None:
            return
        path, self._gfile = _location.parse(location)
        self._path = path
        if self._gfile is None:
            self._root = os.path.join(path, "joblib-glib")
            self._memory = Joblib.Memory.new_for_path(path)
        else:
            self._root = _location.shown(self._gfile.get_child("joblib-glib"))
            self._memory = Joblib.Memory.new(self._gfile)
        self._memory.set_compression(_compression_name(compress))
        self._memory.set_mmap(mmap_mode is not None)
        self._memory.set_verbose(0)  # messages come from Python (stdout, as joblib)
        if bytes_limit is not None:
            self._memory.set_bytes_limit(_bytes(bytes_limit))
        if items_limit is not None:
            self._memory.set_items_limit(int(items_limit))
        if age_limit is not None:
            self._memory.set_age_limit(_seconds(age_limit))

    @property
    def verbose(self):
        return self._verbose

    def __repr__(self):
        if self._memory is not None:
            where = self._root
        else:
            where = None if self.location is None else os.path.join(os.fspath(self.location),
                                                                   "joblib-glib")
        return f"Memory(location={where})"

    def __reduce__(self):
        # a Gio.File does not pickle: its URI names the same location
        location = self.location.get_uri() if isinstance(self.location, Gio.File) else \
            self.location
        return (_rebuild_memory, (location, self.backend, self.mmap_mode, self.compress,
                                  self._verbose, self.bytes_limit, self.backend_options,
                                  self.items_limit, self.age_limit))

    def _pickle_policy(self):
        """allow_pickle for outputs read from this cache (see from_variant)."""
        if self.backend_options.get("trust_folder"):
            return True
        if self._gfile is None:
            problems = map(_folder_problem, (self._path, self._root))
        else:
            problems = (_location.cache_problem(self._gfile),)
        for problem in problems:
            if problem is not None:
                return (f"Outputs are unpickled only from a cache folder that nobody else can "
                        f"write, and {problem}. Make it private (chmod go-w) or pass "
                        f"Memory(..., backend_options={{'trust_folder': True}}) if you trust "
                        f"everyone who can write it.")
        return True

    def cache(self, func=None, ignore=None, verbose=None, mmap_mode=False,
              cache_validation_callback=None):
        """Wrap ``func`` so that its results are cached; usable as
        ``@memory.cache`` and ``@memory.cache(ignore=["verbose"])``.

        ``cache_validation_callback(metadata)`` is asked whether a stored
        result may be used (see :func:`expires_after`)."""
        if cache_validation_callback is not None and not callable(cache_validation_callback):
            raise ValueError(f"cache_validation_callback needs to be callable. "
                             f"Got {cache_validation_callback!r}.")
        if func is None:
            return functools.partial(self.cache, ignore=ignore, verbose=verbose,
                                     mmap_mode=mmap_mode,
                                     cache_validation_callback=cache_validation_callback)
        if isinstance(func, (MemorizedFunc, NotMemorizedFunc)):
            func = func.func
        if not callable(func):
            raise TypeError(f"Memory.cache needs a callable, not {type(func).__name__}")
        if ignore is not None and (isinstance(ignore, str) or
                                   not all(isinstance(n, str) for n in ignore)):
            raise TypeError("ignore must be a list of argument names")
        if mmap_mode is not False:
            _check_mmap_mode(mmap_mode)
        if self._memory is None and self.store_backend is None:
            return NotMemorizedFunc(func)
        if self.store_backend is not None:
            return StoreMemorizedFunc(func, self, list(ignore or []), verbose, mmap_mode,
                                      cache_validation_callback)
        return MemorizedFunc(func, self, list(ignore or []), verbose, mmap_mode,
                             cache_validation_callback)

    def clear(self, warn=True):
        """Remove every cached result."""
        if self.store_backend is not None:
            self.store_backend.clear()
        if self._memory is not None:
            if warn and self._verbose:
                print(f"[Memory(location={self._root})]: Flushing completely the cache")
            try:
                self._memory.clear()
            except GLib.Error as error:
                reraise(error)
            # joblib's clear() returns with the files gone: wait for the
            # library's background deletion, so that removing the location
            # right after it races with nothing.
            self._memory.wait_reclaimed()

    def reduce_size(self, bytes_limit=None, items_limit=None, age_limit=None):
        """Remove the least recently used results until the cache fits the
        limits (those given here, else the Memory's); returns how many."""
        if self._memory is None:
            return 0
        try:
            ok, removed = self._memory.reduce_size(
                _bytes(bytes_limit) if bytes_limit is not None else self._memory.get_bytes_limit(),
                int(items_limit) if items_limit is not None else self._memory.get_items_limit(),
                _seconds(age_limit) if age_limit is not None else self._memory.get_age_limit())
        except GLib.Error as error:
            reraise(error)
        self._memory.wait_reclaimed()  # as joblib: the files are gone on return
        return removed

    def eval(self, func, *args, **kwargs):
        """Call ``func`` through the cache."""
        return self.cache(func)(*args, **kwargs)


def _rebuild_memory(location, backend, mmap_mode, compress, verbose, bytes_limit,
                    backend_options, items_limit, age_limit):
    return Memory(location, backend, mmap_mode, compress, verbose, bytes_limit,
                  backend_options, items_limit, age_limit)


def _bytes(limit):
    """joblib accepts '1G', '500M', '10K' or an int."""
    if isinstance(limit, int):
        if limit < 0:
            raise ValueError(f"bytes_limit must not be negative, not {limit}")
        return limit
    if isinstance(limit, str) and limit and limit[-1].upper() in "KMG":
        units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
        return int(float(limit[:-1]) * units[limit[-1].upper()])
    raise ValueError(f"bytes_limit must be an int or a string such as '1G', not {limit!r}")


def expires_after(days=0, seconds=0, microseconds=0, milliseconds=0, minutes=0, hours=0,
                  weeks=0):
    """A ``cache_validation_callback`` that invalidates results older than
    the given age, as joblib's ``expires_after``."""
    limit = datetime.timedelta(days=days, seconds=seconds, microseconds=microseconds,
                               milliseconds=milliseconds, minutes=minutes, hours=hours,
                               weeks=weeks)

    def cache_validation_callback(metadata):
        return time.time() - metadata["time"] < limit.total_seconds()

    cache_validation_callback._joblib_glib_seconds = limit.total_seconds()
    return cache_validation_callback


def _format_time(seconds):
    return f"{seconds:.1f}s, {seconds / 60:.1f}min"


def _print_rule(message):
    print(max(0, 80 - len(message)) * "_" + message)


def _format_call(func, args, kwargs):
    shown = [repr(a)[:1500] for a in args] + [f"{k}={v!r}"[:1500] for k, v in kwargs.items()]
    name = getattr(func, "__name__", repr(func))
    return f"{name}({', '.join(shown)})"


class MemorizedPython(PythonFunction):
    """The Joblib.Function of a cached Python callable: reads the argument
    tuple described in the module comment (here and in worker processes)."""

    def __init__(self, func, name=None, version=None):
        super().__init__(func, name=name, version=version)
        names = self.signature.names if self.signature.signature is not None \
            else ["*args", "**kwargs"]
        self.n_values = len(names)
        self.gfunction.set_parameter_names(list(names) + [_ARGUMENTS])
        self.announce = None  # set by MemorizedFunc: prints the call (verbose)
        # a cache_validation_callback, sent by value in the reference
        self.validate = None

    def referenced(self):
        if self.validate is not None and not self.has_reference:
            self.gfunction.set_reference(python_reference(self.func, {
                "validate": GLib.Variant.new_from_bytes(
                    _AY, GLib.Bytes.new(dumps(self.validate, by_value=True)), True)}))
            self.has_reference = True
        return super().referenced()

    def _invoke(self, args, cancellable):
        entry = None
        try:
            _raise_failed_check(self)
            calling = _calling.pop(threading.get_ident(), None) if _calling else None
            if calling is not None and calling[0] is self:
                entry = calling[1]
                values, opaque = entry[0], entry[1]
                if self.announce is not None:
                    self.announce(values, opaque)
                return self._store_output(entry, self._call_values(values, opaque))
            if calling is not None:
                _calling[threading.get_ident()] = calling  # not this call's
            n = args.n_children()
            last = args.get_child_value(n - 1)
            opaque = last.get_boolean() if last.get_type_string() == "b" \
                else last.get_child_value(0).get_boolean()
            carried = args.get_child_value(n - 2)
            kind = carried.get_type_string()
            if kind == "t":
                entry = _pending.get(carried.get_uint64())
                if entry is None:
                    raise RuntimeError("the arguments of this cached call are gone")
                values, opaque = entry[0], entry[1]
            elif kind == "ay":
                import pickle
                # pickled by the process that made the call (a parent of ours)
                values, opaque = pickle.loads(carried.get_data_as_bytes().get_data() or b"")
            else:
                values = [from_variant(args.get_child_value(i)) for i in range(n - 2)]
            if self.announce is not None:
                self.announce(values, opaque)
            return self._store_output(entry, self._call_values(values, opaque))
        except GLib.Error:
            raise
        except BaseException as exc:  # noqa: BLE001 -- every exception must reach C
            from ._functions import raise_as_glib_error
            raise_as_glib_error(exc)

    @staticmethod
    def _store_output(entry, output):
        """The output's variant for C to store; the object itself is kept
        in the caller's ``entry`` (None for a call from elsewhere)."""
        if entry is not None:
            entry[2] = output
        try:
            return to_variant(output)
        except Exception as error:  # noqa: BLE001 -- any pickling failure
            if entry is None:
                raise
            entry[3] = (output, error)
            raise


def validation_func(callback, python):
    """The JobCacheValidateFunc that asks a cache_validation_callback with
    joblib's metadata, for the MemorizedPython ``python``."""
    def validate(entry):
        created = entry.get_created()
        metadata = {"duration": entry.get_duration(),
                    "time": created.to_unix() + created.get_microsecond() / 1e6,
                    "input_args": entry.get_input_args()}
        try:
            return bool(callback(metadata))
        except BaseException as exc:  # noqa: BLE001 -- raised by the call, as joblib
            # C asks in the calling thread and cannot take an error: keep
            # the exception and say "compute again", so that C calls
            # MemorizedPython._invoke next, which raises it without running
            # the function (a task's error in Parallel, the caller's
            # exception in a direct call); check_call_in_cache raises it
            # itself.
            _failed_checks[threading.get_ident(), id(python)] = exc
            return False
    return validate


def _raise_failed_check(python, forget=False):
    """Raise the exception of this thread's last failed
    cache_validation_callback of ``python`` (a MemorizedPython), if any
    (once); with ``forget``, drop it.  One is left behind when the call
    never computes (another thread computed the same call first, or the
    run was cancelled): dropped before each direct call, and only ever
    raised by a call of the same function in the same thread."""
    if _failed_checks:
        exc = _failed_checks.pop((threading.get_ident(), id(python)), None)
        if exc is not None and not forget:
            raise exc


class MemorizedFunc:
    """A function whose results are cached by a :class:`Memory`."""

    _joblib_glib_memorized = True

    def __init__(self, func, memory, ignore, verbose=None, mmap_mode=False,
                 cache_validation_callback=None):
        self.func = func
        self.memory = memory
        self.ignore = ignore
        self.mmap_mode = memory.mmap_mode if mmap_mode is False else mmap_mode
        self._verbose = memory._verbose if verbose is None else verbose
        self.cache_validation_callback = cache_validation_callback
        self.version = source_version(func)
        self._python = MemorizedPython(func, name=qualified_name(func), version=self.version)
        names = self._python.signature.names
        unknown = [name for name in ignore if name not in names]
        if unknown:
            raise ValueError(f"ignore list: {', '.join(unknown)} not an argument of "
                             f"{qualified_name(func)}")
        self._skip = frozenset(names.index(name) for name in ignore)
        positions = sorted(self._skip) + [self._python.n_values]
        self._cached = memory._memory.cache(self._python.gfunction,
                                            [str(p) for p in positions])
        self._coerce_mmap = self.mmap_mode is not None
        self._has_reference = False
        if self._verbose and self._verbose > 0:
            self._python.announce = self._announce
        if cache_validation_callback is not None:
            seconds = getattr(cache_validation_callback, "_joblib_glib_seconds", None)
            if seconds is not None:
                self._cached.set_expires_after(max(seconds, 1e-9))
            else:
                self._cached.set_validate_func(
                    validation_func(cache_validation_callback, self._python))
                # worker processes get the callback by value (see worker)
                self._python.validate = cache_validation_callback
        # Calls of plain positional arguments that are ints, floats or
        # bools are first looked up with one C call (see __call__): per
        # tuple of argument types, how to serialize their key, or None.
        # Not with mmap_mode (the output is mapped from its file) nor a
        # Python validation callback (it must be asked once per call).
        self._packers = {} if (self.mmap_mode is None and self._python.signature.n_plain >= 0
                               and self._python.validate is None) else None
        self._lookup = self._cached.lookup_serialized
        functools.update_wrapper(self, func)

    def __repr__(self):
        return f"MemorizedFunc(func={self.func!r}, location={self.memory._root!r})"

    def __reduce__(self):
        # Pickled (cloudpickle) into workers as the function and its cache.
        return (_rebuild, (self.func, self.memory, self.ignore, self._verbose,
                           self.mmap_mode, self.cache_validation_callback))

    def _announce(self, values, opaque):
        args, kwargs = values if opaque else (values, {})
        _print_rule("")
        print(f"[Memory] Calling {qualified_name(self.func)}...")
        print(_format_call(self.func, args, kwargs))

    def _args(self, values, opaque, carried):
        children, digest, _exact = call_key(values, self._skip, self._coerce_mmap)
        children.append(carried)
        children.append((_TRUE if opaque else _FALSE) if digest is None
                        else _hashed(opaque, digest))
        return _new_tuple(children)

    def _output(self, value, args_id=None):
        writable = self.mmap_mode is None
        output = from_variant(value, allow_pickle=self.memory._pickle_policy, writable=writable,
                              native=True)
        if self.mmap_mode is not None and self.memory._gfile is None:
            from ._persist import memmap_output
            output = memmap_output(self, value, output, args_id)
        return output

    def _run(self, method, args, kwargs):
        """Calls ``method`` (call or call_and_shelve) with the Python
        arguments held in this process for the function to use."""
        values, opaque = self._python.signature.bind(args, kwargs)
        _raise_failed_check(self._python, forget=True)
        taken = _take_token()
        token = taken[0]
        entry = _pending[token] = [values, opaque, _NOTHING, None]
        start = time.time()
        key = self._args(values, opaque, taken[1])
        ident = threading.get_ident()
        outer = _calling.get(ident)
        _calling[ident] = (self._python, entry)
        try:
            result = method(key, None)
        except GLib.Error as error:
            if entry[3] is not None:
                output, cause = entry[3]
                warnings.warn(f"Unable to cache to disk: failed to pickle output. "
                              f"Exception: {cause!r}.", stacklevel=3)
                return None, output, key
            reraise(error)
        finally:
            if outer is None:
                _calling.pop(ident, None)
            else:
                _calling[ident] = outer
            _pending.pop(token, None)
            if len(_free_tokens) < 64:
                _free_tokens.append(taken)
        _raise_failed_check(self._python)
        if entry[2] is not _NOTHING and self._verbose and self._verbose > 0:
            _print_rule(f"{getattr(self.func, '__name__', '')} - "
                        f"{_format_time(time.time() - start)}")
        return result, entry[2], key

    def __call__(self, *args, **kwargs):
        packers = self._packers
        if packers is not None and not kwargs:
            # A hit in one C call, without a GVariant per argument: the
            # key tuple serialized here as the bytes C hashes, a small
            # result decoded from its bytes.  Otherwise (a miss, a corrupt
            # entry, arguments of other types) the ordinary path below
            # looks again, warns and computes.
            kinds = (type(args[0]),) if len(args) == 1 else tuple(map(type, args))
            packer = packers.get(kinds, _NOTHING)
            if packer is _NOTHING:
                packer = key_packer(kinds, self._python.signature.n_plain, self._skip)
                if len(packers) < 64:
                    packers[kinds] = packer
            if packer is not None:
                key_type, pack, keep = packer
                try:
                    key = pack(*args, False) if keep is None else \
                        pack(*[args[i] for i in keep], False)
                    data, value_type, large = self._lookup(key_type, key, _INLINE_MAX)
                except struct.error:
                    value_type = None  # an int beyond 64 bits: keyed as a "bigint"
                except GLib.Error as error:
                    reraise(error)
                if value_type == "x":
                    return _unpack_int64(data)[0]
                if value_type is not None:
                    decode = DECODERS.get(value_type)
                    if decode is not None:
                        return decode(data)
                    if large is None:
                        large = _new_from_bytes(_new_variant_type(value_type),
                                                _new_bytes(data), False)
                    return self._output(large)
        result, output, key = self._run(self._cached.call, args, kwargs)
        if result is None:
            return output
        if self.mmap_mode is None:
            if output is not _NOTHING:
                return output  # computed here: the very object, as joblib returns it
            return self._output(result)
        return self._output(result, self._cached.get_args_hash(key))

    def call(self, *args, **kwargs):
        """Run the function even when its result is cached, store the result
        and return ``(output, metadata)``, as joblib's ``call``."""
        values, opaque = self._python.signature.bind(args, kwargs)
        key = self._args(values, opaque, _UNIT)
        if self._cached.check_call_in_cache(key):
            # call() always runs the function: an entry that cannot be
            # removed would be returned instead, so its error is raised
            try:
                self._cached.call_and_shelve(key, None).clear()
            except GLib.Error as error:
                reraise(error)
        _raise_failed_check(self._python)
        start = time.time()
        result, output, key = self._run(self._cached.call, args, kwargs)
        duration = time.time() - start
        if result is not None and (output is _NOTHING or self.mmap_mode is not None):
            output = self._output(result, self._cached.get_args_hash(key))
        metadata = {"duration": duration,
                    "input_args": {name: repr(value) for name, value in
                                   zip(self._python.signature.names, values)},
                    "time": start}
        return output, metadata

    def _joblib_glib_make_call(self, args, kwargs, need_reference=False):
        if need_reference and not self._has_reference:
            # the cached function adds its cache's settings to the wrapped
            # function's reference; the worker reads them back with
            # Joblib.Memory.cache_for_reference()
            self._python.referenced()
            self._has_reference = True
        values, opaque = self._python.signature.bind(args, kwargs)
        children, digest, exact = call_key(values, self._skip, self._coerce_mmap)
        carried = _UNIT if exact else GLib.Variant.new_from_bytes(
            GLib.VariantType("ay"), GLib.Bytes.new(dumps((values, opaque), by_value=True)), True)
        children.append(carried)
        children.append((_TRUE if opaque else _FALSE) if digest is None
                        else _hashed(opaque, digest))
        return Joblib.Call.new(self._cached, _new_tuple(children))

    def check_call_in_cache(self, *args, **kwargs):
        """Whether this call's result is in the cache (nothing is run)."""
        values, opaque = self._python.signature.bind(args, kwargs)
        found = self._cached.check_call_in_cache(self._args(values, opaque, _UNIT))
        _raise_failed_check(self._python)
        return found

    def call_and_shelve(self, *args, **kwargs):
        """Compute (or find) the result, store it and return a reference to it."""
        result, output, _key = self._run(self._cached.call_and_shelve, args, kwargs)
        if result is None:
            return NotMemorizedResult(output)
        return MemorizedResult(result, self)

    def _entry_dir(self, args_id):
        hexdigest = args_id.partition(":")[2] or args_id
        name = qualified_name(self.func)
        if self.memory._gfile is not None:
            return _location.find_entry(self.memory._gfile.get_child("joblib-glib"), name,
                                        hexdigest)
        folder = os.path.join(self.memory._root, name, hexdigest)
        if name[:1] not in ("", ".") and all(c.isalnum() or c in "_-." for c in name) \
                and name.isascii() and os.path.isdir(folder):
            return folder
        found = glob.glob(os.path.join(glob.escape(self.memory._root), "*", hexdigest))
        return found[0] if found else None

    def _find_result(self, args_id):
        """The Joblib.MemorizedResult of a stored call, found by its hash."""
        folder = self._entry_dir(args_id) if args_id else None
        if folder is None:
            return None
        if not (_location.has_output(folder) if self.memory._gfile is not None
                else os.path.exists(os.path.join(folder, "output"))):
            return None
        return _StoredResult(self, folder, args_id)

    def clear(self, warn=True):
        """Remove this function's cached results."""
        try:
            self._cached.clear()
        except GLib.Error as error:
            reraise(error)
        if self.memory._memory is not None:
            self.memory._memory.wait_reclaimed()  # as joblib: the files are gone on return


def _rebuild(func, memory, ignore, verbose, mmap_mode, cache_validation_callback):
    return memory.cache(func, ignore=ignore, verbose=verbose, mmap_mode=mmap_mode,
                        cache_validation_callback=cache_validation_callback)


__all__ = ["Memory", "MemorizedFunc", "MemorizedResult", "NotMemorizedFunc",
           "NotMemorizedResult", "source_version", "expires_after", "MemorizedPython"]
