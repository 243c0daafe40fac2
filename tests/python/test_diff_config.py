# SPDX-License-Identifier: LGPL-2.1-or-later
"""joblib_glib next to Python joblib: arrays memory-mapped for process
workers (max_nbytes, mmap_mode, temp_folder, arrays nested in containers),
parallel_config / parallel_backend parameters and what their scopes give.

Each comparison runs the same snippet on joblib (1.2 here) and on
joblib_glib in the same test.  joblib 1.2 has no parallel_config: its
parameters are compared with joblib's Parallel arguments of the same name,
and their errors with joblib 1.4's (checked from its source)."""

import os

import joblib
import numpy as np
import pytest

import joblib_glib
from joblib_glib._gi import Joblib

BIG = np.arange(300_000, dtype=np.float64)        # 2.4 MB, above the 1M default
SMALL = np.arange(10, dtype=np.float64)
FOLDER_PREFIX = "joblib_memmapping_folder_"


class Holder:
    """An object holding an array: pickled with its attribute."""

    def __init__(self, array):
        self.array = array


def describe(value):
    """What a worker got: types, memmap modes, writability, sums."""
    if isinstance(value, np.ndarray):
        return (type(value).__name__, getattr(value, "mode", None),
                bool(value.flags.writeable), float(np.asarray(value).sum()))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [describe(v) for v in value])
    if isinstance(value, dict):
        return ("dict", sorted((k, describe(v)) for k, v in value.items()))
    if isinstance(value, Holder):
        return ("Holder", describe(value.array))
    return type(value).__name__


def folders_in(root, _value=None):
    """The memory-map folders under root and how many files each holds."""
    return sorted(len(os.listdir(os.path.join(root, name))) for name in os.listdir(root)
                  if name.startswith(FOLDER_PREFIX))


def env_var(name):
    return os.environ.get(name)


def identity(value):
    return value


def same_object(value, original_id):
    return id(value) == original_id


def write_first(value):
    value[0][0] = -1.0
    return float(value[0][0])


def both(snippet):
    """The outcome of snippet(J) on joblib and on joblib_glib."""
    found = []
    for module in (joblib, joblib_glib):
        try:
            found.append(("value", snippet(module)))
        except BaseException as exc:  # noqa: BLE001 -- compared by type
            found.append(("raises", type(exc).__name__))
    return found


def run(J, function, inputs, **options):
    return J.Parallel(**options)(J.delayed(function)(*args) for args in inputs)


# --- arrays nested in arguments, on process workers ---------------------------

NESTED = {
    "list": [BIG, SMALL],
    "dict": {"big": BIG, "small": SMALL},
    "tuple": (BIG, (SMALL, BIG)),
    "object": Holder(BIG),
    "top-level": BIG,
}


