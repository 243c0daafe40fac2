#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Python joblib's side of tutorial-bench.c and scaling-bench.c: the same
workloads, the same sizes, one JSON object per line with "impl": "joblib".

    run_joblib.py svd  SIZE TASK_COUNTS N_JOBS REPS
    run_joblib.py mcmc N_ITER TASKS N_JOBS_LIST REPS
    run_joblib.py count BACKEND N_LIST REPS
    run_joblib.py size  BACKEND SIZE_LIST TASKS_LIST REPS
    run_joblib.py --impl joblib_glib count|size ...

svd: inner parallelism is a plain loop with numpy's BLAS on every CPU;
outer is Parallel(n_jobs) on loky with inner_max_num_threads=1 (joblib
sets OPENBLAS_NUM_THREADS & co. in its workers). mcmc runs on loky.
BACKEND is "threading" or "loky". With --impl joblib_glib the count and
size sweeps run the same code on joblib_glib's Parallel and delayed (the
Python layer of joblib-glib; "loky" is its process backend there), and
report "impl": "joblib_glib".
"""

import json
import os
import statistics
import sys
import time

import numpy as np
from joblib import Parallel, delayed, parallel_backend

IMPL = 'joblib'


def run_svd(seed, size):
    rs = np.random.RandomState(seed)
    array = rs.randn(size, size)
    _, s, _ = np.linalg.svd(array)
    return s[0]


def run_mcmc(seed, n_iter):
    rs = np.random.RandomState(seed)
    theta = 0
    for _ in range(n_iter):
        theta += rs.randn(10)
    return theta[0]


def add_one(x):
    return x + 1


def sum_pages(a):
    return int(a[::4096].sum())


def parse_list(text):
    return [int(float(v)) for v in text.split(',')]


def timed_runs(run, reps):
    runs = []
    for _ in range(reps):
        start = time.perf_counter()
        run()
        runs.append(time.perf_counter() - start)
    return runs


def report(fields, runs):
    fields = dict(impl=IMPL, **fields)
    fields['seconds'] = statistics.median(runs)
    fields['runs'] = runs
    print(json.dumps(fields), flush=True)


def blas_threads_in_worker():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        # joblib sets this variable in loky workers when inner_max_num_threads is given
        value = os.environ.get('OPENBLAS_NUM_THREADS')
        return int(value) if value else -1
    return max((p['num_threads'] for p in threadpool_info() if p['user_api'] == 'blas'),
               default=-1)


def svd(size, counts, n_jobs, reps):
    run_svd(0, size)  # warm up BLAS's thread pool
    with parallel_backend('loky', inner_max_num_threads=1):
        # start the workers before timing, and ask them what BLAS runs with
        worker_threads = max(Parallel(n_jobs=n_jobs)(
            delayed(blas_threads_in_worker)() for _ in range(n_jobs)))
    for k in counts:
        runs = timed_runs(lambda: [run_svd(seed, size) for seed in range(k)], reps)
        report(dict(workload='svd', mode='inner', backend='sequential', size=size, tasks=k,
                    n_jobs=1, blas_threads=os.cpu_count()), runs)
        with parallel_backend('loky', inner_max_num_threads=1):
            runs = timed_runs(lambda: Parallel(n_jobs=n_jobs, batch_size=1)(
                delayed(run_svd)(seed, size) for seed in range(k)), reps)
        report(dict(workload='svd', mode='outer', backend='loky', size=size, tasks=k,
                    n_jobs=n_jobs, blas_threads=worker_threads,
                    blas_limit='parallel_backend(inner_max_num_threads=1)'), runs)


def mcmc(n_iter, tasks, n_jobs_list, reps):
    for n_jobs in n_jobs_list:
        Parallel(n_jobs=n_jobs, backend='loky')(delayed(run_mcmc)(i, 1) for i in range(n_jobs))
        runs = timed_runs(lambda: Parallel(n_jobs=n_jobs, backend='loky')(
            delayed(run_mcmc)(i, n_iter) for i in range(tasks)), reps)
        report(dict(workload='mcmc', backend='loky', n_iter=n_iter, tasks=tasks,
                    n_jobs=n_jobs), runs)


def count(backend, counts, reps):
    Parallel(n_jobs=2, backend=backend)(delayed(add_one)(x) for x in range(1000))
    for n in counts:
        runs = timed_runs(lambda: Parallel(n_jobs=2, backend=backend)(
            delayed(add_one)(x) for x in range(n)), reps)
        report(dict(sweep='count', backend=backend, tasks=n, bytes=8,
                    us_per_task=statistics.median(runs) / n * 1e6), runs)


def size(backend, sizes, tasks, reps):
    for i, (nbytes, n) in enumerate(zip(sizes, tasks)):
        arrays = [np.full(nbytes, k % 255 + 1, dtype=np.uint8) for k in range(n)]
        if i == 0:
            Parallel(n_jobs=2, backend=backend)(delayed(sum_pages)(a) for a in arrays)
        runs = timed_runs(lambda: Parallel(n_jobs=2, backend=backend)(
            delayed(sum_pages)(a) for a in arrays), reps)
        report(dict(sweep='size', backend=backend, tasks=n, bytes=nbytes,
                    us_per_task=statistics.median(runs) / n * 1e6), runs)
        del arrays


def use_joblib_glib():
    """The count and size sweeps on joblib_glib's Python layer."""
    global Parallel, delayed, IMPL
    import joblib_glib
    Parallel, delayed, IMPL = joblib_glib.Parallel, joblib_glib.delayed, 'joblib_glib'


def main(argv):
    usage = __doc__.split('\n\n')[1]
    if len(argv) > 2 and argv[1] == '--impl':
        if argv[2] != 'joblib_glib':
            print(f'unknown implementation {argv[2]}\nusage:\n{usage}', file=sys.stderr)
            return 2
        use_joblib_glib()
        argv = argv[:1] + argv[3:]
    try:
        if argv[1] == 'svd' and len(argv) == 6:
            svd(int(argv[2]), parse_list(argv[3]), int(argv[4]), int(argv[5]))
        elif argv[1] == 'mcmc' and len(argv) == 6:
            mcmc(int(argv[2]), int(argv[3]), parse_list(argv[4]), int(argv[5]))
        elif argv[1] == 'count' and len(argv) == 5:
            count(argv[2], parse_list(argv[3]), int(argv[4]))
        elif argv[1] == 'size' and len(argv) == 6:
            sizes, tasks = parse_list(argv[3]), parse_list(argv[4])
            if len(sizes) != len(tasks):
                raise ValueError('SIZE_LIST and TASKS_LIST must have the same length')
            size(argv[2], sizes, tasks, int(argv[5]))
        else:
            raise ValueError('bad arguments')
    except (IndexError, ValueError) as e:
        print(f'{e}\nusage:\n{usage}', file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
