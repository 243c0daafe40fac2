# SPDX-License-Identifier: LGPL-2.1-or-later
"""Backend names: the engine's, joblib's aliases for them, and those that
register_parallel_backend adds (GObject classes and joblib-style Python
backends).

The bottom of the backend layer: _cluster (which registers the cluster
names it binds) and _config (which resolves names for the scopes) both
read and write these tables through this module; it imports neither.
The tables are shared by every thread; they change only when a backend
is registered (at import or set-up time, as in joblib)."""

from . import _backend_base
from ._gi import Joblib

# joblib's names and ours -> the name of the Joblib.Backend behind them
BACKEND_NAMES = {
    "threading": "threading",
    "threads": "threading",
    "sequential": "sequential",
    "loky": "loky",
    "processes": "processes",
    "multiprocessing": "processes",
}
# joblib's process backends: JobProcessBackend with the Python worker
# (python3 -m joblib_glib.worker), the default as in joblib.
PROCESS_BACKENDS = ("loky", "multiprocessing", "processes")
DEFAULT_BACKEND = "loky"

# joblib-style backends (_backend_base) by name, and the default one
PYTHON_BACKENDS = {}
python_default = {"backend": None}
# the Joblib.ParallelConfig that a GObject backend registered with
# make_default=True pushed (kept alive for the whole interpreter)
_default_config = None


def known_backends():
    """Every backend name, sorted (for joblib's "Invalid backend" message)."""
    return sorted(set(BACKEND_NAMES) | set(Joblib.Backend.list_names()))


def is_known(name):
    """Whether ``name`` (a str) names a backend."""
    return name in BACKEND_NAMES or name in Joblib.Backend.list_names()


def register_parallel_backend(name, factory, make_default=False):
    """Register a backend under a name: a GObject class implementing
    Joblib.Backend, or a joblib-style ParallelBackendBase subclass (ours or
    joblib's own)."""
    global _default_config

    if not isinstance(name, str):
        raise TypeError(f"a backend name must be a str, not {type(name).__name__}")
    if _backend_base.is_python_backend(factory):
        PYTHON_BACKENDS[name] = factory
        BACKEND_NAMES[name] = name
        if make_default:
            python_default["backend"] = factory
        return
    gtype = getattr(factory, "__gtype__", None)
    if gtype is None or not gtype.is_a(Joblib.Backend.__gtype__):
        raise TypeError("a backend must be a GObject class implementing Joblib.Backend or a "
                        "ParallelBackendBase subclass")
    Joblib.Backend.register(name, gtype)
    BACKEND_NAMES[name] = name
    if make_default:
        python_default["backend"] = None
        _default_config = Joblib.ParallelConfig.new()
        _default_config.set_backend_name(name)
        _default_config.push()
