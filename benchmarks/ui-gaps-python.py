#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""How long a GTK 4 window's main loop is held while joblib_glib runs
Python functions, the Python side of ui-gaps.c (same measurements, same
JSON line): ``Parallel.start()`` on the window's main context, a 10 ms
timer recording the longest gap between two of its calls, and the most CPU
time the main thread used between two of them.

    ui-gaps-python.py BACKEND N_TASKS TASK_MS      (BACKEND: threading or loky)
"""

import json
import sys
import time

import gi

gi.require_version("Gtk", "4.0")
from gi.repository import GLib, Gtk  # noqa: E402

from joblib_glib import Parallel, delayed  # noqa: E402


def spin(msec):
    """Uses msec milliseconds of CPU time (pure Python: holds the GIL)."""
    end = time.thread_time() + msec / 1000
    while time.thread_time() < end:
        pass
    return msec


def thread_cpu_ns():
    with open("/proc/thread-self/schedstat") as stat:
        return int(stat.read().split()[0])


class Bench:
    def __init__(self, backend, n_tasks, task_ms, progress):
        self.parallel = Parallel(n_jobs=2, backend=backend)
        self.n_tasks, self.task_ms = n_tasks, task_ms
        self.progress = progress
        self.runs = []
        self.error = None
        self.measuring = self.ending = self.start_next = False
        self.last_tick = self.last_busy = 0
        self.loop = GLib.MainLoop()

    def begin(self):
        self.last_tick, self.last_busy = time.monotonic(), thread_cpu_ns()
        self.start_next = True
        GLib.timeout_add(10, self.tick)
        return GLib.SOURCE_REMOVE

    def on_progress(self, done, total):
        if total:
            self.progress.set_fraction(done / total)

    def on_done(self, run):
        self.current["seconds"] = round(time.monotonic() - self.started, 2)
        if run.error is not None:
            self.error = run.error
        self.ending = True

    def tick(self):
        now, busy = time.monotonic(), thread_cpu_ns()
        if self.measuring:
            gap = now - self.last_tick
            self.worst = max(self.worst, gap)
            self.worst_busy = max(self.worst_busy, busy - self.last_busy)
            self.gaps.append(gap)
        self.last_tick, self.last_busy = now, busy
        if self.ending:
            self.current.update(worst_ms=round(self.worst * 1e3, 1),
                                busy_ms=round(self.worst_busy / 1e6, 1),
                                mean_ms=round(sum(self.gaps) / len(self.gaps) * 1e3, 1))
            self.measuring = self.ending = False
            if self.error is not None or len(self.runs) == 2:
                self.loop.quit()
                return GLib.SOURCE_REMOVE
            self.start_next = True
        elif self.start_next:
            # Started from a tick: what starting costs is in the next gap.
            self.start_next = False
            self.measuring = True
            self.worst = self.worst_busy = 0
            self.gaps = []
            self.current = {}
            self.runs.append(self.current)
            self.started = now
            self.parallel.start([delayed(spin)(self.task_ms) for _ in range(self.n_tasks)],
                                self.on_done, self.on_progress)
        return GLib.SOURCE_CONTINUE


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    Gtk.init()
    progress = Gtk.ProgressBar()
    spinner = Gtk.Spinner(spinning=True)
    box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=6)
    box.append(spinner)
    box.append(progress)
    window = Gtk.Window(child=box, default_width=320, default_height=120)
    window.present()
    bench = Bench(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), progress)
    GLib.timeout_add(300, bench.begin)  # once the window is up and drawn
    bench.loop.run()
    window.destroy()
    if bench.error is not None:
        sys.exit(f"the run failed: {bench.error!r}")
    print(json.dumps({"cold": bench.runs[0], "warm": bench.runs[1]}))


if __name__ == "__main__":
    main()
