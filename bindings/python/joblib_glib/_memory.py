# SPDX-License-Identifier: LGPL-2.1-or-later
"""joblib's Memory over Joblib.Memory and Joblib.MemorizedFunction.

A function's identity is its module and qualified name; its version is a
hash of its source (inspect.getsource), so editing the function clears
its cached results, as joblib does.  A cached function works inside
Parallel on threads and on the process backend: its workers open the same
cache folder (JobMemory is safe across processes).
"""

import datetime
import functools
import hashlib
import inspect
import os

from ._functions import PythonFunction, qualified_name, reraise
from ._gi import GLib, Joblib
from ._persist import parse_compress
from ._values import from_variant


def source_version(func):
    """A hash of the function's source; of its code when there is none."""
    try:
        text = inspect.getsource(func).encode("utf-8")
    except (OSError, TypeError):
        code = getattr(func, "__code__", None)
        text = repr((code.co_code, code.co_consts)).encode() if code is not None \
            else repr(func).encode()
    return hashlib.sha256(text).hexdigest()[:16]


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


class Memory:
    """Cache function results on disk: joblib's ``Memory``.

    ``location`` None disables caching (functions are called as they are).
    ``compress`` as in :func:`dump`; ``mmap_mode="r"`` loads cached arrays
    as read-only views of their files; ``bytes_limit``, ``items_limit`` and
    ``age_limit`` (seconds or timedelta) are enforced on every write."""

    def __init__(self, location=None, backend="local", mmap_mode=None, compress=False,
                 verbose=1, bytes_limit=None, backend_options=None, items_limit=None,
                 age_limit=None):
        if backend != "local":
            raise ValueError(f"only the 'local' store backend exists, not {backend!r}")
        if mmap_mode not in (None, "r", "c"):
            raise ValueError(f"mmap_mode must be None, 'r' or 'c', not {mmap_mode!r}")
        self.location = os.fspath(location) if location is not None else None
        self.mmap_mode = mmap_mode
        self.compress = compress
        self.verbose = verbose
        self._memory = None
        if self.location is None:
            return
        self._memory = Joblib.Memory.new_for_path(self.location)
        self._memory.set_compression(_compression_name(compress))
        self._memory.set_mmap(mmap_mode is not None)
        self._memory.set_verbose(max(int(verbose or 0), 0))
        if bytes_limit is not None:
            self._memory.set_bytes_limit(_bytes(bytes_limit))
        if items_limit is not None:
            self._memory.set_items_limit(int(items_limit))
        if age_limit is not None:
            self._memory.set_age_limit(_seconds(age_limit))

    def __repr__(self):
        return f"Memory(location={self.location!r})"

    def cache(self, func=None, ignore=None, verbose=None, mmap_mode=False):
        """Wrap ``func`` so that its results are cached; usable as
        ``@memory.cache`` and ``@memory.cache(ignore=["verbose"])``."""
        if func is None:
            return functools.partial(self.cache, ignore=ignore, verbose=verbose,
                                     mmap_mode=mmap_mode)
        if isinstance(func, (MemorizedFunc, NotMemorizedFunc)):
            func = func.func
        if not callable(func):
            raise TypeError(f"Memory.cache needs a callable, not {type(func).__name__}")
        if ignore is not None and (isinstance(ignore, str) or
                                   not all(isinstance(n, str) for n in ignore)):
            raise TypeError("ignore must be a list of argument names")
        if self._memory is None:
            return NotMemorizedFunc(func)
        return MemorizedFunc(func, self, list(ignore or []))

    def clear(self, warn=True):
        """Remove every cached result."""
        if self._memory is not None:
            try:
                self._memory.clear()
            except GLib.Error as error:
                reraise(error)

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
        return removed

    def eval(self, func, *args, **kwargs):
        """Call ``func`` through the cache."""
        return self.cache(func)(*args, **kwargs)


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


