// SPDX-License-Identifier: LGPL-2.1-or-later
// The promise helpers of bindings/gjs/joblib.js beyond map/run:
// typed arrays ⇄ JobArray, dump/load, and Memory through cache().
import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Joblib from 'gi://Joblib';
import System from 'system';

import {assert, rejection, runMain} from './harness.js';
import {jsonSafe} from '../../bindings/gjs/values.js';
import {argsVariant, cache, dump, fromVariant, load, ownVariant, toVariant, map}
    from '../../bindings/gjs/joblib.js';

function residentKiB() {
    const [, status] = GLib.file_get_contents('/proc/self/status');
    return Number(new TextDecoder().decode(status).match(/VmRSS:\s+(\d+) kB/)[1]);
}

/** Variants made by toVariant(), argsVariant() and ownVariant() are freed
 *  with their last JS reference, whatever the GJS version (1.69.1 to
 *  1.74.2 and 1.76.0 never freed a constructor's variant): 100 MiB of them
 *  leave the resident size where it was. */
function variantsAreFreed() {
    const before = residentKiB();
    const bytesType = new GLib.VariantType('ay');
    for (let i = 0; i < 50; i++) {
        toVariant(new Uint8Array(1 << 20).fill(i));
        argsVariant([new Float64Array(1 << 17).fill(i), 'x', {a: [1, 2]}]);
        ownVariant(GLib.Variant.new_from_bytes(bytesType, new GLib.Bytes(new Uint8Array(1 << 16)), true));
        if (i % 10 === 9)
            System.gc();
    }
    System.gc();
    const grown = residentKiB() - before;
    assert(grown < 32 * 1024, `100 MiB of variants freed (resident size grew by ${grown} KiB)`);

    let caught = null;
    try {
        ownVariant({});
    } catch (e) {
        caught = e;
    }
    assert(caught instanceof TypeError, `ownVariant() of something else: TypeError, got ${caught}`);
}

function sameTyped(a, b) {
    return a.constructor === b.constructor && a.length === b.length && a.every((v, i) => v === b[i]);
}

/** jsonSafe(): the values JSON carries as toVariant()/fromVariant() do. */
function jsonSafeValues() {
    for (const [i, value] of [0, -0, 1.5, 2 ** 60, 'a', 'é😀', '', true, false, null, [], {},
        [1, [undefined, 'x']], {a: {b: [null, 2]}}, Object.create(null)].entries())
        assert(jsonSafe(value), `JSON-safe: value ${i}`);
    const sparse = [1];
    sparse[2] = 3;
    for (const [i, value] of [undefined, NaN, Infinity, -Infinity, 10n, 'nul\0', 'lone\uD800',
        '\uDC00x', new Float64Array(2), new Uint8Array(1), new GLib.Bytes([1]),
        GLib.Variant.new_int32(1), () => 1, Symbol('s'), new Date(0), new Map(), sparse,
        {u: undefined}, {n: NaN}, [Infinity], JSON.parse('{"__proto__": 1}'),
        {'k\0': 1}].entries())
        assert(!jsonSafe(value), `not JSON-safe: value ${i}`);
}

