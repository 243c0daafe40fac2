# SPDX-License-Identifier: LGPL-2.1-or-later
"""joblib_glib beyond one machine, against the private sshd of
tests/ssh/with-sshd.sh --gvfs (one server for this whole file, GVfs in its
own D-Bus session): Memory on an sftp:// location, written by one Python
process and read by another, and the SSH backend named with its
keywords in parallel_config / parallel_backend.  joblib takes local
paths only and has no SSH backend: where it has the feature, the same
snippet runs on joblib and the test asserts the documented difference."""

import collections
import os
import pickle
import subprocess
import sys

import gi
gi.require_version("Gio", "2.0")
gi.require_version("Joblib", "1.0")
from gi.repository import Gio, Joblib  # noqa: E402

import joblib  # noqa: E402
import pytest  # noqa: E402

import joblib_glib  # noqa: E402

from joblib_glib import Memory, Parallel, delayed, parallel_backend, parallel_config  # noqa: E402

SFTP = os.environ.get("JOB_SSH_TEST_SFTP")
pytestmark = pytest.mark.skipif(SFTP is None, reason="needs tests/ssh/with-sshd.sh --gvfs")
HERE = os.path.dirname(os.path.abspath(__file__))


def logged_square(x):
    """Records each real call in $JOB_REMOTE_LOG (a local file)."""
    with open(os.environ["JOB_REMOTE_LOG"], "a") as log:
        log.write(f"{x}\n")
    return collections.OrderedDict(x=x, square=x * x)


def plus_one(x):
    return x + 1


def where(x):
    return x * x, os.environ.get("JOB_WORKER_NODE", "none"), os.getpid()


def calls(path):
    try:
        with open(path) as log:
            return [int(line) for line in log]
    except FileNotFoundError:
        return []


@pytest.fixture
def location(request):
    """A fresh sftp:// folder for one test, and its path on this machine
    (the server is local)."""
    name = request.node.name
    local = os.path.join(os.environ["JOB_SSH_TEST_DIR"], "remote", name)
    os.makedirs(local, mode=0o755)
    return f"{SFTP}/{name}", local