class MemorizedResult:
    """A result stored in the cache (from ``call_and_shelve``)."""

    def __init__(self, result, mmap_mode):
        self._result = result
        self._mmap_mode = mmap_mode

    @property
    def func(self):
        return self._result.get_function_name()

    @property
    def args_id(self):
        return self._result.get_args_hash()

    def get(self):
        """Load the result (KeyError once it was cleared)."""
        try:
            value = self._result.get()
        except GLib.Error as error:
            if error.matches(Joblib.error_quark(), Joblib.Error.NOT_FOUND):
                raise KeyError(f"the result of {self.func} ({self.args_id}) is no longer "
                               f"in the cache") from None
            reraise(error)
        return from_variant(value, writable=self._mmap_mode is None)

    def clear(self):
        try:
            self._result.clear()
        except GLib.Error as error:
            reraise(error)

    def __repr__(self):
        return f"MemorizedResult(func={self.func!r}, args_id={self.args_id!r})"


class MemorizedFunc:
    """A function whose results are cached by a :class:`Memory`."""

    _joblib_glib_memorized = True

    def __init__(self, func, memory, ignore):
        self.func = func
        self.memory = memory
        self.ignore = ignore
        self.version = source_version(func)
        self._python = PythonFunction(func, name=qualified_name(func), version=self.version)
        names = set(self._python.signature.names)
        unknown = [name for name in ignore if name not in names]
        if unknown:
            raise ValueError(f"ignore list: {', '.join(unknown)} not an argument of "
                             f"{qualified_name(func)}")
        self._cached = memory._memory.cache(self._python.gfunction, ignore)
        self._has_reference = False
        functools.update_wrapper(self, func)

    def __repr__(self):
        return f"MemorizedFunc(func={self.func!r}, location={self.memory.location!r})"

    def __reduce__(self):
        # Pickled (cloudpickle) into workers as the function and its cache.
        return (_rebuild, (self.func, self.memory.location, self.memory.compress,
                           self.memory.mmap_mode, self.ignore))

    def _args(self, args, kwargs):
        return self._python.make_args(args, kwargs)

    def __call__(self, *args, **kwargs):
        try:
            result = self._cached.call(self._args(args, kwargs), None)
        except GLib.Error as error:
            reraise(error)
        return from_variant(result, writable=self.memory.mmap_mode is None)

    def _joblib_glib_make_call(self, args, kwargs, need_reference=False):
        if need_reference and not self._has_reference:
            # the cached function adds its cache's settings to the wrapped
            # function's reference; the worker reads them back with
            # Joblib.Memory.cache_for_reference()
            self._python.referenced()
            self._has_reference = True
        return Joblib.Call.new(self._cached, self._args(args, kwargs))

    def check_call_in_cache(self, *args, **kwargs):
        """Whether this call's result is in the cache (nothing is run)."""
        return self._cached.check_call_in_cache(self._args(args, kwargs))

    def call_and_shelve(self, *args, **kwargs):
        """Compute (or find) the result, store it and return a reference to it."""
        try:
            result = self._cached.call_and_shelve(self._args(args, kwargs), None)
        except GLib.Error as error:
            reraise(error)
        return MemorizedResult(result, self.memory.mmap_mode)

    def clear(self, warn=True):
        """Remove this function's cached results."""
        try:
            self._cached.clear()
        except GLib.Error as error:
            reraise(error)


def _rebuild(func, location, compress, mmap_mode, ignore):
    return Memory(location, compress=compress, mmap_mode=mmap_mode, verbose=0).cache(
        func, ignore=ignore)


class NotMemorizedResult:
    """The result of ``call_and_shelve`` on a Memory without a location."""

    def __init__(self, value):
        self.value = value

    def get(self):
        return self.value

    def clear(self):
        self.value = None


class NotMemorizedFunc:
    """What ``Memory(None).cache`` returns: the function, uncached."""

    def __init__(self, func):
        self.func = func
        functools.update_wrapper(self, func)

    def __call__(self, *args, **kwargs):
        return self.func(*args, **kwargs)

    def call_and_shelve(self, *args, **kwargs):
        return NotMemorizedResult(self.func(*args, **kwargs))

    def check_call_in_cache(self, *args, **kwargs):
        return False

    def clear(self, warn=True):
        pass


__all__ = ["Memory", "MemorizedFunc", "MemorizedResult", "NotMemorizedFunc",
           "NotMemorizedResult", "source_version"]
