#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Per-task cost of Parallel from Python against the number of tasks,
joblib_glib next to Python joblib in the same run: a trivial function
(``x + 1``), n_jobs=2, auto batching, threads and processes (joblib's
"threading" and "loky"), medians in µs per task, and the ratio
joblib_glib/joblib (below 1: joblib_glib is faster).

  /usr/bin/python3 benchmarks/python-tutorial-overhead.py [--repeat N] [--quick]

Run from the build tree with PYTHONPATH=bindings/python and the build's
GI_TYPELIB_PATH / LD_LIBRARY_PATH (or after meson install). Both libraries'
workers are started before timing. benchmarks/run runs it in its
python-tutorial step.
"""

import argparse
import os
import statistics
import sys
import time

import joblib
import joblib_glib


def add_one(x):
    return x + 1


def per_task_us(module, backend, n, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = module.Parallel(n_jobs=2, backend=backend)(
            module.delayed(add_one)(i) for i in range(n))
        times.append(time.perf_counter() - start)
        assert out[-1] == n and len(out) == n
    return statistics.median(times) / n * 1e6


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="fewer tasks (smoke test)")
    options = parser.parse_args()
    counts = [1000, 10000] if options.quick else [1000, 10000, 100000]

    print(f"# load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"cpus: {joblib_glib.cpu_count()}; joblib {joblib.__version__}; "
          f"python {sys.version.split()[0]}; medians of {options.repeat}")
    print("| trivial tasks (n_jobs=2, auto batching) | backend | joblib (µs/task) | "
          "joblib_glib (µs/task) | ratio |")
    print("|---|---|---:|---:|---:|")
    for backend_name, ours, theirs in [("threads", "threading", "threading"),
                                       ("processes", "loky", "loky")]:
        for module, backend in ((joblib, theirs), (joblib_glib, ours)):
            module.Parallel(n_jobs=2, backend=backend)(
                module.delayed(add_one)(i) for i in range(100))
        for n in counts:
            theirs_us = per_task_us(joblib, theirs, n, options.repeat)
            ours_us = per_task_us(joblib_glib, ours, n, options.repeat)
            print(f"| {n:,} | {backend_name} | {theirs_us:.2f} | {ours_us:.2f} | "
                  f"{ours_us / theirs_us:.2f} |".replace(",", " "), flush=True)
    print(f"# load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
