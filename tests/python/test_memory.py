# SPDX-License-Identifier: LGPL-2.1-or-later
"""JobMemory from Python through PyGObject and the Joblib-1.0 typelib."""

import json
import os

import gi
import pytest

gi.require_version('Joblib', '1.0')
from gi.repository import Gio, GLib, Joblib  # noqa: E402


@pytest.fixture
def counted():
    calls = []

    def square(args, cancellable):
        x, verbose = args.unpack()
        calls.append(x)
        return GLib.Variant('x', x * x)

    function = Joblib.Function.new('square', square)
    function.set_parameter_names(['x', 'verbose'])
    return function, calls


def test_hit_and_miss(tmp_path, counted):
    function, calls = counted
    memory = Joblib.Memory.new(Gio.File.new_for_path(str(tmp_path)))
    cached = memory.cache(function, ['verbose'])

    assert isinstance(cached, Joblib.Function)
    args = GLib.Variant('(xb)', (3, True))
    assert not cached.check_call_in_cache(args)
    assert cached.call(args, None).unpack() == 9
    assert calls == [3]
    # a hit, also when only the ignored argument differs
    assert cached.call(GLib.Variant('(xb)', (3, False)), None).unpack() == 9
    assert calls == [3]
    assert cached.check_call_in_cache(args)
    assert cached.call(GLib.Variant('(xb)', (4, False)), None).unpack() == 16
    assert calls == [3, 4]

    entries = memory.list_entries()
    assert entries.get_n_items() == 2
    hashes = {entries.get_item(i).props.args_hash for i in range(2)}
    assert cached.get_args_hash(args) in hashes

    folder = tmp_path / 'joblib-glib' / 'square'
    entry = folder / cached.get_args_hash(args).split(':')[1]
    metadata = json.loads((entry / 'metadata.json').read_text())
    assert metadata['input_args'] == {'x': 'int64 3'}  # g_variant_print, typed
    assert metadata['duration'] >= 0
    assert (folder / 'version').read_text() == '1'


def test_shelve_and_clear(tmp_path, counted):
    function, calls = counted
    memory = Joblib.Memory.new_for_path(str(tmp_path))
    cached = memory.cache(function, None)

    shelved = cached.call_and_shelve(GLib.Variant('(xb)', (5, False)), None)
    assert shelved.get().unpack() == 25
    assert calls == [5]
    memory.clear()
    with pytest.raises(GLib.Error) as info:
        shelved.get()
    assert info.value.matches(Joblib.error_quark(), Joblib.Error.NOT_FOUND)
    assert cached.call(GLib.Variant('(xb)', (5, False)), None).unpack() == 25
    assert calls == [5, 5]


def test_cached_function_in_parallel(tmp_path, counted):
    function, calls = counted
    memory = Joblib.Memory.new_for_path(str(tmp_path))
    cached = memory.cache(function, None)
    parallel = Joblib.Parallel.new(2)

    for _ in range(2):
        results = parallel.run([Joblib.Call.new(cached, GLib.Variant('(xb)', (x, False)))
                                for x in range(6)], None)
        assert [r.unpack() for r in results] == [x * x for x in range(6)]
        assert sorted(calls) == list(range(6))


def test_compression_setting_checked_when_set():
    """A codec name from a user is checked before it reaches the cache."""
    import pytest as _pytest
    from gi.repository import GLib as _GLib, Joblib as _Joblib

    ok, method, level = _Joblib.compression_parse("zstd:7")
    assert ok and method == _Joblib.Compression.ZSTD and level == 7
    with _pytest.raises(_GLib.Error) as info:
        _Joblib.compression_parse("zstandard")
    assert info.value.matches(_Joblib.error_quark(), _Joblib.Error.INVALID_ARGUMENT)
    assert "zstandard" in info.value.message
    with _pytest.raises(_GLib.Error):
        _Joblib.compression_parse("gzip:12")


def test_lookup_serialized(tmp_path, counted):
    """The read half of a call, the key given whole as bytes: a hit's
    value as its serialized bytes (or as a variant when larger than asked),
    a miss as nothing, the ignored argument left out of the key."""
    function, calls = counted
    memory = Joblib.Memory.new_for_path(str(tmp_path))
    cached = memory.cache(function, ['verbose'])
    kept = GLib.Variant('(x)', (6,))
    key = kept.get_data_as_bytes().get_data()

    assert cached.lookup_serialized('(x)', key, 64) == (b'', None, None)
    assert calls == []  # nothing computed
    value = cached.call(GLib.Variant('(xb)', (6, True)), None)
    assert calls == [6]
    data, value_type, large = cached.lookup_serialized('(x)', key, 64)
    assert (value_type, large) == ('x', None)
    assert data == value.get_data_as_bytes().get_data()
    assert GLib.Variant.new_from_bytes(GLib.VariantType(value_type), GLib.Bytes.new(data),
                                       False).unpack() == 36
    data, value_type, large = cached.lookup_serialized('(x)', key, 4)
    assert (data, value_type, large.unpack()) == (b'', 'x', 36)
    other = GLib.Variant('(x)', (7,)).get_data_as_bytes().get_data()
    assert cached.lookup_serialized('(x)', other, 64) == (b'', None, None)
    assert calls == [6]


