# SPDX-License-Identifier: LGPL-2.1-or-later
"""Differential cases: values, Memory, dump/load and hash on real joblib
and on joblib_glib, side by side.

Every case runs the same snippet with ``jl`` bound to ``joblib`` and then
to ``joblib_glib`` and compares results, their exact types (recursively:
numpy dtypes, memory order, masks, dict order, shared structure) and the
types of the exceptions raised.  Where joblib_glib differs on purpose
(safe loading, zstd, stable keys for frozensets), the case asserts the
documented difference instead.
"""

import collections
import datetime
import decimal
import enum
import fractions
import io
import os
import pickle
import subprocess
import sys
import textwrap
import warnings

import joblib
import numpy as np
import pytest

import joblib_glib
from joblib_glib import PickleNotAllowedError

MODULES = (joblib, joblib_glib)


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


Point = collections.namedtuple("Point", "x y")


class Custom:
    def __init__(self, value):
        self.value = value

    def __eq__(self, other):
        return type(other) is Custom and other.value == self.value


class Labels(dict):
    """A dict subclass."""


def _recursive_list():
    item = [1]
    item.append(item)
    return item


def _shared_list():
    inner = [1, 2]
    return [inner, inner]


def same(a, b, path="value"):
    """Equal values of equal types, recursively, numpy details included."""
    assert type(a) is type(b), f"{path}: {type(a)} != {type(b)}"
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype, f"{path}: dtype {a.dtype} != {b.dtype}"
        assert a.shape == b.shape, f"{path}: shape"
        assert a.flags.f_contiguous == b.flags.f_contiguous, f"{path}: order"
        assert a.flags.c_contiguous == b.flags.c_contiguous, f"{path}: order"
        if isinstance(a, np.ma.MaskedArray):
            assert np.array_equal(np.ma.getmaskarray(a), np.ma.getmaskarray(b)), f"{path}: mask"
            assert a.mean() == b.mean() or (a.mean() is np.ma.masked and
                                             b.mean() is np.ma.masked)
        if a.dtype.hasobject:
            assert a.tolist() == b.tolist(), path
        else:
            assert np.array_equal(np.asarray(a), np.asarray(b), equal_nan=a.dtype.kind in "fc"), \
                f"{path}: values"
        return
    if isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            if x is a:  # self-reference
                assert y is b, f"{path}[{i}]: self-reference lost"
                continue
            same(x, y, f"{path}[{i}]")
        return
    if isinstance(a, dict):
        assert list(a) == list(b), f"{path}: keys or their order"
        for key in a:
            same(a[key], b[key], f"{path}[{key!r}]")
        if isinstance(a, collections.defaultdict):
            assert a.default_factory is b.default_factory
        return
    if isinstance(a, float) and a != a:
        assert b != b
        return
    assert a == b, f"{path}: {a!r} != {b!r}"


def run_both(snippet, tmp_path):
    """(joblib outcome, joblib_glib outcome): ("ok", value) or ("raise", type)."""
    outcomes = []
    for module in MODULES:
        folder = tmp_path / module.__name__
        folder.mkdir(exist_ok=True)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                outcomes.append(("ok", snippet(module, folder)))
        except Exception as error:  # noqa: BLE001 -- compared below
            outcomes.append(("raise", type(error)))
    return outcomes


def assert_same(snippet, tmp_path):
    theirs, ours = run_both(snippet, tmp_path)
    assert theirs[0] == ours[0], f"joblib: {theirs}, joblib_glib: {ours}"
    if theirs[0] == "raise":
        assert theirs[1] is ours[1] or issubclass(ours[1], theirs[1]), (theirs, ours)
    else:
        same(theirs[1], ours[1])
    return ours[1]


