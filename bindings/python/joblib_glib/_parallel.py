# SPDX-License-Identifier: LGPL-2.1-or-later
"""joblib's Parallel, delayed and parallel_config over Joblib.Parallel."""

import asyncio
import atexit
import contextlib
import json
import sys
import threading
import warnings

from ._functions import FunctionCache, PythonFunction, forget_exceptions, raise_as_glib_error, \
    reraise
from ._gi import Gio, GLib, Joblib
from ._values import from_variant

_BACKEND_NAMES = {
    "threading": "threading",
    "threads": "threading",
    "sequential": "sequential",
    "loky": "loky",
    "processes": "processes",
    "multiprocessing": "processes",
}
# joblib's process backends: JobProcessBackend with the Python worker
# (python3 -m joblib_glib.worker), the default as in joblib.
_PROCESS_BACKENDS = ("loky", "multiprocessing", "processes")
_DEFAULT_BACKEND = "loky"


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


def delayed(function):
    """Capture a function and its arguments: ``delayed(f)(*args, **kwargs)``."""
    return _Delayed(function)


def cpu_count(only_physical_cores=False):
    """The number of CPUs this process may use (affinity and cgroup aware)."""
    return Joblib.cpu_count()


def effective_n_jobs(n_jobs=-1):
    """joblib's n_jobs rules: -1 all CPUs, -2 all but one, 0 is an error."""
    if n_jobs is None:
        n_jobs = _current_config_n_jobs()
    try:
        return Joblib.effective_n_jobs(n_jobs)
    except GLib.Error as error:
        raise ValueError(error.message) from None


def _current_config_n_jobs():
    n_jobs = Joblib.ParallelConfig.get_current().get_n_jobs()
    return 1 if n_jobs == Joblib.N_JOBS_DEFAULT else n_jobs


def _backend_name(backend, prefer, require):
    """The backend (name or object) for these arguments; None: the
    parallel_config in force decides."""
    if isinstance(backend, Joblib.Backend):
        return backend
    if backend is None:
        if require == "sharedmem" or prefer == "threads":
            return "threading"
        return None
    if not isinstance(backend, str):
        raise TypeError(f"backend must be a name or a Joblib.Backend, not "
                        f"{type(backend).__name__}")
    if backend in _PROCESS_BACKENDS:
        # Processes share no memory: joblib falls back to threads too.
        if require == "sharedmem" or \
                _BACKEND_NAMES[backend] not in Joblib.Backend.list_names():
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


def _backend_object(name):
    """Process backends by name -> the shared instance; others unchanged."""
    if isinstance(name, str) and name in _PROCESS_BACKENDS and \
            _BACKEND_NAMES[name] in Joblib.Backend.list_names():
        return _shared_process_backend()
    return name


# Backends whose workers are other processes (local or on a Slurm
# cluster): calls carry Python references that the Python worker imports.
_REMOTE_BACKENDS = _PROCESS_BACKENDS + ("slurm",)


def _is_process_backend(backend):
    if isinstance(backend, Joblib.Backend):
        return isinstance(backend, (Joblib.ProcessBackend, Joblib.SlurmBackend))
    return backend in _REMOTE_BACKENDS


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


@contextlib.contextmanager
def parallel_config(backend=None, n_jobs=None, verbose=None, inner_max_num_threads=None,
                    prefer=None, require=None, initializer=None, initargs=()):
    """Scoped defaults for Parallel, as joblib.parallel_config (per thread).

    ``initializer`` and ``initargs`` work as loky's: each worker process of
    the scope runs ``initializer(*initargs)`` once, before its first task
    (to load a model, open a database, seed a generator, set a module
    global that tasks read).  They need a process backend ("loky", the
    default, "multiprocessing" or "processes") and give the scope a process
    backend of its own, shut down when the scope ends: the interpreter's
    shared workers never run the initializer, and Parallel runs of the scope
    must finish inside it.  The initializer and its arguments travel as
    tasks do (by module and name or pickled by value).  If it raises, the
    tasks sent to that worker fail with its exception (its type kept, the
    worker's traceback as ``__cause__``, a note naming the initializer).
    ``Parallel(backend=...)`` with an explicit backend does not use it, as in
    joblib.
    """
    config = Joblib.ParallelConfig.new()
    name = _backend_name(backend, prefer, require)
    own = _initialized_process_backend(name, initializer, initargs)
    name = own if own is not None else _backend_object(name)
    if isinstance(name, Joblib.Backend):
        config.set_backend(name)
    elif name is not None:
        config.set_backend_name(name)
    if n_jobs is not None:
        config.set_n_jobs(n_jobs)
    if verbose is not None:
        config.set_verbose(verbose)
    if inner_max_num_threads is not None:
        config.set_inner_max_num_threads(inner_max_num_threads)
    config.push()
    try:
        yield config
    finally:
        config.pop()
        if own is not None:
            own.shutdown()


parallel_backend = parallel_config


def register_parallel_backend(name, factory, make_default=False):
    """Register a GObject class implementing Joblib.Backend under a name."""
    gtype = getattr(factory, "__gtype__", None)
    if gtype is None or not gtype.is_a(Joblib.Backend.__gtype__):
        raise TypeError("a backend must be a GObject class implementing Joblib.Backend")
    Joblib.Backend.register(name, gtype)
    _BACKEND_NAMES[name] = name
    if make_default:
        global _default_config
        _default_config = Joblib.ParallelConfig.new()
        _default_config.set_backend_name(name)
        _default_config.push()


_default_config = None


