# SPDX-License-Identifier: LGPL-2.1-or-later
"""Throw-away Dask and IPython Parallel clusters on 127.0.0.1 for tests.

    with DaskCluster(workers=2) as cluster:      # a scheduler, two workers
        cluster.address, cluster.scheduler_file, cluster.worker_pids
    with IpyparallelCluster(engines=2) as cluster:  # ipcontroller, two engines
        cluster.url_file, cluster.engine_pids

Every process is started here, in the foreground of a process of its own,
with every file in a temporary folder; its pid is recorded and only those
pids are stopped at the end (SIGTERM, then SIGKILL), whatever happens.
Nothing listens beyond 127.0.0.1 (no dashboards).

As a program, it runs a command against a cluster (the C test programs):

    cluster.py dask|ipyparallel -- COMMAND [ARG...]

with JOB_TEST_DASK_SCHEDULER, JOB_TEST_DASK_WORKER_PIDS, or
JOB_TEST_IPP_URL_FILE, JOB_TEST_IPP_ENGINE_PIDS in its environment, and
JOB_CLUSTER_TEST_DIR, a folder that the cluster's processes see too.
JOB_CLUSTER_KEEP=1 keeps the cluster's folder (logs) for a post-mortem.
Exit status: COMMAND's; 77 (skipped) when the packages are missing.
"""

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

PYTHON = "/usr/bin/python3"
START_TIMEOUT = 180  # seconds: a loaded CI machine starts these slowly


def available(kind):
    module = "distributed" if kind == "dask" else "ipyparallel"
    return importlib.util.find_spec(module) is not None