STANDARD = {
    "int": 7, "negative-int": -(2 ** 40), "big-int": 2 ** 80, "float": 1.5, "nan": float("nan"),
    "negative-zero": -0.0, "bool": True, "none": None, "str": "héllo", "bytes": b"\x00\xff",
    "bytearray": bytearray(b"ab"), "complex": 1 + 2j, "list": [1, "a", None],
    "tuple": (1, (2.0, "x")), "dict-order": {"b": 1, "a": 2}, "dict-int-keys": {2: "x", 1: "y"},
    "set": {"x", "y", "z"}, "frozenset": frozenset({1, 2}), "empty": [(), [], {}],
    "np-float64": np.float64(1.5), "np-int32": np.int32(-3), "np-bool": np.bool_(True),
    "np-datetime64": np.datetime64("2020-01-02"), "np-str": np.str_("s"),
    "enum": Color.RED, "int-enum": Level.HIGH, "ordered-dict": collections.OrderedDict(b=1, a=2),
    "defaultdict": collections.defaultdict(list, a=[1]), "counter": collections.Counter("abca"),
    "deque": collections.deque([1, 2], maxlen=5), "datetime": datetime.datetime(2020, 1, 2, 3, 4),
    "date": datetime.date(2021, 5, 6), "timedelta": datetime.timedelta(hours=3),
    "timezone": datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc),
    "decimal": decimal.Decimal("1.10"), "fraction": fractions.Fraction(1, 3), "range": range(2, 9),
    "slice": slice(1, 5, 2),
    "array-f8": np.arange(12.0).reshape(3, 4), "array-fortran": np.asfortranarray(np.ones((3, 4))),
    "array-strided": np.arange(10)[::2], "array-0d": np.array(5.0), "array-empty": np.zeros((0, 3)),
    "array-big-endian": np.arange(4, dtype=">i4"), "array-str": np.array(["a", "bc"]),
    "array-datetime": np.array(["2020-01-01", "2021-01-01"], dtype="M8[D]"),
    "array-structured": np.zeros(2, dtype=[("a", "<i4"), ("b", "<f8")]),
    "array-object": np.array([1, "a", None], dtype=object), "array-bool": np.array([True, False]),
    "array-complex": np.array([1 + 1j]), "array-big": np.arange(100_000, dtype=np.float64),
    "masked": np.ma.masked_array([1.0, 2.0, 3.0], mask=[0, 1, 0]),
    "matrix": np.matrix([[1, 2], [3, 4]]),
    "mixed": {"weights": np.ones(5), "scale": np.float32(2), "tags": collections.OrderedDict(x=1)},
    "self-reference": _recursive_list(), "shared": _shared_list(),
}
# need pickle of a class that is not a standard value
CUSTOM = {"instance": Custom(3), "namedtuple": Point(1, 2), "dict-subclass": Labels(a=1)}


def _roundtrip(value):
    def snippet(jl, folder):
        path = folder / "value.pkl"
        jl.dump(value, path)
        if jl is joblib_glib:
            return jl.load(path, allow_pickle=True)
        return jl.load(path)
    return snippet


@pytest.mark.parametrize("name", sorted(STANDARD) + sorted(CUSTOM))
def test_dump_load_keeps_types(name, tmp_path):
    value = STANDARD.get(name, CUSTOM.get(name))
    assert_same(_roundtrip(value), tmp_path)


@pytest.mark.parametrize("name", sorted(STANDARD))
def test_safe_load_rebuilds_standard_values_without_opt_in(name, tmp_path):
    value = STANDARD[name]
    joblib.dump(value, tmp_path / "theirs.pkl")
    joblib_glib.dump(value, tmp_path / "ours.job")
    same(joblib.load(tmp_path / "theirs.pkl"), joblib_glib.load(tmp_path / "ours.job"))


