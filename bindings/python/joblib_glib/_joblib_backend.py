# SPDX-License-Identifier: LGPL-2.1-or-later
"""A backend for Python joblib itself that runs on joblib-glib.

scikit-learn and many other libraries import ``joblib``, not us.  After
``joblib_glib.register_joblib_backend()``,
``with joblib.parallel_backend("joblib-glib"): GridSearchCV(...).fit(X, y)``
sends joblib's batches of tasks to joblib-glib's process workers (or its
threads with ``prefer="threads"`` / ``inner="threads"``).

joblib hands a backend one batch at a time (``apply_async``) and calls
back when it completes; each batch here is a joblib_glib Parallel call of
one task on the interpreter's shared process backend, made from a small
pool of feeding threads (they wait, without the GIL, for the workers).
This module imports joblib: it is loaded by register_joblib_backend only.
"""

import concurrent.futures
import threading

from joblib.parallel import ParallelBackendBase
from joblib.parallel import register_parallel_backend as _joblib_register

try:
    # joblib's batch sizer (loky's): short tasks go several to a batch
    from joblib._parallel_backends import AutoBatchingMixin
except ImportError:   # a joblib without it: one task per batch
    class AutoBatchingMixin:
        pass

from ._parallel import Parallel, effective_n_jobs


class _Result:
    """What apply_async returns: joblib calls ``get(timeout)`` on it."""

    __slots__ = ("future",)

    def __init__(self, future):
        self.future = future

    def get(self, timeout=None):
        try:
            return self.future.result(timeout)
        except concurrent.futures.TimeoutError:
            raise TimeoutError(f"a batch did not finish within {timeout} s") from None


def _run_batch(batch, backend, n_jobs):
    return Parallel(n_jobs=n_jobs, backend=backend)([(batch, (), {})])[0]


class JoblibGlibBackend(AutoBatchingMixin, ParallelBackendBase):
    """joblib's ParallelBackendBase, over joblib_glib's Parallel; batches
    sized as loky's (joblib's AutoBatchingMixin).

    ``inner="processes"`` (default) or ``"threads"`` picks joblib-glib's
    backend; joblib's ``prefer="threads"`` picks threads too."""

    supports_timeout = True
    supports_inner_max_num_threads = False

    def __init__(self, inner="processes", nesting_level=None, inner_max_num_threads=None,
                 **kwargs):
        super().__init__(nesting_level=nesting_level,
                         inner_max_num_threads=inner_max_num_threads, **kwargs)
        if inner not in ("processes", "threads"):
            raise ValueError(f"inner must be 'processes' or 'threads', not {inner!r}")
        self.inner = inner
        self._n_jobs = 1
        self._feeders = None
        self._lock = threading.Lock()

    def __getstate__(self):
        # joblib pickles the backend with each batch (its tasks re-enter
        # parallel_backend in the worker): no threads or locks
        return {"inner": self.inner, "nesting_level": self.nesting_level,
                "inner_max_num_threads": self.inner_max_num_threads}

    def __setstate__(self, state):
        self.__init__(**state)

    def effective_n_jobs(self, n_jobs):
        if n_jobs is None:
            return 1
        return effective_n_jobs(n_jobs)

    def configure(self, n_jobs=1, parallel=None, prefer=None, require=None, **backend_args):
        self.parallel = parallel
        self._n_jobs = self.effective_n_jobs(n_jobs)
        self._backend = "threading" if (self.inner == "threads" or prefer == "threads" or
                                        require == "sharedmem") else "loky"
        with self._lock:
            if self._feeders is None:
                self._feeders = concurrent.futures.ThreadPoolExecutor(
                    max_workers=self._n_jobs, thread_name_prefix="joblib-glib-feeder")
        return self._n_jobs

    def apply_async(self, func, callback=None):
        future = self._feeders.submit(_run_batch, func, self._backend, self._n_jobs)
        result = _Result(future)
        if callback is not None:
            future.add_done_callback(lambda done: callback(result) if done.exception() is None
                                     else None)
        return result

    def terminate(self):
        with self._lock:
            feeders, self._feeders = self._feeders, None
        if feeders is not None:
            feeders.shutdown(wait=True, cancel_futures=True)

    def abort_everything(self, ensure_ready=True):
        self.terminate()
        if ensure_ready:
            self.configure(n_jobs=self._n_jobs, parallel=self.parallel)


def register(name="joblib-glib", make_default=False):
    _joblib_register(name, JoblibGlibBackend, make_default=make_default)
    return JoblibGlibBackend


__all__ = ["JoblibGlibBackend", "register"]
