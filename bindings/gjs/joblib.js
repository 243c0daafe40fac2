// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Promise-based helpers over the Joblib-1.0 GIR for GJS:
//
//   import {map, run, gjsFunction, dump, load, cache} from './joblib.js';
//   const squares = await map(x => x * x, [1, 2, 3], {nJobs: 2});
//   const f = await gjsFunction('/path/to/tasks.js', 'fit');   // exported
//   const fits = await map(f, inputs, {nJobs: 2, backend: 'processes'});
//   // each worker runs setUp(model) once first (loky's initializer/initargs)
//   const backend = processBackend({initializer: await gjsFunction(path, 'setUp'),
//       initArgs: [model]});
//   const more = await map(f, inputs, {nJobs: 2, backend});
//
// JS closures cannot be called from worker threads, so functions made here
// are main-thread-only: they run on the main context in slices of about
// half a frame (one task when a task is longer), whatever the batch size,
// and the window stays responsive between them. Real parallelism for JS
// comes from process workers: gjsFunction() names an exported function of
// a module file, which GJS worker processes (worker.js) import and run.
//
// Values: numbers, strings, booleans, null, arrays, plain objects and typed
// arrays (Float64Array, Int32Array, Uint8Array… as JobArray) convert to
// GLib.Variant and back (values.js).

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Joblib from 'gi://Joblib';

import {fromVariant, jsonSafe, ownVariant, toVariant, tupleVariant, variantCopy}
    from './values.js';

export {fromVariant, toVariant, typedArrayToVariant, typedArrayFromVariant,
    isArrayVariant, ownVariant} from './values.js';

Gio._promisify(Joblib.Parallel.prototype, 'run_async', 'run_finish');
Gio._promisify(Joblib.Parallel.prototype, 'run_outcomes_async', 'run_outcomes_finish');
Gio._promisify(Joblib.Parallel.prototype, 'run_iterate_async', 'run_iterate_finish');
Gio._promisify(Joblib.MemorizedFunction.prototype, 'call_async', 'call_finish');
Gio._promisify(Joblib, 'dump_async', 'dump_finish');
Gio._promisify(Joblib, 'load_async', 'load_finish');

/** The argument tuple of a call: one `v` per argument. */
export function argsVariant(args) {
    return tupleVariant(args.map(a => ownVariant(GLib.Variant.new_variant(toVariant(a)))));
}

function argsOf(variant) {
    const values = [];
    for (let i = 0; i < variant.n_children(); i++)
        values.push(fromVariant(variant.get_child_value(i)));
    return values;
}

/** Wraps a JS function as a main-thread-only Joblib.Function whose
 *  arguments and result go through toVariant/fromVariant. A thrown error
 *  reaches the run as a GLib.Error with the error's name and message. */
export function jsFunction(fn, name = fn.name || 'anonymous') {
    const func = Joblib.Function.new(name, args => toVariant(fn(...argsOf(args))));
    func.set_main_thread_only(true);
    jsFunctions.set(func, fn);
    return func;
}

// The JS function of each Joblib.Function made by jsFunction(), for map()
// to run groups of its tasks here without variants (see mapLocally).
const jsFunctions = new WeakMap();

/** A Joblib.ProcessBackend of its own, for the `backend` option of run()
 *  and map(): its workers stay between runs (until backend.shutdown(), or
 *  until they idle for idleTimeout seconds). With an initializer, each of
 *  its worker processes runs initializer(...initArgs) once, before its
 *  first task, as loky's initializer/initargs: to load a model, open a
 *  database, set a module variable that the tasks read. The initializer is
 *  a function made by gjsFunction() (a "gjs" reference: GJS workers import
 *  it) or any Joblib.Function with a reference; its value is dropped. If
 *  it throws, the tasks sent to that worker fail with its error (the same
 *  JS error class, the message says "the initializer of worker … failed").
 *  @param {object} [options] {initializer, initArgs: an array of
 *    arguments (converted as in map()), idleTimeout: seconds} */
