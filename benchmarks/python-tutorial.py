#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The joblib tutorial's workloads, joblib_glib next to Python joblib in the
same run: medians of several runs, seconds, and the ratio joblib_glib/joblib
(below 1: joblib_glib is faster).

  /usr/bin/python3 benchmarks/python-tutorial.py [--repeat N] [--quick]

Run from the build tree with PYTHONPATH=bindings/python and the build's
GI_TYPELIB_PATH / LD_LIBRARY_PATH (or after meson install).  Each backend is
warmed up once first (worker start-up is not measured, for either library).
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np

import joblib
import joblib_glib


def my_function(i):
    time.sleep(0.5)
    return i


def run_svd(random_seed, n=1000):
    rs = np.random.RandomState(random_seed)
    array = rs.randn(n, n)
    U, S, V = np.linalg.svd(array)
    return S[0]


def run_mcmc(seed, n_iter=200000):
    rs = np.random.RandomState(seed)
    theta = 0
    for i in range(n_iter):
        theta += rs.randn(10)
    return theta


def trivial(x):
    return x


def cases(quick):
    scale = 10 if quick else 1
    return [
        ("my_function (sleep 0.5 x 10)", lambda d: [d(my_function)(i) for i in range(10)]),
        ("run_mcmc (200 000 iterations x 4)",
         lambda d: [d(run_mcmc)(i, 200000 // scale) for i in range(4)]),
        ("run_svd (1000x1000 x 4)",
         lambda d: [d(run_svd)(i, 1000 // scale) for i in range(4)]),
        ("trivial function x 10 000", lambda d: [d(trivial)(i) for i in range(10000)]),
    ]


def measure(module, backend, make_tasks, repeat):
    parallel = module.Parallel(n_jobs=2, backend=backend)
    times = []
    result = None
    for _ in range(repeat):
        tasks = make_tasks(module.delayed)
        start = time.perf_counter()
        result = parallel(tasks)
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="smaller workloads (smoke test)")
    options = parser.parse_args()

    print(f"# load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"cpus: {joblib_glib.cpu_count()}; joblib {joblib.__version__}; "
          f"python {sys.version.split()[0]}; medians of {options.repeat}")
    print("| workload | backend | joblib (s) | joblib_glib (s) | ratio |")
    print("|---|---|---|---|---|")
    for backend_name, ours, theirs in [("threads", "threading", "threading"),
                                       ("processes", "loky", "loky")]:
        # warm up both pools so that worker start-up is not measured
        for module, backend in ((joblib, theirs), (joblib_glib, ours)):
            module.Parallel(n_jobs=2, backend=backend)(
                module.delayed(trivial)(i) for i in range(4))
        for label, make_tasks in cases(options.quick):
            theirs_s, theirs_r = measure(joblib, theirs, make_tasks, options.repeat)
            ours_s, ours_r = measure(joblib_glib, ours, make_tasks, options.repeat)
            assert len(ours_r) == len(theirs_r)
            np.testing.assert_allclose(np.asarray(ours_r, dtype=float),
                                       np.asarray(theirs_r, dtype=float), rtol=1e-9)
            extra = ""
            if label.startswith("trivial"):
                extra = (f" ({theirs_s / 10000 * 1e6:.0f} / {ours_s / 10000 * 1e6:.0f} µs "
                         f"per task)")
            print(f"| {label}{extra} | {backend_name} | {theirs_s:.3f} | {ours_s:.3f} | "
                  f"{ours_s / theirs_s:.2f} |", flush=True)
    print(f"# load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
