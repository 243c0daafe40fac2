# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Python worker reads CALL frames from their bytes (_callframe): the
same values as GLib's reading of the same frame, every malformed frame
either left to GLib or read as GLib reads it, and the same answers as
joblib's loky workers for arguments of every kind."""

import random

import joblib
import numpy as np
import pytest

from joblib_glib import Parallel, delayed
from joblib_glib._callframe import parse
from joblib_glib._functions import PythonFunction
from joblib_glib._gi import GLib
from joblib_glib._values import from_variant, unpickle_call_args

CALL_TYPE = "(tba(sa{sv})auava(uusst))"


def kwargs_too(a, b=1, *rest, c=None, **more):
    return a, b, rest, c, more


def with_array(a, s="x", n=1, f=0.5, flag=False):
    return a, s, n, f, flag


ARGUMENTS = [
    (with_array, (np.arange(5, dtype="<i8"),), {}),
    (with_array, (np.zeros((3, 4), dtype="<f4"), "é€x", -2 ** 63, -0.0, True), {}),
    (with_array, (np.array(7.5), ""), {"flag": True}),                  # 0-d
    (with_array, (np.zeros((0, 3), dtype="|u1"),), {"n": 2 ** 63 - 1}),  # empty
    (with_array, (np.arange(300, dtype=">f8"),), {"s": "lone \udc80"}),  # big-endian
    (with_array, (np.ones(70000, dtype="|u1"),), {}),      # > 64 KiB: offsets of 4 bytes
    (with_array, (np.arange(12).reshape(3, 4).T,), {}),    # not contiguous: pickled
    (with_array, (np.arange(4), None, [1, 2], {"k": 1}), {}),   # through GLib: see READ
    (kwargs_too, (1, 2, 3, 4), {"c": "c", "d": np.arange(3)}),  # opaque: *args, **kwargs
    (kwargs_too, ("plain", 2.5), {}),                           # one pickle
    (kwargs_too, (None,), {"e": (1, [2])}),
    (with_array, (np.arange(2), "a\0b"), {}),
]
# the arguments read from the frame's bytes; the others (None, containers,
# strings GLib cannot hold, arrays that are not contiguous) through GLib
READ = {0, 1, 2, 3, 5, 8, 9, 10}


def build_frame(batch_id, stop_on_error, arguments):
    """A CALL payload as the parent writes it (GLib's serialization)."""
    references = []
    functions = {}
    indexes = []
    args = []
    for func, a, kw in arguments:
        if func not in functions:
            python = PythonFunction(func, arrays=(1024 ** 2, "r"))
            functions[func] = len(references)
            references.append(python.referenced().get_reference())
        indexes.append(functions[func])
        args.append(GLib.Variant.new_variant(PythonFunction(func).remote_args(a, kw)))
    body = GLib.Variant.new_tuple(
        GLib.Variant("t", batch_id), GLib.Variant("b", stop_on_error),
        GLib.Variant.new_array(GLib.VariantType("(sa{sv})"), references),
        GLib.Variant("au", indexes),
        GLib.Variant.new_array(GLib.VariantType("v"), args),
        GLib.Variant("a(uusst)", []))
    assert body.get_type_string() == CALL_TYPE
    return body.get_data_as_bytes().get_data()


def glib_reading(payload):
    """What the worker read through GLib: (batch id, stop, references'
    bytes, indexes, [per task (values, opaque, pickled) or the exception])."""
    body = GLib.Variant.new_from_bytes(GLib.VariantType(CALL_TYPE), GLib.Bytes.new(payload),
                                       False)
    references = body.get_child_value(2)
    tasks = []
    args = body.get_child_value(4)
    for i in range(args.n_children()):
        tasks.append(_outcome(lambda: _glib_args(args.get_child_value(i).get_variant())))
    return (body.get_child_value(0).get_uint64(), body.get_child_value(1).get_boolean(),
            [references.get_child_value(i).get_data_as_bytes().get_data()
             for i in range(references.n_children())],
            list(body.get_child_value(3).unpack()), tasks)


