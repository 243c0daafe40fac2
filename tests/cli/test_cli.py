# SPDX-License-Identifier: LGPL-2.1-or-later
"""The joblib-glib command-line tool: every subcommand, its --help, bad
input and exit codes (0 ok, 1 failure, 2 usage, 3 invalid data)."""
import os
import pty
import subprocess
import time

import gi
import numpy as np
import pytest

gi.require_version('Joblib', '1.0')
from gi.repository import Gio, GLib, Joblib  # noqa: E402

CLI = os.environ['JOB_CLI']


def run(*args, env=None):
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True,
                          env=full_env, timeout=60)


def to_joblib(a):
    return Joblib.Array.new(a.dtype.str, list(a.shape), GLib.Bytes.new(a.tobytes())).to_variant()


def to_numpy(variant):
    array = Joblib.Array.new_from_variant(variant)
    return np.frombuffer(array.get_data().get_data(),
                         dtype=array.get_typestr()).reshape(array.get_shape())


def dump(value, path):
    assert Joblib.dump(value, Gio.File.new_for_path(str(path)), Joblib.Compression.NONE,
                       Joblib.COMPRESSION_DEFAULT_LEVEL, None)


def load(path):
    return Joblib.load(Gio.File.new_for_path(str(path)), Joblib.LoadFlags.NONE, 0, None)


def square(args, cancellable):
    x, = args.unpack()
    return GLib.Variant('x', x * x)


@pytest.fixture
def cache(tmp_path):
    memory = Joblib.Memory.new_for_path(str(tmp_path / 'cache'))
    sq = memory.cache(Joblib.Function.new('square', square), None)
    cube = memory.cache(Joblib.Function.new(
        'cube', lambda args, c: GLib.Variant('x', args.unpack()[0] ** 3)), None)
    for i in range(5):
        sq.call(GLib.Variant('(x)', (i,)), None)
    for i in range(3):
        cube.call(GLib.Variant('(x)', (i,)), None)
    return tmp_path / 'cache'


def entry_dirs(cache):
    root = cache / 'joblib-glib'
    if not root.is_dir():
        return []
    return sorted(p for f in root.iterdir() if f.is_dir()
                  for p in f.iterdir() if p.is_dir() and (p / 'output').exists())


@pytest.fixture
def data_file(tmp_path):
    path = tmp_path / 'data.jgl'
    dump(GLib.Variant('a{sv}', {
        'w': to_joblib(np.arange(3000.0).reshape(1000, 3)),
        'labels': to_joblib(np.arange(5000, dtype='<i4')),
        'n': GLib.Variant('x', 3)}), path)
    return path


def test_help_of_every_command():
    for args in (['--help'], ['help'], ['cache', '--help'], ['cache', 'ls', '--help'],
                 ['cache', 'du', '--help'], ['cache', 'show', '--help'],
                 ['cache', 'clear', '--help'], ['cache', 'reduce', '--help'],
                 ['info', '--help'], ['convert', '--help'], ['help', 'convert'],
                 ['help', 'cache', 'reduce']):
        r = run(*args)
        assert r.returncode == 0, (args, r.stderr)
        assert 'Usage' in r.stdout, args
    assert 'Exit status' in run('--help').stdout
    assert '--bytes-limit=SIZE' in run('cache', 'reduce', '--help').stdout
    assert '--compress=NAME[:LEVEL]' in run('convert', '--help').stdout
    assert 'joblib-glib cache reduce' in run('help', 'cache', 'reduce').stdout


def test_usage_errors():
    assert run().returncode == 2
    r = run('frobnicate')
    assert r.returncode == 2 and 'frobnicate' in r.stderr
    r = run('cache', 'frob', 'x')
    assert r.returncode == 2 and 'frob' in r.stderr
    assert run('cache', 'ls').returncode == 2
    assert run('cache', 'ls', 'a', 'b').returncode == 2
    r = run('info', '--bogus', 'x')
    assert r.returncode == 2 and 'bogus' in r.stderr


