# SPDX-License-Identifier: LGPL-2.1-or-later
"""The "dask" and "ipyparallel" backends named with keywords in
parallel_config / parallel_backend: joblib's arguments, Dask's submit()
arguments and the C backends' properties; and a Dask Client's security
(TLS) carried to the submission helper, against one in-process Dask
cluster on 127.0.0.1 that speaks only TLS with throw-away certificates
(started once for this file, closed at its end)."""

import json
import os
import stat

import gi
gi.require_version("Joblib", "1.0")
from gi.repository import GLib, Joblib  # noqa: E402

import joblib  # noqa: E402
import pytest  # noqa: E402

import joblib_glib  # noqa: E402
from joblib_glib import Parallel, delayed, parallel_backend, parallel_config  # noqa: E402

distributed = pytest.importorskip("distributed")


def square(x):
    return x * x


def helper_options(backend):
    """The --options file given to the backend's helper, read back, and
    its permission bits; None when there is none."""
    command = list(backend.props.helper_command)
    assert command[1].endswith("cluster_submit.py")
    if "--options" not in command:
        return None
    path = command[command.index("--options") + 1]
    with open(path, encoding="utf-8") as f:
        return json.load(f), stat.S_IMODE(os.stat(path).st_mode)


def test_dask_keywords_are_backend_properties():
    with parallel_config(backend="dask", scheduler_host="tcp://127.0.0.1:9", n_workers=3,
                         max_retries=4, idle_timeout=5.0) as config:
        dask = config["backend"].glib_backend
        assert isinstance(dask, Joblib.DaskBackend)
        assert dask.props.scheduler_address == "tcp://127.0.0.1:9"
        assert (dask.props.n_workers, dask.props.max_retries) == (3, 4)
        assert dask.props.idle_timeout == 5.0
        assert helper_options(dask) is None  # nothing beyond the address
    # scheduler_address is the property's name for joblib's scheduler_host
    with parallel_backend("dask", scheduler_address="tcp://127.0.0.1:9",
                          n_workers=3, max_retries=4, idle_timeout=5.0) as (backend, n_jobs):
        assert backend.glib_backend is dask  # one backend per cluster and settings
        assert n_jobs == -1


def test_dask_submit_arguments_reach_the_helper():
    # joblib hands its Dask backend's other keywords to Client.submit();
    # those that place tasks go to the helper's submit() of the workers
    with parallel_config(backend="dask", scheduler_host="tcp://127.0.0.1:9",
                         workers=["tcp://127.0.0.1:1234"], resources={"GPU": 1},
                         allow_other_workers=True) as config:
        options, mode = helper_options(config["backend"].glib_backend)
    assert options == {"submit": {"workers": ["tcp://127.0.0.1:1234"],
                                  "resources": {"GPU": 1}, "allow_other_workers": True}}
    assert mode == 0o600


def test_dask_bad_keywords():
    # joblib passes unknown keywords to submit(): the first batch fails
    # with TypeError; here the scope does, naming them
    with pytest.raises(TypeError, match="'no_such_option'"):
        parallel_config(backend="dask", scheduler_host="tcp://127.0.0.1:9", no_such_option=1)
    with pytest.raises(TypeError, match="'n_workers'"):
        parallel_config(backend="dask", scheduler_host="tcp://127.0.0.1:9", n_workers="four")
    with pytest.raises(TypeError, match="plain values"):
        parallel_config(backend="dask", scheduler_host="tcp://127.0.0.1:9",
                        resources={"GPU": object()})
    # joblib's own check, with its message
    with pytest.raises(TypeError, match="scatter must be a list/tuple, got `int`"):
        parallel_config(backend="dask", scheduler_host="tcp://127.0.0.1:9", scatter=3)


def test_ipyparallel_keywords_are_backend_properties():
    with parallel_config(backend="ipyparallel", profile="lab", cluster_id="c1",
                         n_workers=2, listen_address="127.0.0.1") as config:
        ipp = config["backend"].glib_backend
        assert isinstance(ipp, Joblib.IpyparallelBackend)
        assert (ipp.props.profile, ipp.props.cluster_id) == ("lab", "c1")
        assert (ipp.props.n_workers, ipp.props.listen_address) == (2, "127.0.0.1")
    # joblib's backends raise TypeError for a keyword they do not take
    with pytest.raises(TypeError) as theirs:
        joblib.parallel_backend("threading", no_such_option=1)
    with pytest.raises(TypeError, match="'no_such_option'") as ours:
        parallel_backend("ipyparallel", profile="lab", no_such_option=1)
    assert type(ours.value) is type(theirs.value)


def test_security_options():
    from distributed.security import Security

    assert joblib_glib._cluster.security_options(None) is None
    assert joblib_glib._cluster.security_options(Security()) is None
    temporary = Security.temporary()
    fields = joblib_glib._cluster.security_options(temporary)
    assert fields["require_encryption"] is True
    assert fields["tls_client_cert"] == temporary.tls_client_cert  # PEM text
    assert fields["tls_client_key"] == temporary.tls_client_key
    assert fields["tls_ca_file"] == temporary.tls_ca_file
    assert fields["tls_min_version"] == "TLSv1_2"
    assert "tls_scheduler_key" not in fields  # the client's side only
    # the helper builds the same Security back
    from joblib_glib.cluster_submit import dask_security
    rebuilt = dask_security(json.loads(json.dumps(fields)))
    assert rebuilt.get_tls_config_for_role("client") == \
        temporary.get_tls_config_for_role("client")
    assert rebuilt.tls_min_version == temporary.tls_min_version


@pytest.fixture(scope="module")
def tls_cluster():
    """A Dask scheduler and one worker (two threads) in this process,
    reachable over TLS only, with a throw-away certificate."""
    from distributed import Client, LocalCluster
    from distributed.security import Security

    security = Security.temporary()
    cluster = LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                           protocol="tls://", host="127.0.0.1", security=security,
                           dashboard_address=None)
    client = Client(cluster, security=security, set_as_default=False)
    try:
        yield cluster, client
    finally:
        joblib_glib._cluster.shutdown_all()  # the helpers, before their scheduler
        client.close()
        cluster.close()


def test_client_security_reaches_the_helper(tls_cluster):
    cluster, client = tls_cluster
    assert cluster.scheduler_address.startswith("tls://127.0.0.1:")
    with joblib.parallel_backend("dask", client=client):
        expected = joblib.Parallel()(joblib.delayed(square)(i) for i in range(6))
    with parallel_config(backend="dask", client=client, n_jobs=2) as config:
        options, mode = helper_options(config["backend"].glib_backend)
        got = Parallel()(delayed(square)(i) for i in range(6))
    assert got == expected == [i * i for i in range(6)]
    assert options["security"]["tls_client_cert"] == client.security.tls_client_cert
    assert mode == 0o600
    # The same address without the Client's security: the helper cannot
    # connect, and the run says so.
    with parallel_config(backend="dask", scheduler_host=cluster.scheduler_address, n_jobs=2):
        with pytest.raises(GLib.Error, match="cannot connect to the dask cluster"):
            Parallel()(delayed(square)(i) for i in range(2))
