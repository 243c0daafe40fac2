// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Per-task cost of map() from GJS: N trivial tasks (x + 1) of a
// gjsFunction on the "processes" backend (GJS worker processes) and on
// "threading" (main-thread-only: it runs on the caller's context), and a
// JS closure on "threading", n_jobs=2, automatic batch size; medians in
// µs per task, and the CPU time of this process and of its workers over
// the timed runs (from /proc: less sensitive to a busy machine). There is no joblib for GJS: compare with the native rows of
// process-overhead and parallel-overhead.
//
//   gjs -m benchmarks/gjs-tasks.js [N] [REPEAT]
//
// From the build tree: GI_TYPELIB_PATH, LD_LIBRARY_PATH and
// JOB_GJS_WORKER_PATH as tests/meson.build sets them.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Joblib from 'gi://Joblib';
import System from 'system';

import {gjsFunction, map} from '../bindings/gjs/joblib.js';

const [nText = '10000', repeatText = '5'] = ARGV;
const n = Number(nText);
const repeat = Number(repeatText);
if (!(n > 0) || !(repeat > 0)) {
    printerr('usage: gjs -m gjs-tasks.js [N] [REPEAT]');
    System.exit(2);
}

function loadAverage() {
    const [, bytes] = GLib.file_get_contents('/proc/loadavg');
    return new TextDecoder().decode(bytes).split(' ').slice(0, 3).join(' ');
}

// CPU seconds (user + system) of a process, from /proc (clock ticks of
// 1/100 s).
function cpuSeconds(pid) {
    try {
        const [, bytes] = GLib.file_get_contents(`/proc/${pid}/stat`);
        const fields = new TextDecoder().decode(bytes).split(') ')[1].split(' ');
        return (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
        return 0;
    }
}

// This process's children (the worker processes), by pid.
function children() {
    const pids = [];
    const tasks = Gio.File.new_for_path('/proc/self/task').enumerate_children('standard::name',
        Gio.FileQueryInfoFlags.NONE, null);
    for (let info = tasks.next_file(null); info !== null; info = tasks.next_file(null)) {
        const [, bytes] = GLib.file_get_contents(`/proc/self/task/${info.get_name()}/children`);
        pids.push(...new TextDecoder().decode(bytes).split(' ').filter(p => p !== ''));
    }
    tasks.close(null);
    return pids;
}

function median(values) {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
}

async function perTask(fn, inputs, options) {
    await map(fn, inputs.slice(0, 200), options);   // workers up, modules loaded
    const times = [];
    const kids = children();
    const selfBefore = cpuSeconds('self');
    const kidsBefore = kids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
    for (let i = 0; i < repeat; i++) {
        const start = GLib.get_monotonic_time();
        // eslint-disable-next-line no-await-in-loop
        const out = await map(fn, inputs, options);
        times.push(GLib.get_monotonic_time() - start);
        if (out.length !== inputs.length || out[out.length - 1] !== inputs.length)
            throw new Error('wrong results');
    }
    const perTask = seconds => seconds * 1e6 / repeat / inputs.length;
    return [median(times) / inputs.length, perTask(cpuSeconds('self') - selfBefore),
        perTask(kids.reduce((sum, pid) => sum + cpuSeconds(pid), 0) - kidsBefore)];
}

const here = GLib.path_get_dirname(GLib.filename_from_uri(import.meta.url)[0]);
const loop = new GLib.MainLoop(null, false);
let status = 0;
(async () => {
    try {
        const addOne = await gjsFunction(GLib.build_filenamev([here, 'gjs-bench-tasks.js']),
            'addOne');
        const inputs = [...Array(n).keys()].map(i => i + 1).map(i => i - 1);
        const backend = Joblib.ProcessBackend.new();
        print(`# load average before: ${loadAverage()}; cpus: ${Joblib.cpu_count()}; ` +
            `gjs ${System.version}; medians of ${repeat}`);
        print('| N | task | backend | µs per task | caller CPU, µs per task | ' +
            'workers CPU, µs per task |');
        print('|---:|---|---|---:|---:|---:|');
        for (const [name, fn, options] of [
            ['gjsFunction', addOne, {nJobs: 2, backend}],
            ['gjsFunction', addOne, {nJobs: 2, backend: 'threading'}],
            ['closure', x => x + 1, {nJobs: 2, backend: 'threading'}],
        ]) {
            // eslint-disable-next-line no-await-in-loop
            const [us, caller, workers] = await perTask(fn, inputs, options);
            const label = options.backend === 'threading' ? 'threading' : 'processes';
            print(`| ${n} | ${name} | ${label} | ${us.toFixed(2)} | ${caller.toFixed(2)} | ` +
                `${workers.toFixed(2)} |`);
        }
        backend.shutdown();
        print(`# load average after: ${loadAverage()}`);
    } catch (e) {
        logError(e);
        status = 1;
    } finally {
        loop.quit();
    }
})();
loop.run();
System.exit(status);