export function processBackend({initializer = null, initArgs = [], idleTimeout = null} = {}) {
    if (initializer !== null && !(initializer instanceof Joblib.Function &&
        initializer.get_reference() !== null)) {
        throw new TypeError('processBackend: the initializer must be a Joblib.Function with a ' +
            'reference, such as gjsFunction() makes');
    }
    if (!Array.isArray(initArgs))
        throw new TypeError('processBackend: initArgs must be an array of arguments');
    if (initializer === null && initArgs.length > 0)
        throw new TypeError('processBackend: initArgs given without an initializer');
    const backend = Joblib.ProcessBackend.new();
    if (idleTimeout !== null)
        backend.set_idle_timeout(idleTimeout);
    if (initializer !== null)
        backend.set_initializer(initializer, argsVariant(initArgs));
    return backend;
}

function makeParallel({nJobs = 2, backend = 'threading', verbose = 0, timeout = 0,
    batchSize = 0} = {}) {
    const parallel = Joblib.Parallel.new(nJobs);
    if (backend instanceof Joblib.Backend)
        parallel.set_backend(backend);
    else
        parallel.set_backend_name(backend);
    parallel.set_verbose(verbose);
    parallel.set_timeout(timeout);
    parallel.set_batch_size(batchSize);
    return parallel;
}

function isIterable(value) {
    return value !== null && value !== undefined && typeof value !== 'string' &&
        typeof value[Symbol.iterator] === 'function';
}

// Runs a lazy input through Joblib.Parallel.run_iterate_async: the
// iterator is read as workers free up. An error thrown by the iterator
// (or by makeCall) fails the run, and the run rejects with that very
// error object, not the copy that crossed the GError boundary.
async function runLazily(parallel, iterable, makeCall, cancellable) {
    const iterator = iterable[Symbol.iterator]();
    let inputError = null;
    let index = 0;
    const iterate = () => {
        try {
            const {value, done} = iterator.next();
            return [true, done ? null : makeCall(value, index++)];
        } catch (e) {
            inputError = e;
            throw e;
        }
    };
    try {
        return await parallel.run_iterate_async(iterate, cancellable);
    } catch (e) {
        throw inputError ?? e;
    }
}

function toCall(value, index) {
    if (!(value instanceof Joblib.Call)) {
        throw new TypeError(`run: input ${index} is not a Joblib.Call but ${
            value === null ? 'null' : typeof value}`);
    }
    return value;
}

/** Runs Joblib.Call objects; resolves to their GLib.Variant results.
 *  `calls` is an array, or any iterable (a generator…) read lazily as
 *  workers free up (joblib's generator input): an error it throws rejects
 *  the run with that same error; an item that is not a Joblib.Call
 *  rejects it with a TypeError.
 *  options: nJobs, backend ("threading", "processes", "sequential", or a
 *  Joblib.Backend such as processBackend() makes),
 *  verbose, timeout, batchSize, and callbacks on the main context:
 *  onProgress(done, total) from the `progress` signal, onResult(index,
 *  GLib.Variant) from the `result` signal as tasks complete. */
export async function run(calls, options = {}, cancellable = null) {
    if (!Array.isArray(calls) && !isIterable(calls))
        throw new TypeError('run: calls must be an array or an iterable of Joblib.Call');
    return runCalls(calls, toCall, options, cancellable);
}

// An array of calls, or an iterable whose items makeCall(item, index)
// turns into calls.
async function runCalls(calls, makeCall, options, cancellable) {
    const parallel = makeParallel(options);
    const ids = [];
    if (options.onProgress)
        ids.push(parallel.connect('progress', (_p, done, total) => options.onProgress(done, total)));
    if (options.onResult)
        ids.push(parallel.connect('result', (_p, index, value) => options.onResult(index, value)));
    try {
        if (Array.isArray(calls))
            return await parallel.run_async(calls, cancellable);
        return await runLazily(parallel, calls, makeCall, cancellable);
    } finally {
        ids.forEach(id => parallel.disconnect(id));
    }
}

