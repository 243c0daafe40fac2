# SPDX-License-Identifier: LGPL-2.1-or-later
"""The "ipyparallel" backend against a real IPython Parallel cluster on
127.0.0.1 (an ipcontroller and two engines started once for this file):
the joblib slides' example next to joblib's own IPython Parallel backend,
then the C driver (test-cluster-backend) on the same cluster."""

import os
import re
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster  # noqa: E402

if not cluster.available("ipyparallel"):
    pytest.skip("python3-ipyparallel is not installed", allow_module_level=True)

import ipyparallel as ipp  # noqa: E402
import joblib  # noqa: E402

import joblib_glib  # noqa: E402


@pytest.fixture(scope="module")
def ipp_cluster():
    with cluster.IpyparallelCluster(engines=2) as running:
        yield running


def done_lines(text):
    return [line for line in text.splitlines() if "Done" in line]


def test_slides_example_like_joblib(ipp_cluster, capsys):
    """The slides: time.sleep tasks with verbose=50 on the cluster, with
    the backend registered in the register_joblib_backend() form."""
    client = ipp.Client(ipp_cluster.url_file)
    try:
        client.wait_for_engines(2, timeout=120)
        view = client.load_balanced_view()
        view.register_joblib_backend()
        with joblib.parallel_backend("ipyparallel"):
            expected = joblib.Parallel(n_jobs=2, verbose=50)(
                joblib.delayed(time.sleep)(0.1) for _ in range(10))
        # verbose >= 50 writes to standard output, in joblib as here.
        theirs = capsys.readouterr().out

        joblib_glib.register_ipyparallel_backend(view)
        with joblib_glib.parallel_backend("ipyparallel"):
            got = joblib_glib.Parallel(n_jobs=2, verbose=50)(
                joblib_glib.delayed(time.sleep)(0.1) for _ in range(10))
        ours = capsys.readouterr().out
    finally:
        client.close()
    assert got == expected == [None] * 10
    # verbose=50: progress lines, the last one "finished".
    final = re.compile(r"^\[Parallel\(n_jobs=2\)\]: Done +10 out of +10 \| elapsed: .* finished$")
    assert final.match(done_lines(theirs)[-1]), theirs
    assert final.match(done_lines(ours)[-1]), ours


def test_bad_input(ipp_cluster):
    with pytest.raises(TypeError, match="View or Client"):
        joblib_glib.register_ipyparallel_backend(object())
    with pytest.raises(TypeError, match="no_such_option"):
        joblib_glib.parallel_config(backend="ipyparallel", no_such_option=1)


@pytest.mark.skipif(not os.environ.get("JOB_CLUSTER_GJS_DRIVER"), reason="no GJS")
def test_gjs_driver(ipp_cluster):
    """GJS: JS functions in GJS workers on the cluster, a task error, bad input."""
    out = cluster.run_driver(["gjs", "-m", os.environ["JOB_CLUSTER_GJS_DRIVER"]], ipp_cluster)
    assert "FAIL" not in out


@pytest.mark.skipif(not os.environ.get("JOB_CLUSTER_VALA_DRIVER"), reason="no VAPI")
def test_vala_driver(ipp_cluster):
    """Vala: results in order with n_jobs=-1, bad input."""
    out = cluster.run_driver([os.environ["JOB_CLUSTER_VALA_DRIVER"]], ipp_cluster)
    assert "not ok" not in out and "ok - 30 squares in input order" in out


def test_c_driver(ipp_cluster):
    """C: order, cancel, an engine killed mid-run (last: it leaves the
    cluster with one engine)."""
    cluster.run_driver([os.environ["JOB_CLUSTER_TEST_PROGRAM"]], ipp_cluster)
