# SPDX-License-Identifier: LGPL-2.1-or-later
"""The workload of parallel-overhead.c in Python joblib.

    /usr/bin/python3 benchmarks/parallel_overhead_joblib.py [REPETITIONS]

Trivial tasks (x + 1), n_jobs=2, batch_size='auto', N = 1 000, 10 000,
100 000, on the 'threading' and 'loky' backends. Prints one JSON object
per line, like parallel-overhead.c: the median of the per-task wall time
of `Parallel(n_jobs=2, backend=b)(delayed(f)(x) for x in range(N))`.
"""

import json
import statistics
import sys
import time

from joblib import Parallel, delayed


def add_one(x):
    return x + 1


def main():
    repetitions = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    sizes = (1000, 10000, 100000)

    for backend in ('threading', 'loky'):
        # warm up: start the workers (loky reuses its executor afterwards)
        Parallel(n_jobs=2, backend=backend)(delayed(add_one)(x) for x in range(1000))
        for n in sizes:
            # joblib threading costs ~85 us per task: fewer runs at 100 000
            reps = repetitions if n < 100000 or backend != 'threading' else min(repetitions, 3)
            runs = []
            for _ in range(reps):
                start = time.perf_counter()
                results = Parallel(n_jobs=2, backend=backend, batch_size='auto')(
                    delayed(add_one)(x) for x in range(n))
                elapsed = time.perf_counter() - start
                assert results[-1] == n
                runs.append(elapsed / n * 1e6)
            print(json.dumps({'impl': 'joblib', 'backend': backend, 'mode': 'end-to-end',
                              'n': n, 'us_per_task': round(statistics.median(runs), 4),
                              'runs': [round(r, 4) for r in runs]}), flush=True)


if __name__ == '__main__':
    main()
