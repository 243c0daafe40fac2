# SPDX-License-Identifier: LGPL-2.1-or-later
"""joblib_glib on the SSH backend: Python functions in Python workers
started over ssh (run through tests/ssh/with-sshd.sh, whose private sshd
has two Host aliases, joblib-a and joblib-b)."""

import os

import gi
gi.require_version("Joblib", "1.0")
from gi.repository import Joblib  # noqa: E402

import joblib  # noqa: E402
import pytest  # noqa: E402

from joblib_glib import Parallel, delayed, parallel_config  # noqa: E402


def square(x):
    return x * x


def where(x):
    return x, os.environ.get("JOB_WORKER_NODE", "none"), os.getpid()


def fail(x):
    if x == 3:
        raise ValueError(f"no {x}")
    return x


def make_backend(hosts):
    return Joblib.SshBackend(hosts=hosts, listen_address="127.0.0.1",
                             ssh_command=["ssh", "-F", os.environ["JOB_SSH_TEST_CONFIG"]])


@pytest.fixture(scope="module")
def backend():
    backend = make_backend(["joblib-a:2", "joblib-b:2"])
    # A first run points Python workers at this sys.path; then all four
    # are connected before the tests look at where tasks ran.
    assert Parallel(n_jobs=4, backend=backend)(delayed(square)(i) for i in range(4)) == \
        [0, 1, 4, 9]
    assert backend.start_workers("python", 4, 120)
    yield backend
    backend.shutdown()


def test_results_as_joblib_gives_them(backend):
    expected = joblib.Parallel(n_jobs=2)(joblib.delayed(square)(i) for i in range(30))
    assert Parallel(n_jobs=4, backend=backend)(delayed(square)(i) for i in range(30)) == expected
    with parallel_config(backend=backend):
        assert Parallel()(delayed(square)(i) for i in range(30)) == expected


def test_both_hosts(backend):
    results = Parallel(n_jobs=4, backend=backend, batch_size=1)(
        delayed(where)(i) for i in range(4))
    assert [x for x, _, _ in results] == list(range(4))
    assert {node for _, node, _ in results} == {"joblib-a", "joblib-b"}


def test_task_error_as_joblib_raises_it(backend):
    with pytest.raises(ValueError, match="no 3") as ours:
        Parallel(n_jobs=4, backend=backend)(delayed(fail)(i) for i in range(6))
    with pytest.raises(ValueError, match="no 3") as theirs:
        joblib.Parallel(n_jobs=2)(joblib.delayed(fail)(i) for i in range(6))
    assert type(ours.value) is type(theirs.value)


def test_shutdown_leaves_no_worker():
    backend = make_backend(["joblib-a"])
    results = Parallel(n_jobs=2, backend=backend)(delayed(where)(i) for i in range(3))
    pids = {pid for _, _, pid in results}
    assert len(pids) == 1 and os.getpid() not in pids
    backend.shutdown()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_bad_hosts():
    # A bad argument is a ValueError, as joblib raises for its own.
    with pytest.raises(ValueError, match="lab1:0"):
        Parallel(n_jobs=2, backend=make_backend(["lab1:0"]))(delayed(square)(i) for i in range(2))
    with pytest.raises(ValueError, match="no hosts"):
        Parallel(n_jobs=2, backend=make_backend([]))(delayed(square)(i) for i in range(2))
