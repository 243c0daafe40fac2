#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""benchmarks/cluster-bench.py [N_TASKS REPEATS]: 1000 tasks of 10 ms
(time.sleep) with 4 workers on the "dask" and "ipyparallel" backends (a
private Dask scheduler with two workers of two threads, an ipcontroller
with four engines, on this machine, from tests/cluster/cluster.py), next
to joblib_glib's process backend, Python joblib's loky and joblib's own
Dask backend on the same cluster.  Cold: the first run, workers included;
warm: the median of the next REPEATS.  Overhead per task: wall x workers
minus the work, over the tasks.  JOB_BENCH_DRY_RUN: local rows only.
Run with the uninstalled build's
environment (benchmarks/run does it) or an installed joblib-glib."""

import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "cluster"))
import cluster  # noqa: E402

import joblib  # noqa: E402
import joblib_glib  # noqa: E402

TASKS = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
REPEATS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
WORKERS = 4
rows = []


def measure(label, run):
    t0 = time.perf_counter()
    run()
    cold = time.perf_counter() - t0
    walls = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        run()
        walls.append(time.perf_counter() - t0)
    warm = statistics.median(walls)
    overhead = (warm * WORKERS - TASKS * 0.01) / TASKS * 1e3
    rows.append(f"| {label} | {WORKERS} | {cold:.2f} | {warm:.2f} | {TASKS / warm:.0f} | "
                f"{overhead:.2f} |")
    print(rows[-1], flush=True)


def ours(**config):
    def run():
        with joblib_glib.parallel_config(n_jobs=WORKERS, **config):
            joblib_glib.Parallel()(joblib_glib.delayed(time.sleep)(0.01) for _ in range(TASKS))
    return run


def theirs(backend, **options):
    def run():
        with joblib.parallel_backend(backend, n_jobs=WORKERS, **options):
            joblib.Parallel()(joblib.delayed(time.sleep)(0.01) for _ in range(TASKS))
    return run


print("| backend | workers | wall cold (s) | wall warm (s) | tasks/s warm | "
      "overhead/task warm (ms) |")
print("|---|---|---|---|---|---|")
measure("joblib-glib processes", ours(backend="loky"))
measure("joblib loky", theirs("loky"))
# benchmarks/run --dry-run (the slow suite's smoke test): no cluster
# start, which alone takes longer than the rest of a dry run.
DRY_RUN = bool(os.environ.get("JOB_BENCH_DRY_RUN"))
if DRY_RUN:
    print("\n(dry run: the Dask and IPython Parallel clusters were not started)")
if cluster.available("dask") and not DRY_RUN:
    from distributed import Client
    with cluster.DaskCluster(workers=2, threads=2) as dask:
        client = Client(dask.address)
        measure("joblib-glib dask", ours(backend="dask"))
        measure("joblib dask (its own backend)", theirs("dask"))
        client.close()
        joblib_glib._cluster.shutdown_all()
if cluster.available("ipyparallel") and not DRY_RUN:
    with cluster.IpyparallelCluster(engines=WORKERS) as ipp_cluster:
        import ipyparallel as ipp
        client = ipp.Client(ipp_cluster.url_file)
        client.wait_for_engines(WORKERS, timeout=120)
        view = client.load_balanced_view()
        view.register_joblib_backend()
        joblib_glib.register_ipyparallel_backend(view)
        measure("joblib-glib ipyparallel", ours(backend="ipyparallel"))
        measure("joblib ipyparallel (its own backend)", theirs("ipyparallel"))
        joblib_glib._cluster.shutdown_all()
        client.close()
