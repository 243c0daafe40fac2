# SPDX-License-Identifier: LGPL-2.1-or-later
"""The "dask" and "ipyparallel" backends from Python, as joblib takes them.

``parallel_config(backend="dask")`` uses the default ``dask.distributed``
Client (``Client(...)`` made in this interpreter) as joblib's Dask backend
does; ``scheduler_host=`` or ``client=`` choose another.  A Client's
security settings (TLS) reach the submission helper, and so do Dask's
``submit()`` arguments that place tasks (``workers``, ``resources``,
``priority``, ``allow_other_workers``), which joblib passes on too.  For
IPython Parallel, ``parallel_config(backend="ipyparallel")`` uses the
default profile's cluster, and ``register_ipyparallel_backend(view_or_client)``
binds the name to one cluster, as ``view.register_joblib_backend()`` does
for joblib.  Other keywords are the backend's GObject properties
(``n_workers``, ``listen_address``, ``shared_folder``, ``tls``...); any
other is a TypeError, as joblib's backends raise.

Either way the work runs on a Joblib.DaskBackend or
Joblib.IpyparallelBackend: joblib-glib workers started as long-lived tasks
of the cluster, which dial back to this process.  The submission helper is
this package's cluster_submit.py, run by this interpreter.  One backend per
cluster serves the whole interpreter (its helper stays connected between
runs) and is shut down at exit.
"""

import atexit
import builtins
import ipaddress
import json
import os
import re
import sys
import tempfile
import threading
from urllib.parse import urlsplit

from ._gi import GLib, Joblib
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


def _shared(key, make, helper_options=None):
    """The backend of the interpreter for ``key``, made by ``make`` the
    first time; ``helper_options`` (a dict) reach its helper in a file."""
    with _lock:
        backend = _backends.get(key)
        if backend is None:
            backend = make()
            command = _helper_command()
            if helper_options:
                command += ["--options", _private_file("options", helper_options)]
            backend.props.helper_command = command
            if not _backends:
                atexit.register(shutdown_all)
            _backends[key] = backend
        return backend


def _private_file(kind, content):
    """A JSON file only this user can read (it may hold TLS keys), removed
    at exit; its path."""
    handle, path = tempfile.mkstemp(prefix=f"joblib-glib-{kind}-", suffix=".json")
    with os.fdopen(handle, "w") as f:
        json.dump(content, f)
    atexit.register(_remove, path)
    return path


def _properties(cls, options, also=()):
    """The GObject properties of ``cls`` among ``options`` as
    ``(property name, value)`` pairs; TypeError naming what is none, as
    joblib's backends raise for a keyword they do not take."""
    names = {p.name.replace("-", "_") for p in cls.list_properties()} - {"helper_command"}
    unknown = sorted(set(options) - names)
    if unknown:
        raise TypeError(f"{cls.__name__}: unexpected backend parameter"
                        f"{'s' if len(unknown) > 1 else ''} "
                        f"{', '.join(repr(name) for name in unknown)} (it takes "
                        f"{', '.join(sorted(names | set(also)))})")
    return [(name.replace("_", "-"), value) for name, value in sorted(options.items())]


def _set_properties(backend, properties):
    for name, value in properties:
        try:
            backend.set_property(name, value)
        except (TypeError, ValueError, OverflowError) as error:
            raise TypeError(f"backend parameter {name.replace('-', '_')!r}: {error}") \
                from None


def _key_of(value):
    """A hashable, order-free form of keyword values, for _shared's keys."""
    return json.dumps(value, sort_keys=True, default=repr)


def shutdown_all():
    """Shut every cluster backend of the interpreter down (at exit)."""
    with _lock:
        backends = list(_backends.values())
        _backends.clear()
    for backend in backends:
        backend.shutdown()


# joblib's DaskDistributedBackend arguments without an effect here: the
# tasks' arguments travel in the workers' connections, not the scheduler
_DASK_UNUSED = ("scatter", "loop", "wait_for_workers_timeout")
# Dask's submit() arguments (joblib hands its backend's other keywords to
# submit()) that say where the long-lived worker tasks may run
_DASK_SUBMIT = ("workers", "resources", "priority", "allow_other_workers")
# the client's side of distributed.Security: what its Client needs
_SECURITY_FIELDS = ("require_encryption", "tls_ca_file", "tls_ciphers", "tls_min_version",
                    "tls_max_version", "tls_client_key", "tls_client_cert")