# ("c" and a max_nbytes of its own: test_temp_folder_holds_the_files_during_the_run)
@pytest.mark.parametrize("options", [{}, {"mmap_mode": "r+"}, {"mmap_mode": "w+"},
                                     {"max_nbytes": None}],
                         ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default")
def test_nested_arrays_as_joblib(options):
    inputs = [(NESTED[kind],) for kind in sorted(NESTED)]
    theirs, ours = both(lambda J: run(J, describe, inputs, n_jobs=2, backend="loky",
                                      **options))
    assert ours == theirs
    assert ("memmap" in repr(ours)) == (options.get("max_nbytes", 0) is not None)


def test_memmap_writes_stay_in_the_copy():
    # "r+": the worker writes to the mapped copy, never to the caller's array
    array = BIG.copy()
    theirs, ours = both(lambda J: run(J, write_first, [([array],)], n_jobs=2, backend="loky",
                                      mmap_mode="r+"))
    assert ours == theirs == ("value", [-1.0])
    assert array[0] == 0.0
    # "r": writing raises in the worker, the same exception type
    theirs, ours = both(lambda J: run(J, write_first, [([array],)], n_jobs=2, backend="loky"))
    assert ours == theirs and ours[0] == "raises"


def test_memmap_files_pass_by_reference(tmp_path):
    mapped = np.memmap(tmp_path / "data.bin", dtype="f8", mode="w+", shape=(1000, 50))
    mapped[:] = np.arange(50_000).reshape(1000, 50)
    mapped.flush()
    for view in (mapped, mapped[10:], mapped[::-3]):
        theirs, ours = both(lambda J: run(
            J, lambda v: (type(v[0]).__name__, getattr(v[0], "mode", None),
                          str(getattr(v[0], "filename", None)),
                          float(v[0].sum())),
            [([view],)], n_jobs=2, backend="loky"))
        # joblib 1.2 crashes its worker on a reversed view (SIGSEGV)
        assert ours == theirs or view.strides[0] < 0, (ours, theirs)
        # a strided view arrives as a plain ndarray viewing the file, as
        # joblib's as_strided gives it (test_small_plain_views_...)
        expected = ("memmap", "r+", str(tmp_path / "data.bin")) if view.strides[0] > 0 else \
            ("ndarray", None, "None")
        assert ours[1][0][:3] == expected
        assert ours[1][0][3] == float(view.sum())


def mapped_file(value):
    """The file and mode of the np.memmap a worker got, or what it got."""
    return (type(value).__name__, getattr(value, "mode", None),
            str(getattr(value, "filename", None)), float(np.asarray(value).sum()))


def test_small_plain_views_of_a_memmap_pass_by_reference(tmp_path):
    # 4 KB, far below max_nbytes: joblib's reducer sends any array viewing
    # a memmap file as a map of that file, whatever its size or type
    mapped = np.memmap(tmp_path / "small.bin", dtype="f8", mode="w+", shape=(64, 8))
    mapped[:] = np.arange(512).reshape(64, 8)
    mapped.flush()
    plain = np.asarray(mapped)
    views = {"plain": plain, "slice": plain[10:20], "transposed": plain.T,
             "nested": {"x": [plain[5:]]}}
    for kind, view in views.items():
        theirs, ours = both(lambda J: run(
            J, lambda v: mapped_file(v if not isinstance(v, dict) else v["x"][0]),
            [(view,)], n_jobs=2, backend="loky"))
        assert ours == theirs, kind
        assert ours[1][0][:3] == ("memmap", "r+", str(tmp_path / "small.bin")), kind
    # a strided view: joblib gives a plain ndarray viewing the file (its
    # as_strided), so a write in the worker lands in the caller's file
    for J, value in ((joblib, -1.0), (joblib_glib, -2.0)):
        theirs = run(J, lambda v, x: (type(v).__name__, v.flags.writeable, v.__setitem__(0, x)),
                     [(plain[:, 3], value)], n_jobs=2, backend="loky")
        assert theirs == [("ndarray", True, None)] and mapped[0, 3] == value, J.__name__
    # a plain small array that views nothing still arrives as a copy
    theirs, ours = both(lambda J: run(J, mapped_file, [(plain.copy()[::2],)], n_jobs=2,
                                      backend="loky"))
    assert ours == theirs and ours[1][0][:2] == ("ndarray", None)


def test_tasks_share_the_map_of_a_run_file():
    # A worker maps a run's file once and gives each task its own view
    # (as joblib's pickle memo does within a batch): read here, in the
    # worker's function, to check views, modes and when maps are dropped.
    import pickle
    import time
    from joblib_glib import _memmapping
    mapper = _memmapping.Memmapper(1024, "r", None)
    try:
        sent = mapper.dumps([BIG, BIG[::2]])
        first, second = pickle.loads(sent), pickle.loads(sent)
        assert first[0] is not second[0] and np.shares_memory(first[0], second[0])
        assert [type(v).__name__ for v in first] == ["memmap", "memmap"]
        assert not first[0].flags.writeable and first[0].mode == "r"
        first[0].shape = (1000, 300)          # a task's own view
        assert second[0].shape == BIG.shape
        # copy-on-write maps are never shared: a task's writes stay its own
        mapper.mmap_mode = "c"
        sent = mapper.dumps([BIG.copy()])
        mine = pickle.loads(sent)[0]
        mine[0] = -5.0
        assert pickle.loads(sent)[0][0] == 0.0
        # maps nobody used for a while are dropped
        with _memmapping._open_maps.lock:
            assert len(_memmapping._open_maps.maps) == 2
            _memmapping._open_maps.drop_idle(time.monotonic() + _memmapping._OpenMaps.IDLE)
            assert _memmapping._open_maps.maps == {}
        assert float(first[0].sum()) == float(BIG.sum())   # views outlive the cache
    finally:
        mapper.close()


def test_returned_memmaps_come_back_as_arrays():
    theirs, ours = both(lambda J: [describe(r) for r in run(
        J, identity, [([BIG, {"x": BIG}],)], n_jobs=2, backend="loky")])
    assert [type(x).__name__ for x in ours] == [type(x).__name__ for x in theirs]
    assert ours[1][0][1][0][0] == theirs[1][0][1][0][0] == "ndarray"
    assert ours[1][0][1][1][1][0][1][0] == theirs[1][0][1][1][1][0][1][0] == "ndarray"


def test_one_job_gets_the_caller_objects():
    # n_jobs=1 runs in the caller, as joblib's sequential path: no copy, no map
    nested = [BIG]
    theirs, ours = both(lambda J: run(J, same_object, [(nested, id(nested))], n_jobs=1,
                                      backend="loky"))
    assert ours == theirs == ("value", [True])


# --- temp_folder, JOBLIB_TEMP_FOLDER, cleaning up ---------------------------------

def test_temp_folder_holds_the_files_during_the_run(tmp_path):
    # a folder per library: joblib 1.2 keeps its executor (and its folder)
    # across calls with the same settings, so each gets a fresh one
    seen = {}
    for J in (joblib, joblib_glib):
        folder = tmp_path / J.__name__
        folder.mkdir()
        during = run(J, folders_in, [(str(folder), [BIG, SMALL]), (str(folder), {"a": BIG})],
                     n_jobs=2, backend="loky", temp_folder=str(folder), max_nbytes="100K",
                     mmap_mode="c")
        seen[J.__name__] = (during, folders_in(str(folder)))
    # one run folder holding the one large array (sent once, used twice),
    # gone when the call returns
    assert seen["joblib"] == seen["joblib_glib"] == ([[1], [1]], [])


def test_joblib_temp_folder_environment(tmp_path, monkeypatch):
    seen = {}
    for J in (joblib, joblib_glib):
        folder = tmp_path / J.__name__
        folder.mkdir()
        monkeypatch.setenv("JOBLIB_TEMP_FOLDER", str(folder))
        during = run(J, folders_in, [(str(folder), [BIG])], n_jobs=2, backend="loky",
                     max_nbytes="200K")
        seen[J.__name__] = (during, folders_in(str(folder)))
    assert seen["joblib"] == seen["joblib_glib"] == ([[1]], [])


def test_temp_folder_cleaned_after_errors_and_generators(tmp_path):
    with pytest.raises(ZeroDivisionError):
        joblib_glib.Parallel(n_jobs=2, temp_folder=str(tmp_path))(
            joblib_glib.delayed(lambda v, x: 1 / x)([BIG], x) for x in (1, 0, 2))
    assert os.listdir(tmp_path) == []
    generator = joblib_glib.Parallel(n_jobs=2, temp_folder=str(tmp_path),
                                     return_as="generator")(
        joblib_glib.delayed(folders_in)(str(tmp_path), [BIG]) for _ in range(4))
    assert next(generator) == [1]
    generator.close()
    assert os.listdir(tmp_path) == []


HOLD_A_FOLDER = """
import sys
import numpy as np
from joblib_glib._memmapping import Memmapper
mapper = Memmapper(1024, "r", sys.argv[1])
mapper.dumps([np.zeros(10_000)])
print(mapper.folder, flush=True)
sys.stdin.read()          # holds the folder until killed or told
mapper.close()
"""


def test_folders_of_a_killed_parent_are_swept(tmp_path):
    import signal
    import subprocess
    import sys

    def holder():
        child = subprocess.Popen([sys.executable, "-c", HOLD_A_FOLDER, str(tmp_path)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        return child, child.stdout.readline().strip()
    killed, killed_folder = holder()
    alive, alive_folder = holder()
    try:
        os.kill(killed.pid, signal.SIGKILL)
        assert killed.wait() == -signal.SIGKILL
        # a folder of ours whose pid is in use again (ours) but whose lock
        # nobody holds, and one of Python joblib's (same prefix, no lock)
        reused = tmp_path / f"{FOLDER_PREFIX}{os.getpid()}_glib-{'0' * 32}"
        theirs = tmp_path / f"{FOLDER_PREFIX}{os.getpid()}_{'a' * 32}_1"
        for folder in (reused, theirs):
            folder.mkdir()
            (folder / "data.mmap").write_bytes(b"x")
        assert os.path.isdir(killed_folder) and os.listdir(killed_folder)
        # the next run in that folder sweeps what no live process holds
        during = run(joblib_glib, folders_in, [(str(tmp_path), [BIG])], n_jobs=2,
                     temp_folder=str(tmp_path), max_nbytes="1K")
        assert not os.path.exists(killed_folder) and not reused.exists()
        assert os.path.isdir(alive_folder) and theirs.exists()
        # the run's own folder, the living holder's, joblib's
        assert during == [[1, 1, 1]] and folders_in(str(tmp_path)) == [1, 1]
    finally:
        alive.stdin.close()
        alive.wait()
        killed.wait()
    # a holder that ends its run takes its folder with it
    assert not os.path.exists(alive_folder)


def test_config_gives_memmap_settings(tmp_path):
    # joblib 1.2 takes them as Parallel arguments; parallel_config gives them
    # to every Parallel of the scope (joblib >= 1.3), its own arguments win
    theirs = run(joblib, describe, [([BIG],)], n_jobs=2, backend="loky", mmap_mode="r+",
                 max_nbytes="200K")
    with joblib_glib.parallel_config(mmap_mode="r+", max_nbytes="200K",
                                     temp_folder=str(tmp_path)):
        ours = run(joblib_glib, describe, [([BIG],)], n_jobs=2, backend="loky")
        during = run(joblib_glib, folders_in, [(str(tmp_path), [BIG])], n_jobs=2)
        explicit = run(joblib_glib, describe, [([BIG],)], n_jobs=2, mmap_mode="r")
        copies = run(joblib_glib, describe, [([BIG],)], n_jobs=2, max_nbytes=None)
    assert ours == theirs
    assert during == [[1]] and os.listdir(tmp_path) == []
    assert explicit == run(joblib, describe, [([BIG],)], n_jobs=2, mmap_mode="r")
    assert copies == run(joblib, describe, [([BIG],)], n_jobs=2, max_nbytes=None)


# --- parallel_backend / parallel_config: what __enter__ gives -------------------

@pytest.mark.parametrize("name", ["loky", "threading", "multiprocessing", "sequential"])
@pytest.mark.parametrize("n_jobs", [None, 3])
def test_parallel_backend_enter_gives_backend_and_n_jobs(name, n_jobs):
    found = []
    for J in (joblib, joblib_glib):
        kwargs = {} if n_jobs is None else {"n_jobs": n_jobs}
        with J.parallel_backend(name, **kwargs) as (backend, jobs):
            found.append((type(backend).__name__, jobs, backend.nesting_level,
                          J.Parallel().n_jobs))
    assert found[0] == found[1]


def nesting_level_inside(module_name, name):
    import importlib
    J = importlib.import_module(module_name)
    with J.parallel_backend(name) as (backend, _):
        return backend.nesting_level


@pytest.mark.parametrize("outer", ["loky", "threading"])
def test_nesting_level_inside_tasks(outer):
    # joblib's own test: 0 in the caller, 1 in the tasks of a call
    theirs, ours = both(lambda J: [nesting_level_inside(J.__name__, "loky")] + run(
        J, nesting_level_inside, [(J.__name__, "threading")] * 2, n_jobs=2, backend=outer))
    assert ours == theirs == ("value", [0, 1, 1])


def test_registered_backend_instance_is_the_one_used():
    class Counting(joblib.parallel.ThreadingBackend):
        calls = 0

        def start_call(self):
            type(self).calls += 1
            self.started = getattr(self, "started", 0) + 1
            return super().start_call()

    found = []
    for J in (joblib, joblib_glib):
        J.register_parallel_backend("diff-counting", Counting)
        with J.parallel_backend("diff-counting", n_jobs=2) as (backend, n_jobs):
            results = J.Parallel()(J.delayed(abs)(-i) for i in range(6))
        found.append((type(backend).__name__, n_jobs, results,
                      getattr(backend, "started", 0) >= 1))
    assert found[0] == found[1]
    assert found[0][3]


def test_config_enter_gives_joblib_settings(tmp_path):
    with joblib_glib.parallel_config(n_jobs=3, verbose=0, max_nbytes="2M",
                                     temp_folder=str(tmp_path)) as outer:
        with joblib_glib.parallel_config("threading", mmap_mode="r+") as inner:
            assert isinstance(inner["backend"], joblib_glib._config.ThreadingBackend)
    # joblib 1.4's keys; what a scope does not set comes from the outer one
    assert set(outer) == set(inner) == {"n_jobs", "verbose", "temp_folder", "max_nbytes",
                                        "mmap_mode", "prefer", "require", "backend"}
    assert (outer["n_jobs"], outer["max_nbytes"], outer["temp_folder"], outer["mmap_mode"],
            outer["backend"]) == (3, "2M", str(tmp_path), "r", None)
    assert (inner["n_jobs"], inner["max_nbytes"], inner["mmap_mode"]) == (3, "2M", "r+")


# --- parameters and their errors ------------------------------------------------

@pytest.mark.parametrize("args", [
    ("threading", {"inner_max_num_threads": 2}),      # AssertionError, as joblib
    ("sequential", {"inner_max_num_threads": 2}),
    ("threading", {"bogus": 1}),                      # TypeError
    ("loky", {"bogus": 1}),
    ("multiprocessing", {"bogus": 1}),
    ("nope", {}),                                     # ValueError
    ("threading", {"n_jobs": 0}),
], ids=repr)
def test_parallel_backend_errors_as_joblib(args):
    name, kwargs = args

    def snippet(J):
        with J.parallel_backend(name, **kwargs):
            return J.Parallel()(J.delayed(abs)(-i) for i in range(3))
    theirs, ours = both(snippet)
    assert ours == theirs


def test_loky_accepts_inner_max_num_threads():
    def snippet(J):
        with J.parallel_backend("loky", n_jobs=2, inner_max_num_threads=1) as (backend, _):
            return backend.inner_max_num_threads, run(J, env_var, [("OMP_NUM_THREADS",)] * 2)
    theirs, ours = both(snippet)
    assert ours == theirs == ("value", (1, ["1", "1"]))


@pytest.mark.parametrize("kwargs, error", [
    ({"idle_worker_timeout": 3}, ValueError),         # without a backend (joblib 1.4)
    ({"max_nbytes": "12Q"}, ValueError),
    ({"max_nbytes": -1}, ValueError),
    ({"mmap_mode": "rw"}, ValueError),
    ({"temp_folder": 3}, TypeError),
    ({"prefer": "gpu"}, ValueError),
    ({"require": "nothing"}, ValueError),
    ({"prefer": "processes", "require": "sharedmem"}, ValueError),
    ({"backend": "loky", "bogus": 1}, TypeError),
    ({"backend": "threading", "inner_max_num_threads": 2}, AssertionError),
])
def test_config_bad_input(kwargs, error):
    with pytest.raises(error):
        joblib_glib.parallel_config(**kwargs)


def test_config_inner_threads_without_backend():
    # joblib 1.4 refuses it without a backend; here the scope's process
    # workers get it (the tutorial's over-subscription advice)
    with joblib_glib.parallel_config(inner_max_num_threads=3):
        assert run(joblib_glib, env_var, [("OMP_NUM_THREADS",)] * 2, n_jobs=2) == ["3", "3"]


def test_config_backend_params():
    # an instance takes no backend parameters (joblib 1.4: ValueError)
    with pytest.raises(ValueError):
        joblib_glib.parallel_config(Joblib.ThreadBackend.new(), idle_worker_timeout=3)
    # loky's idle_worker_timeout, on a process backend of the scope's own
    with joblib_glib.parallel_config("loky", n_jobs=2, idle_worker_timeout=7):
        parallel = joblib_glib.Parallel()
        assert parallel.backend.props.idle_timeout == 7
        assert parallel(joblib_glib.delayed(abs)(-i) for i in range(4)) == [0, 1, 2, 3]
    # GObject properties of the backend by name
    with joblib_glib.parallel_config("loky", n_jobs=2, max_nbytes=None, temp_folder=None,
                                     idle_timeout=9):
        assert joblib_glib.Parallel().backend.props.idle_timeout == 9


def test_config_hints_leave_explicit_arguments_alone():
    main = os.getpid()
    with joblib_glib.parallel_config(prefer="threads", n_jobs=2):
        threads = run(joblib_glib, os.getpid, [()] * 4)
        processes = run(joblib_glib, os.getpid, [()] * 4, prefer="processes")
    with joblib_glib.parallel_config(require="sharedmem", n_jobs=2):
        shared = run(joblib_glib, os.getpid, [()] * 4)
    assert set(threads) == set(shared) == {main}
    assert main not in processes


# --- settings apply when the object is made, as joblib's ------------------------

def where_tasks_run(J):
    """n_jobs of a Parallel made now (1 outside any scope), and whether its
    tasks ran in the caller (threads, one job) or in worker processes."""
    main = os.getpid()
    return J.Parallel().n_jobs, set(run(J, os.getpid, [()] * 2)) == {main}


def test_parallel_backend_applies_when_made():
    def snippet(J):
        found = [where_tasks_run(J)]
        scope = J.parallel_backend("threading", n_jobs=2)   # no `with`
        found.append(where_tasks_run(J))
        scope.unregister()
        found.append(where_tasks_run(J))
        return found
    theirs, ours = both(snippet)
    assert ours == theirs == ("value", [(1, True), (2, True), (1, True)])


def test_unregister_restores_what_was_in_force_when_made():
    def snippet(J):
        outer = J.parallel_backend("threading", n_jobs=3)
        inner = J.parallel_backend("sequential", n_jobs=1)
        found = [where_tasks_run(J)]
        outer.unregister()                  # the inner one ends with it
        found.append(where_tasks_run(J))
        inner.unregister()                  # puts back the outer one
        found.append(where_tasks_run(J))
        outer.unregister()
        found.append(where_tasks_run(J))
        return found
    theirs, ours = both(snippet)
    assert ours == theirs == ("value", [(1, True), (1, True), (3, True), (1, True)])


def test_entering_again_does_not_apply_again():
    def snippet(J):
        scope = J.parallel_backend("threading", n_jobs=2)
        with scope as (_, first):
            inside = where_tasks_run(J)
        with scope as (_, second):
            again = where_tasks_run(J)
        return first, inside, second, again
    theirs, ours = both(snippet)
    assert ours == theirs == ("value", (2, (2, True), 2, (1, True)))


def test_made_in_another_thread_stays_there():
    import threading

    def snippet(J):
        made = []
        thread = threading.Thread(target=lambda: made.append(J.parallel_backend("threading",
                                                                                n_jobs=2)))
        thread.start()
        thread.join()
        return where_tasks_run(J)
    theirs, ours = both(snippet)
    assert ours == theirs == ("value", (1, True))


def test_bad_parameters_raise_when_made_without_with():
    # nothing half-applied after the error
    def snippet(J):
        try:
            J.parallel_backend("threading", n_jobs=2, inner_max_num_threads=2)
        except AssertionError:
            return "AssertionError", where_tasks_run(J)
    theirs, ours = both(snippet)
    assert ours == theirs == ("value", ("AssertionError", (1, True)))


def test_config_applies_when_made(tmp_path):
    # joblib >= 1.3's parallel_config (1.2 has none): checked against its source
    scope = joblib_glib.parallel_config("threading", n_jobs=2, max_nbytes="2M",
                                        temp_folder=str(tmp_path))
    assert where_tasks_run(joblib_glib) == (2, True)
    with scope as settings:
        assert (settings["n_jobs"], settings["max_nbytes"]) == (2, "2M")
    assert where_tasks_run(joblib_glib) == (1, True)
    with pytest.raises(ValueError):
        joblib_glib.parallel_config(backend=None, idle_worker_timeout=3)
    assert where_tasks_run(joblib_glib) == (1, True)
