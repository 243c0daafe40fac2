// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Groups of small tasks in one call, for map() in joblib.js on the
// "processes" backend: every Joblib.Call crosses from JS into C, through
// the worker pipe and back, which dwarfs a task like x * x. map() sends a
// group of inputs of one gjsFunction as one call of runGroup(), made with
// Joblib.Call.new_with_task_count() (so progress and verbose lines still
// count tasks); a GJS worker imports this module, then the group's module
// once, and runs the group in a loop.
import GLib from 'gi://GLib';

import {jsonSafe} from './values.js';

const modules = new Map();

/** Runs exportName of the module file on each arguments array of inputs,
 *  in order (awaiting exports that return promises); returns the results:
 *  as {json: their JSON text} when JSON carries them exactly (see
 *  jsonSafe in values.js: one string to convert rather than a variant per
 *  value), else as an array. An error thrown by a task gets the task's
 *  index in its message.
 *  @param {string} file the module's path
 *  @param {string} exportName the exported function
 *  @param {number} first the index of the group's first task in map()
 *  @param {Array<Array>|string} inputs one arguments array per task, or
 *    their JSON text */
export async function runGroup(file, exportName, first, inputs) {
    if (typeof inputs === 'string')
        inputs = JSON.parse(inputs);
    if (!modules.has(file))
        modules.set(file, import(GLib.filename_to_uri(file, null)));
    const fn = (await modules.get(file))[exportName];
    if (typeof fn !== 'function')
        throw new TypeError(`${file} exports no function “${exportName}”`);
    const results = [];
    for (const [i, args] of inputs.entries()) {
        try {
            let result = fn(...args);
            if (result !== null && typeof result?.then === 'function')
                // eslint-disable-next-line no-await-in-loop
                result = await result;
            results.push(result);
        } catch (e) {
            if (e instanceof Error)
                e.message = `task ${first + i} (${exportName}): ${e.message}`;
            throw e;
        }
    }
    return jsonSafe(results) ? {json: JSON.stringify(results)} : results;
}
