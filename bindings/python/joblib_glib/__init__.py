# SPDX-License-Identifier: LGPL-2.1-or-later
"""joblib's API on top of joblib-glib (the Joblib-1.0 GIR).

Change ``from joblib import Parallel, delayed, Memory`` into
``from joblib_glib import Parallel, delayed, Memory`` and the code runs on
the GLib engine: Parallel on threads or on process workers
(``python3 -m joblib_glib.worker``), Memory over JobMemory, dump/load over
job_dump/job_load, numpy arrays shared with JobArray without copies.
"""

from ._backend_base import ParallelBackendBase
from ._cluster import register_ipyparallel_backend
from ._compressors import register_compressor
from ._functions import RemoteTraceback, TerminatedWorkerError, WorkerError
from ._gi import Joblib as _Joblib
from ._glib_log import CacheWarning
from ._glib_log import install as _install_log_handler
from ._hashing import hash
from ._logger import Logger, PrintTime
from ._mainloop import ParallelRun, start
from ._memory import Memory, MemorizedFunc, MemorizedResult, NotMemorizedFunc, expires_after
from ._parallel import (Parallel, cpu_count, delayed, effective_n_jobs, parallel_backend,
                        parallel_config, register_parallel_backend)
from ._persist import dump, load
from ._store import StoreBackendBase, register_store_backend
from ._values import PickleNotAllowedError, from_variant, to_variant
from ._wrap import wrap_non_picklable_objects

__version__ = _Joblib.VERSION_S

# the C library's warnings through Python's warnings module
_install_log_handler()


def register_joblib_backend(name="joblib-glib", make_default=False):
    """Register a backend named ``name`` in Python joblib (when installed)
    that runs joblib's tasks on joblib-glib's process workers (its threads
    with ``prefer="threads"`` or ``inner="threads"``), so that libraries
    that import joblib (scikit-learn...) use this engine::

        joblib_glib.register_joblib_backend()
        with joblib.parallel_backend("joblib-glib"):
            GridSearchCV(...).fit(X, y)

    Returns the backend class (a joblib ParallelBackendBase)."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"a backend name must be a non-empty str, not {name!r}")
    from ._joblib_backend import register
    return register(name, make_default)

__all__ = [
    "Parallel", "delayed", "cpu_count", "effective_n_jobs", "parallel_config",
    "parallel_backend", "register_parallel_backend",
    "Memory", "MemorizedFunc", "MemorizedResult", "NotMemorizedFunc",
    "dump", "load", "start", "ParallelRun",
    "hash", "register_compressor", "register_store_backend", "StoreBackendBase", "expires_after",
    "to_variant", "from_variant", "PickleNotAllowedError", "RemoteTraceback", "WorkerError",
    "TerminatedWorkerError", "ParallelBackendBase", "Logger", "PrintTime",
    "wrap_non_picklable_objects", "__version__", "register_joblib_backend",
    "register_ipyparallel_backend", "CacheWarning",
]
