#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""How long a GTK 4 window's main loop is held by a parallel run, for each
language and backend, under a private Xvfb.

    /usr/bin/python3 benchmarks/ui-gaps-report.py BUILD_DIR [--quick] [--json FILE]
        [--library OTHER_BUILD_DIR] [--only SUBSTRING]

Each case is a program with a GTK 4 window (a spinner, a progress bar fed
by the run's progress) and a 10 ms timer on its main context; it runs the
same tasks twice, "cold" (the first run starts the workers) and "warm"
(the second reuses them), and reports per run the worst gap between two
timer calls (wall clock: what a user sees, including the time the thread
waited for a CPU) and the most CPU time the main thread used between two
calls (what the loop itself did; /proc/thread-self/schedstat). A task uses its
milliseconds of CPU time (not wall-clock time: the same work on a loaded
machine; no sleep). Cases: ui-gaps.c (C functions; also a C function
marked main-thread-only, and n_jobs=1), ui-gaps-python.py (joblib_glib's
Parallel.start()), ui-gaps-gjs.js (JS closures, gjsFunction() on threads
and in GJS worker processes). Prints a markdown table with the load
average before and after. --library takes the library, typelib and workers
from another build (of an older commit, say) with this tree's programs, to
compare; --only runs the cases whose name contains the text. Xvfb and
every case are stopped by their pid.
This is a benchmark, not a test: nothing here passes or fails on time.
"""

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(SRC, "benchmarks")
PYTHON = "/usr/bin/python3"

WORKLOADS = {"full": [(20, 100), (1000, 1)], "quick": [(6, 100), (200, 1)]}


def cases(build):
    module = os.path.join(build, "benchmarks", "libui-gaps-tasks.so")
    c_prog = os.path.join(build, "benchmarks", "ui-gaps")
    py = [PYTHON, os.path.join(BENCH, "ui-gaps-python.py")]
    gjs = ["gjs", "-m", os.path.join(BENCH, "ui-gaps-gjs.js")]
    return [
        ("C function", "threads", [c_prog, module, "threading"], []),
        ("C function", "processes", [c_prog, module, "processes"], []),
        ("C function, main-thread-only", "threads", [c_prog, module, "threading"],
         ["main-thread-only"]),
        ("C function", "sequential (n_jobs=1)", [c_prog, module, "sequential"], []),
        ("Python function", "threads", py + ["threading"], []),
        ("Python function", "processes", py + ["loky"], []),
        ("GJS function (`gjsFunction`)", "threads", gjs + ["gjs-threading"], []),
        ("GJS function (`gjsFunction`)", "processes", gjs + ["gjs-processes"], []),
        ("JS closure (main-thread-only)", "threads", gjs + ["closure"], []),
    ]


def start_xvfb(tmp):
    display_file = os.path.join(tmp, "display")
    with open(display_file, "w") as out, open(os.path.join(tmp, "xvfb.log"), "w") as log:
        xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(out.fileno()), "-screen", "0",
                                 "1280x800x24", "-nolisten", "tcp"],
                                pass_fds=(out.fileno(),), stderr=log)
    for _ in range(100):
        with open(display_file) as f:
            text = f.read().strip()
        if text:
            return xvfb, ":" + text
        if xvfb.poll() is not None:
            break
        time.sleep(0.1)
    xvfb.kill()
    xvfb.wait()
    sys.exit("Xvfb did not start")


def environment(build, display):
    env = dict(os.environ)

    def prepend(name, value):
        env[name] = value + (":" + env[name] if env.get(name) else "")
    prepend("LD_LIBRARY_PATH", os.path.join(build, "libjoblib-glib"))
    prepend("GI_TYPELIB_PATH", os.path.join(build, "introspection"))
    prepend("PYTHONPATH", os.path.join(SRC, "bindings", "python"))
    env.update(DISPLAY=display, GSK_RENDERER="cairo", NO_AT_BRIDGE="1", GTK_A11Y="none",
               JOB_WORKER_PATH=os.path.join(build, "libjoblib-glib", "worker",
                                            "joblib-glib-worker"),
               JOB_GJS_WORKER_PATH=os.path.join(SRC, "bindings", "gjs", "worker.js"))
    return env


def run_case(command, env):
    """The case's JSON line, or an error text; stopped by pid on timeout."""
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        out, err = proc.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return "timed out"
    for line in reversed(out.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return (err.strip().splitlines() or ["exit status %d" % proc.returncode])[-1]


def cell(result, run, key):
    return "%.0f" % result[run][key] if isinstance(result, dict) else "–"


def seconds(result):
    return "%.1f" % result["warm"]["seconds"] if isinstance(result, dict) else "–"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build")
    parser.add_argument("--quick", action="store_true", help="fewer, shorter tasks")
    parser.add_argument("--json", help="also write every measurement to this file")
    parser.add_argument("--library", help="the build to take the library and workers from")
    parser.add_argument("--only", default="", help="the cases whose name contains this")
    args = parser.parse_args()
    build = os.path.abspath(args.build)
    library = os.path.abspath(args.library or args.build)

    rows, raw = [], []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="joblib-ui-gaps-") as tmp:
        xvfb, display = start_xvfb(tmp)
        try:
            env = environment(library, display)
            for n_tasks, task_ms in WORKLOADS["quick" if args.quick else "full"]:
                for what, backend, command, extra in cases(build):
                    if args.only not in f"{what} on {backend}":
                        continue
                    result = run_case(command + [str(n_tasks), str(task_ms)] + extra, env)
                    print(f"{what} on {backend}, {n_tasks} × {task_ms} ms: {result}",
                          file=sys.stderr)
                    raw.append(dict(function=what, backend=backend, tasks=n_tasks,
                                    task_ms=task_ms, result=result))
                    note = "" if isinstance(result, dict) else f" ({result})"
                    rows.append(f"| {what}{note} | {backend} | {n_tasks} × {task_ms} ms "
                                f"| {cell(result, 'cold', 'worst_ms')} "
                                f"| {cell(result, 'warm', 'worst_ms')} "
                                f"| {cell(result, 'cold', 'busy_ms')} "
                                f"| {cell(result, 'warm', 'busy_ms')} "
                                f"| {cell(result, 'warm', 'mean_ms')} "
                                f"| {seconds(result)} |")
        finally:
            xvfb.terminate()
            xvfb.wait()
    load_after = os.getloadavg()

    print(f"{datetime.date.today()}, {os.cpu_count()} CPUs, load average "
          f"{load_before[0]:.1f} before and {load_after[0]:.1f} after "
          f"(1-minute), n_jobs=2, a 10 ms timer:\n")
    print("| function | backend | tasks | worst gap, cold (ms) | worst gap, warm (ms) "
          "| main thread busy, cold (ms) | main thread busy, warm (ms) "
          "| mean gap, warm (ms) | run, warm (s) |")
    print("|---|---|---|--:|--:|--:|--:|--:|--:|")
    print("\n".join(rows))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(dict(load_before=load_before, load_after=load_after, cases=raw), out,
                      indent=1)


if __name__ == "__main__":
    main()
