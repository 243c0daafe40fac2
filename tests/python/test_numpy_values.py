# SPDX-License-Identifier: LGPL-2.1-or-later
"""numpy arrays <-> JobArray's GVariant form without copying the buffer."""

import numpy as np
import pytest

from joblib_glib import _gi  # noqa: F401 -- requires the GIR versions first
from gi.repository import GLib, Joblib  # noqa: E402
from joblib_glib import Parallel, delayed, from_variant, to_variant
from joblib_glib import _buffers


def test_buffers_are_shared_here():
    assert _buffers.shares_buffers()


def test_ndarray_becomes_a_job_array_variant_without_a_copy():
    a = np.arange(24, dtype="<f8").reshape(2, 3, 4)
    v = to_variant(a)
    assert v.get_type_string() == "(ssatay)"
    assert Joblib.Array.is_array_variant(v)
    array = Joblib.Array.new_from_variant(v)
    assert array.get_typestr() == "<f8"
    assert list(array.get_shape()) == [2, 3, 4]
    assert array.get_double(23) == 23.0
    back = from_variant(v)
    assert np.shares_memory(back, a)
    assert not back.flags.writeable
    np.testing.assert_array_equal(back, a)


def test_job_array_becomes_an_ndarray_view():
    data = GLib.Bytes.new(np.arange(6, dtype="<i4").tobytes())
    v = Joblib.Array.new("<i4", [2, 3], data).to_variant()
    a = from_variant(v)
    assert a.dtype == np.dtype("<i4") and a.shape == (2, 3)
    assert a.ctypes.data == _buffers._address_of_data(data)
    del v, data
    assert a.sum() == 15  # the array keeps the buffer alive


def test_buffer_outlives_the_variant_and_the_array():
    a = np.ones(1000)
    v = to_variant(a)
    del a
    back = from_variant(v)
    del v
    assert back.sum() == 1000.0


@pytest.mark.parametrize("dtype", ["<f8", "<f4", "<i8", "|u1", "|b1", "<c16", ">f8", "<f2"])
def test_dtypes_round_trip(dtype):
    a = (np.arange(12) % 3).astype(dtype).reshape(3, 4)
    back = from_variant(to_variant(a))
    assert back.dtype == a.dtype and back.shape == a.shape
    np.testing.assert_array_equal(back, a)


@pytest.mark.parametrize("a", [np.array(2.5), np.zeros((0, 3)),
                               np.arange(10)[::2], np.asfortranarray(np.eye(3))])
def test_odd_shapes_and_layouts(a):
    back = from_variant(to_variant(a))
    assert back.shape == a.shape
    np.testing.assert_array_equal(back, a)


def test_results_on_threads_share_the_returned_buffer():
    big = np.arange(100000.0)
    out = Parallel(n_jobs=2, backend="threading")(delayed(lambda: big)() for _ in range(2))
    assert all(np.shares_memory(o, big) for o in out)
    assert all(o.flags.writeable for o in out)  # results are the caller's


def test_arrays_through_worker_processes():
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((300, 300)) for _ in range(3)]  # 720 KB each
    arrays.append(rng.standard_normal((600, 600)))  # over max_nbytes: shared memory
    out = Parallel(n_jobs=2)(delayed(np.linalg.norm)(a) for a in arrays)
    assert out == pytest.approx([np.linalg.norm(a) for a in arrays])
    doubled = Parallel(n_jobs=2)(delayed(np.multiply)(a, 2) for a in arrays)
    for d, a in zip(doubled, arrays):
        np.testing.assert_array_equal(d, a * 2)


def test_object_arrays_need_pickling():
    a = np.array([object(), 1], dtype=object)
    with pytest.raises(TypeError):
        to_variant(a, allow_pickle=False)


def describe(a):
    """What a worker sees of an array argument."""
    a[...] = a  # writable, as joblib's workers get small arrays
    return a.dtype.str, a.shape, bool(a.flags.writeable), a.tobytes()


SMALL = [np.arange(250, dtype="|u1"), (np.arange(12) * 1.5).reshape(3, 4),
         np.array(7, dtype="<i4"), np.zeros((0, 3), dtype="<f4"),
         np.arange(6, dtype=">i8").reshape(2, 3), np.ones(8000, dtype="<f8"),
         np.arange(10, dtype="<c16")]


def test_small_arrays_through_worker_processes_as_joblib():
    import joblib
    ours = Parallel(n_jobs=2, backend="loky")(delayed(describe)(a) for a in SMALL)
    theirs = joblib.Parallel(n_jobs=2, backend="loky")(joblib.delayed(describe)(a)
                                                       for a in SMALL)
    assert ours == theirs
    assert [o[0] for o in ours] == [a.dtype.str for a in SMALL]


@pytest.mark.parametrize("a", SMALL)
def test_small_argument_variant_is_glibs_normal_form(a):
    from joblib_glib import _values
    v = _values.call_arg_variant(a)
    built = GLib.Variant("(ssatay)", ("joblib.array", a.dtype.str, list(a.shape), a.tobytes()))
    assert v.get_data_as_bytes().get_data() == built.get_data_as_bytes().get_data()
    assert v.is_normal_form()
    back = from_variant(built, copy_small=True)
    assert back.dtype == a.dtype and back.shape == a.shape and not back.flags.writeable
    np.testing.assert_array_equal(back, a)
    assert from_variant(built, writable=True, copy_small=True).flags.writeable


def test_small_array_read_from_a_copy_reads_what_glib_reads():
    """Every byte of a small array variant changed: copy_small gives what
    GLib's own accessors give (an array, another value, or an error)."""
    good = GLib.Variant("(ssatay)", ("joblib.array", "<i4", [5],
                                     np.arange(5, dtype="<i4").tobytes()))
    raw = good.get_data_as_bytes().get_data()

    def read(v, **kw):
        try:
            value = from_variant(v, **kw)
        except (ValueError, TypeError) as exc:
            return type(exc)
        if isinstance(value, np.ndarray):
            return value.dtype.str, value.shape, value.tobytes()
        return value

    for i in range(len(raw)):
        for b in range(0, 256, 5):
            bad = bytearray(raw)
            bad[i] = b
            v = GLib.Variant.new_from_bytes(GLib.VariantType("(ssatay)"),
                                            GLib.Bytes.new(bytes(bad)), False)
            assert read(v, copy_small=True) == read(v), (i, b)
    for cut in range(len(raw)):
        v = GLib.Variant.new_from_bytes(GLib.VariantType("(ssatay)"),
                                        GLib.Bytes.new(raw[:cut]), False)
        assert read(v, copy_small=True) == read(v)
