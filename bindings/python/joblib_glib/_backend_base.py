# SPDX-License-Identifier: LGPL-2.1-or-later
"""joblib-style backends written in Python: ``ParallelBackendBase``.

Code written for joblib registers backends as subclasses of joblib's
``ParallelBackendBase`` (``apply_async(func, callback)`` returning an
object with ``get()``, or ``submit(func, callback)`` returning a future).
``register_parallel_backend`` accepts them (ours or joblib's own base
class) next to GObject ``Joblib.Backend`` classes; Parallel then hands
them the tasks as joblib does, one zero-argument callable per task that
returns the list of its results, and waits for them in input order.  The
C engine is not involved: such a backend decides everything itself."""

import abc
import threading

from ._chunks import unpack_task
from ._functions import qualified_name


class ParallelBackendBase(metaclass=abc.ABCMeta):
    """The base of joblib-style backends (see the module documentation)."""

    supports_timeout = False
    supports_inner_max_num_threads = False
    supports_retrieve_callback = False
    default_n_jobs = 1
    nesting_level = None

    def __init__(self, nesting_level=None, inner_max_num_threads=None, **kwargs):
        super().__init__(**kwargs)
        self.nesting_level = nesting_level
        self.inner_max_num_threads = inner_max_num_threads
        self.parallel = None

    @abc.abstractmethod
    def effective_n_jobs(self, n_jobs):
        """The number of workers ``n_jobs`` gives on this backend."""

    def apply_async(self, func, callback=None):
        """Schedule ``func()``; an object whose ``get()`` returns its value.
        Override this or ``submit``."""
        return self.submit(func, callback=callback)

    def submit(self, func, callback=None):
        raise NotImplementedError("a backend implements apply_async or submit")

    def configure(self, n_jobs=1, parallel=None, prefer=None, require=None, **backend_args):
        """Prepare for a Parallel call; returns the effective n_jobs."""
        self.parallel = parallel
        return self.effective_n_jobs(n_jobs)

    def start_call(self):
        """Called before the tasks of a Parallel call are dispatched."""

    def stop_call(self):
        """Called when a Parallel call has all its results."""

    def terminate(self):
        """Release the workers after a Parallel call."""

    def abort_everything(self, ensure_ready=True):
        """Stop what runs after an error; by default terminate()."""
        self.terminate()

    def compute_batch_size(self):
        return 1

    def batch_completed(self, batch_size, duration):
        """Told how long each dispatched batch took."""

    def get_exceptions(self):
        return []

    def get_nested_backend(self):
        """The backend for Parallel calls made inside a task (None: the
        default rules)."""
        return None, None


class _Task:
    """One task as joblib hands it to a backend: a zero-argument callable
    that returns the list of its results."""

    __slots__ = ("function", "args", "kwargs")

    def __init__(self, function, args, kwargs):
        self.function = function
        self.args = args
        self.kwargs = kwargs

    def __call__(self):
        return [self.function(*self.args, **self.kwargs)]

    def __len__(self):
        return 1

    def __repr__(self):
        return f"<task {qualified_name(self.function)}>"


def is_python_backend(factory):
    """Whether ``factory`` is a class of joblib-style backend (ours or
    joblib's own ParallelBackendBase, or anything with their methods)."""
    return isinstance(factory, type) and hasattr(factory, "effective_n_jobs") and \
        (hasattr(factory, "apply_async") or hasattr(factory, "submit"))


def _waiter(handle):
    get = getattr(handle, "get", None)
    if get is not None:
        return get
    return handle.result


def run(backend, parallel, iterable, timeout):
    """Run the tasks of ``iterable`` on a joblib-style ``backend`` for
    ``parallel``; yields the results in input order."""
    backend.configure(n_jobs=parallel.n_jobs, parallel=parallel)
    backend.start_call()
    lock = threading.Lock()
    handles = []
    try:
        for task in iterable:
            function, args, kwargs = unpack_task(task)
            with lock:
                handles.append(backend.apply_async(_Task(function, args, kwargs)))
        for handle in handles:
            yield from _waiter(handle)(timeout) if timeout is not None else _waiter(handle)()
    except BaseException:
        backend.abort_everything(ensure_ready=False)
        raise
    else:
        backend.stop_call()
        backend.terminate()


__all__ = ["ParallelBackendBase", "is_python_backend", "run"]
