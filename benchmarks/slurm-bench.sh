#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# benchmarks/slurm-bench.sh BUILD_DIR — the Slurm backend against the
# process backend and Python joblib (loky) on this machine: 1000 tasks of
# 10 ms, on a private 3-node Slurm started by tests/slurm/with-slurm.sh.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/_build}" && pwd)
export LD_LIBRARY_PATH=$build/libjoblib-glib
export JOB_WORKER_PATH=$build/libjoblib-glib/worker/joblib-glib-worker
export JOB_WORKER_CONNECT_PATH=$build/libjoblib-glib/worker/joblib-glib-worker-connect
export JOB_BENCH_TASKS=$build/benchmarks/libslurm-bench-tasks.so
"$top/tests/slurm/with-slurm.sh" "$build/benchmarks/slurm-bench"
echo
echo "Python joblib (loky), same tasks (time.sleep(0.01)):"
/usr/bin/python3 - <<'PY'
import statistics, time
from joblib import Parallel, delayed
for n in (1, 2, 3):
    walls = []
    for _ in range(3):
        t0 = time.perf_counter()
        Parallel(n_jobs=n)(delayed(time.sleep)(0.01) for _ in range(1000))
        walls.append(time.perf_counter() - t0)
    w = statistics.median(walls)
    print(f"| joblib loky | {n} | wall {w:.2f} s | {1000 / w:.0f} tasks/s | "
          f"overhead/task {(w * n - 10) / 1000 * 1e3:.2f} ms |")
PY
