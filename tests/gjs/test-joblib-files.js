// SPDX-License-Identifier: LGPL-2.1-or-later
// Files written by Python's joblib.dump (tests/data/joblib-files) opened
// from GJS with Joblib.load, every codec; see docs/joblib-files.md for the
// mapping of Python values to GVariant.
imports.gi.versions.Joblib = '1.0';
const {GLib, Gio, Joblib} = imports.gi;

function assert(condition, what) {
    if (!condition)
        throw new Error(`assertion failed: ${what}`);
}

const root = GLib.getenv('JOB_SOURCE_ROOT');
const dataFile = name => Gio.File.new_for_path(
    GLib.build_filenamev([root, 'tests', 'data', 'joblib-files', name]));

// ("tag", <payload>) -> payload
function tagged(value, tag) {
    assert(value.get_type_string() === '(sv)', `${tag} is tagged`);
    const [found, payload] = value.deepUnpack();
    assert(found === tag, `tag ${found} is ${tag}`);
    return payload;
}

function checkMixed(value, name) {
    const get = key => value.lookup_value(key, null);
    // not the whole value: int64 members beyond 2**53 would only warn
    const plain = key => get(key).recursiveUnpack();

    assert(plain('int') === 1 && plain('negative') === -5, `${name}: ints`);
    assert(get('int64').print(true) === 'int64 4611686018427387904', `${name}: int64`);
    assert(plain('float') === 1.5, `${name}: float`);
    assert(plain('str') === 'h\u00e9llo \u2603', `${name}: str`);
    assert(plain('true') === true && plain('false') === false, `${name}: bools`);
    assert(get('none').get_type_string() === 'mv' && get('none').get_maybe() === null,
        `${name}: None is an empty maybe`);
    assert(JSON.stringify(plain('list')) === '[1,[2,3],{}]', `${name}: list`);
    assert(JSON.stringify(plain('tuple')) === '[1,"a",[2]]', `${name}: tuple`);
    assert(tagged(get('bigint'), 'bigint').unpack() === '1180591620717411303424',
        `${name}: big int as decimal text`);
    assert(JSON.stringify(tagged(get('set'), 'set').recursiveUnpack()) === '[1,2,3]',
        `${name}: set`);
    const odict = tagged(get('odict'), 'collections.OrderedDict');
    assert(JSON.stringify(odict.recursiveUnpack()) === '{"b":1,"a":2}', `${name}: OrderedDict`);
    const pairs = tagged(get('intkeys'), 'dict').recursiveUnpack();
    assert(JSON.stringify(pairs) === '[[1,"one"],[[2,3],"pair"],[null,"none"]]',
        `${name}: non-string keys as pairs`);

    // numeric C-order arrays are JobArrays
    const f8 = Joblib.Array.new_from_variant(get('f8'));
    assert(f8.get_typestr() === '<f8' && f8.get_n_dims() === 2, `${name}: f8 array`);
    assert(f8.get_double(5) === 5, `${name}: f8 last element`);
    const big = Joblib.Array.new_from_variant(get('big_endian'));
    assert(big.get_int64(3) === 3, `${name}: big-endian array in machine order`);

    // others are ("numpy.ndarray", {dtype, shape, order, data|items})
    const fortran = tagged(get('f4_fortran'), 'numpy.ndarray').recursiveUnpack();
    assert(fortran.dtype === '<f4' && fortran.order === 'F', `${name}: Fortran array`);
    assert(JSON.stringify(fortran.shape) === '[3,4]', `${name}: Fortran shape`);
    const floats = new Float32Array(fortran.data.buffer, fortran.data.byteOffset, 12);
    assert(floats[1] === 4 && floats[3] === 1, `${name}: Fortran memory order`);
    const objects = tagged(get('object_array'), 'numpy.ndarray').recursiveUnpack();
    assert(JSON.stringify(objects.items) === '["a",1,null]', `${name}: object array items`);
    const scalar = tagged(get('scalar_f8'), 'numpy.scalar');
    assert(Joblib.Array.new_from_variant(scalar).get_double(0) === 2.5, `${name}: scalar`);
}

for (const name of ['mixed.pkl', 'mixed.pkl.z', 'mixed.pkl.gz', 'mixed.pkl.bz2',
    'mixed.pkl.lzma', 'mixed.pkl.xz', 'mixed.pkl.lz4', 'mixed-p2.pkl', 'mixed-p5.pkl']) {
    const file = dataFile(name);
    assert(Joblib.file_format_detect(file, null) === Joblib.FileFormat.JOBLIB, `${name}: detected`);
    checkMixed(Joblib.load(file, Joblib.LoadFlags.NONE, 0, null), name);
}
checkMixed(Joblib.load(dataFile('mixed.pkl'), Joblib.LoadFlags.MMAP, 0, null), 'mapped');

let caught = null;
try {
    Joblib.load(dataFile('unsupported.pkl'), Joblib.LoadFlags.NONE, 0, null);
} catch (e) {
    caught = e;
}
assert(caught !== null && caught.matches(Joblib.error_quark(), Joblib.Error.UNSUPPORTED) &&
    caught.message.includes('pathlib.PurePosixPath'), 'a class outside the allow-list is refused');
print('ok');
