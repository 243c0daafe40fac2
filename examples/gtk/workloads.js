// SPDX-License-Identifier: LGPL-2.1-or-later
// The workloads of the GTK demo that run in GJS worker processes: the
// demo references these exports with gjsFunction(), so that they run in
// parallel off the window's process.
import GLib from 'gi://GLib';

/** The tutorial's my_function: sleeps half a second, returns its input. */
export function my_function(i) {
    GLib.usleep(500000);
    return i;
}

/** Estimates π from n random points of the unit square. */
export function estimate_pi(seed, n) {
    // A small LCG, so that each task's estimate depends on its seed only.
    let state = seed * 2654435761 % 4294967296;
    const next = () => {
        state = (state * 1664525 + 1013904223) % 4294967296;
        return state / 4294967296;
    };
    let inside = 0;
    for (let i = 0; i < n; i++) {
        const x = next(), y = next();
        if (x * x + y * y <= 1)
            inside++;
    }
    return 4 * inside / n;
}
