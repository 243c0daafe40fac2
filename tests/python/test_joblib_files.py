# SPDX-License-Identifier: LGPL-2.1-or-later
"""Files written by Python's joblib.dump (tests/data/joblib-files) load
with joblib_glib.load exactly as with joblib.load: same values, types,
dtypes, shapes and memory orders, memmaps with mmap_mode="r"."""

import collections
import glob
import io
import math
import os
import shutil
import warnings

import joblib
import numpy as np
import pytest

import joblib_glib

DATA = os.path.join(os.environ.get("JOB_SOURCE_ROOT", os.path.join(os.path.dirname(__file__),
                                                                   "..", "..")),
                    "tests", "data", "joblib-files")
FILES = sorted(os.path.basename(f) for f in glob.glob(os.path.join(DATA, "*.pkl*"))
               if "unsupported" not in f)  # standard.pkl: through the Python reader
UNCOMPRESSED = [f for f in FILES if f.endswith(".pkl")]


def assert_same(ours, theirs, mmap=False, path="value"):
    """Equal values of the same types, recursively; arrays also by dtype,
    shape, memory order and (without mmap) writability."""
    assert type(ours) is type(theirs), f"{path}: {type(ours)} is not {type(theirs)}"
    if isinstance(theirs, np.ndarray):
        assert ours.dtype == theirs.dtype, path
        assert ours.shape == theirs.shape, path
        assert ours.flags.c_contiguous == theirs.flags.c_contiguous, path
        assert ours.flags.f_contiguous == theirs.flags.f_contiguous, path
        if not mmap:
            assert ours.flags.writeable == theirs.flags.writeable, path
        if theirs.dtype.hasobject:
            for index in np.ndindex(theirs.shape):
                assert_same(ours[index], theirs[index], mmap, f"{path}{list(index)}")
        else:
            assert np.array_equal(ours, theirs), path
    elif isinstance(theirs, np.generic):
        assert ours.dtype == theirs.dtype and ours == theirs, path
    elif isinstance(theirs, dict):
        assert list(ours) == list(theirs), path
        for key in theirs:
            assert [type(k) for k in ours if k == key] == [type(key)], path
            assert_same(ours[key], theirs[key], mmap, f"{path}[{key!r}]")
    elif isinstance(theirs, (list, tuple)):
        assert len(ours) == len(theirs), path
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_same(a, b, mmap, f"{path}[{i}]")
    elif isinstance(theirs, float) and math.isnan(theirs):
        assert math.isnan(ours), path
    else:
        assert ours == theirs, path


@pytest.mark.parametrize("name", FILES)
def test_same_as_joblib(name):
    path = os.path.join(DATA, name)
    theirs = joblib.load(path)
    ours = joblib_glib.load(path)
    assert_same(ours, theirs)


@pytest.mark.parametrize("name", UNCOMPRESSED)
def test_mmap_same_as_joblib(name):
    path = os.path.join(DATA, name)
    theirs = joblib.load(path, mmap_mode="r")
    ours = joblib_glib.load(path, mmap_mode="r")
    assert_same(ours, theirs, mmap=True)


def test_mmap_arrays_are_read_only_memmaps():
    ours = joblib_glib.load(os.path.join(DATA, "arrays.pkl"), mmap_mode="r")
    for array in ours:
        assert isinstance(array, np.memmap)
        assert not array.flags.writeable
        with pytest.raises(ValueError):
            array.flat[0] = 1
    assert ours[1].flags.f_contiguous and not ours[1].flags.c_contiguous


def test_mmap_copy_on_write_is_private(tmp_path):
    path = tmp_path / "arrays.pkl"
    shutil.copy(os.path.join(DATA, "arrays.pkl"), path)
    ours = joblib_glib.load(path, mmap_mode="c")
    ours[0][0] = 42.0
    assert joblib.load(path)[0][0] == 0.0
    assert isinstance(ours[0], np.memmap)


