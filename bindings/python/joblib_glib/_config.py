# SPDX-License-Identifier: LGPL-2.1-or-later
"""Which backend and settings a Parallel call gets: backend names
resolved (the tables and register_parallel_backend are _registry's) and
the parallel_config / parallel_backend scopes (per thread, as joblib's)."""

import atexit
import os
import threading

from . import _backend_base, _cluster
from ._functions import PythonFunction, nesting_level
from ._gi import Joblib
from ._registry import BACKEND_NAMES as _BACKEND_NAMES
from ._registry import DEFAULT_BACKEND as _DEFAULT_BACKEND
from ._registry import PROCESS_BACKENDS as _PROCESS_BACKENDS
from ._registry import PYTHON_BACKENDS as _PYTHON_BACKENDS
from ._registry import is_known as _is_known
from ._registry import known_backends as _known_backends
from ._registry import python_default as _python_default
from ._registry import register_parallel_backend

_PREFER = (None, "processes", "threads")
_REQUIRE = (None, "sharedmem")


def _check_hints(prefer, require):
    if prefer not in _PREFER:
        raise ValueError(f"prefer={prefer!r} is not a valid backend hint, expected one of "
                         f"{_PREFER}")
    if require not in _REQUIRE:
        raise ValueError(f"require={require!r} is not a valid backend constraint, expected "
                         f"one of {_REQUIRE}")
    if prefer == "processes" and require == "sharedmem":
        raise ValueError("prefer == 'processes' and require == 'sharedmem' are inconsistent "
                         "settings")


def _backend_name(backend, prefer, require, explicit=True):
    """The backend (name or object) for these arguments; None: the
    parallel_config in force decides.  ``explicit``: named by the caller
    (a process backend that cannot share memory is then an error, as in
    joblib; from a parallel_config it gives way to threads)."""
    _check_hints(prefer, require)
    if isinstance(backend, Joblib.Backend):
        if require == "sharedmem" and _is_process_backend(backend):
            if explicit:
                raise ValueError(f"Backend {type(backend).__name__} does not support shared "
                                 f"memory")
            return "threading"
        return backend
    if backend is None:
        if require == "sharedmem" or prefer == "threads":
            return "threading"
        return None
    if not isinstance(backend, str):
        raise TypeError(f"backend must be a name or a Joblib.Backend, not "
                        f"{type(backend).__name__}")
    if not _is_known(backend):
        raise ValueError(f"Invalid backend: {backend}, expected one of {_known_backends()}")
    if backend in _REMOTE_BACKENDS:
        if require == "sharedmem":
            if explicit:
                raise ValueError(f"Backend {backend!r} does not support shared memory")
            return "threading"
        # Processes share no memory: joblib falls back to threads too.
        if _BACKEND_NAMES.get(backend, backend) not in Joblib.Backend.list_names():
            return "threading"
    return _BACKEND_NAMES.get(backend, backend)


_shared = {}
_shared_lock = threading.Lock()


def _shared_process_backend():
    """One JobProcessBackend for the whole interpreter, as joblib reuses
    loky's executor: its Python workers (about 0.1 s to start, importing
    gi) serve every Parallel call, and leave at exit."""
    with _shared_lock:
        backend = _shared.get("processes")
        if backend is None:
            backend = _shared["processes"] = Joblib.Backend.new_for_name("processes")
            atexit.register(backend.shutdown)
        return backend


def is_shared_backend(backend):
    """Whether ``backend`` is the interpreter's shared process backend."""
    return backend is not None and backend is _shared.get("processes")


def _backend_object(name):
    """Process backends by name -> the shared instance; others unchanged."""
    if isinstance(name, str) and name in _PROCESS_BACKENDS and \
            _BACKEND_NAMES[name] in Joblib.Backend.list_names():
        return _shared_process_backend()
    cluster = _cluster.backend_for(name)
    return cluster if cluster is not None else name


# Backends whose workers are other processes (local or on a Slurm
# cluster): calls carry Python references that the Python worker imports.
_REMOTE_BACKENDS = _PROCESS_BACKENDS + ("slurm", "ssh") + _cluster.NAMES


def _is_process_backend(backend):
    if isinstance(backend, Joblib.Backend):
        return isinstance(backend, (Joblib.ProcessBackend, Joblib.SlurmBackend,
                                    Joblib.SshBackend, Joblib.ClusterBackend))
    return backend in _REMOTE_BACKENDS


