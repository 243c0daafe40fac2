# SPDX-License-Identifier: LGPL-2.1-or-later
"""dump/load and .npy interop through the typelib, with numpy."""
import gi

gi.require_version("Joblib", "1.0")
from gi.repository import Gio, GLib, Joblib  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


def to_joblib(a):
    a = np.require(a, requirements="C")  # ascontiguousarray makes 0-d 1-d
    return Joblib.Array.new(a.dtype.str, list(a.shape), GLib.Bytes.new(a.tobytes()))


def to_numpy(array):
    return np.frombuffer(array.get_data().get_data(), dtype=array.get_typestr()).reshape(
        array.get_shape())


@pytest.mark.parametrize("dtype", ["<f8", "<i4", "|u1", "<c16", ">f4", "|b1", "<f2"])
def test_numpy_writes_we_read(tmp_path, dtype):
    a = (np.arange(24).reshape(2, 3, 4) % 2).astype(dtype)
    np.save(tmp_path / "a.npy", a)
    ours = Joblib.Array.load_npy(Gio.File.new_for_path(str(tmp_path / "a.npy")), None)
    assert ours.get_typestr() == a.dtype.str
    assert list(ours.get_shape()) == [2, 3, 4]
    np.testing.assert_array_equal(to_numpy(ours), a)


@pytest.mark.parametrize("shape", [(), (0,), (5,), (3, 0, 2), (4, 5, 6)])
def test_we_write_numpy_reads(tmp_path, shape):
    a = np.random.default_rng(0).standard_normal(shape)
    assert to_joblib(a).save_npy(Gio.File.new_for_path(str(tmp_path / "b.npy")), None)
    back = np.load(tmp_path / "b.npy")
    assert back.dtype == a.dtype and back.shape == a.shape
    np.testing.assert_array_equal(back, a)


def test_npy_rejects_fortran_order(tmp_path):
    np.save(tmp_path / "f.npy", np.asfortranarray(np.ones((3, 4))))
    with pytest.raises(GLib.Error) as info:
        Joblib.Array.load_npy(Gio.File.new_for_path(str(tmp_path / "f.npy")), None)
    assert info.value.matches(Joblib.error_quark(), Joblib.Error.UNSUPPORTED)


@pytest.mark.parametrize("name", ["v.job", "v.gz", "v.z", "v.bz2", "v.xz", "v.lzma", "v.lz4", "v.zst"])
def test_dump_load_through_gi(tmp_path, name):
    a = np.linspace(0, 1, 10000).reshape(100, 100)
    value = GLib.Variant("a{sv}", {
        "name": GLib.Variant("s", "experiment"),
        "weights": to_joblib(a).to_variant(),
        "sizes": GLib.Variant("ai", [1, 2, 3]),
    })
    f = Gio.File.new_for_path(str(tmp_path / name))
    assert Joblib.dump(value, f, Joblib.Compression.AUTO, Joblib.COMPRESSION_DEFAULT_LEVEL, None)
    loaded = Joblib.load(f, Joblib.LoadFlags.NONE, 0, None)
    assert loaded.equal(value)
    weights = Joblib.Array.new_from_variant(loaded.lookup_value("weights", None))
    np.testing.assert_array_equal(to_numpy(weights), a)


def test_mmap_load_gives_views(tmp_path):
    a = np.arange(1 << 16, dtype="<i8")
    f = Gio.File.new_for_path(str(tmp_path / "m.job"))
    Joblib.dump(to_joblib(a).to_variant(), f, Joblib.Compression.NONE, 0, None)
    loaded = Joblib.load(f, Joblib.LoadFlags.MMAP, 0, None)
    np.testing.assert_array_equal(to_numpy(Joblib.Array.new_from_variant(loaded)), a)


def test_bad_file_raises(tmp_path):
    version_9 = b"\x89JOBGLIB" + (9).to_bytes(4, "little") + b"\0" * 20
    (tmp_path / "bad.job").write_bytes(version_9)
    with pytest.raises(GLib.Error) as info:
        Joblib.load(Gio.File.new_for_path(str(tmp_path / "bad.job")), Joblib.LoadFlags.NONE, 0, None)
    assert info.value.matches(Joblib.error_quark(), Joblib.Error.UNSUPPORTED)