@pytest.mark.parametrize("name", sorted(CUSTOM))
def test_safe_load_refuses_other_types_by_name(name, tmp_path):
    # deliberate difference: joblib unpickles anything; joblib_glib names
    # the types and how to allow them
    value = CUSTOM[name]
    joblib_glib.dump({"x": value}, tmp_path / "ours.job")
    kind = type(value)
    with pytest.raises(PickleNotAllowedError) as raised:
        joblib_glib.load(tmp_path / "ours.job")
    assert f"{kind.__module__}.{kind.__qualname__}" in str(raised.value)
    assert "allow_pickle=True" in str(raised.value) and "trusted" in str(raised.value)
    back = joblib_glib.load(tmp_path / "ours.job", trusted=[f"{kind.__module__}.{kind.__qualname__}"])
    same(joblib.load(_joblib_file(tmp_path, {"x": value})), back)


def _joblib_file(tmp_path, value):
    joblib.dump(value, tmp_path / "theirs.pkl")
    return tmp_path / "theirs.pkl"


def _cached_value(value):
    def snippet(jl, folder):
        memory = jl.Memory(folder, verbose=0)
        cached = memory.cache(identity)
        first = cached(value)
        second = cached(value)
        return [first, second, cached.check_call_in_cache(value)]
    return snippet


def identity(x):
    return x


@pytest.mark.parametrize("name", sorted(set(STANDARD) - {"self-reference"}) + sorted(CUSTOM))
def test_memory_keeps_argument_and_result_types(name, tmp_path):
    value = STANDARD.get(name, CUSTOM.get(name))
    assert_same(_cached_value(value), tmp_path)


KEY_PAIRS = {
    "dict-order": ({"a": 1, "b": 2}, {"b": 2, "a": 1}),
    "int-float": (1, 1.0), "int-bool": (1, True), "float-np-float64": (1.0, np.float64(1)),
    "int-np-int64": (1, np.int64(1)), "list-tuple": ([1, 2], (1, 2)),
    "shared-copies": (_shared_list(), [[1, 2], [1, 2]]),
    "ordered-dict-order": (collections.OrderedDict(a=1, b=2), collections.OrderedDict(b=2, a=1)),
    "dict-ordered-dict": ({"a": 1}, collections.OrderedDict(a=1)),
    "set-order": ({"p", "q", "r"}, {"r", "q", "p"}), "int-enum": (2, Level.HIGH),
    "c-fortran": (np.ones((2, 3)), np.asfortranarray(np.ones((2, 3)))),
    "f8-f4": (np.ones(3), np.ones(3, dtype=np.float32)),
    "array-equal-copies": (np.arange(5.0), np.arange(5.0).copy()),
    "strided-copy": (np.arange(10.0)[::2], np.arange(10.0)[::2].copy()),
    "nested-dict-order": ({"k": {"a": 1, "b": 2}}, {"k": {"b": 2, "a": 1}}),
    "str-bytes": ("a", b"a"), "nan-nan": (float("nan"), float("nan")),
    "zero-negative-zero": (0.0, -0.0),
}


@pytest.mark.parametrize("name", sorted(KEY_PAIRS))
def test_cache_keys_equal_where_joblib_hash_is_equal(name, tmp_path):
    first, second = KEY_PAIRS[name]

    def snippet(jl, folder):
        calls = []

        def record(x):
            calls.append(1)
            return 0
        record.__module__ = __name__
        cached = jl.Memory(folder, verbose=0).cache(record)
        cached(first)
        cached(second)
        return len(calls)  # 1: the second call was a hit
    assert_same(snippet, tmp_path)
    assert (joblib_glib.hash(first) == joblib_glib.hash(second)) == \
        (joblib.hash(first) == joblib.hash(second))


@pytest.mark.parametrize("name", sorted(set(STANDARD) - {"frozenset", "set"}))
def test_hash_digests_are_joblibs(name):
    value = STANDARD[name]
    for hash_name in ("md5", "sha1"):
        assert assert_same(lambda jl, folder: jl.hash(value, hash_name=hash_name), _Tmp()) \
            is not None or name == "masked"  # masked arrays: ValueError in both