def _initialized_process_backend(name, initializer, initargs):
    """A JobProcessBackend of its own whose workers run
    ``initializer(*initargs)`` once each (loky's initializer/initargs), or
    None without an initializer.  Its own: the shared backend's workers
    never see the initializer."""
    if initializer is None:
        if initargs:
            raise ValueError("initargs given without an initializer")
        return None
    if not callable(initializer):
        raise TypeError(f"initializer must be callable, not {type(initializer).__name__}")
    if not isinstance(initargs, (tuple, list)):
        raise TypeError(f"initargs must be a tuple, not {type(initargs).__name__}")
    if name is None:
        name = _DEFAULT_BACKEND
    if not (isinstance(name, str) and name in _PROCESS_BACKENDS and
            _BACKEND_NAMES[name] in Joblib.Backend.list_names()):
        shown = type(name).__name__ if isinstance(name, Joblib.Backend) else repr(name)
        raise ValueError(f"an initializer needs one of the process backends "
                         f"{', '.join(_PROCESS_BACKENDS)}, not {shown} (on a "
                         f"Joblib.ProcessBackend of your own, call set_initializer)")
    function = PythonFunction(initializer)
    args = function.remote_args(tuple(initargs), {})  # TypeError if they do not fit
    backend = Joblib.ProcessBackend.new()
    backend.set_initializer(function.referenced(), args)
    # The Joblib.Function finds its PythonFunction through a weak reference.
    backend._joblib_glib_initializer = function
    return backend


class _Default:
    """A parameter left to the parallel_config in force, else ``value``
    (joblib's ``default(...)`` sentinels)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __repr__(self):
        return f"default({self.value!r})"


# joblib's parallel_config keys and their values outside any scope
DEFAULTS = {
    "backend": _Default(None),
    "n_jobs": _Default(None),
    "verbose": _Default(0),
    "temp_folder": _Default(None),
    "max_nbytes": _Default("1M"),
    "mmap_mode": _Default("r"),
    "prefer": _Default(None),
    "require": _Default(None),
}
_MMAP_MODES = (None, "r", "r+", "w+", "c")
# keys for which a None given to Parallel is a choice (max_nbytes=None: no
# memory maps), not "unset"
_NONE_IS_A_VALUE = ("temp_folder", "max_nbytes", "mmap_mode")


def check_mmap_mode(mmap_mode):
    if mmap_mode not in _MMAP_MODES:
        raise ValueError(f"mmap_mode must be None, 'r', 'r+', 'w+' or 'c', not {mmap_mode!r}")
    return mmap_mode


def check_temp_folder(temp_folder):
    if temp_folder is not None and not isinstance(temp_folder, (str, os.PathLike)):
        raise TypeError(f"temp_folder must be a path or None, not {type(temp_folder).__name__}")
    return temp_folder


def _scopes():
    scopes = getattr(_local, "scopes", None)
    if scopes is None:
        scopes = _local.scopes = []
    return scopes


def scope_setting(key, given=DEFAULTS["backend"]):
    """``given`` when the caller set it, else what the innermost
    parallel_config of this thread that sets ``key`` says, else joblib's
    default."""
    if not isinstance(given, _Default) and (given is not None or key in _NONE_IS_A_VALUE):
        return given
    for scope in reversed(_scopes()):
        if key in scope.settings:
            return scope.settings[key]
    return DEFAULTS[key].value


class _Scope:
    __slots__ = ("backend", "settings", "config")

    def __init__(self, backend, settings, config):
        # a Python backend, "c" (the C configuration names one) or None
        self.backend = backend
        # Python-side settings that this scope sets
        self.settings = settings
        # the Joblib.ParallelConfig pushed on the C stack with it
        self.config = config


class _BuiltinBackend:
    """What ``parallel_backend(...)`` gives as joblib's backend instance for
    a backend of the C engine: its joblib class name, ``nesting_level``,
    ``inner_max_num_threads``, and ``glib_backend``, the Joblib.Backend (or
    its name) that Parallel uses in the scope."""

    supports_sharedmem = False
    uses_threads = False
    supports_inner_max_num_threads = True

    def __init__(self, glib_backend, nesting_level=0, inner_max_num_threads=None):
        self.glib_backend = glib_backend
        self.nesting_level = nesting_level
        self.inner_max_num_threads = inner_max_num_threads

    def __repr__(self):
        return f"<{type(self).__name__} ({self.glib_backend!r})>"


class LokyBackend(_BuiltinBackend):
    """joblib's default process backend: joblib-glib's Python workers."""


class MultiprocessingBackend(_BuiltinBackend):
    """joblib's multiprocessing backend: joblib-glib's Python workers."""


class ThreadingBackend(_BuiltinBackend):
    """joblib's threading backend: Joblib.ThreadBackend."""

    supports_sharedmem = True
    uses_threads = True
    supports_inner_max_num_threads = False


