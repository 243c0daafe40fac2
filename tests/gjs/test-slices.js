// SPDX-License-Identifier: LGPL-2.1-or-later
// JS closures and gjsFunction()s run on the main context in slices: a
// timer on that context runs between every two tasks longer than a slice,
// whatever the batch size, as a window's frame clock would.
//
// No timing threshold: each task sleeps 10 ms, longer than the timer's
// 1 ms interval (so the timer is due when the task returns) and than a
// slice (so a slice holds one such task); the timer's default priority
// puts it before the next slice, whatever the machine's load.
import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Joblib from 'gi://Joblib';

import {assert, assertEqual, rejection, runMain} from './harness.js';
import {gjsFunction, jsFunction, map} from '../../bindings/gjs/joblib.js';

const N = 6;
const range = n => [...Array(n).keys()];

let ticks = 0;

/** Runs body() with a 1 ms timer on the main context; returns what it
 *  resolves to. */
async function withTimer(body) {
    const id = GLib.timeout_add(GLib.PRIORITY_DEFAULT, 1, () => {
        ticks++;
        return GLib.SOURCE_CONTINUE;
    });
    try {
        return await body();
    } finally {
        GLib.source_remove(id);
    }
}

function assertTimerBetween(seen, what) {
    assertEqual(seen.length, N, `${what}: every task ran once`);
    for (let i = 1; i < seen.length; i++)
        assert(seen[i] > seen[i - 1], `${what}: the timer ran between tasks ${i - 1} and ${i}`);
}

/** A JS closure that records the tick count and sleeps 10 ms. */
function slowClosure(seen, failAt = -1) {
    return x => {
        seen.push(ticks);
        GLib.usleep(10000);
        if (x === failAt)
            throw new RangeError(`input ${x} is out of range`);
        return x * 2;
    };
}

async function main() {
    // map() of a closure on threads, in one batch and with automatic batches
    for (const batchSize of [100, 0]) {
        const seen = [];
        const results = await withTimer(() =>
            map(slowClosure(seen), range(N), {nJobs: 2, batchSize}));
        assertEqual(results, range(N).map(x => x * 2), `batch size ${batchSize}: results`);
        assertTimerBetween(seen, `closure, batch size ${batchSize}`);
    }

    // n_jobs=1 (the sequential backend)
    {
        const seen = [];
        const results = await withTimer(() =>
            map(slowClosure(seen), range(N), {nJobs: 1, batchSize: 100}));
        assertEqual(results, range(N).map(x => x * 2), 'n_jobs=1: results');
        assertTimerBetween(seen, 'closure, n_jobs=1');
    }

    // a thrown error still ends the run, naming the task; later tasks do not run
    {
        const seen = [];
        const error = await withTimer(() => rejection(
            map(slowClosure(seen, 2), range(N), {nJobs: 2, batchSize: 100})));
        assert(error instanceof RangeError, `the closure's error class: ${error}`);
        assert(error.message.includes('task 2') && error.message.includes('input 2 is out of range'),
            `the error names the task: ${error.message}`);
        assertEqual(seen.length, 3, 'the tasks after the failed one did not run');
    }

    // a gjsFunction() on threads runs here too, in slices
    {
        const slow = await gjsFunction(GLib.build_filenamev([
            GLib.path_get_dirname(GLib.filename_from_uri(import.meta.url)[0]),
            'tasks-module.js']), 'slowDouble');
        const seen = [];
        const parallel = new Joblib.Parallel({n_jobs: 2, backend_name: 'threading',
            batch_size: 100});
        parallel.connect('result', () => {});
        const calls = range(N).map(x => Joblib.Call.new(slow,
            new GLib.Variant('(v)', [new GLib.Variant('d', x)])));
        // the tick count when each task started, from a closure in between
        const stamp = jsFunction(() => {
            seen.push(ticks);
            return 0;
        }, 'stamp');
        const interleaved = calls.flatMap(call => [Joblib.Call.new(stamp,
            new GLib.Variant('()', [])), call]);
        Gio._promisify(Joblib.Parallel.prototype, 'run_async', 'run_finish');
        const results = await withTimer(() => parallel.run_async(interleaved, null));
        assertEqual(results.filter((_v, i) => i % 2 === 1).map(v => v.recursiveUnpack()),
            range(N).map(x => x * 2), 'gjsFunction results');
        assertTimerBetween(seen, 'gjsFunction on threads');
    }
}

runMain(main);
