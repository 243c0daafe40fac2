# SPDX-License-Identifier: LGPL-2.1-or-later
"""The "dask" and "ipyparallel" backends from Python, as joblib takes them.

``parallel_config(backend="dask")`` uses the default ``dask.distributed``
Client (``Client(...)`` made in this interpreter) as joblib's Dask backend
does; ``scheduler_host=`` or ``client=`` choose another.  For IPython
Parallel, ``parallel_config(backend="ipyparallel")`` uses the default
profile's cluster, and ``register_ipyparallel_backend(view_or_client)`` binds
the name to one cluster, as ``view.register_joblib_backend()`` does for
joblib.

Either way the work runs on a Joblib.DaskBackend or
Joblib.IpyparallelBackend: joblib-glib workers started as long-lived tasks
of the cluster, which dial back to this process.  The submission helper is
this package's cluster_submit.py, run by this interpreter.  One backend per
cluster serves the whole interpreter (its helper stays connected between
runs) and is shut down at exit.
"""

import atexit
import ipaddress
import json
import os
import sys
import tempfile
import threading
from urllib.parse import urlsplit

from ._gi import Joblib
from ._registry import register_parallel_backend

NAMES = ("dask", "ipyparallel")

_lock = threading.Lock()
_backends = {}      # (name, cluster) -> Joblib.ClusterBackend
_registered = {}    # name -> a zero-argument factory (register_ipyparallel_backend)

_NO_DASK_CLIENT = (
    "To use Joblib with Dask first create a Dask Client\n\n"
    "    from dask.distributed import Client\n"
    "    client = Client()\n"
    "or\n"
    "    client = Client('scheduler-address:8786')")


def _helper_command():
    return [sys.executable or "/usr/bin/python3",
            os.path.join(os.path.dirname(os.path.abspath(__file__)), "cluster_submit.py")]


def _is_loopback(host):
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _shared(key, make):
    with _lock:
        backend = _backends.get(key)
        if backend is None:
            if not _backends:
                atexit.register(shutdown_all)
            backend = _backends[key] = make()
            backend.props.helper_command = _helper_command()
        return backend


def shutdown_all():
    """Shut every cluster backend of the interpreter down (at exit)."""
    with _lock:
        backends = list(_backends.values())
        _backends.clear()
    for backend in backends:
        backend.shutdown()


def dask_backend(scheduler_host=None, client=None, scheduler_file=None, **options):
    """The Joblib.DaskBackend for joblib's DaskDistributedBackend arguments."""
    unknown = set(options) - {"scatter", "loop", "wait_for_workers_timeout"}
    if unknown:
        raise TypeError(f"unexpected keyword arguments for the dask backend: "
                        f"{', '.join(sorted(unknown))}")
    if client is not None:
        address = client.scheduler.address
    elif scheduler_host is not None:
        address = scheduler_host
    elif scheduler_file is not None:
        address = None
    else:
        try:
            from distributed import get_client
        except ImportError:
            raise ValueError(_NO_DASK_CLIENT) from None
        try:
            address = get_client().scheduler.address
        except ValueError:
            raise ValueError(_NO_DASK_CLIENT) from None
    if not isinstance(address, (str, type(None))):
        raise TypeError(f"scheduler_host must be an address string, not "
                        f"{type(address).__name__}")

    def make():
        backend = Joblib.DaskBackend.new(address)
        if scheduler_file is not None and address is None:
            backend.props.scheduler_file = scheduler_file
        host = urlsplit(address if "://" in (address or "") else f"tcp://{address}").hostname
        if host is not None and _is_loopback(host):
            # A cluster on this machine: its workers dial loopback.
            backend.props.listen_address = "127.0.0.1"
        return backend

    return _shared(("dask", address or scheduler_file), make)


def _url_file_of(view_or_client):
    """A connection file for an ipyparallel View or Client (its own
    connection settings, written 0600 to a temporary file)."""
    client = getattr(view_or_client, "client", view_or_client)
    config = getattr(client, "_config", None)
    if not isinstance(config, dict):
        raise TypeError(f"expected an ipyparallel View or Client, not "
                        f"{type(view_or_client).__name__}")
    # The file form: the client keeps "tcp://IP:PORT" where the file
    # has the port alone, next to the interface.
    interface = config.get("interface", "")
    saved = {}
    for name, value in config.items():
        if isinstance(value, str) and name != "interface" and interface and \
                value.startswith(interface + ":") and value.rpartition(":")[2].isdigit():
            value = int(value.rpartition(":")[2])
        saved[name] = value
    handle, path = tempfile.mkstemp(prefix="joblib-glib-ipp-", suffix=".json")
    with os.fdopen(handle, "w") as f:
        json.dump(saved, f)
    atexit.register(_remove, path)
    return path, config.get("location") or config.get("interface", "")


def _remove(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def ipyparallel_backend(view=None, client=None, url_file=None, profile=None,
                        profile_dir=None, cluster_id=None, **options):
    """The Joblib.IpyparallelBackend for a View, a Client, a connection
    file or a profile (the default profile's cluster without any)."""
    if options:
        raise TypeError(f"unexpected keyword arguments for the ipyparallel backend: "
                        f"{', '.join(sorted(options))}")
    where = ""
    source = view if view is not None else client
    if source is not None:
        url_file, where = _url_file_of(source)
    key = ("ipyparallel", url_file, profile, profile_dir, cluster_id)

    def make():
        backend = Joblib.IpyparallelBackend.new(url_file)
        for prop, value in (("profile", profile), ("profile_dir", profile_dir),
                            ("cluster_id", cluster_id)):
            if value is not None:
                setattr(backend.props, prop, value)
        if "127.0.0.1" in where or "localhost" in where:
            backend.props.listen_address = "127.0.0.1"
        return backend

    return _shared(key, make)


def register_ipyparallel_backend(view_or_client=None, name="ipyparallel", make_default=False):
    """Bind ``name`` to an IPython Parallel cluster, as
    ``view.register_joblib_backend()`` (or ``ipyparallel.register_joblib_backend()``
    without a view) does for joblib: ``parallel_config(backend=name)`` then
    runs there."""
    if not isinstance(name, str):
        raise TypeError(f"a backend name must be a str, not {type(name).__name__}")
    if view_or_client is None:
        factory = ipyparallel_backend
    else:
        backend = ipyparallel_backend(view_or_client)

        def factory():
            return backend
    _registered[name] = factory
    register_parallel_backend(name, Joblib.IpyparallelBackend, make_default=make_default)


def backend_for(name, **options):
    """The cluster backend a name and joblib's backend arguments give, or
    None when the name is not a cluster backend's."""
    if not isinstance(name, str):
        return None
    factory = _registered.get(name)
    if factory is not None and not options:
        return factory()
    if name == "dask":
        return dask_backend(**options)
    if name == "ipyparallel" or factory is not None:
        return ipyparallel_backend(**options)
    return None