def _glib_args(args):
    unpickled = unpickle_call_args(args)
    if unpickled is not None:
        return unpickled[0], unpickled[1], True
    n = args.n_children()
    if not args.get_type_string().endswith("b)"):
        return TypeError   # not an argument tuple (the worker fails the task)
    return ([from_variant(args.get_child_value(i), copy_small=True) for i in range(n - 1)],
            args.get_child_value(n - 1).get_boolean(), False)


def _outcome(read):
    try:
        return read()
    except Exception as exc:  # noqa: BLE001 -- compared by type
        return type(exc)


def same(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return type(a) is type(b) and a.dtype == b.dtype and a.shape == b.shape and \
            a.tobytes() == b.tobytes() and a.flags.writeable == b.flags.writeable
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float):
        return repr(a) == repr(b)
    return a == b


def check_against_glib(payload):
    """parse() leaves the frame to GLib, or reads what GLib reads; returns
    whether it read the frame."""
    frame = parse(payload)
    if frame is None:
        return False
    batch_id, stop, references, indexes, tasks = glib_reading(bytes(payload))
    assert (frame.batch_id, frame.stop_on_error) == (batch_id, stop)
    assert frame.references == references
    assert list(frame.indexes) == indexes
    assert len(frame.args) == len(tasks)
    for position, expected in enumerate(tasks):
        decoded = _outcome(lambda: frame.decode_args(position))
        if decoded is None:
            continue   # the worker reads this task through GLib
        assert same(decoded, expected), (position, decoded, expected)
    return True


def test_frames_read_from_bytes_as_glib_reads_them():
    read = 0
    for n in (1, 2, 11, 40):
        arguments = [ARGUMENTS[i % len(ARGUMENTS)] for i in range(n)]
        payload = build_frame(2 ** 40 + n, n % 2 == 0, arguments)
        for data in (payload, bytearray(payload)):   # small and large frames
            assert check_against_glib(data)
            frame = parse(data)
            decoded = [frame.decode_args(i) for i in range(n)]
            read += sum(d is not None for d in decoded)
            assert [d is not None for d in decoded] == \
                [i % len(ARGUMENTS) in READ for i in range(n)]
    assert read > 0


def test_malformed_frames_are_left_to_glib_or_read_as_glib_does():
    rng = random.Random(20261208)
    payload = build_frame(7, True, ARGUMENTS[:5] + ARGUMENTS[8:])
    width = 2   # the size of this frame needs framing offsets of 2 bytes
    assert 0xff < len(payload) <= 0xffff
    read = 0
    for attempt in range(400):
        data = bytearray(payload)
        if attempt % 4 == 0:   # the frame's own framing offsets and their neighbours
            position = len(data) - rng.randrange(1, 4 * width + 2)
        else:
            position = rng.randrange(len(data))
        data[position] = rng.choice([0, 1, 2, 0x7f, 0xff, data[position] ^ 1,
                                     rng.randrange(256)])
        if attempt % 7 == 0:
            del data[rng.randrange(len(data)):]
        read += check_against_glib(bytes(data))
    assert read > 0
    # truncated, empty and tiny payloads
    for size in (0, 1, 8, 15, 16, 24, len(payload) - 1):
        check_against_glib(payload[:size])


def test_bad_frames_read_through_glib():
    payload = build_frame(1, False, ARGUMENTS[:2])
    assert parse(payload) is not None
    assert parse(b"") is None
    empty = parse(build_frame(3, True, []))   # a call of no tasks
    assert (empty.batch_id, empty.stop_on_error, empty.references, empty.indexes) == \
        (3, True, [], ())
    bad_flag = bytearray(payload)
    bad_flag[8] = 2   # a boolean GLib would not write
    assert parse(bytes(bad_flag)) is None
    # a shared-memory argument: those calls are read through GLib
    body = GLib.Variant.new_from_bytes(GLib.VariantType(CALL_TYPE), GLib.Bytes.new(payload),
                                       True)
    shared = GLib.Variant.new_tuple(*[body.get_child_value(i) for i in range(5)],
                                    GLib.Variant("a(uusst)", [(0, 0, "/x", "ay", 1)]))
    assert parse(shared.get_data_as_bytes().get_data()) is None