// map() groups the inputs of a gjsFunction on process backends (see
// groups.js): about this many groups per worker, so that a slow task
// still leaves the others to the other workers.
const GROUPS_PER_WORKER = 16;
// Loaded from the library's resources, the workers import groups.js from
// there too (they load the library); from a file, by its path.
const GROUPS_MODULE = import.meta.url.startsWith('resource:///')
    ? import.meta.url.replace(/[^/]*$/, 'groups.js')
    : GLib.build_filenamev([
        GLib.path_get_dirname(GLib.filename_from_uri(import.meta.url)[0]), 'groups.js']);
let groupRunner = null;

// How many inputs go in one call: 1 unless fn runs in GJS workers (a plain
// "gjs" reference, not a cached function) with an automatic batch size.
function groupSize(func, n, {nJobs = 2, backend = 'threading', batchSize = 0}) {
    if (batchSize !== 0 || func instanceof Joblib.MemorizedFunction ||
        func.get_reference_kind() !== 'gjs' ||
        func.get_reference().get_child_value(1).lookup_value('memory', null) !== null)
        return 1;
    if (backend !== 'processes' && backend !== 'loky' && !(backend instanceof Joblib.ProcessBackend))
        return 1;
    const workers = Math.max(1, Joblib.effective_n_jobs(nJobs));
    return Math.max(1, Math.floor(n / (workers * GROUPS_PER_WORKER)));
}

/** Calls fn on each input (an array of argument arrays, or of single
 *  arguments) through Joblib.Parallel; resolves to the JS results in input
 *  order. On the "processes" backend, the inputs of a gjsFunction go to
 *  the workers in groups (one call each, see groups.js); onResult still
 *  gets each task's index and value. `inputs` may also be any iterable
 *  (a generator…): it is read lazily, one call per input, as workers free
 *  up, and an error it throws rejects map() with that same error. */
export async function map(fn, inputs, options = {}, cancellable = null) {
    if (!(fn instanceof Joblib.Function) && typeof fn !== 'function')
        throw new TypeError('map: fn must be a function or a Joblib.Function');
    if (!Array.isArray(inputs) && !isIterable(inputs))
        throw new TypeError('map: inputs must be an array or an iterable of inputs');
    const func = fn instanceof Joblib.Function ? fn : jsFunction(fn);
    if (!Array.isArray(inputs)) {
        const results = await runCalls(inputs, input => Joblib.Call.new(func,
            argsVariant(Array.isArray(input) ? input : [input])), options, cancellable);
        return results.map(fromVariant);
    }
    const argsList = inputs.map(input => Array.isArray(input) ? input : [input]);
    if (runsLocally(func, argsList, options))
        return mapLocally(func, argsList, options, cancellable);
    const size = groupSize(func, argsList.length, options);
    if (size === 1) {
        const calls = argsList.map(args => Joblib.Call.new(func, argsVariant(args)));
        const results = await run(calls, options, cancellable);
        return results.map(fromVariant);
    }

    groupRunner ??= gjsFunction(GROUPS_MODULE, 'runGroup');
    const runner = await groupRunner;
    const fields = func.get_reference().get_child_value(1);
    const file = fields.lookup_value('file', null).get_string()[0];
    const exportName = fields.lookup_value('export', null).get_string()[0];
    // A group whose inputs JSON carries exactly travels as one string, and
    // its results come back as one (see groups.js): two conversions per
    // group instead of one variant per value, each way, in both processes.
    const calls = [];
    for (let first = 0; first < argsList.length; first += size) {
        const group = argsList.slice(first, first + size);
        calls.push(Joblib.Call.new_with_task_count(runner,
            argsVariant([file, exportName, first, jsonSafe(group) ? JSON.stringify(group) : group]),
            group.length));
    }
    const onResult = options.onResult;
    const results = await run(calls, {
        ...options,
        onResult: onResult && ((index, value) => {
            if (value.get_type_string() === 'av') {
                for (let i = 0; i < value.n_children(); i++)
                    onResult(index * size + i, value.get_child_value(i).get_variant());
                return;
            }
            groupResults(value).forEach((result, i) => onResult(index * size + i,
                toVariant(result)));
        }),
    }, cancellable);
    return results.flatMap(groupResults);
}

// The results of a group: an array, or {json: their JSON text}.
function groupResults(value) {
    const results = fromVariant(value);
    return Array.isArray(results) ? results : JSON.parse(results.json);
}

