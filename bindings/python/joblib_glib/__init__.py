# SPDX-License-Identifier: LGPL-2.1-or-later
"""joblib's API on top of joblib-glib (the Joblib-1.0 GIR).

Change ``from joblib import Parallel, delayed`` into
``from joblib_glib import Parallel, delayed`` and the code runs on the
GLib engine.
"""

from ._parallel import (Parallel, cpu_count, delayed, effective_n_jobs, parallel_backend,
                        parallel_config, register_parallel_backend)
from ._values import PickleNotAllowedError, from_variant, to_variant

__all__ = [
    "Parallel", "delayed", "cpu_count", "effective_n_jobs", "parallel_config",
    "parallel_backend", "register_parallel_backend",
    "to_variant", "from_variant", "PickleNotAllowedError",
]
