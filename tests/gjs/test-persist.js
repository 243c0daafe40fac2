// SPDX-License-Identifier: LGPL-2.1-or-later
// dump/load through the typelib from GJS.
imports.gi.versions.Joblib = '1.0';
const {GLib, Gio, Joblib} = imports.gi;

function assert(condition, what) {
    if (!condition)
        throw new Error(`assertion failed: ${what}`);
}

const dir = GLib.dir_make_tmp('job-gjs-XXXXXX');
const values = new Float64Array(4096).map((_, i) => i / 3);
const array = Joblib.Array.new('<f8', [64, 64], new GLib.Bytes(new Uint8Array(values.buffer)));
const value = new GLib.Variant('a{sv}', {
    label: new GLib.Variant('s', 'from gjs'),
    data: array.to_variant(),
});

for (const name of ['v.job', 'v.gz', 'v.bz2', 'v.xz', 'v.lz4', 'v.zst']) {
    const file = Gio.File.new_for_path(GLib.build_filenamev([dir, name]));
    assert(Joblib.dump(value, file, Joblib.Compression.AUTO, -1, null), `dump ${name}`);
    const loaded = Joblib.load(file, Joblib.LoadFlags.NONE, 0, null);
    assert(loaded.equal(value), `round trip ${name}`);
    const back = Joblib.Array.new_from_variant(loaded.lookup_value('data', null));
    assert(back.get_typestr() === '<f8', 'typestr');
    assert(back.get_double(4095) === values[4095], 'last element');
    file.delete(null);
}

const bad = Gio.File.new_for_path(GLib.build_filenamev([dir, 'bad.job']));
bad.replace_contents(new TextEncoder().encode('not a dump at all'), null, false, 0, null);
let caught = null;
try {
    Joblib.load(bad, Joblib.LoadFlags.NONE, 0, null);
} catch (e) {
    caught = e;
}
assert(caught !== null && caught.matches(Joblib.error_quark(), Joblib.Error.INVALID_DATA),
    'bad file raises INVALID_DATA');
bad.delete(null);
Gio.File.new_for_path(dir).delete(null);
print('ok');
