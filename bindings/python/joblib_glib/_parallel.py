# SPDX-License-Identifier: LGPL-2.1-or-later
"""joblib's Parallel, delayed and parallel_config over Joblib.Parallel."""

import contextlib
import functools
import warnings

from ._functions import forget_exceptions, python_function, raise_as_glib_error, take_exception
from ._gi import GLib, Joblib
from ._values import from_variant

_BACKEND_NAMES = {
    "threading": "threading",
    "threads": "threading",
    "sequential": "sequential",
}
# joblib's process backends. Python functions run on threads until the
# Python process worker is available: the GIL is released by sleeping,
# I/O and numpy, which is what the tutorial's workloads do.
_PROCESS_BACKENDS = ("loky", "multiprocessing", "processes")


def delayed(function):
    """Capture a function and its arguments: ``delayed(f)(*args, **kwargs)``."""

    @functools.wraps(function)
    def delayed_function(*args, **kwargs):
        return function, args, kwargs

    return delayed_function


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
    if isinstance(backend, Joblib.Backend):
        return backend
    if backend is None:
        if require == "sharedmem" or prefer == "threads":
            return "threading"
        return None
    if backend in _PROCESS_BACKENDS:
        registered = Joblib.Backend.list_names()
        if require != "sharedmem" and backend in registered and _python_worker_available():
            return backend
        return "threading"
    return _BACKEND_NAMES.get(backend, backend)


def _python_worker_available():
    return False


@contextlib.contextmanager
def parallel_config(backend=None, n_jobs=None, verbose=None, inner_max_num_threads=None,
                    prefer=None, require=None):
    """Scoped defaults for Parallel, as joblib.parallel_config (per thread)."""
    config = Joblib.ParallelConfig.new()
    name = _backend_name(backend, prefer, require)
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
        if isinstance(name, Joblib.Backend):
            self._parallel.set_backend(name)
        elif name is not None:
            self._parallel.set_backend_name(name)
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
        if self.return_as == "list":
            return self._run_list(source)
        return self._run_generator(source, ordered=self.return_as == "generator")

    def _make_source(self, iterator):
        # The input is consumed lazily, as workers free up (pre_dispatch),
        # like joblib does with generators.
        def next_call(*_user_data):
            try:
                task = next(iterator)
                return self._to_call(task)
            except StopIteration:
                return None
            except BaseException as exc:  # noqa: BLE001 -- must reach C as an error
                raise_as_glib_error(exc)

        return next_call

    @staticmethod
    def _to_call(task):
        try:
            function, args, kwargs = task
        except (TypeError, ValueError):
            raise TypeError("Parallel expects an iterable of delayed(f)(...) calls") from None
        make_call = getattr(function, "_joblib_glib_make_call", None)
        if make_call is not None:
            return make_call(args, kwargs)
        return python_function(function).make_call(args, kwargs)

    def _run_list(self, source):
        try:
            results = self._parallel.run_source(source, cancellable=None)
        except GLib.Error as error:
            _reraise(error)
        return [from_variant(value) for value in results]

    def _run_generator(self, source, ordered):
        context = GLib.MainContext.new()
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
            self._parallel.run_source_async(source, cancellable=None, callback=on_done)
        finally:
            context.pop_thread_default()
        next_index = 0
        try:
            while True:
                if ordered:
                    while next_index in ready:
                        yield from_variant(ready.pop(next_index))
                        next_index += 1
                else:
                    while arrived:
                        yield from_variant(arrived.pop(0))
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
                yield from_variant(ready.pop(next_index))
                next_index += 1
        finally:
            self._parallel.disconnect(handler)


def _reraise(error):
    original = take_exception(error)
    if original is not None:
        raise original
    raise error


def _warn_once(message):
    warnings.warn(message, RuntimeWarning, stacklevel=3)


__all__ = ["Parallel", "delayed", "cpu_count", "effective_n_jobs", "parallel_config",
           "parallel_backend", "register_parallel_backend", "forget_exceptions"]
