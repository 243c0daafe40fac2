# SPDX-License-Identifier: LGPL-2.1-or-later
"""Worker initializers for Python: the INIT frame of the worker protocol in
``python3 -m joblib_glib.worker``, and parallel_config(initializer=...,
initargs=...) as loky's initializer/initargs."""

import functools
import os
import struct
import subprocess
import sys

import numpy as np
import pytest

import joblib_glib
from joblib_glib import Parallel, RemoteTraceback, delayed, from_variant, parallel_config, \
    to_variant
from joblib_glib._gi import GLib, Joblib
from joblib_glib._values import pickled_call_args

HERE = os.path.dirname(os.path.abspath(__file__))
HELLO, CALL, RESULTS, ERROR, DONE, GOODBYE, INIT = range(1, 8)
TYPES = {HELLO: "(sxa{sv})", RESULTS: "(tuav)", ERROR: "(tusis)", DONE: "(td)",
         GOODBYE: "(s)"}
HEADER = struct.Struct("<IBBH")

# What the initializer sets in each worker process.
_state = None
_runs = 0


class ModelMissing(Exception):
    """Raised by an initializer; importable in the caller."""


def set_up(value, scale=1):
    global _state, _runs
    _state = value if scale == 1 else value * scale
    _runs += 1


def state(_i):
    return os.getpid(), _state, _runs


def array_total(_i):
    return os.getpid(), float(np.sum(_state)), _runs


def no_model(name):
    raise ModelMissing(f"no model called {name}", name)


# -- the INIT frame, driving the worker alone on pipes ---------------------


def _reference(name, module=__name__):
    return GLib.Variant("(sa{sv})", ("python", {"module": GLib.Variant("s", module),
                                                "qualname": GLib.Variant("s", name)}))


def _frame(kind, body):
    data = body.get_data_as_bytes().get_data() or b""
    return HEADER.pack(len(data), 2, kind, 0) + data


def _init_frame(reference, args):
    return _frame(INIT, GLib.Variant.new_tuple(reference, GLib.Variant.new_variant(args)))


def _call_frame(call_id, reference, inputs):
    args = [GLib.Variant.new_variant(GLib.Variant.new_tuple(
        GLib.Variant.new_variant(to_variant(x)), GLib.Variant("b", False))) for x in inputs]
    return _frame(CALL, GLib.Variant.new_tuple(
        GLib.Variant("t", call_id), GLib.Variant("b", False),
        GLib.Variant.new_array(GLib.VariantType("(sa{sv})"), [reference]),
        GLib.Variant("au", [0] * len(inputs)),
        GLib.Variant.new_array(GLib.VariantType("v"), args),
        GLib.Variant("a(uusst)", [])))


def _variant_args(*values):
    """The GVariant form of an argument tuple: one v per value, then b."""
    return GLib.Variant.new_tuple(*[GLib.Variant.new_variant(to_variant(v)) for v in values],
                                  GLib.Variant("b", False))


def _read_frames(data):
    frames = []
    while data:
        length, version, kind, _ = HEADER.unpack_from(data)
        assert version == 2
        payload = data[HEADER.size:HEADER.size + length]
        frames.append((kind, GLib.Variant.new_from_bytes(
            GLib.VariantType(TYPES[kind]), GLib.Bytes.new(payload), False)))
        data = data[HEADER.size + length:]
    return frames