async function main() {
    jsonSafeValues();
    const dir = GLib.dir_make_tmp('job-gjs-values-XXXXXX');
    const f64 = Float64Array.from({length: 10000}, (_, i) => Math.sin(i));
    const i32 = Int32Array.from([-5, 0, 7, 2 ** 31 - 1]);
    const u8 = Uint8Array.from([0, 1, 255]);

    // typed arrays become JobArrays of the matching numpy type
    for (const [typed, typestr] of [[f64, '<f8'], [i32, '<i4'], [u8, '|u1']]) {
        const variant = toVariant(typed);
        const array = Joblib.Array.new_from_variant(variant);
        assert(array.get_typestr() === typestr, `${typed.constructor.name} is ${typestr}`);
        assert(array.get_n_elements() === typed.length, 'element count');
        assert(sameTyped(fromVariant(variant), typed), `${typed.constructor.name} round trip`);
    }
    assert(Joblib.Array.new_from_variant(toVariant(f64)).get_double(9999) === f64[9999], 'values');

    // a JobArray made in C comes back as a typed array; n-d keeps its shape
    const matrix = Joblib.Array.new('<i4', [2, 3],
        new GLib.Bytes(new Uint8Array(Int32Array.from([1, 2, 3, 4, 5, 6]).buffer)));
    const back = fromVariant(matrix.to_variant());
    assert(back instanceof Int32Array && back[5] === 6, 'C array → Int32Array');
    assert(JSON.stringify(back.shape) === '[2,3]', `shape kept: ${back.shape}`);
    assert(JSON.stringify(Joblib.Array.new_from_variant(toVariant(back)).get_shape()) === '[2,3]',
        'shape written back');

    // dump/load: a structured value with typed arrays, each codec by extension
    const value = {label: 'from gjs', f64, i32, u8, nested: [1, 'two', {x: f64.subarray(0, 3)}]};
    for (const name of ['v.job', 'v.gz', 'v.zst', 'v.lz4', 'v.xz']) {
        const path = GLib.build_filenamev([dir, name]);
        assert(await dump(value, path) === true, `dump ${name}`);
        const loaded = await load(path);
        assert(loaded.label === 'from gjs', `${name}: label`);
        assert(sameTyped(loaded.f64, f64) && sameTyped(loaded.i32, i32) && sameTyped(loaded.u8, u8),
            `${name}: typed arrays`);
        assert(sameTyped(loaded.nested[2].x, f64.slice(0, 3)), `${name}: a subarray`);
        GLib.unlink(path);
    }
    const mapped = GLib.build_filenamev([dir, 'mapped.job']);
    await dump(f64, mapped);
    assert(sameTyped(await load(mapped, {mmap: true}), f64), 'mmap load');
    const raw = await load(mapped, {raw: true});
    assert(raw instanceof GLib.Variant && Joblib.Array.is_array_variant(raw), 'raw load');
    GLib.unlink(mapped);

    // bad input: unwritable path, not a dump, and values that do not convert
    let caught = await rejection(dump(1, '/nonexistent-dir/x.job'));
    assert(caught instanceof GLib.Error && caught.matches(Gio.io_error_quark(), Gio.IOErrorEnum.NOT_FOUND),
        `dump to a missing folder: ${caught}`);
    const bad = GLib.build_filenamev([dir, 'bad.job']);
    GLib.file_set_contents(bad, 'not a dump at all');
    caught = await rejection(load(bad));
    assert(caught instanceof GLib.Error && caught.matches(Joblib.error_quark(), Joblib.Error.INVALID_DATA),
        `load of garbage: ${caught}`);
    GLib.unlink(bad);
    caught = await rejection(dump(() => 1, GLib.build_filenamev([dir, 'fn.job'])));
    assert(caught instanceof TypeError, 'a function is not a value');
    caught = null;
    try {
        toVariant(new DataView(new ArrayBuffer(4)));
    } catch (e) {
        caught = e;
    }
    assert(caught instanceof TypeError, 'a DataView has no element type');

    // typed arrays as arguments and results of JS functions on threads
    const sums = await map(a => a.reduce((s, v) => s + v, 0), [f64, i32, u8], {nJobs: 2});
    assert(sums[1] === i32.reduce((s, v) => s + v, 0) && sums[2] === 256, 'typed arguments');

    // Memory: cache() gives an async function backed by the disk cache
    const memory = Joblib.Memory.new_for_path(GLib.build_filenamev([dir, 'cache']));
    const computed = [];
    const norm = cache(memory, (values, scale) => {
        computed.push(values.length);
        return Math.sqrt(values.reduce((s, v) => s + v * v, 0)) * scale;
    });
    const first = await norm(f64, 2);
    const second = await norm(f64, 2);
    assert(first === second && computed.length === 1, `second call from the cache (${computed})`);
    await norm(f64, 3);
    assert(computed.length === 2, 'new arguments compute');
    const entries = memory.list_entries();
    assert(entries.get_n_items() === 2, 'two cache entries');
    assert(entries.get_item(0).get_size() > 0, 'entries have a size');
    memory.clear();
    assert(memory.list_entries().get_n_items() === 0, 'cleared');

    const ignoring = cache(memory, (x, verbose) => {
        computed.push(verbose);
        return x + 1;
    }, {ignore: ['1']});
    assert(await ignoring(1, true) === 2 && await ignoring(1, false) === 2 && computed.length === 3,
        'ignored argument by position');
    memory.clear();
    memory.wait_reclaimed();

    GLib.rmdir(GLib.build_filenamev([dir, 'cache']));
    assert(GLib.rmdir(dir) === 0, 'every file removed');

    variantsAreFreed();
}

runMain(main);
