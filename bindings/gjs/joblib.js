// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Promise-based helpers over the Joblib-1.0 GIR for GJS:
//
//   import {map, run} from './joblib.js';
//   const squares = await map(x => x * x, [1, 2, 3], {nJobs: 2});
//
// JS closures cannot be called from worker threads, so functions made here
// are main-thread-only: they run on the main context, one batch per main
// loop iteration, and the window stays responsive. Real parallelism for JS
// comes from process workers.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Joblib from 'gi://Joblib';

Gio._promisify(Joblib.Parallel.prototype, 'run_async', 'run_finish');
Gio._promisify(Joblib.Parallel.prototype, 'run_outcomes_async', 'run_outcomes_finish');

/** Converts a JS value to a GLib.Variant (numbers, strings, booleans,
 *  null, arrays, plain objects, and GLib.Variant as is). */
export function toVariant(value) {
    if (value instanceof GLib.Variant)
        return value;
    if (value === null || value === undefined)
        return new GLib.Variant('mv', null);
    switch (typeof value) {
    case 'boolean':
        return new GLib.Variant('b', value);
    case 'number':
        return Number.isSafeInteger(value)
            ? new GLib.Variant('x', value) : new GLib.Variant('d', value);
    case 'bigint':
        return new GLib.Variant('x', Number(value));
    case 'string':
        return new GLib.Variant('s', value);
    default:
        break;
    }
    if (value instanceof Uint8Array)
        return new GLib.Variant('ay', value);
    if (Array.isArray(value))
        return new GLib.Variant('av', value.map(toVariant));
    if (typeof value === 'object') {
        const dict = {};
        for (const [k, v] of Object.entries(value))
            dict[k] = toVariant(v);
        return new GLib.Variant('a{sv}', dict);
    }
    throw new TypeError(`cannot convert ${typeof value} to a GLib.Variant`);
}

/** Converts a GLib.Variant back to a JS value. */
export function fromVariant(variant) {
    const type = variant.get_type_string();
    if (type === 'mv') {
        const inner = variant.get_maybe();
        return inner === null ? null : fromVariant(inner);
    }
    if (type === 'v')
        return fromVariant(variant.get_variant());
    if (type === 'av')
        return variant.deepUnpack().map(fromVariant);
    if (type === 'a{sv}') {
        const out = {};
        for (const [k, v] of Object.entries(variant.deepUnpack()))
            out[k] = fromVariant(v);
        return out;
    }
    if (type === 'x' || type === 't')
        return Number(variant.deepUnpack());
    return variant.recursiveUnpack();
}

/** Wraps a JS function as a main-thread-only Joblib.Function whose
 *  arguments and result go through toVariant/fromVariant. A thrown error
 *  reaches the run as a GLib.Error with the error's name and message. */
export function jsFunction(fn, name = fn.name || 'anonymous') {
    const func = Joblib.Function.new(name, args => {
        const values = [];
        for (let i = 0; i < args.n_children(); i++)
            values.push(fromVariant(args.get_child_value(i)));
        return toVariant(fn(...values));
    });
    func.set_main_thread_only(true);
    return func;
}

function makeParallel({nJobs = 2, backend = 'threading', verbose = 0, timeout = 0,
    batchSize = 0} = {}) {
    const parallel = Joblib.Parallel.new(nJobs);
    parallel.set_backend_name(backend);
    parallel.set_verbose(verbose);
    parallel.set_timeout(timeout);
    parallel.set_batch_size(batchSize);
    return parallel;
}

/** Runs Joblib.Call objects; resolves to their GLib.Variant results. */
export function run(calls, options = {}, cancellable = null) {
    return makeParallel(options).run_async(calls, cancellable);
}

/** Calls fn on each input (an array of argument arrays, or of single
 *  arguments) through Joblib.Parallel; resolves to the JS results in input
 *  order. */
export async function map(fn, inputs, options = {}, cancellable = null) {
    const func = fn instanceof Joblib.Function ? fn : jsFunction(fn);
    const calls = inputs.map(input => {
        const args = Array.isArray(input) ? input : [input];
        return Joblib.Call.new(func, new GLib.Variant('(' + 'v'.repeat(args.length) + ')',
            args.map(a => toVariant(a))));
    });
    const results = await run(calls, options, cancellable);
    return results.map(fromVariant);
}
