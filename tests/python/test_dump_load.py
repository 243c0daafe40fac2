# SPDX-License-Identifier: LGPL-2.1-or-later
"""joblib_glib.dump/load: nested values with numpy arrays, safe by default."""

import numpy as np
import pytest

from joblib_glib import PickleNotAllowedError, dump, load
from joblib_glib._gi import GLib


def nested():
    rng = np.random.default_rng(1)
    return {
        "name": "experiment",
        "weights": rng.standard_normal((100, 50)),
        "layers": [{"w": np.arange(12, dtype="<i4").reshape(3, 4), "b": np.zeros(4)},
                   (1, 2.5, None, b"raw")],
        "flags": np.array([True, False]),
        "scalars": {"n": 3, "ratio": 0.5},
    }


def assert_same(a, b):
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    else:
        assert a == b


@pytest.mark.parametrize("name,compress", [
    ("v.job", 0), ("v.job", 3), ("v.job", True), ("v.gz", 0), ("v.xz", 0), ("v.zst", 0),
    ("v.lz4", 0), ("v.bz2", 0), ("v.job", ("zstd", 5)), ("v.job", "lzma"),
])
def test_nested_round_trip(tmp_path, name, compress):
    value = nested()
    assert dump(value, tmp_path / name, compress=compress) == [tmp_path / name]
    back = load(tmp_path / name)
    assert_same(value, back)
    assert back["weights"].flags.writeable


def test_mmap_views_are_read_only_and_aligned(tmp_path):
    value = nested()
    dump(value, tmp_path / "m.job")
    back = load(tmp_path / "m.job", mmap_mode="r")
    assert_same(value, back)
    assert not back["weights"].flags.writeable
    assert back["weights"].ctypes.data % 64 == 0
    copy = load(tmp_path / "m.job", mmap_mode="c")
    copy["weights"][0, 0] = 42.0
    assert load(tmp_path / "m.job")["weights"][0, 0] == value["weights"][0, 0]


class Custom:
    def __init__(self, v):
        self.v = v

    def __eq__(self, other):
        return isinstance(other, Custom) and other.v == self.v


def test_pickled_content_refused_unless_allowed(tmp_path):
    # dump pickles what has no GVariant form (as joblib); allow_pickle=False
    # refuses instead
    with pytest.raises(TypeError):
        dump({"obj": Custom(1)}, tmp_path / "p.job", allow_pickle=False)
    dump({"obj": Custom(1), "a": np.ones(3)}, tmp_path / "p.job")
    with pytest.raises(PickleNotAllowedError, match="test_dump_load.Custom"):
        load(tmp_path / "p.job")
    assert load(tmp_path / "p.job", trusted=["test_dump_load.Custom"])["obj"] == Custom(1)
    back = load(tmp_path / "p.job", allow_pickle=True)
    assert back["obj"] == Custom(1)


def test_bad_input(tmp_path):
    with pytest.raises(ValueError):
        dump(1, tmp_path / "x.job", compress=11)
    with pytest.raises(ValueError):
        dump(1, tmp_path / "x.job", compress="rar")
    with pytest.raises(TypeError):
        dump(1, 42)
    with pytest.raises(ValueError):
        load(tmp_path / "x.job", mmap_mode="w")
    (tmp_path / "bad.job").write_bytes(b"not a joblib-glib file at all")
    with pytest.raises(GLib.Error):
        load(tmp_path / "bad.job")
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.job")


@pytest.mark.parametrize("lengths", [range(150, 300), range(65300, 65560)])
def test_header_sizes_across_offset_widths(tmp_path, lengths):
    """The dump places its arrays after a header whose size it computes
    before building it: headers whose framing offsets change width (one,
    two, four bytes) round-trip, with and without an array after them."""
    path = tmp_path / "h.bin"
    array = np.arange(1000.0)
    sizes = set()
    for length in lengths:
        for value in ({"pad": "x" * length}, {"pad": "x" * length, "array": array}):
            dump(value, path)
            back = load(path)
            assert back["pad"] == value["pad"]
            if "array" in value:
                assert back["array"].dtype == array.dtype and (back["array"] == array).all()
            with open(path, "rb") as file:
                sizes.add(int.from_bytes(file.read(24)[16:24], "little"))
    # the lengths chosen make the header cross a width boundary
    assert min(sizes) <= (255 if lengths.start < 1000 else 65535) < max(sizes)