// A JS function on the thread or sequential backend runs on this main
// context whatever the grouping: map() groups its tasks (mapLocally) when
// nothing would tell: automatic batch size, no verbose lines or timeout
// (those count calls), and inputs that JSON carries exactly.
function runsLocally(func, argsList, {backend = 'threading', batchSize = 0, verbose = 0,
    timeout = 0} = {}) {
    if (batchSize !== 0 || verbose !== 0 || timeout !== 0 || !jsFunctions.has(func))
        return false;
    if (backend !== 'threading' && backend !== 'sequential' &&
        !(backend instanceof Joblib.ThreadBackend) && !(backend instanceof Joblib.SequentialBackend))
        return false;
    return jsonSafe(argsList);
}

// A local group's aim: a couple of milliseconds, well within the half
// frame that the library gives main-context work at a time.
const LOCAL_GROUP_SECONDS = 0.002;
const LOCAL_GROUP_MAX = 10000;

/** map() of a JS function on threads: its tasks run in groups, each one
 *  call of a main-thread-only runner that calls the function in a loop on
 *  copies of the inputs (a JSON round trip, what the variants gave) and
 *  keeps the results here, copied as the variants would have copied them
 *  (variantCopy). Groups start at one task and double, at most once per
 *  group of at least half the size, towards LOCAL_GROUP_SECONDS. Progress,
 *  onResult and errors still count and name tasks. */
async function mapLocally(func, argsList, options, cancellable) {
    const fn = jsFunctions.get(func);
    const name = func.get_name();
    const n = argsList.length;
    const groups = [];
    let size = 1;
    let failed = null;
    const runner = Joblib.Function.new(name, args => {
        const index = Number(args.get_child_value(0).get_variant().get_int64());
        const group = groups[index];
        const inputs = JSON.parse(JSON.stringify(argsList.slice(group.first,
            group.first + group.count)));
        const results = new Array(group.count);
        const start = GLib.get_monotonic_time();
        let i = 0;
        try {
            for (; i < group.count; i++)
                results[i] = variantCopy(fn(...inputs[i]));
        } catch (e) {
            failed = {call: index, task: group.first + i};
            throw e;
        }
        const perTask = (GLib.get_monotonic_time() - start) / 1e6 / group.count;
        const ideal = perTask <= 0 ? LOCAL_GROUP_MAX : Math.floor(LOCAL_GROUP_SECONDS / perTask);
        if (ideal > size) {
            if (2 * group.count >= size)
                size = Math.min(ideal, 2 * size, LOCAL_GROUP_MAX);
        } else {
            size = Math.max(1, ideal);
        }
        group.results = results;
        return toVariant(index);
    });
    runner.set_main_thread_only(true);

    const parallel = makeParallel(options);
    const ids = [];
    if (options.onProgress) {
        ids.push(parallel.connect('progress', (_p, done, total) =>
            options.onProgress(done, total < 0 ? n : total)));
    }
    if (options.onResult) {
        ids.push(parallel.connect('result', (_p, index) => {
            const {first, results} = groups[index];
            results.forEach((result, i) => options.onResult(first + i, toVariant(result)));
        }));
    }
    let next = 0;
    const iterate = () => {
        if (next >= n)
            return [true, null];
        const count = Math.min(size, n - next);
        groups.push({first: next, count, results: null});
        next += count;
        return [true, Joblib.Call.new_with_task_count(runner, argsVariant([groups.length - 1]),
            count)];
    };
    try {
        await parallel.run_iterate_async(iterate, cancellable);
    } catch (e) {
        // the run names the failed call; the task is what failed
        const prefix = failed && `task ${failed.call} (${name}): `;
        if (prefix && typeof e?.message === 'string' && e.message.startsWith(prefix)) {
            const message = `task ${failed.task} (${name}): ${e.message.slice(prefix.length)}`;
            if (!(e instanceof GLib.Error)) {
                e.message = message;
                throw e;
            }
            // a GLib.Error's message is read-only: the same error anew
            const renamed = new GLib.Error(e.domain, e.code, message);
            Object.defineProperty(renamed, 'stack', {value: e.stack, writable: true,
                configurable: true});
            throw renamed;
        }
        throw e;
    } finally {
        ids.forEach(id => parallel.disconnect(id));
    }
    if (next !== n || groups.some(group => group.results === null))
        throw new Error(`map: the run ended after ${next} of ${n} inputs without an error`);
    return groups.flatMap(group => group.results);
}