def test_hash_bad_input():
    assert_same(lambda jl, folder: jl.hash(1, hash_name="sha256"), _Tmp())
    assert_same(lambda jl, folder: jl.hash(lambda x: x), _Tmp())  # PicklingError in both


class _Tmp:
    """A tmp_path stand-in for snippets that touch no file."""

    def __truediv__(self, name):
        return self

    def mkdir(self, exist_ok=False):
        pass


SEED_SCRIPT = textwrap.dedent("""
    import sys
    import joblib_glib
    def f(x):
        f.calls += 1
        return sorted(x)
    f.calls = 0
    f.__module__ = "seed_case"
    cached = joblib_glib.Memory(sys.argv[1], verbose=0).cache(f)
    cached({"alpha", "beta", "gamma", "delta"})
    cached(frozenset({"p", "q", "r", "s"}))
    cached({"k": {"x", "y"}, "j": 1})
    import joblib
    print(f.calls, joblib_glib.hash({"alpha", "beta"}), joblib_glib.hash(frozenset({"p", "q"})),
          joblib.hash({"alpha", "beta"}))
""")


def test_keys_are_stable_across_interpreters(tmp_path):
    script = tmp_path / "seed_case.py"
    script.write_text(SEED_SCRIPT)
    outputs = []
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        done = subprocess.run([sys.executable, str(script), str(tmp_path / "cache")], env=env,
                              capture_output=True, text=True, timeout=120, check=True)
        outputs.append(done.stdout.split())
    assert outputs[0][0] == "3"  # computed in the first interpreter
    assert outputs[1][0] == "0"  # hits in the other
    assert outputs[0][1:] == outputs[1][1:]
    # joblib's digest of the set, stable too (joblib sorts sets; it does not
    # sort frozensets, whose digest changes with the seed: ours does)
    assert outputs[0][1] == outputs[0][3]


# ------------------------------------------------------------------ Memory API

def square(x):
    return x * x


def test_memory_call_returns_output_and_metadata(tmp_path):
    def snippet(jl, folder):
        cached = jl.Memory(folder, verbose=0).cache(square)
        output, metadata = cached.call(4)
        again, _ = cached.call(4)
        return [output, again, type(metadata["duration"]), metadata["input_args"],
                cached.check_call_in_cache(4)]
    assert_same(snippet, tmp_path)
    # joblib >= 1.3 adds the start time (joblib 1.2 has none)
    cached = joblib_glib.Memory(tmp_path / "t", verbose=0).cache(square)
    assert sorted(cached.call(2)[1]) == ["duration", "input_args", "time"]


def test_memory_location_type(tmp_path):
    for location in (tmp_path, str(tmp_path), None):
        assert_same(lambda jl, folder: type(jl.Memory(location, verbose=0).location), tmp_path)


def test_memory_pickles(tmp_path):
    def snippet(jl, folder):
        memory = jl.Memory(folder, verbose=0)
        again = pickle.loads(pickle.dumps(memory))
        cached = pickle.loads(pickle.dumps(memory.cache(square)))
        return [type(again).__name__, again.location == memory.location, cached(3)]
    assert_same(snippet, tmp_path)


def test_memorized_result_pickles(tmp_path):
    def snippet(jl, folder):
        cached = jl.Memory(folder, verbose=0).cache(square)
        shelved = pickle.loads(pickle.dumps(cached.call_and_shelve(5)))
        value = shelved.get()
        shelved.clear()
        try:
            shelved.get()
        except KeyError:
            return [value, "cleared"]
        return [value, "kept"]
    assert_same(snippet, tmp_path)


def test_memory_ignore(tmp_path):
    def snippet(jl, folder):
        calls = []

        def f(x, debug=False):
            calls.append(x)
            return x
        cached = jl.Memory(folder, verbose=0).cache(f, ignore=["debug"])
        return [cached(1), cached(1, debug=True), len(calls)]
    assert_same(snippet, tmp_path)