def test_ls_du_show(cache):
    r = run('cache', 'ls', cache)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:2] == ['FUNCTION', 'HASH']
    names = [line.split()[0] for line in lines[1:]]
    assert names == ['cube'] * 3 + ['square'] * 5

    r = run('cache', 'du', cache)
    assert r.returncode == 0
    rows = r.stdout.splitlines()
    assert '3 entries' in rows[0] and 'cube' in rows[0]
    assert '5 entries' in rows[1] and 'square' in rows[1]
    assert 'total, 8 entries' in rows[2]

    entry = entry_dirs(cache)[-1]
    function, digest = entry.parent.name, entry.name.split(':')[-1]
    r = run('cache', 'show', cache, f'{function}/{digest[:10]}')
    assert r.returncode == 0, r.stderr
    assert f'Function:     {function}' in r.stdout
    assert digest in r.stdout
    assert 'Arguments:' in r.stdout

    r = run('cache', 'show', cache, 'square/')
    assert r.returncode == 2 and 'matches 5 entries' in r.stderr
    r = run('cache', 'show', cache, 'nosuchfunction/00')
    assert r.returncode == 1 and 'no entry' in r.stderr


def test_missing_cache(tmp_path):
    for sub in ('ls', 'du', 'clear'):
        r = run('cache', sub, tmp_path / 'nothere')
        assert r.returncode == 1, sub
        assert 'No joblib-glib cache' in r.stderr
    r = run('cache', 'reduce', '--items-limit=1', tmp_path / 'nothere')
    assert r.returncode == 1


def test_clear(cache):
    assert len(entry_dirs(cache)) == 8
    r = run('cache', 'clear', cache)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == 'Removed 8 entries'
    assert entry_dirs(cache) == []
    assert run('cache', 'ls', cache).stdout.splitlines()[1:] == []


def test_reduce_items_bytes_age(cache):
    # Oldest first: give the entries increasing access times (kept in the
    # entry folder's mtime).
    entries = entry_dirs(cache)
    now = time.time()
    for age, entry in enumerate(reversed(entries)):
        os.utime(entry, (now - 3600 * 24 * age, now - 3600 * 24 * age))
    r = run('cache', 'reduce', '--age-limit=84h', cache)
    assert r.returncode == 0, r.stderr
    left = entry_dirs(cache)
    assert left == sorted(list(reversed(entries))[:4])
    assert r.stdout.strip() == 'Removed 4 entries'

    r = run('cache', 'reduce', '--items-limit', '2', cache)
    assert r.returncode == 0 and r.stdout.strip() == 'Removed 2 entries'
    assert entry_dirs(cache) == sorted(list(reversed(entries))[:2])

    one = sum(f.stat().st_size for f in entry_dirs(cache)[0].rglob('*') if f.is_file())
    r = run('cache', 'reduce', f'--bytes-limit={one + one // 2}', cache)
    assert r.returncode == 0 and r.stdout.strip() == 'Removed 1 entry'
    assert entry_dirs(cache) == [list(reversed(entries))[0]]


@pytest.mark.parametrize('args', [
    [], ['--bytes-limit=abc'], ['--bytes-limit=10X'], ['--items-limit=-1'],
    ['--items-limit=1.5'], ['--age-limit=3y'], ['--bytes-limit=0'], ['--age-limit=0'],
])
def test_reduce_bad_values(cache, args):
    r = run('cache', 'reduce', *args, cache)
    assert r.returncode == 2, (args, r.stdout)
    assert r.stderr.startswith('joblib-glib: ')
    assert len(entry_dirs(cache)) == 8


def test_info(data_file):
    r = run('info', data_file)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert 'Compression:     none' in out
    assert 'Format version:  1' in out
    assert 'Value type:      a{sv}' in out
    assert "['w']" in out and '<f8' in out and '(1000, 3)' in out and '23.4\xa0KiB' in out
    assert "['labels']" in out and '<i4' in out and '(5000,)' in out
    assert 'Array data:      2 arrays' in out
    assert 'Checksums:       verified' in out


def test_info_bad_input(tmp_path, data_file):
    r = run('info', tmp_path / 'missing.jgl')
    assert r.returncode == 1 and 'missing.jgl' in r.stderr
    assert run('info').returncode == 2
    assert run('info', data_file, data_file).returncode == 2

    truncated = tmp_path / 'truncated.jgl'
    truncated.write_bytes(data_file.read_bytes()[:5000])
    r = run('info', truncated)
    assert r.returncode == 3 and 'truncated' in r.stderr

    flipped = bytearray(data_file.read_bytes())
    flipped[-100] ^= 0xff            # inside the last array
    corrupt = tmp_path / 'corrupt.jgl'
    corrupt.write_bytes(bytes(flipped))
    r = run('info', corrupt)
    assert r.returncode == 3 and 'checksum' in r.stderr

    text = tmp_path / 'text.txt'
    text.write_text('hello, this is not a dump at all\n' * 4)
    r = run('info', text)
    assert r.returncode == 3 and 'Not a joblib-glib or joblib file' in r.stderr