def security_options(security):
    """The client's side of a distributed.Security as plain JSON values
    (file names, or the PEM text of an in-memory Security.temporary()),
    for the helper to build the same Security; None when it has none."""
    if security is None:
        return None
    fields = {}
    for name in _SECURITY_FIELDS:
        value = getattr(security, name, None)
        if value is None:
            continue
        if name in ("tls_min_version", "tls_max_version"):
            value = getattr(value, "name", value)  # an ssl.TLSVersion
        fields[name] = value
    extra = getattr(security, "extra_conn_args", None)
    if extra:
        try:
            json.dumps(extra)
        except TypeError:
            raise TypeError("the Client's security has extra_conn_args that cannot be sent "
                            "to the submission helper (plain values only)") from None
        fields["extra_conn_args"] = extra
    if not fields.get("require_encryption") and not fields.get("tls_client_cert"):
        return None  # nothing beyond Dask's configuration, which the helper reads too
    return fields


def dask_backend(scheduler_host=None, client=None, scheduler_file=None, **options):
    """The Joblib.DaskBackend for joblib's DaskDistributedBackend
    arguments, Dask's placing submit() arguments and the backend's
    properties (``scheduler_address`` for ``scheduler_host``)."""
    scatter = options.pop("scatter", None)
    if scatter is not None and not isinstance(scatter, (list, tuple)):
        raise TypeError(f"scatter must be a list/tuple, got `{type(scatter).__name__}`")
    for name in _DASK_UNUSED:
        options.pop(name, None)
    submit = {name: options.pop(name) for name in _DASK_SUBMIT if name in options}
    if "scheduler_address" in options:
        if scheduler_host is not None:
            raise TypeError("give scheduler_host or scheduler_address, not both")
        scheduler_host = options.pop("scheduler_address")
    properties = _properties(Joblib.DaskBackend, options,
                             also=("client", "scheduler_host") + _DASK_SUBMIT + _DASK_UNUSED)
    try:
        json.dumps(submit)
    except TypeError as error:
        raise TypeError(f"Dask submit arguments {', '.join(sorted(submit))} must be plain "
                        f"values: {error}") from None
    if client is None and scheduler_host is None and scheduler_file is None:
        try:
            from distributed import get_client
        except ImportError:
            raise ValueError(_NO_DASK_CLIENT) from None
        try:
            client = get_client()
        except ValueError:
            raise ValueError(_NO_DASK_CLIENT) from None
    if client is not None:
        address = client.scheduler.address
    else:
        address = scheduler_host
    if not isinstance(address, (str, type(None))):
        raise TypeError(f"scheduler_host must be an address string, not "
                        f"{type(address).__name__}")
    # A Client made with security= (TLS) is reached the same way by the
    # helper, which makes its own Client: joblib uses the Client itself.
    security = security_options(getattr(client, "security", None))
    helper_options = {key: value for key, value in (("security", security),
                                                    ("submit", submit)) if value}

    def make():
        backend = Joblib.DaskBackend.new(address)
        if scheduler_file is not None and address is None:
            backend.props.scheduler_file = scheduler_file
        host = urlsplit(address if "://" in (address or "") else f"tcp://{address}").hostname
        if host is not None and _is_loopback(host):
            # A cluster on this machine: its workers dial loopback.
            backend.props.listen_address = "127.0.0.1"
        _set_properties(backend, properties)
        return backend

    return _shared(("dask", address or scheduler_file, _key_of(properties),
                    _key_of(helper_options)), make, helper_options)


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
    return _private_file("ipp", saved), config.get("location") or config.get("interface", "")


