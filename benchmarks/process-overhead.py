# SPDX-License-Identifier: LGPL-2.1-or-later
"""Python joblib side of benchmarks/process-overhead.c: the same workloads
on one joblib backend (argv[1]: loky or multiprocessing); prints
`key<TAB>value` lines that the C program merges. Medians of REPEATS runs
except the cold start. JOB_BENCH_DRY_RUN=1: tiny sizes, one run each (the
C program's keys stay those of the full sizes' rows it prints)."""

import os
import statistics
import sys
import time

import joblib
import numpy as np
from joblib import Parallel, delayed

DRY_RUN = os.environ.get("JOB_BENCH_DRY_RUN") == "1"
REPEATS = 1 if DRY_RUN else 5
SIZES = (10, 100, 1000) if DRY_RUN else (1000, 10000, 100000)
ARRAY_SIZE = 1000 if DRY_RUN else 16 * 1000 * 1000


def square(x):
    return x * x


def fail(x):
    raise ValueError("failed on purpose")


def sum_bytes(a):
    return int(a[::4096].sum())


def timed(f):
    start = time.perf_counter()
    f()
    return time.perf_counter() - start


def main():
    backend = sys.argv[1] if len(sys.argv) > 1 else "loky"

    def run(args, batch_size="auto", fn=square):
        return timed(lambda: Parallel(n_jobs=2, backend=backend, batch_size=batch_size)(
            delayed(fn)(x) for x in args))

    def median(f):
        return statistics.median(f() for _ in range(REPEATS))

    print("version\t%s" % joblib.__version__)
    print("cold start: 2 workers, first run of 1000 tasks (ms)\t%.1f" % (run(range(1000)) * 1e3))
    print("warm: same run again (ms)\t%.1f" % (median(lambda: run(range(1000))) * 1e3))
    for n in SIZES:
        print("µs per task, N=%d, auto batching\t%.2f"
              % (n, median(lambda: run(range(n))) * 1e6 / n))
    for n in SIZES[:2]:
        print("µs per task, N=%d, batch_size=1\t%.2f"
              % (n, median(lambda: run(range(n), batch_size=1)) * 1e6 / n))

    def after_error():
        try:
            run(range(2), batch_size=1, fn=fail)
        except ValueError:
            pass
        return run(range(1000))
    print("first run of 1000 tasks after a task error (ms)\t%.1f"
          % (median(after_error) * 1e3))

    arrays = [np.full(ARRAY_SIZE, i % 256, dtype=np.uint8) for i in range(20)]
    print("20 tasks × 16 MB array (ms)\t%.1f"
          % (median(lambda: run(arrays, batch_size=1, fn=sum_bytes)) * 1e3))


if __name__ == "__main__":
    main()
