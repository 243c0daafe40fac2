# SPDX-License-Identifier: LGPL-2.1-or-later
"""The joblib tutorial on joblib-glib, in Python: the same code as with
joblib, only the import changes.

  1. serial calls, then Parallel(n_jobs=2) on threads and on processes
  2. over-subscription: inner BLAS threads limited per worker
  3. a Python-level loop (MCMC), where processes pay off
  4. Memory: the second run reads every result from the disk cache

    /usr/bin/python3 examples/python/tutorial.py [--quick]

--quick (what the test suite runs) uses short sleeps and small sizes.
Exits 1 if a result is wrong.
"""
import sys
import tempfile
import time

import numpy as np

from joblib_glib import Memory, Parallel, delayed, parallel_config

QUICK = '--quick' in sys.argv
SLEEP = 0.01 if QUICK else 0.5
SVD_SIZE = 100 if QUICK else 1500
MCMC_STEPS = 2000 if QUICK else 1_000_000


def my_function(i):
    # Simulate a long computation; a real one could be an SVD.
    time.sleep(SLEEP)
    return i


def run_svd(random_seed):
    rs = np.random.RandomState(random_seed)
    array = rs.randn(SVD_SIZE, SVD_SIZE)
    return float(np.linalg.svd(array, compute_uv=False)[0])


def run_mcmc(seed):
    rs = np.random.RandomState(seed)
    theta = np.zeros(10)
    for _ in range(MCMC_STEPS):      # a Python-level loop: the GIL is held
        theta += rs.randn(10)
    return theta


def timed(label, thunk):
    start = time.perf_counter()
    value = thunk()
    print(f'{label:<34} {time.perf_counter() - start:6.2f} s')
    return value


def main():
    my_args = list(range(10))
    expected = my_args

    # 1. Serial, then two workers: threads, then processes.
    serial = timed('serial', lambda: [my_function(a) for a in my_args])
    threads = timed('Parallel(n_jobs=2, threading)', lambda: Parallel(
        n_jobs=2, backend='threading')(delayed(my_function)(a) for a in my_args))
    processes = timed('Parallel(n_jobs=2, processes)', lambda: Parallel(
        n_jobs=2)(delayed(my_function)(a) for a in my_args))
    if not serial == threads == processes == expected:
        return 1

    # 2. Over-subscription: each of the 2 workers lets BLAS use
    #    cpus / 2 threads (OMP_NUM_THREADS & co. are set for process
    #    workers); inner_max_num_threads=1 forces one thread each.
    with parallel_config(inner_max_num_threads=1):
        svd = timed('SVD x4, 2 workers, 1 BLAS thread', lambda: Parallel(
            n_jobs=2)(delayed(run_svd)(seed) for seed in range(4)))
    if not np.allclose(svd, [run_svd(seed) for seed in range(4)]):
        return 1

    # 3. A Python-level loop: threads share the GIL, processes do not.
    mcmc = timed('MCMC x4, 2 processes', lambda: Parallel(
        n_jobs=2)(delayed(run_mcmc)(seed) for seed in range(4)))
    if not np.allclose(mcmc[0], run_mcmc(0)):
        return 1

    # 4. Memory: computed once, then read back from the cache.
    with tempfile.TemporaryDirectory() as location:
        memory = Memory(location, verbose=0)
        my_function_cached = memory.cache(my_function)
        first = timed('cached, first run', lambda: Parallel(n_jobs=2, backend='threading')(
            delayed(my_function_cached)(a) for a in my_args))
        second = timed('cached, second run', lambda: Parallel(n_jobs=2, backend='threading')(
            delayed(my_function_cached)(a) for a in my_args))
        if not first == second == expected or not my_function_cached.check_call_in_cache(3):
            return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
