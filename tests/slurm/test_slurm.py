# SPDX-License-Identifier: LGPL-2.1-or-later
"""joblib_glib on the Slurm backend: Python functions in Python workers
that run as Slurm jobs (run through tests/slurm/with-slurm.sh)."""

import os
import subprocess
import time

import gi
gi.require_version("Joblib", "1.0")
from gi.repository import GLib, Joblib  # noqa: E402

import pytest  # noqa: E402

from joblib_glib import Parallel, delayed  # noqa: E402


def square(x):
    return x * x


def where(x):
    return x, os.environ.get("SLURMD_NODENAME", "none")


def squeue_empty(timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True).stdout
        if not out.strip():
            return True
        time.sleep(0.05)
    return False


def make_backend(**props):
    backend = Joblib.SlurmBackend(listen_address="127.0.0.1", poll_interval=0.1,
                                  shared_folder=os.environ["JOB_SLURM_TEST_DIR"], **props)
    return backend


def test_results_in_order_from_a_backend_object():
    backend = make_backend()
    results = Parallel(n_jobs=3, backend=backend)(delayed(square)(i) for i in range(20))
    assert results == [i * i for i in range(20)]
    backend.shutdown()
    assert squeue_empty()


def test_three_nodes():
    backend = make_backend(sbatch_args=["--exclusive"])
    assert backend.start_workers("python", 3, 60)
    results = Parallel(n_jobs=3, backend=backend, batch_size=1)(
        delayed(where)(i) for i in range(30))
    assert [x for x, _ in results] == list(range(30))
    assert {node for _, node in results} == {"node1", "node2", "node3"}
    backend.shutdown()
    assert squeue_empty()


def test_backend_by_name():
    # "slurm" makes a backend with default settings: it listens on every
    # interface and workers dial this host's name.
    assert "slurm" in Joblib.Backend.list_names()
    results = Parallel(n_jobs=2, backend="slurm")(delayed(square)(i) for i in range(6))
    assert results == [0, 1, 4, 9, 16, 25]


def test_a_task_error_comes_back():
    backend = make_backend()
    with pytest.raises(Exception) as info:
        Parallel(n_jobs=2, backend=backend)(delayed(int)(s) for s in ["1", "x"])
    assert "x" in str(info.value)
    backend.shutdown()
    assert squeue_empty()


def test_wrong_partition_is_a_clear_error():
    backend = make_backend(partition="no-such-partition")
    with pytest.raises(GLib.Error) as info:
        Parallel(n_jobs=2, backend=backend)(delayed(square)(i) for i in range(2))
    assert "sbatch" in info.value.message