def _run_worker(frames):
    """Runs the worker on these frames (then the end of its input): its
    frames, its stderr, its exit status and its pid."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(joblib_glib.__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([HERE, package]))
    worker = subprocess.Popen([sys.executable, "-m", "joblib_glib.worker"], env=env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    out, err = worker.communicate(b"".join(frames), timeout=120)
    return _read_frames(out), err.decode(), worker.returncode, worker.pid


@pytest.mark.parametrize("args", [_variant_args("model-a"),
                                  pickled_call_args(["model-a"], False),
                                  _variant_args("model-", 2)],
                         ids=["variant-args", "pickled-args", "two-args"])
def test_init_frame_runs_before_the_calls(args):
    frames, err, status, pid = _run_worker([
        _init_frame(_reference("set_up"), args),
        _call_frame(1, _reference("state"), [0, 1, 2]),
        _call_frame(2, _reference("state"), [3])])
    assert status == 0, err
    kinds = [kind for kind, _ in frames]
    assert kinds[0] == HELLO and kinds[-1] == DONE
    assert ERROR not in kinds
    expected = "model-model-" if args.n_children() == 3 else "model-a"
    values = {}
    for kind, body in frames:
        if kind == RESULTS:
            call_id, first, answers = body.unpack()[0], body.unpack()[1], body.get_child_value(2)
            for i in range(answers.n_children()):
                value = answers.get_child_value(i).get_variant()
                values[(call_id, first + i)] = from_variant(value)
    # every task sees what the initializer set, and it ran once
    assert values == {(1, 0): (pid, expected, 1), (1, 1): (pid, expected, 1),
                      (1, 2): (pid, expected, 1), (2, 0): (pid, expected, 1)}


def test_failing_init_frame_sends_error_for_call_0_and_exits_3():
    frames, err, status, _ = _run_worker([
        _init_frame(_reference("no_model"), _variant_args("m1")),
        _call_frame(1, _reference("state"), [0])])
    assert status == 3
    assert [kind for kind, _ in frames] == [HELLO, ERROR]  # the call never runs
    call_id, task, domain, code, message = frames[1][1].unpack()
    assert (call_id, task, domain, code) == (0, 0, "joblib-glib-python-error-quark", 1)
    # as a task's error: type, message, traceback, then the marker lines
    assert message.startswith("ModelMissing: ('no model called m1', 'm1')")
    assert "in no_model" in message
    assert "[joblib-glib remote exception test_worker_init:ModelMissing]" in message
    assert "the initializer failed: ModelMissing" in err and "in no_model" in err
    assert "[joblib-glib remote exception" not in err


@pytest.mark.parametrize("reference, args, code, text", [
    (GLib.Variant("(sa{sv})", ("native", {})), _variant_args(), Joblib.Error.PROTOCOL,
     "cannot run 'native' references"),
    (_reference("set_up"), GLib.Variant("s", "x"), Joblib.Error.PROTOCOL, "not a tuple"),
], ids=["other-kind", "not-a-tuple"])
def test_bad_init_frame_is_an_init_failure(reference, args, code, text):
    frames, err, status, _ = _run_worker([_init_frame(reference, args)])
    assert status == 3
    assert [kind for kind, _ in frames] == [HELLO, ERROR]
    call_id, task, domain, error_code, message = frames[1][1].unpack()
    assert (call_id, task, domain, error_code) == (0, 0, "job-error-quark", int(code))
    assert text in message and text in err


def test_missing_initializer_is_reported_as_its_exception():
    frames, _, status, _ = _run_worker([
        _init_frame(_reference("set_up", module="no_such_module_here"), _variant_args(1))])
    assert status == 3
    _, _, domain, _, message = frames[1][1].unpack()
    assert domain == "joblib-glib-python-error-quark"
    assert message.startswith("ModuleNotFoundError: No module named 'no_such_module_here'")


# -- parallel_config(initializer=..., initargs=...) -------------------------


def _worker_alive(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return b"joblib_glib.worker" in cmdline.read()
    except OSError:
        return False


@pytest.mark.parametrize("backend", [None, "loky", "processes", "multiprocessing"])
def test_every_worker_runs_the_initializer_once(backend):
    with parallel_config(backend=backend, initializer=set_up, initargs=("model-a",)):
        first = Parallel(n_jobs=2, batch_size=1)(delayed(state)(i) for i in range(12))
        second = Parallel(n_jobs=2, batch_size=1)(delayed(state)(i) for i in range(12))
    pids = {pid for pid, _, _ in first}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2
    # each worker saw the value, set once (not once per run)
    assert {(value, runs) for _, value, runs in first + second} == {("model-a", 1)}
    assert {pid for pid, _, _ in second} <= pids
    # the scope's workers left with it; this process never ran it
    assert not any(_worker_alive(pid) for pid in pids)
    assert (_state, _runs) == (None, 0)


def test_the_initializer_stays_in_its_scope():
    with parallel_config(initializer=set_up, initargs=("scoped",)):
        inside = Parallel(n_jobs=2)(delayed(state)(i) for i in range(4))
    # the interpreter's shared process backend never ran it
    outside = Parallel(n_jobs=2)(delayed(state)(i) for i in range(4))
    with parallel_config(backend="loky"):
        configured = Parallel(n_jobs=2)(delayed(state)(i) for i in range(4))
    assert {(value, runs) for _, value, runs in inside} == {("scoped", 1)}
    assert {(value, runs) for _, value, runs in outside + configured} == {(None, 0)}
    # an explicit backend does not use the scope's (as in joblib)
    with parallel_config(initializer=set_up, initargs=("scoped",)):
        explicit = Parallel(n_jobs=2, backend="loky")(delayed(state)(i) for i in range(4))
    assert {(value, runs) for _, value, runs in explicit} == {(None, 0)}


def test_initializer_by_value_and_array_arguments():
    # a partial travels pickled by value; an array keeps the GVariant form
    with parallel_config(initializer=functools.partial(set_up, scale=3), initargs=(7,)):
        assert {(value, runs) for _, value, runs in
                Parallel(n_jobs=2)(delayed(state)(i) for i in range(4))} == {(21, 1)}
    with parallel_config(initializer=set_up, initargs=(np.arange(5.0),)):
        assert {(total, runs) for _, total, runs in
                Parallel(n_jobs=2)(delayed(array_total)(i) for i in range(4))} == {(10.0, 1)}


def test_failing_initializer_raises_its_exception():
    with pytest.raises(ModelMissing) as info:
        with parallel_config(initializer=no_model, initargs=("m2",)):
            Parallel(n_jobs=2)(delayed(state)(i) for i in range(6))
    assert info.value.args == ("no model called m2", "m2")
    assert any("the initializer of worker" in note for note in info.value.__notes__)
    cause = info.value.__cause__
    assert isinstance(cause, RemoteTraceback)
    assert "the initializer of worker" in cause.text and "in no_model" in cause.text
    # the shared workers still answer
    assert Parallel(n_jobs=2)(delayed(state)(i) for i in range(2))[0][1:] == (None, 0)


def test_task_errors_get_the_task_as_a_note():
    with pytest.raises(ModelMissing) as info:
        Parallel(n_jobs=2)(delayed(no_model)(name) for name in ["x"])
    assert info.value.__notes__ == ["task 0 (test_worker_init.no_model)"]


def test_bad_initializer_arguments():
    with pytest.raises(TypeError, match="initializer must be callable"):
        with parallel_config(initializer=42):
            pass
    with pytest.raises(TypeError, match="initargs must be a tuple"):
        with parallel_config(initializer=set_up, initargs="model"):
            pass
    with pytest.raises(TypeError):  # arguments that do not fit its signature
        with parallel_config(initializer=set_up, initargs=(1, 2, 3)):
            pass
    with pytest.raises(ValueError, match="without an initializer"):
        with parallel_config(initargs=(1,)):
            pass
    for options in ({"backend": "threading"}, {"prefer": "threads"},
                    {"require": "sharedmem"}, {"backend": Joblib.ProcessBackend.new()}):
        with pytest.raises(ValueError, match="process backends"):
            with parallel_config(initializer=set_up, initargs=(1,), **options):
                pass