class Parallel:
    """Run ``delayed`` calls on several workers: joblib's ``Parallel``.

    ``Parallel(n_jobs=2)(delayed(f)(x) for x in xs)`` returns the results in
    input order; ``return_as="generator"`` yields them in order as they are
    ready and ``"generator_unordered"`` as they complete.
    """

    def __init__(self, n_jobs=None, backend=None, return_as="list", verbose=0, timeout=None,
                 pre_dispatch="2 * n_jobs", batch_size="auto", prefer=None, require=None,
                 max_nbytes="1M", mmap_mode="r", temp_folder=None):
        if return_as not in ("list", "generator", "generator_unordered"):
            raise ValueError(f"return_as must be 'list', 'generator' or 'generator_unordered', "
                             f"not {return_as!r}")
        self.n_jobs = n_jobs
        self.return_as = return_as
        self._parallel = Joblib.Parallel.new(Joblib.N_JOBS_DEFAULT if n_jobs is None else n_jobs)
        name = _backend_name(backend, prefer, require)
        if name is None:
            config = Joblib.ParallelConfig.get_current()
            name = config.get_backend() or config.get_backend_name() or _DEFAULT_BACKEND
            if isinstance(name, str):
                name = _backend_name(name, prefer, require)
        name = _backend_object(name)
        if isinstance(name, Joblib.Backend):
            self._parallel.set_backend(name)
        else:
            self._parallel.set_backend_name(name)
        self.backend = name
        self._processes = _is_process_backend(name)
        if verbose:
            self._parallel.set_verbose(int(verbose))
        if timeout is not None:
            self._parallel.set_timeout(float(timeout))
        self._parallel.set_pre_dispatch(str(pre_dispatch))
        if batch_size != "auto":
            if not isinstance(batch_size, int) or batch_size < 1:
                raise ValueError(f"batch_size must be 'auto' or a positive int, not {batch_size!r}")
            self._parallel.set_batch_size(batch_size)

    def __repr__(self):
        return f"Parallel(n_jobs={self.n_jobs})"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __call__(self, iterable):
        source = self._make_source(iter(iterable))
        if self._processes:
            _prepare_python_worker()
        if self.return_as == "list":
            return self._run_list(source, None)
        return self._run_generator(source, ordered=self.return_as == "generator")

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

    def _make_source(self, iterator):
        # The input is consumed lazily, as workers free up (pre_dispatch),
        # like joblib does with generators.
        functions = FunctionCache()

        def next_call(*_user_data):
            try:
                task = next(iterator)
                return self._to_call(task, functions)
            except StopIteration:
                return None
            except BaseException as exc:  # noqa: BLE001 -- must reach C as an error
                raise_as_glib_error(exc)

        return next_call

    def _to_call(self, task, functions):
        try:
            function, args, kwargs = task
        except (TypeError, ValueError):
            raise TypeError("Parallel expects an iterable of delayed(f)(...) calls") from None
        if not callable(function):
            raise TypeError(f"delayed() needs a callable, not {type(function).__name__}")
        make_call = getattr(function, "_joblib_glib_make_call", None)
        if make_call is not None:
            return make_call(args, kwargs, self._processes)
        return functions.get(function).make_call(args, kwargs, self._processes)

    def _run_list(self, source, cancellable):
        try:
            results = self._parallel.run_source(source, cancellable=cancellable)
        except GLib.Error as error:
            _reraise(error)
        # Results are ours alone: arrays in them may be written to.
        return [from_variant(value, writable=True) for value in results]

    def _run_generator(self, source, ordered):
        context = GLib.MainContext.new()
        cancellable = Gio.Cancellable.new()
        state = {"done": False, "error": None}
        ready = {}
        arrived = []

        def on_result(_parallel, index, value):
            if ordered:
                ready[index] = value
            else:
                arrived.append(value)

        def on_done(parallel, result):
            try:
                parallel.run_source_finish(result)
            except GLib.Error as error:
                state["error"] = error
            state["done"] = True

        handler = self._parallel.connect("result", on_result)
        context.push_thread_default()
        try:
            self._parallel.run_source_async(source, cancellable=cancellable, callback=on_done)
        finally:
            context.pop_thread_default()
        next_index = 0
        try:
            while True:
                if ordered:
                    while next_index in ready:
                        yield from_variant(ready.pop(next_index), writable=True)
                        next_index += 1
                else:
                    while arrived:
                        yield from_variant(arrived.pop(0), writable=True)
                if state["done"]:
                    break
                context.push_thread_default()
                try:
                    context.iteration(True)
                finally:
                    context.pop_thread_default()
            if state["error"] is not None:
                _reraise(state["error"])
            while ordered and next_index in ready:
                yield from_variant(ready.pop(next_index), writable=True)
                next_index += 1
        finally:
            # Dropped half way (close(), garbage collection, an exception
            # in the consumer): cancel the rest and wait until the run has
            # released its tasks and workers.
            if not state["done"]:
                cancellable.cancel()
                context.push_thread_default()
                try:
                    while not state["done"]:
                        context.iteration(True)
                finally:
                    context.pop_thread_default()
                if state["error"] is not None:
                    forget_exceptions([state["error"]])
            self._parallel.disconnect(handler)


def _reraise(error):
    reraise(error)


def _warn_once(message):
    warnings.warn(message, RuntimeWarning, stacklevel=3)


__all__ = ["Parallel", "delayed", "cpu_count", "effective_n_jobs", "parallel_config",
           "parallel_backend", "register_parallel_backend", "forget_exceptions"]
