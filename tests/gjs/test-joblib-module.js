// SPDX-License-Identifier: LGPL-2.1-or-later
// The promise helpers of bindings/gjs/joblib.js on the uninstalled library.
// No top-level await here: a module still evaluating cannot run the
// promise jobs that loop.run() below waits for.
import GLib from 'gi://GLib';
import Joblib from 'gi://Joblib';
import System from 'system';

import {map, toVariant, fromVariant, jsFunction, run} from '../../bindings/gjs/joblib.js';

async function rejection(promise) {
    try {
        await promise;
    } catch (e) {
        return e;
    }
    return null;
}

function assertEqual(actual, expected, what) {
    const a = JSON.stringify(actual), e = JSON.stringify(expected);
    if (a !== e)
        throw new Error(`${what}: expected ${e}, got ${a}`);
}

async function main() {
    // values round-trip
    for (const v of [null, true, 42, 2.5, 'text', [1, 'two', [3.5]], {a: 1, b: [null]}])
        assertEqual(fromVariant(toVariant(v)), v, 'round trip');

    // map: ordered results, JS closure run on the main thread only
    const mainThread = [];
    const squares = await map(x => {
        mainThread.push(GLib.main_context_default().is_owner());
        return x * x;
    }, [...Array(50).keys()], {nJobs: 2});
    assertEqual(squares, [...Array(50).keys()].map(x => x * x), 'squares');
    assertEqual(mainThread.every(x => x), true, 'ran on the main context');

    // several arguments per call
    assertEqual(await map((a, b) => `${a}-${b}`, [[1, 'x'], [2, 'y']]), ['1-x', '2-y'], 'two args');

    // a thrown JS error arrives as a GLib.Error naming the task
    let caught = null;
    try {
        await map(x => {
            if (x === 3)
                throw new RangeError('three is out of range');
            return x;
        }, [0, 1, 2, 3, 4], {nJobs: 2});
    } catch (e) {
        caught = e;
    }
    // GJS carries a thrown error as a GError of its own domain and turns it
    // back into the JS error class on the way out.
    if (!(caught instanceof RangeError))
        throw new Error(`expected the RangeError back, got ${caught}`);
    if (!caught.message.includes('task 3 (anonymous)') ||
        !caught.message.includes('three is out of range'))
        throw new Error(`unexpected message: ${caught.message}`);

    // lazy inputs: any iterable, read as workers free up
    function* inputs(n, error = null) {
        for (let i = 0; i < n; i++)
            yield i;
        if (error)
            throw error;
    }
    assertEqual(await map(x => x + 1, inputs(30), {nJobs: 2, batchSize: 1}),
        [...Array(30).keys()].map(x => x + 1), 'lazy map');
    assertEqual(await map(x => x, inputs(0)), [], 'empty lazy map');
    const square = jsFunction(x => x * x);
    const callsOf = function* (n) {
        for (let i = 0; i < n; i++)
            yield Joblib.Call.new(square, new GLib.Variant('(v)', [toVariant(i)]));
    };
    assertEqual((await run(callsOf(5), {nJobs: 2})).map(fromVariant), [0, 1, 4, 9, 16], 'lazy run');

    // an iterable that throws rejects with that same error object, never
    // with a shorter list, before or after the first batches ran
    for (const n of [0, 1, 12]) {
        for (const backend of ['threading', 'sequential']) {
            const error = new RangeError(`row ${n} is unreadable`);
            caught = await rejection(map(x => x, inputs(n, error), {nJobs: 2, backend}));
            if (caught !== error)
                throw new Error(`map: expected the input's own error back, got ${caught}`);
            caught = await rejection(run((function* () {
                yield* callsOf(n);
                throw error;
            })(), {nJobs: 2, backend}));
            if (caught !== error)
                throw new Error(`run: expected the input's own error back, got ${caught}`);
        }
    }

    // bad input: not an iterable, a string, an item that is not a call
    for (const bad of [42, null, 'abc', {length: 2}]) {
        caught = await rejection(map(x => x, bad));
        if (!(caught instanceof TypeError) || !caught.message.startsWith('map: inputs must be'))
            throw new Error(`map(${bad}): expected a TypeError, got ${caught}`);
        caught = await rejection(run(bad));
        if (!(caught instanceof TypeError) || !caught.message.startsWith('run: calls must be'))
            throw new Error(`run(${bad}): expected a TypeError, got ${caught}`);
    }
    caught = await rejection(map(42, [1]));
    if (!(caught instanceof TypeError) || !caught.message.startsWith('map: fn must be'))
        throw new Error(`map(42, …): expected a TypeError, got ${caught}`);
    caught = await rejection(run((function* () {
        yield* callsOf(2);
        yield 'not a call';
    })()));
    if (!(caught instanceof TypeError) || caught.message !== 'run: input 2 is not a Joblib.Call but string')
        throw new Error(`expected a TypeError for the bad item, got ${caught}`);

    // n_jobs = 0 is an error in the Joblib domain
    caught = null;
    try {
        await run([Joblib.Call.new(jsFunction(x => x), new GLib.Variant('(v)', [toVariant(1)]))],
            {nJobs: 0});
    } catch (e) {
        caught = e;
    }
    if (!(caught instanceof GLib.Error) || !caught.matches(Joblib.error_quark(), Joblib.Error.INVALID_ARGUMENT))
        throw new Error(`expected INVALID_ARGUMENT, got ${caught}`);
}

const loop = new GLib.MainLoop(null, false);
let failure = null;
main().catch(e => {
    failure = e;
}).finally(() => loop.quit());
loop.run();
if (failure) {
    printerr(`FAIL: ${failure}\n${failure.stack ?? ''}`);
    System.exit(1);
}
print('ok');
