#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# benchmarks/ssh-bench.sh BUILD_DIR [N_TASKS REPEATS] — the SSH backend against the process
# backend and Python joblib (loky) on this machine: 1000 tasks of 10 ms,
# workers over ssh to a private sshd (tests/ssh/with-sshd.sh); then Memory
# cache hits in a local folder and on sftp:// through GVfs.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/_build}" && pwd)
n_tasks=${2:-1000}
repeats=${3:-3}
export LD_LIBRARY_PATH=$build/libjoblib-glib
export JOB_WORKER_PATH=$build/libjoblib-glib/worker/joblib-glib-worker
export JOB_WORKER_CONNECT_PATH=$build/libjoblib-glib/worker/joblib-glib-worker-connect
export JOB_BENCH_TASKS=$build/benchmarks/libslurm-bench-tasks.so
"$top/tests/ssh/with-sshd.sh" --gvfs "$build/benchmarks/ssh-bench" "$n_tasks" "$repeats"
echo
echo "Python joblib (loky), same tasks (time.sleep(0.01)):"
/usr/bin/python3 - "$n_tasks" "$repeats" <<'PY'
import statistics, sys, time
from joblib import Parallel, delayed
tasks, repeats = int(sys.argv[1]), int(sys.argv[2])
for n in (2, 4):
    walls = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        Parallel(n_jobs=n)(delayed(time.sleep)(0.01) for _ in range(tasks))
        walls.append(time.perf_counter() - t0)
    w = statistics.median(walls)
    print(f"| joblib loky | {n} | wall {w:.2f} s | {tasks / w:.0f} tasks/s | "
          f"overhead/task {(w * n - tasks * 0.01) / tasks * 1e3:.2f} ms |")
PY