class SequentialBackend(_BuiltinBackend):
    """joblib's sequential backend: Joblib.SequentialBackend."""

    supports_sharedmem = True
    uses_threads = True
    supports_inner_max_num_threads = False


_BUILTIN_CLASSES = {"loky": LokyBackend, "processes": LokyBackend,
                    "multiprocessing": MultiprocessingBackend, "threading": ThreadingBackend,
                    "threads": ThreadingBackend, "sequential": SequentialBackend}


def _backend_class(backend):
    if isinstance(backend, str):
        return _BUILTIN_CLASSES.get(backend)
    for gtype, cls in ((Joblib.ThreadBackend, ThreadingBackend),
                       (Joblib.SequentialBackend, SequentialBackend),
                       (Joblib.ProcessBackend, LokyBackend)):
        if isinstance(backend, gtype):
            return cls
    return None


# loky's and multiprocessing's backend parameters that mean something here
# (initializer and initargs are parallel_config's own), as GObject
# properties of a JobProcessBackend
_PROCESS_PARAMS = {"idle_worker_timeout": "idle-timeout"}


def _apply_backend_params(backend, name, backend_params):
    """Set joblib's ``backend_params`` on a Joblib.Backend of its own:
    GObject properties, by their name with ``_`` or ``-`` (and loky's
    ``idle_worker_timeout``).  TypeError for a parameter that the backend
    does not have, as joblib's backends raise."""
    for key, value in backend_params.items():
        prop = _PROCESS_PARAMS.get(key) if isinstance(backend, Joblib.ProcessBackend) else None
        prop = prop or key.replace("_", "-")
        if backend.find_property(prop) is None:
            kind = _backend_class(name)
            shown = kind.__name__ if kind is not None else type(backend).__name__
            raise TypeError(f"{shown}: unexpected backend parameter {key!r} (it takes "
                            f"{_param_names(backend) or 'none'})")
        try:
            backend.set_property(prop, value)
        except (TypeError, ValueError, OverflowError) as error:
            raise TypeError(f"backend parameter {key!r}: {error}") from None
    return backend


def _param_names(backend):
    names = [p.name.replace("-", "_") for p in backend.list_properties()]
    if isinstance(backend, Joblib.ProcessBackend):
        names.append("idle_worker_timeout")
    return ", ".join(sorted(names))