def test_memory_bad_ignore(tmp_path):
    assert_same(lambda jl, folder: jl.Memory(folder, verbose=0).cache(square, ignore=["nope"])(1),
                tmp_path)


def test_memory_unknown_store_backend(tmp_path):
    assert_same(lambda jl, folder: jl.Memory(folder, backend="nowhere"), tmp_path)


def test_memory_without_location(tmp_path):
    def snippet(jl, folder):
        cached = jl.Memory(None, verbose=0).cache(square)
        return [cached(3), cached.call_and_shelve(4).get(), cached.check_call_in_cache(3)]
    assert_same(snippet, tmp_path)


@pytest.mark.parametrize("mmap_mode", ["r", "r+", "c"])
def test_memory_mmap_modes(mmap_mode, tmp_path):
    def snippet(jl, folder):
        cached = jl.Memory(folder, verbose=0, mmap_mode=mmap_mode).cache(np.ones)
        first = cached(5000)
        second = cached(5000)
        return [type(second), second.flags.writeable, float(second.sum()), first.sum()]
    assert_same(snippet, tmp_path)


def test_memory_mmap_r_plus_writes_reach_the_cache(tmp_path):
    def snippet(jl, folder):
        cached = jl.Memory(folder, verbose=0, mmap_mode="r+").cache(np.zeros)
        cached(2000)
        hit = cached(2000)
        hit[0] = 7.0
        del hit
        return float(cached(2000)[0])
    assert_same(snippet, tmp_path)


def test_memory_unpicklable_output_warns_and_returns(tmp_path):
    # joblib 1.2 returns the value silently; joblib >= 1.3 warns (and
    # joblib_glib with it): the value comes back in both
    def snippet(jl, folder):
        cached = jl.Memory(folder, verbose=0).cache(make_lock_holder)
        return [type(cached(1)).__name__, type(cached(1)).__name__]
    assert_same(snippet, tmp_path)
    cached = joblib_glib.Memory(tmp_path / "warns", verbose=0).cache(make_lock_holder)
    with pytest.warns(UserWarning, match="pickle"):
        cached(2)


def make_lock_holder(x):
    import threading
    return {"lock": threading.Lock(), "x": x}


def test_memory_cache_validation_callback(tmp_path):
    calls = []

    def f(x):
        calls.append(x)
        return x
    cached = joblib_glib.Memory(tmp_path, verbose=0).cache(
        f, cache_validation_callback=lambda metadata: metadata["duration"] > 1e6)
    cached(1)
    cached(1)
    assert calls == [1, 1]  # never valid: always recomputed
    seen = []
    kept = joblib_glib.Memory(tmp_path / "kept", verbose=0).cache(
        f, cache_validation_callback=lambda metadata: seen.append(sorted(metadata)) or True)
    kept(2)
    kept(2)
    assert calls == [1, 1, 2] and seen == [["duration", "input_args", "time"]]
    with pytest.raises(ValueError):
        joblib_glib.Memory(tmp_path, verbose=0).cache(f, cache_validation_callback=3)


def test_memory_expires_after(tmp_path):
    calls = []

    def f(x):
        calls.append(x)
        return x
    fresh = joblib_glib.Memory(tmp_path, verbose=0).cache(
        f, cache_validation_callback=joblib_glib.expires_after(hours=1))
    fresh(1)
    fresh(1)
    assert calls == [1]
    expired = joblib_glib.Memory(tmp_path, verbose=0).cache(
        f, cache_validation_callback=joblib_glib.expires_after(microseconds=1))
    expired(1)
    assert calls == [1, 1]


def test_memory_verbose_goes_to_python_stdout(tmp_path, capsys):
    cached = joblib_glib.Memory(tmp_path, verbose=1).cache(square)
    cached(3)
    out = capsys.readouterr().out
    assert "[Memory] Calling" in out and "square(3)" in out
    quiet = joblib_glib.Memory(tmp_path / "q", verbose=1).cache(square, verbose=0)
    quiet(3)
    assert capsys.readouterr().out == ""


