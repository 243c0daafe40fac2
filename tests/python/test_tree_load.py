# SPDX-License-Identifier: LGPL-2.1-or-later
"""Containers read with one C call (Joblib.variant_to_pickle) and Python's
unpickler: the same values, with the same exact types, as joblib gives and
as the node-by-node reader gives."""

import collections
import pickle

import joblib
import numpy as np
import pytest

import joblib_glib
from joblib_glib import _values
from joblib_glib._gi import GLib, Joblib


def same(a, b):
    """Equal with the same exact types all the way down."""
    assert type(a) is type(b), (a, b)
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a.keys()) == list(b.keys())
        for key in a:
            same(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            same(x, y)
    elif isinstance(a, float) and a != a:
        assert b != b
    else:
        assert a == b


VALUES = [
    [{"id": i, "name": f"item{i}", "value": i * 0.5, "tags": ["a", "b"]} for i in range(50)],
    [None, True, False, 0, -1, 2 ** 31, -2 ** 31 - 1, 2 ** 63 - 1, -2 ** 63, 2 ** 64, -10 ** 40,
     0.0, -0.0, float("inf"), float("nan"), 1e-300, "", "é\u20ac😀", b"", b"\x00\xff" * 40,
     bytearray(b"xyz"), complex(1.5, -2), (), (1,), (1, "a", None), {1, 2, 3},
     frozenset({"a"}), {1: "int key", (2, 3): "tuple key"}, {"": {"nested": [[], [[]]]}}],
    {"array": np.arange(10.0), "many": [np.arange(3, dtype="<i4")] * 1 + [np.zeros((2, 2))],
     "long": list(range(300))},
    ["x" * 1000, [1] * 500, {"k%d" % i: i for i in range(100)}],
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_dump_load_like_joblib(tmp_path, value):
    ours = tmp_path / "ours.bin"
    theirs = tmp_path / "theirs.pkl"
    joblib_glib.dump(value, ours)
    joblib.dump(value, theirs)
    same(joblib.load(theirs), joblib_glib.load(ours))
    # joblib's own file, read by the C reader and the tree loader
    same(joblib.load(theirs), joblib_glib.load(theirs))


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_tree_matches_node_by_node(value):
    variant = _values.to_variant(value)
    loading = _values._Loading(True, (), True, "")
    tree = _values.load_tree(variant, lambda sub: _values._from(sub, sub.get_type_string(),
                                                                loading))
    same(_values.from_variant(variant), tree)
    same(value, tree)


def test_serialized_and_built_forms_write_the_same_pickle():
    value = _values.to_variant(VALUES[1])
    # a built value, and the same bytes read back as a serialized one
    serialized = GLib.Variant.new_from_bytes(value.get_type(), value.get_data_as_bytes(), False)
    assert serialized.is_normal_form()
    built_pickle, built_deferred = Joblib.variant_to_pickle(value)
    raw_pickle, raw_deferred = Joblib.variant_to_pickle(serialized)
    assert built_pickle.get_data() == raw_pickle.get_data()
    assert built_deferred.n_children() == raw_deferred.n_children() == 0


def test_deferred_subvalues_in_order():
    arrays = [np.arange(4.0), np.arange(3, dtype="<i2")]
    variant = _values.to_variant(["a", arrays[0], {"b": arrays[1]}, 5])
    data, deferred = Joblib.variant_to_pickle(variant)
    # the two arrays, in the order met
    assert deferred.n_children() == 2
    kinds = [deferred.get_child_value(i).get_variant().get_type_string() for i in range(2)]
    assert kinds == ["(ssatay)", "(ssatay)"]
    # the pickle names no global but complex: a loader that refuses every
    # global still reads it, given its persistent ids
    loaded = _values._TreeUnpickler.__bases__[0]
    ids = []

    class Recorder(loaded):
        def find_class(self, module, name):
            raise AssertionError(f"global {module}.{name}")

        def persistent_load(self, pid):
            ids.append(pid)
            return pid

    import io
    assert Recorder(io.BytesIO(data.get_data())).load() == ["a", 0, {"b": 1}, 5]
    assert ids == [0, 1]


def test_non_normal_bytes_are_not_trusted():
    # an av whose framing offset points past its end: GLib reads it as an
    # empty array, and so does the writer, with no read outside the bytes
    bad = GLib.Variant.new_from_bytes(GLib.VariantType("av"), GLib.Bytes.new(b"\x01\x02\xff"),
                                      False)
    assert not bad.is_normal_form()
    data, deferred = Joblib.variant_to_pickle(bad)
    assert pickle.loads(data.get_data()) == bad.unpack()
    assert deferred.n_children() == 0


def test_dump_through_one_pickle_keeps_identity_and_strings(tmp_path):
    shared = [1, 2]
    values = [
        [shared, shared] + list(range(10)),           # shared: pickled whole, identity kept
        ["nul\x00inside", "lone \udc80 surrogate"] + [str(i) for i in range(10)],
        {str(i): (i, float(i), None) for i in range(20)},
    ]
    for value in values:
        ours = tmp_path / "v.bin"
        joblib_glib.dump(value, ours)
        loaded = joblib_glib.load(ours)
        same(value, loaded)
        if isinstance(value, list) and value[0] is shared:
            assert loaded[0] is loaded[1]


def test_variant_from_pickle_refuses_what_is_not_plain():
    plain = Joblib.variant_from_pickle(GLib.Bytes.new(pickle.dumps([1, "a", (2.5,)], 5)))
    assert plain.get_type_string() == "av"
    shared = [1]
    cases = {
        Joblib.Error.UNSUPPORTED: [pickle.dumps([shared, shared], 5),
                                   pickle.dumps(collections.OrderedDict(a=1), 5),
                                   pickle.dumps(np.arange(3), 5),
                                   pickle.dumps(np.float64(1.0), 5)],
        Joblib.Error.INVALID_DATA: [b"", b"not a pickle", pickle.dumps([1, 2], 5)[:-3]],
    }
    for code, datas in cases.items():
        for data in datas:
            with pytest.raises(GLib.Error) as info:
                Joblib.variant_from_pickle(GLib.Bytes.new(data))
            assert info.value.matches(Joblib.error_quark(), code), (data, info.value.message)
