# SPDX-License-Identifier: LGPL-2.1-or-later
"""The joblib tutorial's cells (../shared/seeds/000_*) with only the import
line changed to joblib_glib; smaller sizes, no timing assertions."""

import os
import time

import numpy as np
import pytest

from joblib_glib import Memory, Parallel, delayed


def my_function(i):
    time.sleep(0.05)
    return i


def my_function_pid(i):
    time.sleep(0.05)
    return i, os.getpid()


def run_svd(random_seed):
    rs = np.random.RandomState(random_seed)
    array = rs.randn(150, 150)
    U, S, V = np.linalg.svd(array)
    return S[0]


def run_mcmc(seed):
    rs = np.random.RandomState(seed)
    n_iter = 2000
    theta = 0
    for i in range(n_iter):
        theta += rs.randn(10)
    return theta


my_args = list(range(10))


def test_serial_reference():
    assert [my_function(arg) for arg in my_args] == my_args


def test_default_backend_uses_several_worker_processes():
    results = Parallel(n_jobs=2)(delayed(my_function_pid)(arg) for arg in my_args)
    assert [r[0] for r in results] == my_args
    pids = {r[1] for r in results}
    assert os.getpid() not in pids
    assert len(pids) >= 2  # several workers (a stopped run may have replaced one)


def test_threading_backend():
    results = Parallel(n_jobs=2, backend="threading")(delayed(my_function)(arg) for arg in my_args)
    assert results == my_args


@pytest.mark.parametrize("backend", [None, "threading", "loky"])
def test_run_svd(backend):
    expected = [run_svd(seed) for seed in range(4)]
    results = Parallel(n_jobs=2, backend=backend)(delayed(run_svd)(seed) for seed in range(4))
    # BLAS thread counts differ in workers: equal up to rounding
    assert results == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("backend", [None, "threading"])
def test_run_mcmc(backend):
    expected = [run_mcmc(i) for i in range(4)]
    results = Parallel(n_jobs=2, backend=backend)(delayed(run_mcmc)(i) for i in range(4))
    assert len(results) == 4
    for got, want in zip(results, expected):
        assert isinstance(got, np.ndarray) and got.shape == (10,)
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("backend", [None, "threading"])
def test_cached_function_inside_parallel(tmp_path, backend):
    memory = Memory(str(tmp_path / "joblib-cache-directory"), verbose=0)
    my_function_cached = memory.cache(my_function)

    results = Parallel(n_jobs=2, backend=backend)(
        delayed(my_function_cached)(arg) for arg in my_args)
    assert results == my_args
    assert all(my_function_cached.check_call_in_cache(arg) for arg in my_args)
    # one folder per argument set under the function's folder
    folder = tmp_path / "joblib-cache-directory" / "joblib-glib" / "test_tutorial.my_function"
    assert len([p for p in folder.iterdir() if p.is_dir()]) == len(my_args)

    again = Parallel(n_jobs=2, backend=backend)(
        delayed(my_function_cached)(arg) for arg in my_args)
    assert again == my_args
    assert len([p for p in folder.iterdir() if p.is_dir()]) == len(my_args)
