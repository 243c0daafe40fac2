// SPDX-License-Identifier: LGPL-2.1-or-later
// How long a GTK 4 window's main loop is held while joblib-glib runs JS,
// the GJS side of ui-gaps.c (same measurements, same JSON line):
//
//   gjs -m ui-gaps-gjs.js MODE N_TASKS TASK_MS
//
// MODE: "closure" (a JS closure through map(): main-thread-only, on the
// window's context), "gjs-threading" (a gjsFunction() on the thread
// backend: main-thread-only too), "gjs-processes" (a gjsFunction() in GJS
// worker processes).
import GLib from 'gi://GLib';
import Gtk from 'gi://Gtk?version=4.0';
import System from 'system';

import {gjsFunction, map} from '../bindings/gjs/joblib.js';
import {spin} from './ui-gaps-tasks.js';

const [mode, nTasksText, taskMsText] = ARGV;
const nTasks = Number(nTasksText), taskMs = Number(taskMsText);
if (!['closure', 'gjs-threading', 'gjs-processes'].includes(mode) || !(nTasks > 0)) {
    printerr('usage: gjs -m ui-gaps-gjs.js closure|gjs-threading|gjs-processes N_TASKS TASK_MS');
    System.exit(2);
}

function threadCpuNs() {
    const [, bytes] = GLib.file_get_contents('/proc/thread-self/schedstat');
    return Number(new TextDecoder().decode(bytes).split(' ')[0]);
}

const here = GLib.path_get_dirname(GLib.filename_from_uri(import.meta.url)[0]);

async function main() {
    Gtk.init();
    const progress = new Gtk.ProgressBar();
    const spinner = new Gtk.Spinner({spinning: true});
    const box = new Gtk.Box({orientation: Gtk.Orientation.VERTICAL, spacing: 6});
    box.append(spinner);
    box.append(progress);
    const window = new Gtk.Window({child: box, default_width: 320, default_height: 120});
    window.present();

    let fn = x => spin(x);
    let backend = 'threading';
    if (mode !== 'closure') {
        fn = await gjsFunction(GLib.build_filenamev([here, 'ui-gaps-tasks.js']), 'spin');
        backend = mode === 'gjs-processes' ? 'processes' : 'threading';
    }
    const inputs = Array(nTasks).fill(taskMs);
    const runs = [];
    let finish = null;
    const finished = new Promise(resolve => {
        finish = resolve;
    });
    let failure = null;
    let measuring = false, ending = false, startNext = false;
    let lastTick = 0, lastBusy = 0, worst = 0, worstBusy = 0, gaps = [], current = null;
    let started = 0;

    const tick = () => {
        const now = GLib.get_monotonic_time(), busy = threadCpuNs();
        if (measuring) {
            const gap = now - lastTick;
            worst = Math.max(worst, gap);
            worstBusy = Math.max(worstBusy, busy - lastBusy);
            gaps.push(gap);
        }
        lastTick = now;
        lastBusy = busy;
        if (ending) {
            Object.assign(current, {
                worst_ms: Math.round(worst / 100) / 10,
                busy_ms: Math.round(worstBusy / 1e5) / 10,
                mean_ms: Math.round(gaps.reduce((a, b) => a + b, 0) / gaps.length / 100) / 10,
            });
            measuring = ending = false;
            if (failure !== null || runs.length === 2) {
                finish();
                return GLib.SOURCE_REMOVE;
            }
            startNext = true;
        } else if (startNext) {
            // Started from a tick: what starting costs is in the next gap.
            startNext = false;
            measuring = true;
            worst = worstBusy = 0;
            gaps = [];
            current = {};
            runs.push(current);
            started = now;
            const run = current;
            map(fn, inputs, {nJobs: 2, backend,
                onProgress: (done, total) => progress.set_fraction(done / total)})
                .catch(e => {
                    failure = e;
                }).finally(() => {
                    run.seconds = Math.round((GLib.get_monotonic_time() - started) / 1e4) / 100;
                    ending = true;
                });
        }
        return GLib.SOURCE_CONTINUE;
    };
    // once the window is up and drawn
    GLib.timeout_add(GLib.PRIORITY_DEFAULT, 300, () => {
        lastTick = GLib.get_monotonic_time();
        lastBusy = threadCpuNs();
        startNext = true;
        GLib.timeout_add(GLib.PRIORITY_DEFAULT, 10, tick);
        return GLib.SOURCE_REMOVE;
    });
    await finished;
    window.destroy();
    if (failure !== null)
        throw failure;
    print(JSON.stringify({cold: runs[0], warm: runs[1]}));
}

// No top-level await: a module still evaluating cannot run the promise
// jobs that the loop waits for.
const loop = new GLib.MainLoop(null, false);
let crashed = null;
main().catch(e => {
    crashed = e;
}).finally(() => loop.quit());
loop.run();
if (crashed !== null) {
    printerr(`${crashed}\n${crashed.stack ?? ''}`);
    System.exit(1);
}