def test_mmap_on_compressed_file_warns_and_loads():
    # joblib 1.2 warns and then fails ("mmap length is greater than file
    # size"); we warn as it does and load the file into memory.
    path = os.path.join(DATA, "mixed.pkl.gz")
    with pytest.warns(UserWarning, match="not compatible with compressed file"):
        ours = joblib_glib.load(path, mmap_mode="r")
    assert_same(ours, joblib.load(path))


def test_identity_is_not_kept():
    # A documented difference: a list held twice comes back as two equal
    # lists (a GVariant has no shared references); joblib keeps one.
    theirs = joblib.load(os.path.join(DATA, "mixed.pkl"))["shared"]
    ours = joblib_glib.load(os.path.join(DATA, "mixed.pkl"))["shared"]
    assert theirs[0] is theirs[1]
    assert ours == theirs and ours[0] is not ours[1]


def test_other_classes_need_allow_pickle():
    path = os.path.join(DATA, "unsupported.pkl")
    with pytest.raises(joblib_glib.PickleNotAllowedError, match="pathlib.PurePosixPath"):
        joblib_glib.load(path)
    assert_same(joblib_glib.load(path, allow_pickle=True), joblib.load(path))
    assert_same(joblib_glib.load(path, trusted=["pathlib.PurePosixPath"]), joblib.load(path))


def test_file_objects():
    for name in ("mixed.pkl", "mixed.pkl.xz", "standard.pkl"):
        with open(os.path.join(DATA, name), "rb") as file:
            ours = joblib_glib.load(io.BytesIO(file.read()))
        assert_same(ours, joblib.load(os.path.join(DATA, name)))


def test_mmap_read_write_reaches_the_file(tmp_path):
    path = tmp_path / "arrays.pkl"
    shutil.copy(os.path.join(DATA, "arrays.pkl"), path)
    for mode in ("r+", "w+"):
        ours = joblib_glib.load(path, mmap_mode=mode)
        theirs = joblib.load(path, mmap_mode=mode)
        assert_same(ours, theirs, mmap=True)
        assert ours[0].flags.writeable and ours[0].filename == theirs[0].filename
    ours[1][0, 0] = 7
    ours[1].flush()
    assert joblib.load(path)[1][0, 0] == 7


def test_allow_pickle_reads_arrays_without_joblib_classes(tmp_path):
    import fractions
    value = {"f": fractions.Fraction(2, 3), "a": np.asfortranarray(np.ones((3, 2))),
             "o": np.array([None, "x"], dtype=object), "b": np.arange(3, dtype=">i2")}
    for compress in (0, ("xz", 3)):
        path = tmp_path / f"value-{compress != 0}.pkl"
        joblib.dump(value, path, compress=compress)
        assert_same(joblib_glib.load(path, allow_pickle=True), joblib.load(path))


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
@pytest.mark.parametrize("compress", [0, ("zlib", 1), ("lz4", 1)])
def test_round_trip_of_new_files(tmp_path, protocol, compress):
    value = collections.OrderedDict(
        a=np.arange(24, dtype="<u2").reshape(2, 3, 4).transpose(2, 0, 1),
        b=[np.float32(1.25), (None, {1.5: b"x"}), {"s", "t"}],
        c=np.array([[b"x"], [b"yz"]]), d=np.array("scalar"), e=2 ** 64)
    path = tmp_path / "value.pkl"
    joblib.dump(value, path, compress=compress, protocol=protocol)
    assert_same(joblib_glib.load(path), joblib.load(path))


def test_truncated_file_raises(tmp_path):
    data = open(os.path.join(DATA, "mixed.pkl"), "rb").read()
    path = tmp_path / "cut.pkl"
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(Exception) as info:
        joblib_glib.load(path)
    assert "truncated" in str(info.value)


def test_own_files_still_load(tmp_path):
    path = tmp_path / "ours.z"
    joblib_glib.dump({"x": np.arange(3)}, path, compress=("zlib", 1))
    assert np.array_equal(joblib_glib.load(path)["x"], np.arange(3))
