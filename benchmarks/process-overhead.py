# SPDX-License-Identifier: LGPL-2.1-or-later
"""Python joblib (loky) side of benchmarks/process-overhead.c: the same
workloads; prints `key<TAB>value` lines that the C program merges."""

import time

import joblib
import numpy as np
from joblib import Parallel, delayed


def square(x):
    return x * x


def sum_bytes(a):
    return int(a[::4096].sum())


def timed(f):
    start = time.perf_counter()
    f()
    return time.perf_counter() - start


def run(n, batch_size="auto", fn=square, args=None):
    args = range(n) if args is None else args
    return timed(lambda: Parallel(n_jobs=2, backend="loky", batch_size=batch_size)(
        delayed(fn)(x) for x in args))


def main():
    print("version\t%s" % joblib.__version__)
    print("cold start: first run of 1000 tasks (ms)\t%.1f" % (run(1000) * 1e3))
    print("warm: same run again (ms)\t%.1f" % (run(1000) * 1e3))
    for n in (1000, 10000, 100000):
        best = min(run(n) for _ in range(3))
        print("µs per task, N=%d, auto batching\t%.2f" % (n, best * 1e6 / n))
    for n in (1000, 10000):
        best = min(run(n, batch_size=1) for _ in range(3))
        print("µs per task, N=%d, batch_size=1\t%.2f" % (n, best * 1e6 / n))

    def big():
        arrays = [np.full(100 * 1000 * 1000, i + 1, dtype=np.uint8) for i in range(2)]
        Parallel(n_jobs=2, backend="loky", batch_size=1)(delayed(sum_bytes)(a) for a in arrays)
    best = min(timed(big) for _ in range(3))
    print("2 tasks × 100 MB argument (ms, incl. building it)\t%.0f" % (best * 1e3))


if __name__ == "__main__":
    main()
