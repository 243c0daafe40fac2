// SPDX-License-Identifier: LGPL-2.1-or-later
// Functions that test-gjs-worker.js runs in GJS worker processes (a "gjs"
// reference names this file and one of its exports).
import GLib from 'gi://GLib';

export function square(x) {
    return x * x;
}

/** The pid of the process running the task, after a short sleep so that
 *  every worker of the pool gets tasks. */
export function pid(_i) {
    GLib.usleep(20000);
    return Number(GLib.file_read_link('/proc/self'));
}

export function failOnTwo(x) {
    if (x === 2)
        throw new RangeError('two is out of range');
    return x;
}

class FitError extends Error {
    constructor(message) {
        super(message);
        this.name = 'FitError';
    }
}

export function fit(x) {
    throw new FitError(`no fit for ${x}`);
}

export async function later(x) {
    await new Promise(resolve => GLib.timeout_add(GLib.PRIORITY_DEFAULT, 5, () => {
        resolve();
        return GLib.SOURCE_REMOVE;
    }));
    return x + 1;
}

/** Prints to stdout (which must not reach the protocol) and sums a typed
 *  array. */
export function total(values) {
    print(`summing ${values.length} values`);
    return values.reduce((sum, v) => sum + v, 0);
}

/** Scales a Float64Array, returning a new typed array of the same kind. */
export function scale(values, factor) {
    return values.map(v => v * factor);
}

export const notAFunction = 42;

// A worker initializer (processBackend({initializer})) and a task that
// reads what it set: the worker's pid, the value, how often it ran.
let initValue = null, initRuns = 0;

export function setUp(value) {
    initValue = value;
    initRuns++;
}

export function initState(_i) {
    GLib.usleep(20000);
    return [Number(GLib.file_read_link('/proc/self')), initValue, initRuns];
}

export async function setUpLater(value) {
    await later(0);
    setUp(value);
}

export function failingSetUp(name) {
    throw new RangeError(`no model called ${name}`);
}

/** Sleeps 10 ms (longer than a main-context slice), returns x * 2. */
export function slowDouble(x) {
    GLib.usleep(10000);
    return x * 2;
}

/** Its argument, as it arrived. */
export function echo(x) {
    return x;
}
