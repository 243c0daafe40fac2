# SPDX-License-Identifier: LGPL-2.1-or-later
"""Ctrl-C during Parallel: KeyboardInterrupt in the caller, the run
cancelled, no worker left running a task, nothing printed from a callback.

Each case runs a script in a child interpreter, waits until its tasks
run, sends it SIGINT and reads what the script saw (as JSON on stdout)."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

SCRIPT = textwrap.dedent("""
    import json, os, signal, sys, threading, time
    signal.signal(signal.SIGINT, signal.default_int_handler)
    module, mode, backend, batch_size, folder, seconds = sys.argv[1:]
    if module == "joblib":
        from joblib import Parallel, delayed
    else:
        from joblib_glib import Parallel, delayed
    if batch_size != "auto":
        batch_size = int(batch_size)

    def task(i, folder, seconds):
        name = os.path.join(folder, f"{os.getpid()}-{threading.get_ident()}-{i}")
        open(name + ".start", "w").close()
        time.sleep(seconds)
        open(name + ".end", "w").close()
        return i

    report = {}
    # joblib 1.2 has no return_as
    options = {} if mode == "list" else {"return_as": mode}
    try:
        out = Parallel(n_jobs=2, backend=backend, batch_size=batch_size, **options)(
            delayed(task)(i, folder, float(seconds)) for i in range(40))
        report["result"] = len(list(out))
    except BaseException as exc:
        report["exception"] = type(exc).__name__
    names = os.listdir(folder)
    report["started"] = sorted(n[:-6] for n in names if n.endswith(".start"))
    report["ended"] = sorted(n[:-4] for n in names if n.endswith(".end"))
    report["self"] = os.getpid()
    # the next run works at once, with every result
    report["after"] = Parallel(n_jobs=2, backend=backend)(delayed(abs)(-i) for i in range(10))
    print(json.dumps(report), flush=True)
""")


def _env():
    env = dict(os.environ)
    env.pop("PYTHONHASHSEED", None)
    return env


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _interrupt(tmp_path, module, mode, backend, batch_size, seconds, need=2):
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    folder = tmp_path / "tasks"
    folder.mkdir()
    child = subprocess.Popen(
        [sys.executable, str(script), module, mode, backend, str(batch_size), str(folder),
         str(seconds)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
        # SIGINT may be ignored in the test's own process: not in the child
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        # until tasks run (or the child ended: its output says why)
        for _ in range(1200):
            if len([n for n in os.listdir(folder) if n.endswith(".start")]) >= need or \
                    child.poll() is not None:
                break
            time.sleep(0.05)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, err
    lines = out.strip().splitlines()
    assert lines, err
    return json.loads(lines[-1]), err


CASES = [
    (mode, backend, batch)
    for mode in ("list", "generator", "generator_unordered")
    for backend, batch in (("threading", "auto"), ("loky", "auto"), ("sequential", "auto"))
] + [("list", "loky", 1), ("list", "threading", 1)]


@pytest.mark.parametrize("mode,backend,batch_size", CASES)
def test_ctrl_c_raises_and_cancels(tmp_path, mode, backend, batch_size):
    processes = backend == "loky"
    # tasks that would outlive the test on processes (they must be
    # killed) or in the caller (it must be interrupted); short on threads,
    # which finish the task they run
    seconds = 0.3 if backend == "threading" else 60
    need = 1 if backend == "sequential" else 2
    report, err = _interrupt(tmp_path, "joblib_glib", mode, backend, batch_size, seconds, need)
    assert report.get("exception") == "KeyboardInterrupt", (report, err)
    assert "Traceback" not in err, err
    started, ended = report["started"], report["ended"]
    assert need <= len(started) < 40
    assert report["after"] == list(range(10))
    if backend == "threading":
        # no task still runs when the caller gets the exception
        assert ended == started
    elif backend == "sequential":
        # the task running in the caller was interrupted
        assert len(started) == 1 and ended == []
    else:
        assert ended == []
        pids = {int(name.split("-")[0]) for name in started}
        assert report["self"] not in pids
        # the workers that ran tasks were stopped (their tasks sleep 60 s)
        for _ in range(600):
            if not any(_alive(pid) for pid in pids):
                break
            time.sleep(0.05)
        assert not any(_alive(pid) for pid in pids)


def test_ctrl_c_as_joblib(tmp_path):
    """joblib raises KeyboardInterrupt in the caller too, in the same script."""
    (tmp_path / "glib").mkdir()
    (tmp_path / "joblib").mkdir()
    ours, _ = _interrupt(tmp_path / "glib", "joblib_glib", "list", "threading", "auto", 0.3)
    theirs, _ = _interrupt(tmp_path / "joblib", "joblib", "list", "threading", "auto", 0.3)
    assert ours.get("exception") == theirs.get("exception") == "KeyboardInterrupt"
    assert ours["after"] == theirs["after"]
