// SPDX-License-Identifier: LGPL-2.1-or-later
// JobParallel from GJS: JS closures are main-thread-only, so they run on
// the owner's context even when the backend has worker threads.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Joblib from 'gi://Joblib?version=1.0';
import System from 'system';

Gio._promisify(Joblib.Parallel.prototype, 'run_async', 'run_finish');

let failures = 0;
function check(condition, what) {
    if (condition) {
        print(`ok - ${what}`);
    } else {
        failures++;
        print(`not ok - ${what}`);
    }
}

function sameArray(a, b) {
    return a.length === b.length && a.every((x, i) => x === b[i]);
}

function makeCalls(fn, values) {
    return values.map(v => Joblib.Call.new(fn, new GLib.Variant('(i)', [v])));
}

const range = n => [...Array(n).keys()];

const seen = [];
const square = Joblib.Function.new('square', args => {
    const [x] = args.deepUnpack();
    seen.push(x);
    return new GLib.Variant('i', x * x);
});
square.set_main_thread_only(true);

function testSyncOrdered() {
    const parallel = new Joblib.Parallel({n_jobs: 2, backend_name: 'threading', batch_size: 3});
    seen.length = 0;
    const results = parallel.run(makeCalls(square, range(20)), null);
    check(sameArray(results.map(v => v.deepUnpack()), range(20).map(x => x * x)),
        'main-thread-only JS function gives ordered results with n_jobs=2');
    check(seen.length === 20 && new Set(seen).size === 20, 'every call ran exactly once');
    check(square.get_main_thread_only(), 'the function stays main-thread-only');
}

async function testAsyncPromise() {
    const parallel = new Joblib.Parallel({n_jobs: 2, backend_name: 'threading'});
    const progress = [];
    const streamed = new Map();
    parallel.connect('progress', (_p, done, total) => progress.push([done, total]));
    parallel.connect('result', (_p, index, value) => streamed.set(index, value.deepUnpack()));

    const results = await parallel.run_async(makeCalls(square, range(50)), null);
    check(sameArray(results.map(v => v.deepUnpack()), range(50).map(x => x * x)),
        'run_async resolves with the results in input order');
    check(streamed.size === 50 && streamed.get(49) === 49 * 49, 'one result signal per task');
    const last = progress[progress.length - 1];
    check(last !== undefined && last[0] === 50 && last[1] === 50, 'progress reaches 50 of 50');
}

async function testThrownErrors() {
    const parallel = new Joblib.Parallel({n_jobs: 2, backend_name: 'threading'});

    const throwsGError = Joblib.Function.new('throws_gerror', args => {
        const [x] = args.deepUnpack();
        if (x === 4)
            throw new GLib.Error(Gio.IOErrorEnum, Gio.IOErrorEnum.NOT_FOUND, 'four is missing');
        return new GLib.Variant('i', x);
    });
    throwsGError.set_main_thread_only(true);

    try {
        await parallel.run_async(makeCalls(throwsGError, range(8)), null);
        check(false, 'a thrown GLib.Error fails the run');
    } catch (e) {
        check(e instanceof GLib.Error, 'a thrown GLib.Error arrives as a GLib.Error');
        check(e.matches(Gio.IOErrorEnum, Gio.IOErrorEnum.NOT_FOUND), 'with its domain and code');
        check(e.message.includes('task 4 (throws_gerror)') && e.message.includes('four is missing'),
            `naming the task and function: ${e.message}`);
    }

    const throwsJs = Joblib.Function.new('throws_js', args => {
        const [x] = args.deepUnpack();
        if (x === 2)
            throw new TypeError('two is not welcome');
        return new GLib.Variant('i', x);
    });
    throwsJs.set_main_thread_only(true);

    try {
        await parallel.run_async(makeCalls(throwsJs, range(5)), null);
        check(false, 'a thrown JS error fails the run');
    } catch (e) {
        // The error crosses the C run as a GError of GJS's gjs-js-error
        // domain (the library prefixes the task); GJS turns that domain
        // back into the JS error class when it reaches JS again.
        check(e instanceof TypeError, `a thrown JS error comes back as its class: ${e}`);
        check(e.message.includes('task 2 (throws_js)') && e.message.includes('two is not welcome'),
            `through the run's GError, prefixed with the task: ${e.message}`);
    }

    try {
        parallel.n_jobs = 0;
        await parallel.run_async(makeCalls(square, range(2)), null);
        check(false, 'n_jobs = 0 fails');
    } catch (e) {
        check(e.matches(Joblib.Error, Joblib.Error.INVALID_ARGUMENT), 'n_jobs = 0 is INVALID_ARGUMENT');
    }
}

// run_iterate: [true, call], [true, null] at the end; a throw, [false,
// null] or a value that is not such a pair fails the run, never ends it.
function testIterateInput() {
    const square = Joblib.Function.new('square', args => {
        const [x] = args.deepUnpack();
        return new GLib.Variant('i', x * x);
    });
    square.set_main_thread_only(true);
    const parallel = Joblib.Parallel.new(2);
    const iterateOver = (n, failAt = -1, failure = null) => {
        let next = 0;
        return () => {
            const x = next++;
            if (x === failAt)
                return failure();
            if (x >= n)
                return [true, null];
            return [true, Joblib.Call.new(square, new GLib.Variant('(i)', [x]))];
        };
    };
    const results = parallel.run_iterate(iterateOver(6), null);
    check(JSON.stringify(results.map(v => v.unpack())) === '[0,1,4,9,16,25]', 'run_iterate to the end');

    const failures = [
        [() => { throw new RangeError('row 3 is broken'); }, e => e instanceof RangeError &&
            e.message === 'The input of the parallel run failed: row 3 is broken'],
        [() => [false, null], e => e.matches(Joblib.Error, Joblib.Error.FAILED) &&
            e.message.includes('without an error')],
        [() => undefined, e => e.message.includes('expecting an Array')],
        [() => [true, 42], e => e.message.includes("Argument 'call'")],
    ];
    for (const [failure, expected] of failures) {
        try {
            parallel.run_iterate(iterateOver(6, 3, failure), null);
            check(false, `run_iterate with ${failure} fails`);
        } catch (e) {
            check(expected(e), `run_iterate with ${failure} fails: ${e}`);
        }
    }
}

const loop = new GLib.MainLoop(null, false);
let crashed = null;
(async () => {
    try {
        testSyncOrdered();
        testIterateInput();
        await testAsyncPromise();
        await testThrownErrors();
    } catch (e) {
        crashed = e;
    } finally {
        loop.quit();
    }
})();
loop.run();

if (crashed !== null) {
    printerr(`unexpected exception: ${crashed}\n${crashed.stack}`);
    System.exit(1);
}
print(`1..${failures === 0 ? 'passed' : 'failed'}`);
System.exit(failures === 0 ? 0 : 1);
