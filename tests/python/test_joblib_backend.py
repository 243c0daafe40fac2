# SPDX-License-Identifier: LGPL-2.1-or-later
"""Python joblib (and scikit-learn through it) on joblib-glib's workers:
joblib_glib.register_joblib_backend()."""

import os

import joblib
import pytest

import joblib_glib


def cmdline(pid):
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().replace(b"\0", b" ").decode()


def square(x):
    return x * x


def fail(x):
    if x == 3:
        raise KeyError(x)
    return x


@pytest.fixture(scope="module", autouse=True)
def registered():
    return joblib_glib.register_joblib_backend()


def test_bad_input():
    with pytest.raises(TypeError):
        joblib_glib.register_joblib_backend(42)
    with pytest.raises(TypeError):
        joblib_glib.register_joblib_backend("")
    with pytest.raises(ValueError):
        joblib_glib.register_joblib_backend()(inner="gpu")


def test_joblib_parallel_runs_on_our_workers():
    with joblib.parallel_backend("joblib-glib", n_jobs=2):
        pids = joblib.Parallel()(joblib.delayed(os.getpid)() for _ in range(8))
        results = joblib.Parallel()(joblib.delayed(square)(i) for i in range(20))
    assert results == [i * i for i in range(20)]
    assert os.getpid() not in pids
    # the processes that ran them are joblib_glib's Python workers
    assert all("joblib_glib.worker" in cmdline(pid) for pid in set(pids))


def test_threads_when_preferred():
    with joblib.parallel_backend("joblib-glib", n_jobs=2, inner="threads"):
        pids = joblib.Parallel()(joblib.delayed(os.getpid)() for _ in range(4))
    assert set(pids) == {os.getpid()}


def test_errors_as_on_loky():
    raised = {}
    for name in ("loky", "joblib-glib"):
        with joblib.parallel_backend(name, n_jobs=2):
            with pytest.raises(KeyError) as info:
                joblib.Parallel()(joblib.delayed(fail)(i) for i in range(6))
        raised[name] = (type(info.value), info.value.args)
    assert raised["loky"] == raised["joblib-glib"]


def test_grid_search_same_as_loky():
    sklearn = pytest.importorskip("sklearn")
    from sklearn.datasets import make_classification
    from sklearn.model_selection import GridSearchCV
    from sklearn.svm import SVC
    assert sklearn.__version__
    X, y = make_classification(n_samples=200, n_features=8, random_state=0)
    grid = {"C": [0.1, 10], "gamma": [0.01, 0.1]}
    found = {}
    for name in ("loky", "joblib-glib"):
        with joblib.parallel_backend(name, n_jobs=2):
            search = GridSearchCV(SVC(), grid, cv=3, n_jobs=2).fit(X, y)
        found[name] = (search.best_params_, search.best_score_,
                       list(search.cv_results_["mean_test_score"]))
    assert found["loky"] == found["joblib-glib"]