class parallel_config:
    """Scoped defaults for Parallel, as joblib.parallel_config (per thread).

    Every parameter of joblib's: ``backend`` (a name, a Joblib.Backend or a
    ParallelBackendBase instance), ``n_jobs``, ``verbose``,
    ``temp_folder``, ``max_nbytes``, ``mmap_mode``, ``prefer``,
    ``require``, ``inner_max_num_threads`` and ``**backend_params`` (the
    backend's own: GObject properties of a Joblib.Backend such as
    ``idle_worker_timeout`` of the process backends, or the constructor
    arguments of a ParallelBackendBase subclass; for the backends of other
    machines, ``hosts=["lab1:4", "lab2"]`` of "ssh", joblib's
    ``scheduler_host``/``client`` of "dask" and ``view``/``profile`` of
    "ipyparallel" next to their properties).  A Parallel made in the
    scope uses them unless given its own.  Bad values raise joblib's
    errors: ValueError for an unknown backend, ``max_nbytes``,
    ``mmap_mode``, ``prefer``, ``require``, or backend parameters without a
    backend; TypeError for a parameter the backend does not take;
    AssertionError for ``inner_max_num_threads`` on threads, as joblib
    (without a backend it applies to the process workers of the scope's
    calls, where joblib raises ValueError).

    As joblib's, the settings apply from the moment the object is made, in
    the thread that makes it, until the ``with`` block ends or
    ``unregister()`` is called (which restores what was in force when it
    was made); ``__enter__`` only returns the settings in force as joblib's
    dict.  Entering the same object again after that does not apply it
    again (joblib does not either): make a new one.

    ``initializer`` and ``initargs`` work as loky's: each worker process of
    the scope runs ``initializer(*initargs)`` once, before its first task
    (to load a model, open a database, seed a generator, set a module
    global that tasks read).  They need a process backend ("loky", the
    default, "multiprocessing" or "processes") and give the scope a process
    backend of its own, shut down when the scope ends (so do backend
    parameters): the interpreter's shared workers never run the
    initializer, and Parallel runs of the scope must finish inside it.  The
    initializer and its arguments travel as tasks do (by module and name or
    pickled by value).  If it raises, the tasks sent to that worker fail
    with its exception (its type kept, the worker's traceback as
    ``__cause__``, a note naming the initializer).
    ``Parallel(backend=...)`` with an explicit backend does not use it, as in
    joblib.
    """

    def __init__(self, backend=None, *, n_jobs=None, verbose=None,
                 temp_folder=DEFAULTS["temp_folder"], max_nbytes=DEFAULTS["max_nbytes"],
                 mmap_mode=DEFAULTS["mmap_mode"], prefer=None, require=None,
                 inner_max_num_threads=None, initializer=None, initargs=(),
                 **backend_params):
        # joblib 1.4 refuses inner_max_num_threads without a backend too;
        # here it applies to the process backends of the scope's calls
        if backend is None and backend_params:
            raise ValueError("inner_max_num_threads and other constructor parameters "
                             "backend_params are only supported when backend is not None.")
        # Dask and IPython Parallel take joblib's arguments of their
        # backends (scheduler_host, client, view): one shared backend per
        # cluster, as joblib reuses the Client.
        cluster = _cluster.backend_for(backend, **backend_params)
        if cluster is not None:
            backend, backend_params = cluster, {}
        settings = {}
        if not isinstance(max_nbytes, _Default):
            _parse_nbytes(max_nbytes)
            settings["max_nbytes"] = max_nbytes
        if not isinstance(mmap_mode, _Default):
            settings["mmap_mode"] = check_mmap_mode(mmap_mode)
        if not isinstance(temp_folder, _Default):
            settings["temp_folder"] = check_temp_folder(temp_folder)
        self._python_backend = _python_backend(backend, backend_params)
        if self._python_backend is not None:
            _set_inner_threads(self._python_backend, inner_max_num_threads)
        elif backend_params and not isinstance(backend, str):
            raise ValueError("Constructor parameters backend_params are only supported when "
                             "backend is a string.")
        config = Joblib.ParallelConfig.new()
        _check_hints(prefer, require)
        # hints without a backend stay hints: Parallel applies them to the
        # backend it gets (so that its own prefer= still wins), as joblib
        name = None if self._python_backend is not None or backend is None else \
            _backend_name(backend, prefer, require)
        self._own = _initialized_process_backend(
            name if name is not None or self._python_backend is not None else
            _backend_name(None, prefer, require), initializer, initargs)
        if backend_params and self._python_backend is None:
            if self._own is None:
                self._own = Joblib.Backend.new_for_name(_BACKEND_NAMES.get(name, name))
            _apply_backend_params(self._own, backend, backend_params)
        self._kind = _backend_class(backend if backend is not None else name)
        if inner_max_num_threads is not None and self._python_backend is None and \
                self._kind is not None and not self._kind.supports_inner_max_num_threads:
            raise AssertionError(f"{self._kind.__name__} does not accept setting the "
                                 f"inner_max_num_threads argument.")
        name = self._own if self._own is not None else _backend_object(name)
        if isinstance(name, Joblib.Backend):
            config.set_backend(name)
        elif name is not None:
            config.set_backend_name(name)
        if n_jobs is not None:
            config.set_n_jobs(n_jobs)
        if verbose is not None:
            config.set_verbose(verbose)
        if inner_max_num_threads is not None and self._python_backend is None:
            config.set_inner_max_num_threads(inner_max_num_threads)
        self.config = config
        self._n_jobs = n_jobs
        # joblib's backend instance of the scope (see _BuiltinBackend)
        if self._python_backend is not None:
            instance = self._python_backend
        elif name is not None:
            instance = (self._kind or _BuiltinBackend)(name, nesting_level(),
                                                       inner_max_num_threads)
        else:
            instance = None
        self.backend = instance
        for key, value in (("prefer", prefer), ("require", require), ("n_jobs", n_jobs),
                           ("verbose", verbose), ("backend", instance)):
            if value is not None:
                settings[key] = value
        # what the scope says about the backend, for Parallel: a Python
        # backend, "c" (the C configuration's) or None (nothing)
        self._scope = _Scope(self._python_backend if self._python_backend is not None else
                             ("c" if name is not None else None), settings, config)
        # joblib's dict of the settings in force in the scope
        self._settings = None
        # In force from here on, as joblib's (last: nothing above raises
        # once the scope is pushed).
        scopes = _scopes()
        self._before = list(scopes)
        config.push()
        scopes.append(self._scope)
        self._settings = {key: scope_setting(key) for key in DEFAULTS}

    def __enter__(self):
        return self._settings

    def __exit__(self, *exc):
        self.unregister()
        return False

    def unregister(self):
        """Puts back the settings that were in force in this thread when
        this object was made, as joblib's ``unregister``: scopes made after
        it and still open end too, scopes that ended since come back."""
        scopes = _scopes()
        kept = 0
        while kept < min(len(scopes), len(self._before)) and \
                scopes[kept] is self._before[kept]:
            kept += 1
        while len(scopes) > kept:
            scopes.pop().config.pop()
        for scope in self._before[kept:]:
            scope.config.push()
            scopes.append(scope)
        if self._own is not None:
            self._own.shutdown()


