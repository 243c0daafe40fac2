# SPDX-License-Identifier: LGPL-2.1-or-later
"""joblib's API on top of joblib-glib (the Joblib-1.0 GIR).

Change ``from joblib import Parallel, delayed, Memory`` into
``from joblib_glib import Parallel, delayed, Memory`` and the code runs on
the GLib engine: Parallel on threads or on process workers
(``python3 -m joblib_glib.worker``), Memory over JobMemory, dump/load over
job_dump/job_load, numpy arrays shared with JobArray without copies.
"""

from ._functions import RemoteTraceback, WorkerError
from ._compressors import register_compressor
from ._hashing import hash
from ._mainloop import ParallelRun, start
from ._memory import Memory, MemorizedFunc, MemorizedResult, NotMemorizedFunc, expires_after
from ._parallel import (Parallel, cpu_count, delayed, effective_n_jobs, parallel_backend,
                        parallel_config, register_parallel_backend)
from ._persist import dump, load
from ._store import StoreBackendBase, register_store_backend
from ._values import PickleNotAllowedError, from_variant, to_variant

__all__ = [
    "Parallel", "delayed", "cpu_count", "effective_n_jobs", "parallel_config",
    "parallel_backend", "register_parallel_backend",
    "Memory", "MemorizedFunc", "MemorizedResult", "NotMemorizedFunc",
    "dump", "load", "start", "ParallelRun",
    "hash", "register_compressor", "register_store_backend", "StoreBackendBase", "expires_after",
    "to_variant", "from_variant", "PickleNotAllowedError", "RemoteTraceback", "WorkerError",
]
