#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""JobMemory next to Python joblib's Memory, in the same run.

Usage: memory-compare.py PATH/TO/memory-bench
Prints a markdown table: medians, and joblib / joblib-glib ratios.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import joblib
import numpy as np


def f(x):
    if isinstance(x, np.ndarray):
        return float(x[::4096].sum())
    return x * 2


def timed(call, n):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def joblib_side():
    out = {}
    with tempfile.TemporaryDirectory() as location:
        memory = joblib.Memory(location, verbose=0)
        cached = memory.cache(f)
        cached(-1)
        out['hit_int_us'] = timed(lambda: cached(-1), 5001) * 1e6
        misses = []
        for i in range(200):
            t0 = time.perf_counter()
            cached(i)
            misses.append(time.perf_counter() - t0)
        out['miss_int_us'] = statistics.median(misses) * 1e6
        rng = np.random.default_rng(0)
        big6 = rng.random(1_000_000)
        big7 = rng.random(10_000_000)
        cached(big6)
        out['hit_1e6_ms'] = timed(lambda: cached(big6), 21) * 1e3
        cached(big7)
        out['hit_1e7_ms'] = timed(lambda: cached(big7), 5) * 1e3
        out['hash_80mb_gbs'] = 8e7 / timed(lambda: joblib.hash(big7), 5) / 1e9
        for i in range(200, 1000):
            cached(i)
        # joblib 1.2's reduce_size only knows the memory's bytes_limit:
        # half the store is the same cut as items_limit=500.
        total = sum(os.path.getsize(os.path.join(d, name))
                    for d, _, names in os.walk(location) for name in names)
        memory.bytes_limit = total // 2
        t0, c0 = time.perf_counter(), time.process_time()
        memory.reduce_size()
        out['reduce_1000_ms'] = (time.perf_counter() - t0) * 1e3
        # joblib removes the files before returning
        out['reduce_1000_freed_ms'] = out['reduce_1000_ms']
        out['reduce_1000_cpu_ms'] = (time.process_time() - c0) * 1e3
        for i in range(1000):
            cached(i)
        t0, c0 = time.perf_counter(), time.process_time()
        memory.clear(warn=False)
        out['clear_1000_ms'] = (time.perf_counter() - t0) * 1e3
        out['clear_1000_freed_ms'] = out['clear_1000_ms']
        out['clear_1000_cpu_ms'] = (time.process_time() - c0) * 1e3
    return out


ROWS = [
    ('hit_int_us', 'hit, int argument', 'µs', False),
    ('miss_int_us', 'miss, int argument (compute + store)', 'µs', False),
    ('hit_1e6_ms', 'hit, 1e6 float64 array argument', 'ms', False),
    ('hit_1e7_ms', 'hit, 1e7 float64 array argument', 'ms', False),
    ('hash_80mb_gbs', 'argument hashing, 80 MB array', 'GB/s', True),
    ('reduce_1000_ms', 'reduce_size to 500 of 1 000 entries', 'ms', False),
    ('clear_1000_ms', 'clear on 1 000 entries', 'ms', False),
    # joblib-glib returns once the entries are out of sight and frees
    # their files on a background thread: until the space is back.
    ('reduce_1000_freed_ms', 'reduce_size to 500 of 1 000, until the space is freed', 'ms', False),
    ('clear_1000_freed_ms', 'clear on 1 000 entries, until the space is freed', 'ms', False),
    # CPU time (user + system) of the same calls: on a loaded machine the
    # wall time of unlink and rmdir is mostly waiting for a core or the disk.
    ('reduce_1000_cpu_ms', 'reduce_size to 500 of 1 000, CPU time', 'ms', False),
    ('clear_1000_cpu_ms', 'clear on 1 000 entries, CPU time', 'ms', False),
]


def main():
    load_before = os.getloadavg()
    ours = json.loads(subprocess.run([sys.argv[1]], check=True, capture_output=True,
                                     text=True).stdout)
    theirs = joblib_side()
    print(f'load average (1, 5, 15 min): before {" ".join(f"{x:.2f}" for x in load_before)}, '
          f'after {" ".join(f"{x:.2f}" for x in os.getloadavg())}')
    print(f'| measure (median) | joblib-glib | joblib {joblib.__version__} | ratio |')
    print('|---|---:|---:|---:|')
    for key, label, unit, higher_is_better in ROWS:
        a, b = ours[key], theirs[key]
        ratio = a / b if higher_is_better else b / a
        print(f'| {label} | {a:.3g} {unit} | {b:.3g} {unit} | {ratio:.1f}x |')


if __name__ == '__main__':
    main()
