// SPDX-License-Identifier: LGPL-2.1-or-later
// The joblib tutorial on joblib-glib, in JavaScript (GJS):
//   1. serial calls, then n_jobs=2: JS closures run main-thread-only
//      (GJS cannot be called from other threads), so real parallelism for
//      JS code comes from the "processes" backend and GJS workers that
//      import tutorial-tasks.js
//   2. Memory: the second run reads every result from the disk cache
//
//   gjs -m examples/gjs/tutorial.js [--quick]
//
// The module needs bindings/gjs/joblib.js beside the source tree, and the
// uninstalled typelib on GI_TYPELIB_PATH. --quick (the test suite) uses
// short sleeps. Exits 1 if a result is wrong.
import GLib from 'gi://GLib';
import Joblib from 'gi://Joblib?version=1.0';
import System from 'system';

import {cache, gjsFunction, map} from '../../bindings/gjs/joblib.js';
import {myFunction} from './tutorial-tasks.js';

// Workers inherit the environment, not our ARGV.
if (ARGV.includes('--quick'))
    GLib.setenv('JOB_EXAMPLE_QUICK', '1', true);

async function timed(label, thunk) {
    const start = GLib.get_monotonic_time();
    const value = await thunk();
    print(`${label.padEnd(34)} ${((GLib.get_monotonic_time() - start) / 1e6).toFixed(2)} s`);
    return value;
}

async function main() {
    const myArgs = [...Array(10).keys()];
    const same = a => JSON.stringify(a) === JSON.stringify(myArgs);

    // 1. Serial, then two workers.
    const serial = await timed('serial', () => myArgs.map(myFunction));
    const threads = await timed('n_jobs=2, threading (main thread)',
        () => map(myFunction, myArgs, {nJobs: 2, backend: 'threading'}));
    const tasks = GLib.build_filenamev([GLib.path_get_dirname(
        GLib.filename_from_uri(import.meta.url)[0]), 'tutorial-tasks.js']);
    const remote = await gjsFunction(tasks, 'myFunction');
    const processes = await timed('n_jobs=2, processes (GJS workers)',
        () => map(remote, myArgs, {nJobs: 2, backend: 'processes'}));
    if (!same(serial) || !same(threads) || !same(processes))
        return 1;

    // 2. Memory: computed once, then read back from the cache.
    const location = GLib.dir_make_tmp('joblib-gjs-XXXXXX');
    const memory = Joblib.Memory.new_for_path(location);
    const myFunctionCached = cache(memory, myFunction);
    const first = await timed('cached, first run',
        () => Promise.all(myArgs.map(a => myFunctionCached(a))));
    const second = await timed('cached, second run',
        () => Promise.all(myArgs.map(a => myFunctionCached(a))));
    const entries = memory.list_entries().get_n_items();
    memory.clear();
    memory.wait_reclaimed();  // the files go on a background thread
    GLib.rmdir(location);
    if (!same(first) || !same(second) || entries !== myArgs.length)
        return 1;
    return 0;
}

// No top-level await: promise jobs would never run inside the main loop.
const loop = new GLib.MainLoop(null, false);
let status = 1;
main().then(s => {
    status = s;
}).catch(e => {
    logError(e);
}).finally(() => loop.quit());
loop.run();
System.exit(status);
