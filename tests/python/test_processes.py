# SPDX-License-Identifier: LGPL-2.1-or-later
"""Python functions on the process backend (python3 -m joblib_glib.worker):
references and cloudpickle, exceptions, stdout, generators, asyncio."""

import asyncio
import collections
import enum
import gc
import os
import pickle
import subprocess
import sys
import textwrap
import time
import weakref

import numpy as np
import pytest

import joblib_glib
from joblib_glib import Parallel, RemoteTraceback, WorkerError, delayed, parallel_config
from joblib_glib._gi import GLib
from joblib_glib._values import PickleNotAllowedError, from_variant, pickled_call_args, \
    unpickle_call_args


class ModelDiverged(Exception):
    """An exception class of this module: importable in the caller."""


def square(x):
    return x * x


def where(x):
    return os.getpid()


def fail_on(x, bad):
    if x == bad:
        raise ModelDiverged(f"model {x} diverged", x)
    return x


def slow(x):
    time.sleep(0.05)
    return x


def chatty(x):
    print("noise on stdout", x)  # must not corrupt the protocol
    sys.stdout.flush()
    return x


def test_module_function_runs_in_workers():
    pids = Parallel(n_jobs=2, backend="loky")(delayed(where)(i) for i in range(20))
    assert os.getpid() not in pids
    assert Parallel(n_jobs=2, backend="processes")(delayed(square)(i) for i in range(50)) == \
        [i * i for i in range(50)]


def test_lambda_and_closure_travel_by_value():
    offset = 7
    assert Parallel(n_jobs=2)(delayed(lambda x: x + offset)(i) for i in range(5)) == \
        [i + 7 for i in range(5)]

    def local(a, *rest, scale=1, **extra):
        return (a + sum(rest)) * scale, sorted(extra)

    assert Parallel(n_jobs=2)(delayed(local)(i, 1, 2, scale=3, tag=1) for i in range(3)) == \
        [((i + 3) * 3, ["tag"]) for i in range(3)]


def test_exception_type_message_and_traceback():
    with pytest.raises(ModelDiverged) as info:
        Parallel(n_jobs=2)(delayed(fail_on)(i, 5) for i in range(10))
    assert info.value.args == ("model 5 diverged", 5)
    cause = info.value.__cause__
    assert isinstance(cause, RemoteTraceback)
    assert "in fail_on" in cause.text and "Traceback" in cause.text


def test_builtin_exception_types():
    with pytest.raises(ZeroDivisionError):
        Parallel(n_jobs=2)(delayed(lambda x: 1 / x)(i) for i in [1, 0, 2])
    with pytest.raises(KeyError) as info:
        Parallel(n_jobs=2)(delayed(lambda d: d["missing"])(d) for d in [{}])
    assert info.value.args == ("missing",)


def test_unimportable_exception_type():
    def raise_local():
        class LocalError(Exception):
            pass
        raise LocalError("only in the worker")

    with pytest.raises(WorkerError, match="LocalError: only in the worker") as info:
        Parallel(n_jobs=2)(delayed(raise_local)() for _ in range(1))
    assert info.value.type_name.endswith("LocalError")


def test_pool_survives_a_task_error():
    with pytest.raises(ModelDiverged):
        Parallel(n_jobs=2)(delayed(fail_on)(i, 0) for i in range(4))
    assert Parallel(n_jobs=2)(delayed(square)(i) for i in range(4)) == [0, 1, 4, 9]


def test_stdout_of_tasks_does_not_break_the_protocol():
    assert Parallel(n_jobs=2)(delayed(chatty)(i) for i in range(30)) == list(range(30))


def test_require_sharedmem_and_prefer_threads_stay_in_process():
    assert set(Parallel(n_jobs=2, require="sharedmem")(delayed(where)(i) for i in range(4))) == \
        {os.getpid()}
    assert set(Parallel(n_jobs=2, prefer="threads")(delayed(where)(i) for i in range(4))) == \
        {os.getpid()}
    with parallel_config(backend="threading"):
        assert set(Parallel(n_jobs=2)(delayed(where)(i) for i in range(4))) == {os.getpid()}
    with parallel_config(backend="loky"):
        assert os.getpid() not in Parallel(n_jobs=2)(delayed(where)(i) for i in range(4))


@pytest.mark.parametrize("backend", ["threading", "loky"])
def test_generators(backend):
    ordered = Parallel(n_jobs=2, backend=backend, return_as="generator")(
        delayed(square)(i) for i in range(40))
    assert list(ordered) == [i * i for i in range(40)]
    unordered = Parallel(n_jobs=2, backend=backend, return_as="generator_unordered")(
        delayed(square)(i) for i in range(40))
    assert sorted(unordered) == [i * i for i in range(40)]


class Payload:
    """A callable object whose lifetime the test can watch."""

    def __call__(self, x):
        time.sleep(0.02)
        return x


@pytest.mark.parametrize("backend", ["threading", "loky"])
def test_generator_dropped_half_way_cancels_the_rest(backend):
    pulled = []

    def tasks(function):
        for i in range(200):
            pulled.append(i)
            yield delayed(function)(i)

    function = Payload()
    watch = weakref.ref(function)
    gen = Parallel(n_jobs=2, backend=backend, batch_size=1, return_as="generator")(
        tasks(function))
    del function
    assert [next(gen) for _ in range(5)] == list(range(5))
    gen.close()
    n_pulled = len(pulled)
    assert n_pulled < 200
    time.sleep(0.2)
    assert len(pulled) == n_pulled  # nothing more is dispatched
    del gen
    gc.collect()
    assert watch() is None  # the run released its calls
    # and the backend still works
    assert Parallel(n_jobs=2, backend=backend)(delayed(square)(i) for i in range(3)) == [0, 1, 4]