class _Processes:
    def __init__(self, prefix):
        self.folder = tempfile.mkdtemp(prefix=prefix)
        # Seen by the cluster's processes, and so by the tasks they run.
        self.shared = os.path.join(self.folder, "shared")
        os.mkdir(self.shared)
        self.started = []   # (Popen, name)

    @staticmethod
    def stop_on_sigterm():
        """SIGTERM (meson's timeout) unwinds, so that the cluster stops."""
        def on_term(*_):
            raise SystemExit(143)
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, on_term)

    def spawn(self, name, argv):
        log = open(os.path.join(self.folder, name + ".log"), "wb")
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, cwd=self.folder,
                                   env=dict(os.environ, JOB_CLUSTER_TEST_DIR=self.shared),
                                   start_new_session=True)
        log.close()
        self.started.append((process, name))
        return process

    def log(self, name):
        try:
            with open(os.path.join(self.folder, name + ".log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_for(self, what, ready):
        deadline = time.monotonic() + START_TIMEOUT
        while not ready():
            for process, name in self.started:
                if process.poll() is not None and name in what:
                    raise RuntimeError(f"{name} exited ({process.returncode}):\n"
                                       f"{self.log(name)[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start in {START_TIMEOUT} s")
            time.sleep(0.05)

    def stop(self, process):
        """Stops @process if it is still ours (not reaped yet)."""
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def stop_all(self):
        for process, _ in reversed(self.started):
            self.stop(process)
        if os.environ.get("JOB_CLUSTER_KEEP"):
            print(f"kept {self.folder}", file=sys.stderr)
        else:
            shutil.rmtree(self.folder, ignore_errors=True)


class DaskCluster(_Processes):
    def __init__(self, workers=2, threads=2):
        super().__init__("joblib-dask.")
        self.n_workers = workers
        self.threads = threads
        self.scheduler_file = os.path.join(self.folder, "scheduler.json")
        self.workers = []
        self.address = None

    def __enter__(self):
        self.stop_on_sigterm()
        try:
            self.spawn("scheduler", [PYTHON, "-m", "distributed.cli.dask_scheduler",
                                     "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                     "--scheduler-file", self.scheduler_file])
            self.wait_for("scheduler", lambda: self._address() is not None)
            self.address = self._address()
            for _ in range(self.n_workers):
                self.add_worker(wait=False)
            for name in [f"worker{i + 1}" for i in range(len(self.workers))]:
                self.wait_for(name, lambda name=name: "Registered to" in self.log(name))
        except BaseException:
            self.stop_all()
            raise
        return self

    def __exit__(self, *exc):
        self.stop_all()

    def _address(self):
        import json

        try:
            with open(self.scheduler_file) as f:
                return json.load(f)["address"]
        except (OSError, ValueError, KeyError):
            return None

    def add_worker(self, wait=True):
        """One more Dask worker (no nanny: killing it loses it)."""
        name = f"worker{len(self.workers) + 1}"
        process = self.spawn(name, [PYTHON, "-m", "distributed.cli.dask_worker",
                                    "--scheduler-file", self.scheduler_file, "--no-nanny",
                                    "--nthreads", str(self.threads), "--host", "127.0.0.1",
                                    "--no-dashboard", "--name", name,
                                    "--local-directory", os.path.join(self.folder, name)])
        self.workers.append(process)
        if wait:
            self.wait_for(name, lambda: "Registered to" in self.log(name))
        return process

    @property
    def worker_pids(self):
        return [p.pid for p in self.workers if p.poll() is None]

    def environment(self):
        return {"JOB_CLUSTER_TEST_DIR": self.shared,
                "JOB_TEST_DASK_SCHEDULER": self.address,
                "JOB_TEST_DASK_SCHEDULER_FILE": self.scheduler_file,
                "JOB_TEST_DASK_WORKER_PIDS": " ".join(map(str, self.worker_pids))}


class IpyparallelCluster(_Processes):
    def __init__(self, engines=2):
        super().__init__("joblib-ipp.")
        self.n_engines = engines
        self.profile_dir = os.path.join(self.folder, "profile")
        self.url_file = os.path.join(self.profile_dir, "security", "ipcontroller-client.json")
        self.engines = []

    def __enter__(self):
        self.stop_on_sigterm()
        try:
            engine_file = os.path.join(self.profile_dir, "security", "ipcontroller-engine.json")
            self.spawn("controller", [PYTHON, "-m", "ipyparallel.controller", "--ip=127.0.0.1",
                                      f"--profile-dir={self.profile_dir}", "--log-level=INFO"])
            self.wait_for("controller", lambda: os.path.exists(self.url_file) and
                          os.path.exists(engine_file))
            for i in range(self.n_engines):
                self.engines.append(self.spawn(f"engine{i + 1}", [
                    PYTHON, "-m", "ipyparallel.engine", f"--profile-dir={self.profile_dir}"]))
            for i in range(self.n_engines):
                name = f"engine{i + 1}"
                self.wait_for(name, lambda name=name: "Completed registration" in self.log(name))
        except BaseException:
            self.stop_all()
            raise
        return self

    def __exit__(self, *exc):
        self.stop_all()

    @property
    def engine_pids(self):
        return [p.pid for p in self.engines if p.poll() is None]

    def environment(self):
        return {"JOB_CLUSTER_TEST_DIR": self.shared,
                "JOB_TEST_IPP_URL_FILE": self.url_file,
                "JOB_TEST_IPP_ENGINE_PIDS": " ".join(map(str, self.engine_pids))}


def run_driver(argv, running):
    """Runs a driver program (C, GJS, Vala) against the running cluster
    and returns its output; fails the test with it when it fails."""
    env = dict(os.environ, **running.environment())
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=280)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# SKIP" not in result.stdout
    return result.stdout


def main(argv):
    if len(argv) < 3 or argv[0] not in ("dask", "ipyparallel") or argv[1] != "--":
        print("usage: cluster.py dask|ipyparallel -- COMMAND [ARG...]", file=sys.stderr)
        return 2
    if not available(argv[0]):
        print(f"SKIP: {argv[0]} is not installed", file=sys.stderr)
        return 77
    cluster = DaskCluster() if argv[0] == "dask" else IpyparallelCluster()
    with cluster:
        environment = dict(os.environ, **cluster.environment())
        return subprocess.call(argv[2:], env=environment)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