def _set_inner_threads(backend, inner_max_num_threads):
    if inner_max_num_threads is None:
        return
    if not getattr(backend, "supports_inner_max_num_threads", False):
        raise AssertionError(f"{type(backend).__name__} does not accept setting the "
                             f"inner_max_num_threads argument.")
    backend.inner_max_num_threads = inner_max_num_threads


class parallel_backend(parallel_config):
    """joblib's older form of parallel_config: a backend for the scope,
    all CPUs (n_jobs=-1) unless told otherwise.  ``__enter__`` returns
    joblib's ``(backend, n_jobs)`` pair: the backend instance (a
    ParallelBackendBase given or registered, else one of
    LokyBackend, MultiprocessingBackend, ThreadingBackend,
    SequentialBackend standing for the engine's backend) and n_jobs."""

    def __init__(self, backend, n_jobs=-1, inner_max_num_threads=None, **backend_params):
        super().__init__(backend=backend, n_jobs=n_jobs,
                         inner_max_num_threads=inner_max_num_threads, **backend_params)

    def __enter__(self):
        return self.backend, self._n_jobs


_local = threading.local()


def _python_backend(backend, backend_params=None):
    """A joblib-style backend instance for a name (made with
    ``backend_params``) or an instance, else None."""
    if isinstance(backend, str):
        factory = _PYTHON_BACKENDS.get(backend)
        return factory(**(backend_params or {})) if factory is not None else None
    if backend is not None and not isinstance(backend, Joblib.Backend) and \
            _backend_base.is_python_backend(type(backend)):
        return backend
    return None


def _scope_names_backend():
    """Whether a parallel_config of this thread names a backend."""
    return any(scope.backend is not None for scope in _scopes())


def _scope_python_backend():
    """The joblib-style backend the innermost parallel_config that names a
    backend gives, or the default one."""
    for scope in reversed(_scopes()):
        if scope.backend is not None:
            return None if scope.backend == "c" else scope.backend
    factory = _python_default["backend"]
    return factory() if factory is not None else None


_UNITS = {"K": 1024, "M": 1024 ** 2, "G": 1024 ** 3}


def _parse_nbytes(value):
    """joblib's max_nbytes: None, a number of bytes, or "1M", "100K", "2G"."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        if value is not None and value < 0:
            raise ValueError(f"max_nbytes must be None or >= 0, not {value}")
        return value
    if isinstance(value, str) and value[-1:].upper() in _UNITS:
        try:
            return int(float(value[:-1]) * _UNITS[value[-1].upper()])
        except ValueError:
            pass
    raise ValueError(f"Invalid literal for max_nbytes: {value!r}")