def test_cache_written_by_one_process_read_by_another(location, tmp_path, monkeypatch):
    uri, local = location
    monkeypatch.setenv("JOB_REMOTE_LOG", str(tmp_path / "writer.log"))
    memory = Memory(uri, verbose=0)
    cached = memory.cache(logged_square)
    first = cached(3)
    assert first == collections.OrderedDict(x=3, square=9)
    assert cached(3) == first and calls(tmp_path / "writer.log") == [3]
    # the entry is on the server, under joblib-glib/<function>/<hash>/
    folder = os.path.join(local, "joblib-glib", "test_remote.logged_square")
    (entry,) = [e for e in os.listdir(folder) if not e.startswith(".") and
                os.path.isdir(os.path.join(folder, e))]
    assert {"output", "metadata.json"} <= set(os.listdir(os.path.join(folder, entry)))

    # Another interpreter, same D-Bus session: a hit, the function not run,
    # the exact type back (an OrderedDict is stored pickled).
    reader_log = tmp_path / "reader.log"
    script = (
        "import sys, collections\n"
        f"sys.path.insert(0, {HERE!r})\n"
        "import test_remote\n"
        "from joblib_glib import Memory\n"
        f"cached = Memory({uri!r}, verbose=0).cache(test_remote.logged_square)\n"
        "assert cached.check_call_in_cache(3)\n"
        "value = cached(3)\n"
        "assert type(value) is collections.OrderedDict, type(value)\n"
        "print(dict(value))\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=dict(os.environ, JOB_REMOTE_LOG=str(reader_log)), timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "{'x': 3, 'square': 9}"
    assert calls(reader_log) == []


def test_location_as_given_and_as_joblib_takes_it(location, tmp_path, monkeypatch):
    uri, local = location
    memory = Memory(uri, verbose=0)
    assert memory.location == uri and type(memory.location) is str
    assert repr(memory) == f"Memory(location={uri}/joblib-glib)"
    gfile = Gio.File.new_for_uri(uri)
    by_file = Memory(gfile, verbose=0)
    assert by_file.location is gfile
    assert by_file.cache(plus_one)(1) == 2
    assert memory.cache(plus_one).check_call_in_cache(1)  # the same cache
    # a Gio.File does not pickle: the copy names the location by its URI
    copy = pickle.loads(pickle.dumps(by_file))
    assert copy.location == gfile.get_uri() and copy.cache(plus_one).check_call_in_cache(1)

    # joblib takes the URI for a relative local path: it caches into a
    # folder named "sftp:" under the current folder, nothing reaches the
    # server.  joblib_glib writes to the server.
    monkeypatch.chdir(tmp_path)
    theirs = joblib.Memory(uri, verbose=0)
    assert theirs.location == memory.location  # both: what was given
    assert theirs.cache(plus_one)(1) == 2
    assert os.path.isdir(tmp_path / "sftp:")
    assert not os.path.exists(os.path.join(local, "joblib"))
    assert not os.path.exists(tmp_path / "joblib-glib")
    assert os.path.isdir(os.path.join(local, "joblib-glib", "test_remote.plus_one"))


def test_shelved_result_and_clear(location):
    uri, local = location
    memory = Memory(uri, verbose=0)
    cached = memory.cache(plus_one)
    shelved = cached.call_and_shelve(41)
    assert shelved.get() == 42
    # unpickled elsewhere, the result is found on the server by its hash
    copy = pickle.loads(pickle.dumps(shelved))
    assert copy.get() == 42 and copy.duration is not None
    copy.clear()
    with pytest.raises(KeyError):
        pickle.loads(pickle.dumps(shelved)).get()
    assert cached(5) == 6 and cached(6) == 7 and cached.check_call_in_cache(5)
    assert memory.reduce_size(items_limit=1) == 1  # the least recently used goes
    assert [cached.check_call_in_cache(x) for x in (5, 6)].count(True) == 1
    memory.clear(warn=False)
    assert not cached.check_call_in_cache(5) and not cached.check_call_in_cache(6)


def test_process_workers_share_the_remote_cache(location, tmp_path, monkeypatch):
    uri, _local = location
    monkeypatch.setenv("JOB_REMOTE_LOG", str(tmp_path / "workers.log"))
    cached = Memory(uri, verbose=0).cache(logged_square)
    expected = [collections.OrderedDict(x=i, square=i * i) for i in range(4)]
    assert Parallel(n_jobs=2)(delayed(cached)(i) for i in range(4)) == expected
    assert sorted(calls(tmp_path / "workers.log")) == [0, 1, 2, 3]
    # computed by the workers, stored on the server, hits here
    assert all(cached.check_call_in_cache(i) for i in range(4))
    assert [cached(i) for i in range(4)] == expected
    assert sorted(calls(tmp_path / "workers.log")) == [0, 1, 2, 3]


def test_unreachable_location_computes_without_caching(capfd):
    # a host alias whose port nobody listens on: mounting fails, the
    # result is computed and not stored; JobMemory's warning is a Python
    # warning of the caller's line (capturable, shown in Jupyter), not
    # text on file descriptor 2
    down = f"sftp://{os.environ['JOB_SSH_TEST_DOWN']}/nowhere"
    cached = Memory(down, verbose=0).cache(plus_one)
    capfd.readouterr()
    with pytest.warns(joblib_glib.CacheWarning, match="Cannot store results of .*plus_one") \
            as caught:
        assert cached(1) == 2
    assert [w.filename for w in caught] == [__file__]
    assert not cached.check_call_in_cache(1)
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("uri, message", [
    ("nosuch://host/cache", "GIO cannot open nosuch:// locations"),
    ("sftp://[::1/cache", "is not a valid URI"),
])
def test_bad_uris(uri, message):
    with pytest.raises(ValueError, match=message):
        Memory(uri)


# The SSH backend by name, its properties as keywords.

def ssh_keywords():
    return {"ssh_command": ["ssh", "-F", os.environ["JOB_SSH_TEST_CONFIG"]],
            "listen_address": "127.0.0.1"}


def test_parallel_config_ssh_keywords():
    with parallel_config(backend="ssh", hosts=["joblib-a", "joblib-b"], n_jobs=2,
                         **ssh_keywords()) as config:
        ssh = config["backend"].glib_backend
        assert isinstance(ssh, Joblib.SshBackend)
        assert list(ssh.props.hosts) == ["joblib-a", "joblib-b"]
        assert ssh.props.listen_address == "127.0.0.1"
        results = Parallel(batch_size=1)(delayed(where)(i) for i in range(6))
    assert [r[0] for r in results] == [i * i for i in range(6)]
    assert {node for _, node, _ in results} <= {"joblib-a", "joblib-b"}
    pids = {pid for _, _, pid in results}
    assert os.getpid() not in pids
    # the scope's backend is its own: shut down when the scope ends
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_parallel_backend_ssh_keywords():
    # parallel_backend is parallel_config with joblib's n_jobs=-1 and
    # return value: the run itself is the case above
    with parallel_backend("ssh", hosts=["joblib-a:2", "joblib-b"],
                          **ssh_keywords()) as (backend, n_jobs):
        assert n_jobs == -1
        assert list(backend.glib_backend.props.hosts) == ["joblib-a:2", "joblib-b"]
        assert Parallel().n_jobs == -1  # every slot of the hosts
        # as joblib asks its backend: the hosts' three slots, not this
        # machine's CPUs, whatever n_jobs says (as joblib's Dask backend)
        assert joblib_glib.effective_n_jobs() == 3
        assert joblib_glib.effective_n_jobs(-2) == joblib_glib.effective_n_jobs(2) == 3
        assert joblib_glib.effective_n_jobs(1) == 1
        with pytest.raises(ValueError):
            joblib_glib.effective_n_jobs(0)
    with joblib.parallel_backend("threading") as (_theirs, theirs_n_jobs):
        assert theirs_n_jobs == n_jobs and joblib.Parallel().n_jobs == -1
    assert joblib_glib.effective_n_jobs() == joblib.effective_n_jobs() == joblib.cpu_count()


def test_ssh_bad_keywords_as_joblib_raises_them():
    with pytest.raises(TypeError) as theirs:
        joblib.parallel_backend("threading", host=["lab1"])
    with pytest.raises(TypeError, match="'host'") as ours:
        parallel_backend("ssh", host=["lab1"])
    assert type(ours.value) is type(theirs.value)
    with pytest.raises(TypeError, match="'hosts'"):
        parallel_config(backend="ssh", hosts=42)