def test_memory_refuses_pickles_from_a_folder_others_can_write(tmp_path):
    folder = tmp_path / "shared"
    memory = joblib_glib.Memory(folder, verbose=0)
    cached = memory.cache(identity)
    cached(Custom(1))
    cached(np.float64(2))
    os.chmod(folder, 0o777)
    try:
        again = joblib_glib.Memory(folder, verbose=0).cache(identity)
        with pytest.raises(PickleNotAllowedError, match="can be written by anyone"):
            again(Custom(1))
        # standard values still load (they cannot run code)
        assert type(again(np.float64(2))) is np.float64
        trusting = joblib_glib.Memory(folder, verbose=0,
                                      backend_options={"trust_folder": True}).cache(identity)
        assert trusting(Custom(1)) == Custom(1)
    finally:
        os.chmod(folder, 0o755)
    assert again(Custom(1)) == Custom(1)
    os.chmod(folder / "joblib-glib", 0o775)
    with pytest.raises(PickleNotAllowedError, match="written by its group"):
        again(Custom(1))
    os.chmod(folder / "joblib-glib", 0o755)
    if os.geteuid() == 0:  # only root can give the folder away
        os.chown(folder, 4242, -1)
        with pytest.raises(PickleNotAllowedError, match="another user"):
            again(Custom(1))
        os.chown(folder, 0, -1)
    assert again(Custom(1)) == Custom(1)


def test_register_store_backend(tmp_path):
    class DirectoryStore(joblib_glib.StoreBackendBase, joblib_glib._store.StoreBackendMixin):
        def _open_item(self, f, mode):
            return open(f, mode)

        def _item_exists(self, location):
            return os.path.exists(location)

        def _move_item(self, src, dst):
            os.replace(src, dst)

        def create_location(self, location):
            os.makedirs(location, exist_ok=True)

        def clear_location(self, location):
            import shutil
            shutil.rmtree(location, ignore_errors=True)

        def get_items(self):
            return []

        def configure(self, location, verbose=0, backend_options=None):
            self.location = location

    joblib_glib.register_store_backend("directory-test", DirectoryStore)
    calls = []

    def f(x):
        calls.append(x)
        return {"x": np.float32(x)}
    cached = joblib_glib.Memory(tmp_path, backend="directory-test", verbose=0).cache(f)
    assert type(cached(2)["x"]) is np.float32 and type(cached(2)["x"]) is np.float32
    assert calls == [2] and cached.check_call_in_cache(2)
    for bad in ((3, DirectoryStore), ("name", object)):
        assert_same(lambda jl, folder: jl.register_store_backend(*bad), tmp_path)


# ------------------------------------------------------------------ dump/load API

def test_dump_load_bytes_io(tmp_path):
    def snippet(jl, folder):
        buffer = io.BytesIO()
        jl.dump({"a": np.arange(4), "s": np.float64(2)}, buffer)
        buffer.seek(0)
        return jl.load(buffer)
    assert_same(snippet, tmp_path)


def test_dump_load_open_file(tmp_path):
    def snippet(jl, folder):
        with open(folder / "f.bin", "wb") as file:
            jl.dump([1, "a", np.ones(3)], file)
        with open(folder / "f.bin", "rb") as file:
            return jl.load(file)
    assert_same(snippet, tmp_path)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_dump_protocol(protocol, tmp_path):
    def snippet(jl, folder):
        jl.dump({"o": collections.OrderedDict(a=np.int16(1))}, folder / "p.pkl", protocol=protocol)
        return jl.load(folder / "p.pkl")
    assert_same(snippet, tmp_path)


