#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""joblib-glib Analysis under its own Xvfb: one sweep on worker processes,
its results next to a direct computation, the cache page, a second sweep
from the cache, a screenshot (argument 1, optional), Clear.

Xvfb and the app are started here and stopped by pid."""

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))


def start_xvfb():
    read_fd, write_fd = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0",
                             "1280x800x24", "-nolisten", "tcp"],
                            pass_fds=[write_fd], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        display = pipe.readline().strip()
    if not display:
        xvfb.kill()
        xvfb.wait()
        raise RuntimeError("Xvfb did not start")
    return xvfb, f":{display}"


def main():
    if shutil.which("Xvfb") is None:
        print("1..0 # SKIP Xvfb is not installed")
        return 77
    work = tempfile.mkdtemp(prefix="analysis-app-")
    screenshot = sys.argv[1] if len(sys.argv) > 1 else os.path.join(work, "screenshot.png")
    report_path = os.path.join(work, "report.json")
    cache_dir = os.path.join(work, "cache")
    xvfb, display = start_xvfb()
    try:
        env = dict(os.environ, DISPLAY=display, GDK_BACKEND="x11", GSK_RENDERER="cairo",
                   NO_AT_BRIDGE="1")
        env["PYTHONPATH"] = os.pathsep.join(
            [here] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
        app = subprocess.Popen([sys.executable, os.path.join(here, "drive-analysis-app.py"),
                                report_path, screenshot, cache_dir], env=env)
        try:
            status = app.wait(timeout=600)
        finally:
            if app.poll() is None:
                app.kill()
                app.wait()
        assert status == 0, f"the app exited with {status}"
        with open(report_path, encoding="utf-8") as handle:
            report = json.load(handle)
    finally:
        xvfb.send_signal(signal.SIGTERM)
        xvfb.wait(timeout=30)

    assert report["in_cache_before"] == 0
    assert report["state_after_click"] == "running"
    assert report["state"] == "done", report["error"]
    n = len(report["expected"])
    assert n == 90
    assert len(report["results"]) == n
    for got, want in zip(report["results"], report["expected"]):
        assert math.isclose(got, want, rel_tol=1e-9), (got, want)
    assert report["progress_text"] == f"{n} / {n}"
    assert report["best"][0] in range(1, 11)
    # Every fit is on disk and on the cache page; the second sweep is
    # served from the cache: same results, no new entry.
    assert report["in_cache_after"] == n
    assert report["cache_rows"] == n
    assert report["second_state"] == "done"
    assert report["second_results"] == report["results"]
    assert report["cache_rows_after_second"] == n
    assert report["cache_rows_after_clear"] == 0
    assert not [name for name in os.listdir(cache_dir)
                if not name.startswith(".")] or _empty_tree(cache_dir)
    assert os.path.getsize(screenshot) > 10_000
    shutil.rmtree(work)
    print("ok: sweep of", n, "fits, cache of", report["cache_rows"], "entries, cleared")
    return 0


def _empty_tree(path):
    return not any(files for _, _, files in os.walk(path))


if __name__ == "__main__":
    sys.exit(main())