def test_convert(tmp_path, data_file):
    out = tmp_path / 'out.bin'
    r = run('convert', data_file, out, '--compress=zstd:3')
    assert r.returncode == 0, r.stderr
    assert out.read_bytes()[:4] == b'\x28\xb5\x2f\xfd'      # zstd frame magic
    assert '(zstd,' in r.stdout
    back = load(out)
    assert np.array_equal(to_numpy(back.lookup_value('w', None)),
                          np.arange(3000.0).reshape(1000, 3))
    assert back.lookup_value('n', None).get_int64() == 3
    assert 'Compression:     zstd' in run('info', out).stdout

    # No --compress: from OUT's extension; converting in place works.
    gz = tmp_path / 'out.gz'
    assert run('convert', out, gz).returncode == 0
    assert gz.read_bytes()[:2] == b'\x1f\x8b'
    assert run('convert', gz, gz, '--compress=none').returncode == 0
    assert gz.read_bytes()[:8] == data_file.read_bytes()[:8]


def test_convert_bad_input(tmp_path, data_file):
    out = tmp_path / 'out.bin'
    for bad in ('--compress=zip', '--compress=zstd:99', '--compress=zstd:x',
                '--compress=none:3'):
        r = run('convert', data_file, out, bad)
        assert r.returncode == 2, bad
        assert r.stderr.startswith('joblib-glib: ')
    assert not out.exists()
    assert run('convert', data_file).returncode == 2
    assert run('convert', tmp_path / 'missing', out).returncode == 1
    truncated = tmp_path / 'truncated.jgl'
    truncated.write_bytes(data_file.read_bytes()[:5000])
    assert run('convert', truncated, out, '--compress=zlib').returncode == 3
    assert not out.exists()
    r = run('convert', data_file, tmp_path / 'no' / 'such' / 'dir.jgl')
    assert r.returncode == 1


def test_progress_only_on_a_terminal(tmp_path, data_file):
    big = tmp_path / 'big.jgl'
    dump(to_joblib(np.zeros(4_000_000)), big)
    # Not a terminal: no progress line.
    r = run('convert', big, tmp_path / 'a.jgl', '--compress=lz4')
    assert '\r' not in r.stdout and 'Reading' not in r.stdout

    leader, follower = pty.openpty()
    proc = subprocess.Popen([CLI, 'convert', str(big), str(tmp_path / 'b.jgl'),
                             '--compress=lz4'], stdout=follower, stderr=subprocess.PIPE)
    os.close(follower)
    output = b''
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    assert proc.wait(timeout=60) == 0
    os.close(leader)
    text = output.decode()
    assert '\rReading ' in text and '%' in text
    assert '(lz4,' in text


def test_french_messages(tmp_path):
    env = {'LANGUAGE': 'fr', 'LC_ALL': 'C.UTF-8'}
    text = tmp_path / 'text.txt'
    text.write_text('hello, this is not a dump at all\n' * 4)
    r = run('info', text, env=env)
    assert r.returncode == 3
    # The library's message, from its own catalog.
    assert 'Pas un fichier joblib-glib ni joblib' in r.stderr, r.stderr
    r = run('cache', 'reduce', tmp_path, env=env)
    assert r.returncode == 2
    assert 'Indiquez --bytes-limit' in r.stderr, r.stderr
    assert 'Code de sortie' in run('--help', env=env).stdout


def test_german_messages(tmp_path):
    r = run('info', tmp_path / 'missing.jgl', env={'LANGUAGE': 'de', 'LC_ALL': 'C.UTF-8'})
    assert r.returncode == 1
    r = run('frob', env={'LANGUAGE': 'de', 'LC_ALL': 'C.UTF-8'})
    assert 'unbekannter Befehl' in r.stderr, r.stderr
