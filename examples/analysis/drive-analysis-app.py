#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Drives joblib-glib Analysis as a user would, inside a display given by
$DISPLAY: generate data, run one sweep, open the cache page, run the sweep
again (served from the cache), save a screenshot, clear the cache.  Writes
what it saw as JSON to the file named by its first argument; the
screenshot goes to the second.  Run by test-analysis-app.py under Xvfb."""

import json
import os
import sys

import gi

gi.require_version("Gtk", "4.0")
from gi.repository import GLib  # noqa: E402

from joblib_glib_analysis import sweep  # noqa: E402
from joblib_glib_analysis.app import AnalysisApp  # noqa: E402

report_path, screenshot_path, cache_dir = sys.argv[1:4]
report = {"steps": []}


def wait_until(predicate, timeout=120):
    context = GLib.MainContext.default()
    deadline = GLib.get_monotonic_time() + timeout * 1_000_000
    while not predicate():
        if GLib.get_monotonic_time() > deadline:
            raise TimeoutError("the app did not get there in time")
        context.iteration(True)


def screenshot(window, path):
    # From the X server, as a user sees it: PyGObject 3.42 cannot handle
    # GTK's render nodes (a fundamental type), and without a window
    # manager the window sits at the top-left corner.
    from PIL import ImageGrab
    image = ImageGrab.grab(bbox=(0, 0, window.get_width(), window.get_height()),
                           xdisplay=os.environ["DISPLAY"])
    image.save(path)


def drive(app):
    window = app.window
    wait_until(lambda: window.get_mapped())
    window.generate_data(n_points=300, seed=1)
    grid = sweep.grid()
    report["in_cache_before"] = sum(window.cv_error.check_call_in_cache(
        window.x, window.y, d, a) for d, a in grid)

    window.run_button.emit("clicked")
    report["state_after_click"] = window.state
    wait_until(lambda: window.state != "running")
    report["state"] = window.state
    report["error"] = str(window.last_error) if window.last_error else None
    report["results"] = [float(e) for e in window.errors]
    report["progress_text"] = window.progress.get_text()
    report["best"] = list(sweep.best(window.errors))
    report["expected"] = [sweep.cv_error(window.x, window.y, d, a) for d, a in grid]

    window.stack.set_visible_child_name("cache")
    wait_until(lambda: True)
    report["cache_rows"] = len(window.cache_rows)
    report["in_cache_after"] = sum(window.cv_error.check_call_in_cache(
        window.x, window.y, d, a) for d, a in grid)

    window.stack.set_visible_child_name("sweep")
    window.run_button.emit("clicked")
    wait_until(lambda: window.state != "running")
    report["second_state"] = window.state
    report["second_results"] = [float(e) for e in window.errors]
    report["cache_rows_after_second"] = len(window.refresh_cache())

    # Let the plot draw, then take the picture the README shows.
    for _ in range(50):
        GLib.MainContext.default().iteration(False)
    screenshot(window, screenshot_path)

    window.stack.set_visible_child_name("cache")
    window.clear_cache()
    report["cache_rows_after_clear"] = len(window.cache_rows)
    app.quit()


app = AnalysisApp(cache_dir=cache_dir, n_jobs=2)


def on_activate(_app):
    GLib.idle_add(lambda: (drive(app), False)[1])


app.connect_after("activate", on_activate)
status = app.run([sys.argv[0]])
with open(report_path, "w", encoding="utf-8") as handle:
    json.dump(report, handle)
sys.exit(status)