@pytest.mark.parametrize("compress", [True, 3, ("gzip", 5), ("bz2", 1), ("lzma", 1), ("xz", 1)])
def test_dump_compressed(compress, tmp_path):
    def snippet(jl, folder):
        jl.dump({"x": np.arange(1000), "n": np.int8(1)}, folder / "c.pkl", compress=compress)
        return jl.load(folder / "c.pkl")
    assert_same(snippet, tmp_path)


@pytest.mark.parametrize("extension", [".z", ".gz", ".bz2", ".xz", ".lzma"])
def test_dump_compression_by_extension(extension, tmp_path):
    def snippet(jl, folder):
        jl.dump([np.ones(100), Level.LOW], folder / f"e.pkl{extension}")
        return jl.load(folder / f"e.pkl{extension}")
    assert_same(snippet, tmp_path)


def test_zstd_is_ours(tmp_path):
    # deliberate difference: joblib 1.2 has no zstd, joblib_glib does
    with pytest.raises(ValueError):
        joblib.dump(1, tmp_path / "z.pkl", compress=("zstd", 3))
    joblib_glib.dump([1, np.ones(3)], tmp_path / "z.job", compress=("zstd", 3))
    same(joblib_glib.load(tmp_path / "z.job"), [1, np.ones(3)])


@pytest.mark.parametrize("bad", [10, -1, ("nope", 3), "nope"])
def test_dump_bad_compress(bad, tmp_path):
    assert_same(lambda jl, folder: jl.dump(1, folder / "b.pkl", compress=bad), tmp_path)


def test_load_missing_file(tmp_path):
    assert_same(lambda jl, folder: jl.load(folder / "missing.pkl"), tmp_path)


def test_load_directory(tmp_path):
    assert_same(lambda jl, folder: jl.load(folder), tmp_path)


def test_dump_into_directory(tmp_path):
    assert_same(lambda jl, folder: jl.dump(1, folder), tmp_path)


def test_dump_into_missing_folder(tmp_path):
    assert_same(lambda jl, folder: jl.dump(1, folder / "no" / "such.pkl"), tmp_path)


@pytest.mark.parametrize("mmap_mode", ["r", "r+", "w+", "c"])
def test_load_mmap_modes(mmap_mode, tmp_path):
    def snippet(jl, folder):
        jl.dump({"big": np.arange(5000.0), "small": np.arange(3)}, folder / "m.pkl")
        value = jl.load(folder / "m.pkl", mmap_mode=mmap_mode)
        return [type(value["big"]), value["big"].flags.writeable, type(value["small"]),
                value["big"].mode, float(value["big"][10])]
    assert_same(snippet, tmp_path)


@pytest.mark.parametrize("mmap_mode", ["r+", "w+", "c"])
def test_load_mmap_write_back(mmap_mode, tmp_path):
    def snippet(jl, folder):
        jl.dump({"big": np.zeros(5000), "small": np.zeros(3)}, folder / "w.pkl")
        value = jl.load(folder / "w.pkl", mmap_mode=mmap_mode)
        value["big"][1] = 4.0
        value["small"][2] = 5.0
        del value
        again = jl.load(folder / "w.pkl")
        return [float(again["big"][1]), float(again["small"][2])]
    assert_same(snippet, tmp_path)


@pytest.mark.parametrize("mmap_mode", ["r", "r+", "c"])
def test_load_mmap_attributes(mmap_mode, tmp_path):
    """Each array is a np.memmap over its own bytes of the file, with
    np.memmap's attributes, as joblib's are (several arrays in one file)."""
    import mmap
    import os

    def snippet(jl, folder):
        arrays = [np.arange(3000.0), np.arange(7000, dtype=np.int32).reshape(70, 100),
                  np.full(4000, 7, dtype=np.uint8)]
        path = folder / "attrs.pkl"
        jl.dump({"list": arrays[:2], "last": arrays[2]}, path)
        value = jl.load(path, mmap_mode=mmap_mode)
        loaded = value["list"] + [value["last"]]
        facts = []
        with open(path, "rb") as file:
            whole = file.read()
        for array, original in zip(loaded, arrays):
            facts.append([type(array), array.filename == os.path.abspath(path), array.mode,
                          isinstance(array.base, mmap.mmap), array.flags.writeable,
                          whole[array.offset:array.offset + array.nbytes] == original.tobytes(),
                          array.shape, array.dtype.str, bool((array == original).all())])
        return facts
    assert_same(snippet, tmp_path)