/** The path of a module: a file:// URI or a path (relative to the current
 *  folder) made absolute, as workers in other folders need it. */
function modulePathOf(module) {
    if (typeof module !== 'string' || module === '')
        throw new TypeError('gjsFunction: the module must be a path or a file:// URI');
    if (module.startsWith('resource:///'))
        return module;
    if (module.startsWith('file://'))
        return GLib.filename_from_uri(module)[0];
    return GLib.canonicalize_filename(module, null);
}

/** Makes a Joblib.Function from a function exported by a JS module file,
 *  with a "gjs" reference ({file, export}): on the "processes" backend it
 *  runs really in parallel, in GJS worker processes that import the
 *  module; on other backends it runs here, main-thread-only. Its arguments
 *  and result convert as in map(). Resolves once the module is imported;
 *  rejects with a TypeError when it exports no such function.
 *  @param {string} module the module's path, file:// URI or resource:/// URI
 *  @param {string} exportName the name of the exported function
 *  @param {object} [options] {name: the function's name, version} */
export async function gjsFunction(module, exportName, {name = exportName, version = null} = {}) {
    const file = modulePathOf(module);
    if (typeof exportName !== 'string' || exportName === '')
        throw new TypeError('gjsFunction: the export name must be a non-empty string');
    const loaded = await import(file.startsWith('resource:///') ? file
        : GLib.filename_to_uri(file, null));
    const fn = loaded[exportName];
    if (typeof fn !== 'function')
        throw new TypeError(`gjsFunction: ${file} exports no function “${exportName}”`);
    // Async exports are awaited by the worker; here only synchronous
    // results can be returned from the main-thread call.
    const func = jsFunction(fn, name);
    if (version !== null)
        func.set_version(version);
    func.set_reference(new GLib.Variant('(sa{sv})', ['gjs', {
        file: new GLib.Variant('s', file),
        export: new GLib.Variant('s', exportName),
    }]));
    return func;
}

/** Saves a JS value (typed arrays included) or a GLib.Variant with
 *  Joblib.dump_async. compression: a Joblib.Compression, or AUTO (from the
 *  file's extension). Resolves to true. */
export async function dump(value, path, {compression = Joblib.Compression.AUTO, level = -1} = {},
    cancellable = null) {
    const file = path instanceof Gio.File ? path : Gio.File.new_for_path(path);
    return await Joblib.dump_async(toVariant(value), file, compression, level, cancellable);
}

/** Loads a file written by dump (or by any joblib-glib language) with
 *  Joblib.load_async; resolves to the JS value, or to the GLib.Variant
 *  with {raw: true}. mmap: map an uncompressed file instead of reading
 *  it (arrays are then views of the mapping). */
export async function load(path, {mmap = false, maxSize = 0, raw = false} = {},
    cancellable = null) {
    const file = path instanceof Gio.File ? path : Gio.File.new_for_path(path);
    const variant = await Joblib.load_async(file,
        mmap ? Joblib.LoadFlags.MMAP : Joblib.LoadFlags.NONE, maxSize, cancellable);
    return raw ? variant : fromVariant(variant);
}

/** Wraps fn (a JS function or a Joblib.Function) in memory's disk cache:
 *  returns an async function that resolves to the (cached) result, with
 *  the Joblib.MemorizedFunction as its `memorized` property.
 *  @param {Joblib.Memory} memory the cache
 *  @param {Function|Joblib.Function} fn what to cache
 *  @param {object} [options] {ignore: argument names or positions} */
export function cache(memory, fn, {ignore = null} = {}) {
    const func = fn instanceof Joblib.Function ? fn : jsFunction(fn);
    const memorized = memory.cache(func, ignore);
    const call = async (...args) =>
        fromVariant(await memorized.call_async(argsVariant(args), null));
    call.memorized = memorized;
    return call;
}