def test_asyncio_run_async():
    async def main():
        parallel = Parallel(n_jobs=2)
        return await parallel.run_async(delayed(square)(i) for i in range(20))

    assert asyncio.run(main()) == [i * i for i in range(20)]


@pytest.mark.parametrize("batch_size", [1, "auto"])
def test_asyncio_cancellation(batch_size):
    # "auto" groups tasks (joblib_glib._chunks): the cancellation goes
    # through the run's own cancellable
    pulled = []

    def tasks():
        for i in range(100):
            pulled.append(i)
            yield delayed(slow)(i)

    async def main():
        job = asyncio.ensure_future(Parallel(n_jobs=2, batch_size=batch_size).run_async(tasks()))
        await asyncio.sleep(0.3)
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job

    asyncio.run(main())
    assert len(pulled) < 100


def test_bad_input():
    with pytest.raises(TypeError, match="callable"):
        Parallel(n_jobs=2)(delayed(42)(i) for i in range(2))
    with pytest.raises(TypeError, match="delayed"):
        Parallel(n_jobs=2)([(square,)])
    with pytest.raises(TypeError):
        Parallel(n_jobs=2, backend=3.5)
    with pytest.raises(TypeError):  # wrong arguments are found before dispatch
        Parallel(n_jobs=2)(delayed(square)(1, 2) for _ in range(1))


def test_functions_of_a_main_script(tmp_path):
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent("""
        import os
        from joblib_glib import Parallel, delayed

        def triple(x):
            print("printed by a task")
            return 3 * x, os.getpid()

        if __name__ == "__main__":
            out = Parallel(n_jobs=2)(delayed(triple)(i) for i in range(6))
            assert [o[0] for o in out] == [3 * i for i in range(6)], out
            assert os.getpid() not in {o[1] for o in out}
            print("ok")
    """))
    package = os.path.dirname(os.path.dirname(os.path.abspath(joblib_glib.__file__)))
    env = dict(os.environ, PYTHONPATH=package)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
    assert "printed by a task" in done.stderr


class Level(enum.IntEnum):
    LOW = 1


Point = collections.namedtuple("Point", "x y")


def describe(value, *rest, scale=2, **extra):
    return type(value).__name__, value, rest, scale, extra


class Custom:
    pass


def test_process_arguments_travel_as_one_pickled_value():
    # Process backends send a call's bound arguments as one ("pickle", <ay>)
    # value, the argument tuple itself: the same bytes as GLib writes.
    values = ([1, "two", {3: 4.0}], False)
    args = pickled_call_args(*values)
    blob = pickle.dumps(values, protocol=pickle.HIGHEST_PROTOCOL)
    expected = GLib.Variant("(sv)", ("pickle", GLib.Variant("ay", blob)))
    assert args.get_type_string() == "(sv)"
    assert args.get_data_as_bytes().get_data() == expected.get_data_as_bytes().get_data()
    assert unpickle_call_args(args) == values
    assert unpickle_call_args(expected) == values
    # anything that loads variants without allow_pickle rebuilds standard
    # values only, and refuses other types
    assert from_variant(args, allow_pickle=False) == values
    with pytest.raises(PickleNotAllowedError, match="Custom"):
        from_variant(pickled_call_args([Custom()], False), allow_pickle=False)
    # framing offsets of 1, 2 and 4 bytes
    for size in (0, 200, 300, 70000):
        big = ([b"x" * size], False)
        assert unpickle_call_args(pickled_call_args(*big)) == big
    # arrays and variants keep their GVariant form (zero-copy, shared memory)
    assert pickled_call_args([np.zeros(3)], False) is None
    assert pickled_call_args([GLib.Variant("i", 1)], False) is None
    assert pickled_call_args([[1], {"key": np.zeros(3)}], True) is None
    assert unpickle_call_args(GLib.Variant("(vb)", (GLib.Variant("i", 1), False))) is None


def test_process_arguments_keep_their_python_types():
    out = Parallel(n_jobs=2)(delayed(describe)(v) for v in
                             [Level.LOW, Point(1, 2), {1, 2}, {(1, 2): "pair"}, 2 ** 70, None])
    assert out == [("Level", Level.LOW, (), 2, {}), ("Point", Point(1, 2), (), 2, {}),
                   ("set", {1, 2}, (), 2, {}), ("dict", {(1, 2): "pair"}, (), 2, {}),
                   ("int", 2 ** 70, (), 2, {}), ("NoneType", None, (), 2, {})]
    assert Parallel(n_jobs=2)(delayed(describe)(i, 1, scale=3, tag="t") for i in range(2)) == \
        [("int", i, (1,), 3, {"tag": "t"}) for i in range(2)]
    # above max_nbytes (1 MiB) the pickled value goes through shared memory
    big = b"y" * (3 << 20)
    assert Parallel(n_jobs=2)(delayed(len)(big) for _ in range(3)) == [3 << 20] * 3
    array = np.arange(10.0)
    assert Parallel(n_jobs=2)(delayed(np.sum)(array) for _ in range(2)) == [45.0, 45.0]