@pytest.mark.parametrize("key_type,key", [
    ('x', b'\0' * 8),            # not a tuple
    ('r', b''),                  # not definite
    ('(x', b'\0' * 8),           # not a type string
    ('(s)', b'abc'),             # a string without its terminating zero
    ('(b)', b'\x02'),            # a boolean that is neither 0 nor 1
    ('(x)', b'\0' * 4),          # too short for its type
])
def test_lookup_serialized_bad_key(tmp_path, counted, key_type, key):
    function, calls = counted
    memory = Joblib.Memory.new_for_path(str(tmp_path))
    cached = memory.cache(function, ['verbose'])
    with pytest.raises(GLib.Error) as info:
        cached.lookup_serialized(key_type, key, 64)
    assert info.value.matches(Joblib.error_quark(), Joblib.Error.INVALID_ARGUMENT)
    assert calls == []


@pytest.mark.parametrize("key_type,values", [
    ('()', ()),
    ('(b)', (True,)),
    ('(ynqiuxtdb)', (200, -300, 60000, -70000, 4000000000, -(2 ** 62), 2 ** 63, -0.5, False)),
    ('(byhd)', (False, 7, 3, float('nan'))),
    ('(s(x))', ('key', (5,))),           # not a tuple of numbers: hashed as a variant
    ('(xay)', (1, b'\0\1')),
])
def test_lookup_serialized_finds_what_call_stored(tmp_path, key_type, values):
    """The key given whole hashes as the arguments of call() do, whatever
    their fixed-size types (read straight from the bytes) or not."""
    calls = []

    def count(args, cancellable):
        calls.append(args.get_type_string())
        return GLib.Variant('s', 'stored')

    function = Joblib.Function.new('count', count)
    memory = Joblib.Memory.new_for_path(str(tmp_path))
    cached = memory.cache(function, None)
    args = GLib.Variant(key_type, values)
    key = args.get_data_as_bytes().get_data()
    assert cached.lookup_serialized(key_type, key, 64)[1] is None
    assert cached.call(args, None).unpack() == 'stored'
    data, value_type, large = cached.lookup_serialized(key_type, key, 64)
    assert (data, value_type, large) == (b'stored\0', 's', None)
    assert calls == [key_type]


def test_call_after_lookup_serialized_miss(tmp_path, counted):
    """A call that follows a lookup_serialized miss of the same key (what
    joblib_glib does on a miss) looks again under the key's lock: a result
    another process stored in between is returned, not computed again, and
    an incomplete entry left in between is replaced whole."""
    function, calls = counted
    mine = Joblib.Memory.new_for_path(str(tmp_path)).cache(function, ['verbose'])
    other = Joblib.Memory.new_for_path(str(tmp_path)).cache(function, ['verbose'])
    key = GLib.Variant('(x)', (6,)).get_data_as_bytes().get_data()

    assert mine.lookup_serialized('(x)', key, 64)[1] is None
    assert other.call(GLib.Variant('(xb)', (6, False)), None).unpack() == 36
    assert calls == [6]
    assert mine.call(GLib.Variant('(xb)', (6, False)), None).unpack() == 36
    assert calls == [6]

    key = GLib.Variant('(x)', (7,)).get_data_as_bytes().get_data()
    assert mine.lookup_serialized('(x)', key, 64)[1] is None
    entry = tmp_path / 'joblib-glib' / 'square' / \
        mine.get_args_hash(GLib.Variant('(xb)', (7, False))).split(':')[1]
    entry.mkdir()
    (entry / 'metadata.json').write_text('{}')
    assert mine.call(GLib.Variant('(xb)', (7, False)), None).unpack() == 49
    assert calls == [6, 7]
    assert sorted(p.name for p in entry.iterdir()) == ['metadata.json', 'output']
    assert json.loads((entry / 'metadata.json').read_text())['input_args'] == {'x': 'int64 7'}
    assert mine.lookup_serialized('(x)', key, 64)[1] == 'x'


CLEAR_IN_ANOTHER_PROCESS = """
import sys
import gi
gi.require_version('Joblib', '1.0')
from gi.repository import Joblib
memory = Joblib.Memory.new_for_path(sys.argv[1])
memory.clear()
memory.wait_reclaimed()
"""


@pytest.mark.parametrize("where", ["this process", "another process"])
def test_version_file_again_after_a_clear(tmp_path, counted, where):
    """The version file is written with the first entry, and again after
    another Memory on the same folder (here or in another process) cleared
    the whole cache, however many misses came before."""
    import subprocess
    import sys

    function, calls = counted
    memory = Joblib.Memory.new_for_path(str(tmp_path))
    cached = memory.cache(function, ['verbose'])
    version = tmp_path / 'joblib-glib' / 'square' / 'version'

    for x in (2, 5, 6):
        assert cached.call(GLib.Variant('(xb)', (x, False)), None).unpack() == x * x
    assert version.read_text() == '1'
    if where == "this process":
        other = Joblib.Memory.new_for_path(str(tmp_path))
        other.clear()
        other.wait_reclaimed()
    else:
        subprocess.run([sys.executable, '-c', CLEAR_IN_ANOTHER_PROCESS, str(tmp_path)],
                       check=True, timeout=60)
    assert not version.exists()
    assert cached.call(GLib.Variant('(xb)', (3, False)), None).unpack() == 9
    assert version.read_text() == '1'
    assert cached.call(GLib.Variant('(xb)', (2, False)), None).unpack() == 4
    assert calls == [2, 5, 6, 3, 2]