@pytest.mark.parametrize("mmap_mode", [None, "r"])
@pytest.mark.parametrize("where", ["missing", "folder"])
def test_load_missing_file_or_folder(mmap_mode, where, tmp_path):
    def snippet(jl, folder):
        path = folder / "none.pkl" if where == "missing" else folder
        try:
            jl.load(path, mmap_mode=mmap_mode)
        except OSError as error:
            return [type(error), error.errno, error.filename == str(path)]
    assert_same(snippet, tmp_path)


def test_load_bad_mmap_mode(tmp_path):
    def snippet(jl, folder):
        jl.dump(np.ones(3), folder / "x.pkl")
        return jl.load(folder / "x.pkl", mmap_mode="rw")
    theirs, ours = run_both(snippet, tmp_path)
    # joblib hands the mode to np.memmap (ValueError); so does joblib_glib
    assert theirs == ours == ("raise", ValueError)


def test_register_compressor(tmp_path):
    GzipFile = joblib.compressor.BinaryGzipFile
    for jl in MODULES:
        wrapper = joblib.compressor.CompressorWrapper(GzipFile, prefix=b"\x1f\x8b",
                                                      extension=".mygz")
        jl.register_compressor("mygz-" + jl.__name__, wrapper)
    assert_same(lambda jl, folder: jl.register_compressor(
        "mygz-" + jl.__name__, joblib.compressor.CompressorWrapper(GzipFile)), tmp_path)
    assert_same(lambda jl, folder: jl.register_compressor(3, None), tmp_path)
    assert_same(lambda jl, folder: jl.register_compressor("bad", object()), tmp_path)

    def snippet(jl, folder):
        jl.dump([np.ones(4), Color.BLUE], folder / "g.bin", compress=("mygz-" + jl.__name__, 3))
        with open(folder / "g.bin", "rb") as file:
            head = file.read(2)
        return [head, jl.load(folder / "g.bin")]
    assert_same(snippet, tmp_path)


# ------------------------------------------------------------------ workers

TRAVELLERS = sorted(set(STANDARD) - {"self-reference"}) + sorted(CUSTOM)


@pytest.mark.parametrize("backend", ["loky", "threading"])
def test_parallel_arguments_and_results_keep_types(backend, tmp_path):
    values = [STANDARD.get(name, CUSTOM.get(name)) for name in TRAVELLERS]

    def snippet(jl, folder):
        # alone, and next to an array argument (which takes the zero-copy
        # path for the whole call)
        alone = jl.Parallel(n_jobs=2, backend=backend)(jl.delayed(identity)(v) for v in values)
        paired = jl.Parallel(n_jobs=2, backend=backend)(
            jl.delayed(pair)(v, np.arange(3.0)) for v in values)
        return [alone, paired]
    assert_same(snippet, tmp_path)


def pair(value, array):
    return [value, array]


def test_cached_function_in_worker_processes_keeps_types(tmp_path):
    values = [STANDARD[name] for name in ("np-float64", "ordered-dict", "int-enum", "masked",
                                          "array-fortran", "dict-order")]

    def snippet(jl, folder):
        cached = jl.Memory(folder, verbose=0).cache(identity)
        first = jl.Parallel(n_jobs=2)(jl.delayed(cached)(v) for v in values)
        hits = [cached.check_call_in_cache(v) for v in values]
        return [first, hits, [cached(v) for v in values]]
    assert_same(snippet, tmp_path)
