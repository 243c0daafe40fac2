#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Starts joblib-glib workers as tasks of a Dask or IPython Parallel cluster.

The Dask and IPython Parallel backends of joblib-glib (JobDaskBackend,
JobIpyparallelBackend) run this program through GSubprocess, from any
language; joblib_glib runs the same file with its own interpreter.  It
connects to the cluster once, then reads requests on its standard input
and writes events on its standard output, one JSON object a line:

  in   {"op": "start", "id": ID, "argv": [...], "env": {NAME: VALUE}}
       {"op": "stop", "id": ID}
       {"op": "quit"}                       (end of input does the same)
  out  {"event": "connected", "threads": N, "workers": N}
       {"event": "cluster", "threads": N, "workers": N}   (when it changes)
       {"event": "ended", "id": ID, "status": N, "message": TEXT}
       {"event": "error", "message": TEXT}  (then it exits with status 1)

A started worker is one long-lived cluster task that runs ARGV
(joblib-glib-worker-connect --exit-with-driver ADDRESS KIND -- WORKER...)
with ENV (the run's token, JOB_WORKER_ID) added to the task process's
environment: the token reaches the cluster's worker inside the task, as
any argument of a task does, never on a command line.  The worker dials
the driver back; this program only starts, watches and forgets tasks.
"ended" comes once per started ID when its task finishes: the worker
program's exit status and the end of its error output, or status -1 and
why the cluster lost the task (its Dask worker or engine died).

"stop" cancels a task that has not started.  A running one ends when the
driver closes its connection (--exit-with-driver kills the worker), and
a worker whose Dask worker process dies goes with it (parent-death
signal), so that nothing started here outlives what started it.

Usage:  cluster_submit.py [--options FILE] dask SCHEDULER_ADDRESS | --scheduler-file FILE
        cluster_submit.py [--options FILE] ipyparallel [--url-file FILE] [--profile NAME]
                                      [--profile-dir DIR] [--cluster-id ID]

--options FILE: a JSON object that joblib_glib writes (readable by its
user only) when a Dask Client object carries more than Dask's
configuration says: "security", the client's side of its
distributed.Security (require_encryption, tls_ca_file, tls_client_cert,
tls_client_key, tls_ciphers, tls_min_version/tls_max_version as
ssl.TLSVersion names; file names or PEM text), and "submit", Dask
submit() arguments that place the worker tasks (workers, resources,
priority, allow_other_workers).  Secrets stay off the command line.
"""

import json
import logging
import sys
import threading

_out_lock = threading.Lock()
_events = sys.stdout


def emit(**event):
    line = json.dumps(event)
    with _out_lock:
        _events.write(line + "\n")
        _events.flush()


def run_worker(argv, env, tail_size=2048):
    """The cluster task: runs ARGV and waits for it.  Returns (exit status,
    the end of its error output).  Runs on a Dask worker's thread or an
    IPython engine; imports only the standard library, and uses no global
    of this file (IPython Parallel sends the function without them)."""
    import os
    import socket
    import subprocess
    import tempfile

    environment = dict(os.environ)
    # Where the worker runs, for the driver's messages: this host and the
    # process of the Dask worker or engine that runs the task.
    environment["JOB_WORKER_NODE"] = f"{socket.gethostname()}:{os.getpid()}"
    environment.update(env)
    with tempfile.TemporaryFile() as err:
        try:
            process = subprocess.Popen(argv, env=environment, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=err)
        except OSError as error:
            return 127, f"cannot run {argv[0]}: {error}"
        try:
            status = process.wait()
        finally:
            # An interrupted wait (an engine's KeyboardInterrupt) must not
            # leave the worker behind.
            if process.poll() is None:
                process.kill()
                process.wait()
        if status < 0:
            status = 128 - status
        size = err.seek(0, os.SEEK_END)
        err.seek(max(size - tail_size, 0))
        tail = err.read().decode("utf-8", "replace")
    return status, tail


def dask_security(fields):
    """A distributed.Security from the "security" options (None: Dask's
    configuration decides, as for a Client made without security=)."""
    if not fields:
        return None
    import ssl

    from distributed.security import Security

    fields = dict(fields)
    for name in ("tls_min_version", "tls_max_version"):
        if isinstance(fields.get(name), str):
            fields[name] = ssl.TLSVersion[fields[name]]
    return Security(**fields)


class _Dask:
    def __init__(self, args, options):
        import distributed

        self._distributed = distributed
        security = dask_security(options.get("security"))
        self._submit = dict(options.get("submit") or {})
        if args[:1] == ["--scheduler-file"] and len(args) == 2:
            self.client = distributed.Client(scheduler_file=args[1], timeout=30,
                                             set_as_default=False, security=security)
        elif len(args) == 1:
            self.client = distributed.Client(args[0], timeout=30, set_as_default=False,
                                             security=security)
        else:
            raise ValueError("dask needs a scheduler address or --scheduler-file FILE")

    def shape(self):
        workers = self.client.scheduler_info().get("workers", {})
        return sum(w.get("nthreads", 1) for w in workers.values()), len(workers)

    def submit(self, ident, argv, env):
        # pure=False: two workers with the same arguments are two tasks;
        # retries=0: a worker lost is the driver's to re-dispatch.
        return self.client.submit(run_worker, argv, env, key=f"joblib-glib-worker-{ident}",
                                  pure=False, retries=0, **self._submit)

    def outcome(self, future):
        if future.cancelled():
            return -1, "cancelled"
        error = future.exception()
        if error is not None:
            return -1, f"the Dask task failed: {type(error).__name__}: {error}"
        return future.result()

    def cancel(self, future):
        self.client.cancel([future], force=True)

    def close(self):
        self.client.close(timeout=10)


class _Ipyparallel:
    def __init__(self, args, options):
        import ipyparallel

        options = {}
        names = {"--url-file": "connection_info", "--profile": "profile",
                 "--profile-dir": "profile_dir", "--cluster-id": "cluster_id"}
        while args:
            if args[0] not in names or len(args) < 2:
                raise ValueError(f"unknown ipyparallel option {args[0]!r}")
            options[names[args[0]]] = args[1]
            args = args[2:]
        # The file as connection_info: ipyparallel 7 ignores url_file=.
        self.client = ipyparallel.Client(timeout=30, **options)
        self.view = self.client.load_balanced_view()
        # A task is never run again elsewhere: the driver re-dispatches.
        self.view.retries = 0

    def shape(self):
        n = len(self.client.ids)
        return n, n

    def submit(self, ident, argv, env):
        return self.view.apply_async(run_worker, argv, env)

    def outcome(self, result):
        try:
            return result.get(timeout=0)
        except Exception as error:  # the engine died, or the task was aborted
            return -1, f"the IPython Parallel task failed: {type(error).__name__}: {error}"

    def cancel(self, result):
        try:
            self.client.abort(result)
        except Exception:
            pass

    def close(self):
        self.client.close()


def _watch_shape(cluster, stop, last):
    while not stop.wait(1.0):
        try:
            shape = cluster.shape()
        except Exception:
            continue
        if shape != last:
            last = shape
            emit(event="cluster", threads=shape[0], workers=shape[1])


def main(argv=None):
    args = list(sys.argv[1:] if argv is None else argv)
    # Standard output carries the events only: what the clients print
    # ("Waiting for connection file") goes to standard error.
    sys.stdout = sys.stderr
    # Standard output is the event channel; the clients' chatter is not
    # the driver's business.
    logging.getLogger("distributed").setLevel(logging.ERROR)
    options = {}
    if args[:1] == ["--options"] and len(args) > 1:
        try:
            with open(args[1], encoding="utf-8") as f:
                options = json.load(f)
        except (OSError, ValueError) as error:
            emit(event="error", message=f"cannot read the options file {args[1]}: {error}")
            return 1
        args = args[2:]
    if not args or args[0] not in ("dask", "ipyparallel"):
        emit(event="error", message="usage: cluster_submit.py [--options FILE] "
                                    "dask|ipyparallel ...")
        return 1
    try:
        cluster = (_Dask if args[0] == "dask" else _Ipyparallel)(args[1:], options)
        threads, workers = cluster.shape()
    except Exception as error:
        emit(event="error", message=f"cannot connect to the {args[0]} cluster: "
                                    f"{type(error).__name__}: {error}")
        return 1
    emit(event="connected", threads=threads, workers=workers)

    tasks = {}
    lock = threading.Lock()

    def done(ident, task):
        try:
            status, message = cluster.outcome(task)
        except Exception as error:  # the client is closing
            status, message = -1, f"{type(error).__name__}: {error}"
        with lock:
            if tasks.get(ident) is not task:
                return
            del tasks[ident]
        emit(event="ended", id=ident, status=status, message=message)

    stop = threading.Event()
    watcher = threading.Thread(target=_watch_shape, args=(cluster, stop, (threads, workers)),
                               daemon=True)
    watcher.start()
    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            request = json.loads(line)
            op = request.get("op")
            if op == "quit":
                break
            ident = str(request.get("id"))
            if op == "start":
                task = cluster.submit(ident, list(request["argv"]), dict(request.get("env", {})))
                with lock:
                    tasks[ident] = task
                task.add_done_callback(lambda t, ident=ident: done(ident, t))
            elif op == "stop":
                with lock:
                    task = tasks.get(ident)
                if task is not None:
                    cluster.cancel(task)
    finally:
        stop.set()
        with lock:
            left = list(tasks.values())
            tasks.clear()
        for task in left:
            cluster.cancel(task)
        cluster.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
