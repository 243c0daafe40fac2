# SPDX-License-Identifier: LGPL-2.1-or-later
"""The "dask" backend against a real Dask cluster on 127.0.0.1 (a
scheduler and two workers started once for this file), next to joblib's
own Dask backend, then the C driver (test-cluster-backend) on the same
cluster."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster  # noqa: E402

if not cluster.available("dask"):
    pytest.skip("python3-distributed is not installed", allow_module_level=True)

import joblib  # noqa: E402
from distributed import Client  # noqa: E402

import joblib_glib  # noqa: E402


def where(x):
    """x², and the Dask worker process that ran the task."""
    return x * x, os.environ.get("JOB_WORKER_NODE", "driver").rpartition(":")[2]


def fails(x):
    if x == 3:
        raise KeyError(f"no {x}")
    return x


@pytest.fixture(scope="module")
def dask_cluster():
    with cluster.DaskCluster(workers=2, threads=2) as running:
        yield running


def test_no_client_like_joblib(dask_cluster):
    # Before any Client exists, both refuse the same way.
    with pytest.raises(ValueError) as theirs:
        with joblib.parallel_backend("dask"):
            pass
    with pytest.raises(ValueError) as ours:
        with joblib_glib.parallel_backend("dask"):
            pass
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(TypeError, match="no_such_option"):
        joblib_glib.parallel_config(backend="dask", scheduler_host=dask_cluster.address,
                                    no_such_option=1)


def test_order_like_joblib(dask_cluster):
    client = Client(dask_cluster.address)
    try:
        # A builtin: joblib's Dask backend sends functions by reference,
        # and the Dask workers cannot import this test module.
        with joblib.parallel_backend("dask"):
            expected = joblib.Parallel(n_jobs=4)(joblib.delayed(pow)(i, 2) for i in range(40))
        with joblib_glib.parallel_config(backend="dask", n_jobs=4):
            got = joblib_glib.Parallel(batch_size=1)(
                joblib_glib.delayed(where)(i) for i in range(40))
    finally:
        client.close()
    assert [square for square, _ in got] == expected
    assert [square for square, _ in got] == [i * i for i in range(40)]
    # Python workers on both Dask workers, none in the driver.
    pids = {str(pid) for pid in dask_cluster.worker_pids}
    assert {node for _, node in got} <= pids
    assert len({node for _, node in got}) == 2


def test_errors_like_joblib(dask_cluster):
    with joblib_glib.parallel_config(backend="dask", scheduler_host=dask_cluster.address,
                                     n_jobs=2):
        with pytest.raises(KeyError, match="no 3"):
            joblib_glib.Parallel()(joblib_glib.delayed(fails)(i) for i in range(6))
        # The pool survives a task error.
        assert joblib_glib.Parallel()(joblib_glib.delayed(fails)(i) for i in range(3)) == \
            [0, 1, 2]
    with pytest.raises(ValueError, match="shared memory"):
        joblib_glib.Parallel(backend="dask", require="sharedmem")


@pytest.mark.skipif(not os.environ.get("JOB_CLUSTER_GJS_DRIVER"), reason="no GJS")
def test_gjs_driver(dask_cluster):
    """GJS: JS functions in GJS workers on the cluster, a task error, bad input."""
    out = cluster.run_driver(["gjs", "-m", os.environ["JOB_CLUSTER_GJS_DRIVER"]], dask_cluster)
    assert "FAIL" not in out


@pytest.mark.skipif(not os.environ.get("JOB_CLUSTER_VALA_DRIVER"), reason="no VAPI")
def test_vala_driver(dask_cluster):
    """Vala: results in order with n_jobs=-1, bad input."""
    out = cluster.run_driver([os.environ["JOB_CLUSTER_VALA_DRIVER"]], dask_cluster)
    assert "not ok" not in out and "ok - 30 squares in input order" in out


def test_c_driver(dask_cluster):
    """C: order, cancel, a Dask worker killed mid-run (last: it leaves the
    cluster with one worker)."""
    cluster.run_driver([os.environ["JOB_CLUSTER_TEST_PROGRAM"]], dask_cluster)
