#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""numpy arrays as arguments of process tasks, joblib_glib next to Python
joblib (loky) in the same run: arrays above max_nbytes are written to a
file once per call and mapped by the workers, in both libraries.  Medians
of several calls, seconds, the ratio joblib_glib/joblib (below 1:
joblib_glib is faster) and the load average; wall time and CPU time of the
caller and its worker processes (what a call costs when other work shares
the machine).

  /usr/bin/python3 benchmarks/python-arrays.py [--repeat N]

Run from the build tree with PYTHONPATH=bindings/python and the build's
GI_TYPELIB_PATH / LD_LIBRARY_PATH (or after meson install).
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np

import joblib
import joblib_glib


def total(value):
    if isinstance(value, dict):
        return sum(float(v.sum()) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(float(v.sum()) for v in value)
    return float(value.sum())


def cases():
    shared = np.ones(1_000_000)                       # 8 MB
    distinct = [np.full(250_000, float(i)) for i in range(40)]   # 2 MB each
    small = [np.full(10_000, float(i)) for i in range(400)]      # 80 KB each
    return [
        ("one 8 MB array, 40 tasks", lambda d: [d(total)(shared) for _ in range(40)]),
        ("40 distinct 2 MB arrays", lambda d: [d(total)(a) for a in distinct]),
        ("8 MB array in a dict, 40 tasks",
         lambda d: [d(total)({"x": shared, "i": distinct[i]}) for i in range(40)]),
        ("400 arrays of 80 KB (copies)", lambda d: [d(total)(a) for a in small]),
    ]


_TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu():
    """CPU seconds (user + system) used so far by this process and its live
    descendants (the worker processes of both libraries).  On a machine
    shared with other work, wall time mostly measures the others; CPU time
    measures what a call costs."""
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as stream:
                stat = stream.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        found[int(name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    mine, total_ticks = {os.getpid()}, 0
    grew = True
    while grew:
        grew = False
        for pid, (ppid, _) in found.items():
            if ppid in mine and pid not in mine:
                mine.add(pid)
                grew = True
    for pid in mine:
        total_ticks += found.get(pid, (0, 0))[1]
    return total_ticks / _TICK


def measure(module, make_tasks, repeat):
    parallel = module.Parallel(n_jobs=2, backend="loky")
    times, cpu, result = [], [], None
    for _ in range(repeat):
        tasks = make_tasks(module.delayed)
        before = tree_cpu()
        start = time.perf_counter()
        result = parallel(tasks)
        times.append(time.perf_counter() - start)
        cpu.append(tree_cpu() - before)
    return statistics.median(times), statistics.median(cpu), result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    load = lambda: " ".join(f"{x:.2f}" for x in os.getloadavg())  # noqa: E731
    print(f"# load average before: {load()}; joblib {joblib.__version__}; "
          f"python {sys.version.split()[0]}; n_jobs=2; medians of {options.repeat}")
    print("| arguments | joblib (s) | joblib_glib (s) | ratio | joblib CPU (s) | "
          "joblib_glib CPU (s) | CPU ratio |")
    print("|---|---|---|---|---|---|---|")
    for module in (joblib, joblib_glib):   # start the workers
        module.Parallel(n_jobs=2)(module.delayed(total)(np.ones(4)) for _ in range(4))
    for label, make_tasks in cases():
        theirs, theirs_cpu, theirs_r = measure(joblib, make_tasks, options.repeat)
        ours, ours_cpu, ours_r = measure(joblib_glib, make_tasks, options.repeat)
        assert ours_r == theirs_r
        print(f"| {label} | {theirs:.3f} | {ours:.3f} | {ours / theirs:.2f} | "
              f"{theirs_cpu:.2f} | {ours_cpu:.2f} | {ours_cpu / max(theirs_cpu, 0.01):.2f} |",
              flush=True)
    print(f"# load average after: {load()}")


if __name__ == "__main__":
    main()