def describe(*args, **kwargs):
    def kind(v):
        if isinstance(v, np.ndarray):
            return ("ndarray", v.dtype.str, v.shape, v.tobytes(), v.flags.writeable)
        return (type(v).__name__, v)
    return [kind(a) for a in args], sorted((k, kind(v)) for k, v in kwargs.items())


@pytest.mark.parametrize("batch_size", [1, "auto"])
def test_workers_see_the_arguments_loky_gives(batch_size):
    calls = [(a, kw) for _, a, kw in ARGUMENTS] + [
        ((np.arange(3), "a\0b", "c\udc80", 1.5, 2 ** 70), {}),
        ((np.float32(2.5), np.int64(3), np.arange(6.0).reshape(2, 3)), {})]
    ours = Parallel(n_jobs=2, batch_size=batch_size)(delayed(describe)(*a, **kw)
                                                     for a, kw in calls)
    theirs = joblib.Parallel(n_jobs=2, backend="loky", batch_size=batch_size)(
        joblib.delayed(describe)(*a, **kw) for a, kw in calls)
    assert ours == theirs


def answer(a, value):
    return value


def test_answers_of_every_kind_come_back_as_with_loky():
    values = [0, -2 ** 63, 2 ** 63, 1.5, -0.0, float("inf"), True, False, "", "é€😀",
              "a\0b", "lone \udc80", None, b"x\0", [1, "2"], {"k\0": 1}, np.arange(3),
              np.float64(2.5)]
    ours = Parallel(n_jobs=2, batch_size=1)(delayed(answer)(np.arange(2), v) for v in values)
    theirs = joblib.Parallel(n_jobs=2, backend="loky", batch_size=1)(
        joblib.delayed(answer)(np.arange(2), v) for v in values)
    assert [describe(v) for v in ours] == [describe(v) for v in theirs]


def test_a_task_error_in_a_frame_read_from_bytes():
    def explode(a):
        if a[0] == 3:
            raise KeyError(int(a[0]))
        return int(a[0])
    with pytest.raises(KeyError, match="3"):
        Parallel(n_jobs=2, batch_size=1)(delayed(explode)(np.arange(k, k + 2))
                                         for k in range(6))
    assert Parallel(n_jobs=2, batch_size=1)(delayed(explode)(np.arange(k, k + 2))
                                            for k in range(4, 7)) == [4, 5, 6]


def test_argument_tuples_written_by_hand_are_glib_s():
    # the parent writes (v…vb) argument tuples of arrays and scalars itself:
    # the same bytes and type as GLib's tuple of call_arg_variant's values
    from joblib_glib._values import call_arg_variant, serialized_call_args
    rng = random.Random(5)
    pool = [0, -1, 2 ** 63 - 1, -2 ** 63, 1.5, -0.0, float("inf"), True, False, "", "é€😀",
            np.arange(3), np.zeros((2, 0, 3), dtype="<f4"), np.array(2.5), np.ones(7, ">i2"),
            np.full(300, 9, dtype="|u1"), np.full(65536, 1, dtype="|u1"),
            np.arange(1000, dtype="<f8")]
    left_to_glib = [2 ** 63, "a\0b", "\udc80", None, [1], np.arange(6).reshape(2, 3).T,
                    np.zeros(65537, dtype="|u1"), np.array(["a"]), np.float64(1.0),
                    np.arange(9000, dtype="<f8")]   # over 64 KiB: shared, not copied
    for n in range(40):
        values = [rng.choice(pool) for _ in range(n % 6)]
        opaque = n % 3 == 0
        expected = PythonFunction._variant_args(values, opaque, call_arg_variant)
        ours = serialized_call_args(values, opaque)
        assert ours.get_type_string() == expected.get_type_string()
        assert ours.get_data_as_bytes().get_data() == expected.get_data_as_bytes().get_data()
        assert ours.is_normal_form()
    for value in left_to_glib:
        assert serialized_call_args([1, value], False) is None