def _remove(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def ipyparallel_backend(view=None, client=None, url_file=None, profile=None,
                        profile_dir=None, cluster_id=None, **options):
    """The Joblib.IpyparallelBackend for a View, a Client, a connection
    file or a profile (the default profile's cluster without any), with
    the backend's other properties as keywords."""
    properties = _properties(Joblib.IpyparallelBackend, options, also=("view", "client"))
    where = ""
    source = view if view is not None else client
    if source is not None:
        url_file, where = _url_file_of(source)
    key = ("ipyparallel", url_file, profile, profile_dir, cluster_id, _key_of(properties))

    def make():
        backend = Joblib.IpyparallelBackend.new(url_file)
        for prop, value in (("profile", profile), ("profile_dir", profile_dir),
                            ("cluster_id", cluster_id)):
            if value is not None:
                setattr(backend.props, prop, value)
        if "127.0.0.1" in where or "localhost" in where:
            backend.props.listen_address = "127.0.0.1"
        _set_properties(backend, properties)
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


# How long effective_n_jobs waits for a cluster's scheduler, as long as a
# C run waits when it sizes n_jobs=-1 to the cluster.
CONNECT_SECONDS = 30.0


def remote_n_jobs(backend, n_jobs, local):
    """The number of workers a run on ``backend`` (a Joblib.RemoteBackend)
    gets for ``n_jobs`` (``local``: n_jobs resolved against this machine's
    CPUs), as the C run sizes it: -1 (all), -2 (all but one)... of a Dask
    or IPython Parallel cluster count its threads or engines (the helper
    connects first, as joblib's Dask backend asks its Client), an SSH
    backend has its hosts' slots whatever n_jobs says, and a positive
    n_jobs is what the backend makes of it (``n_workers`` when set).  A
    cluster that cannot be reached raises what joblib's backend would
    (see start_exception), with the GLib.Error as ``__cause__``."""
    if n_jobs < 0 and isinstance(backend, Joblib.ClusterBackend) and \
            backend.props.n_workers <= 0:
        try:
            backend.connect(CONNECT_SECONDS)
        except GLib.Error as error:
            exc = start_exception(error)
            if exc is None:
                timeout = error.code == int(Joblib.Error.TIMEOUT)
                exc = (TimeoutError if timeout else OSError)(error.message)
            raise exc from error
        # The C run's count (the backend's effective_n_jobs takes a
        # resolved, positive n_jobs only): joblib's -1/-2 rule over the
        # cluster's threads as the helper sees them now.
        threads = backend.get_cluster_threads()
        if threads > 0:
            return max(threads + 1 + n_jobs, 1)
    return backend.effective_n_jobs(local)


# What the submission helper reports when it cannot reach its cluster:
# the exception that Dask's or IPython Parallel's client raised, by name.
_HELPER_CANNOT_CONNECT = re.compile(
    r"cannot connect to the (?:dask|ipyparallel) cluster: ([A-Za-z_][A-Za-z0-9_.]*): ")
# Other ways a backend of other machines fails to start its workers.
_START_FAILURES = (
    "Cannot start the cluster submission helper",
    "Lost the cluster submission helper",
    "The cluster submission helper exited",
    "No SSH host can run workers",
)


def start_exception(error):
    """The Python exception for a GLib.Error of a remote backend that
    could not start (None for any other error).  A cluster that cannot be
    reached gives the exception its client raised, as joblib's Dask
    backend lets ``Client(...)`` raise it (OSError for a scheduler that
    does not answer, TypeError for a TLS scheduler reached without TLS
    settings...), when it is a built-in one; else, and for a helper that
    cannot run or a set of SSH hosts none of which can run a worker,
    OSError.  A cluster that does not answer in time is TimeoutError, as
    for any run (the error code says so)."""
    message = getattr(error, "message", None) or ""
    if getattr(error, "domain", None) != "job-error-quark" or \
            error.code != int(Joblib.Error.FAILED):
        return None
    found = _HELPER_CANNOT_CONNECT.search(message)
    if found is not None:
        kind = getattr(builtins, found.group(1), None)
        if isinstance(kind, type) and issubclass(kind, Exception):
            try:
                return kind(message)
            except TypeError:  # one that takes other arguments
                pass
        return OSError(message)
    if any(failure in message for failure in _START_FAILURES):
        return OSError(message)
    return None
