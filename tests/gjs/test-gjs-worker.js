// SPDX-License-Identifier: LGPL-2.1-or-later
// JS functions really in parallel: gjsFunction() references an exported
// function of tasks-module.js, which GJS worker processes (worker.js)
// import and run on the "processes" backend.
import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Joblib from 'gi://Joblib';

import {assert, assertEqual, rejection, runMain} from './harness.js';
import {fromVariant, gjsFunction, jsFunction, map, processBackend, run, toVariant}
    from '../../bindings/gjs/joblib.js';

const MODULE = GLib.build_filenamev([GLib.getenv('G_TEST_SRCDIR') ?? '.', 'gjs', 'tasks-module.js']);
const processes = {nJobs: 2, backend: 'processes'};

Gio._promisify(Gio.Subprocess.prototype, 'wait_async', 'wait_finish');
Gio._promisify(Gio.InputStream.prototype, 'read_bytes_async', 'read_bytes_finish');

async function readFrame(stream) {
    const header = (await stream.read_bytes_async(8, GLib.PRIORITY_DEFAULT, null)).toArray();
    assertEqual(header.byteLength, 8, 'a whole frame header (none: the worker died)');
    const view = new DataView(header.buffer, header.byteOffset, 8);
    const payload = (await stream.read_bytes_async(view.getUint32(0, true),
        GLib.PRIORITY_DEFAULT, null)).toArray();
    return {version: view.getUint8(4), type: view.getUint8(5), payload};
}

function decode(frame, type) {
    return GLib.Variant.new_from_bytes(new GLib.VariantType(type), new GLib.Bytes(frame.payload),
        false);
}

function frameBytes(type, body) {
    const payload = body.get_data_as_bytes().toArray();
    const frame = new Uint8Array(8 + payload.byteLength);
    const header = new DataView(frame.buffer);
    header.setUint32(0, payload.byteLength, true);
    header.setUint8(4, 2);
    header.setUint8(5, type);
    frame.set(payload, 8);
    return frame;
}

function writeFrame(worker, type, body) {
    worker.get_stdin_pipe().write_all(frameBytes(type, body), null);
}

/** Frames in one write: all in the pipe before the worker, which may
 *  exit on the first, reads any of them. */
function writeFrames(worker, frames) {
    const parts = frames.map(([type, body]) => frameBytes(type, body));
    const all = new Uint8Array(parts.reduce((n, part) => n + part.byteLength, 0));
    let offset = 0;
    for (const part of parts) {
        all.set(part, offset);
        offset += part.byteLength;
    }
    worker.get_stdin_pipe().write_all(all, null);
}

/** The worker alone on pipes, speaking protocol version 2; @prefix runs
 *  it (prlimit…). */
function spawnWorker(prefix = []) {
    const launcher = new Gio.SubprocessLauncher({
        flags: Gio.SubprocessFlags.STDIN_PIPE | Gio.SubprocessFlags.STDOUT_PIPE |
            Gio.SubprocessFlags.STDERR_PIPE,
    });
    launcher.setenv('JOB_WORKER_PROTOCOL', '2', true);
    launcher.unsetenv('JOB_GJS_WORKER_FDS');
    return launcher.spawnv([...prefix, 'gjs', '-m', GLib.getenv('JOB_GJS_WORKER_PATH')]);
}

function reference(kind, file, name) {
    return new GLib.Variant('(sa{sv})', [kind, {
        file: new GLib.Variant('s', file), export: new GLib.Variant('s', name),
    }]);
}

/** A CALL of one function on argument tuples of one value each. */
function callBody(callId, ref, inputs) {
    return GLib.Variant.new_tuple([new GLib.Variant('t', callId), new GLib.Variant('b', false),
        GLib.Variant.new_array(new GLib.VariantType('(sa{sv})'), [ref]),
        new GLib.Variant('au', inputs.map(() => 0)),
        GLib.Variant.new_array(new GLib.VariantType('v'), inputs.map(x =>
            GLib.Variant.new_variant(new GLib.Variant('(v)', [toVariant(x)])))),
        new GLib.Variant('a(uusst)', [])]);
}

/** INIT: the initializer's reference and its argument tuple. */
function initBody(ref, args) {
    return GLib.Variant.new_tuple([ref,
        GLib.Variant.new_variant(new GLib.Variant('(v)', [toVariant(args[0])]))]);
}

async function stderrOf(worker) {
    const bytes = await worker.get_stderr_pipe().read_bytes_async(65536, GLib.PRIORITY_DEFAULT, null);
    return new TextDecoder().decode(bytes.toArray());
}

/** INIT then a CALL: the task sees what the initializer set; a failing
 *  initializer is answered with ERROR for call 0, task 0 and status 3. */
async function initFrames() {
    let worker = spawnWorker();
    try {
        const hello = await readFrame(worker.get_stdout_pipe());
        assertEqual(hello.type, 1, 'HELLO first');
        writeFrame(worker, 7, initBody(reference('gjs', MODULE, 'setUp'), ['model-a']));
        writeFrame(worker, 2, callBody(1, reference('gjs', MODULE, 'initState'), [0, 1]));
        const values = [];
        let frame;
        while ((frame = await readFrame(worker.get_stdout_pipe())).type === 3) {
            const body = decode(frame, '(tuav)');
            const answers = body.get_child_value(2);
            assertEqual([Number(body.get_child_value(0).get_uint64()), body.get_child_value(1).get_uint32()],
                [1, values.length], 'RESULTS of call 1, in order');
            for (let i = 0; i < answers.n_children(); i++)
                values.push(fromVariant(answers.get_child_value(i).get_variant()));
        }
        assertEqual(frame.type, 5, 'DONE after the results');
        const pid = Number(worker.get_identifier());
        assertEqual(values, [[pid, 'model-a', 1], [pid, 'model-a', 1]],
            'tasks see what the initializer set, which ran once');
        worker.get_stdin_pipe().close(null);
        await worker.wait_async(null);
        assertEqual(worker.get_exit_status(), 0, 'exit status 0 at the end of input');
    } finally {
        worker.force_exit();
    }

    // a failing initializer: its JS error as for tasks, then status 3; the
    // CALL queued behind it is never answered
    const failures = [
        [reference('gjs', MODULE, 'failingSetUp'), 'gjs-js-error-quark', 3,
            'RangeError: no model called model-b'],
        [reference('gjs', MODULE, 'missing'), 'job-error-quark', Joblib.Error.NOT_FOUND,
            'exports no function'],
        [reference('native', MODULE, 'setUp'), 'job-error-quark', Joblib.Error.PROTOCOL,
            'cannot run a “native” reference'],
    ];
    for (const [ref, domain, code, text] of failures) {
        worker = spawnWorker();
        try {
            await readFrame(worker.get_stdout_pipe());
            writeFrames(worker, [[7, initBody(ref, ['model-b'])],
                [2, callBody(1, reference('gjs', MODULE, 'square'), [3])]]);
            const error = await readFrame(worker.get_stdout_pipe());
            assertEqual(error.type, 4, `ERROR for a failing initializer (${text})`);
            const [callId, task, errorDomain, errorCode, message] = decode(error, '(tusis)').deepUnpack();
            assertEqual([Number(callId), task, errorDomain, errorCode], [0, 0, domain, code],
                `call 0, task 0 and the error's domain and code (${text})`);
            assert(message.includes(text), `the initializer's error: ${message}`);
            const rest = await worker.get_stdout_pipe().read_bytes_async(8, GLib.PRIORITY_DEFAULT, null);
            assertEqual(rest.get_size(), 0, 'nothing after the error: the call is not run');
            const stderr = await stderrOf(worker);
            await worker.wait_async(null);
            assertEqual(worker.get_exit_status(), 3, `exit status 3 (${text})`);
            assert(stderr.includes('the initializer failed') && stderr.includes(text),
                `stderr names the failure: ${stderr}`);
        } finally {
            worker.force_exit();
        }
    }
}

/** The worker alone on pipes: its HELLO, then a frame of an unknown
 *  version makes it answer GOODBYE with the reason and exit with 2. */
async function malformedFrame() {
    const worker = spawnWorker();
    try {
        const hello = await readFrame(worker.get_stdout_pipe());
        assertEqual([hello.version, hello.type], [2, 1], 'HELLO of version 2');
        const body = GLib.Variant.new_from_bytes(new GLib.VariantType('(sxa{sv})'),
            new GLib.Bytes(hello.payload), false).deepUnpack();
        assertEqual([body[0], Number(body[1])], ['gjs', Number(worker.get_identifier())], 'kind and pid');

        worker.get_stdin_pipe().write_all(Uint8Array.from([0, 0, 0, 0, 9, 2, 0, 0]), null);
        const goodbye = await readFrame(worker.get_stdout_pipe());
        assertEqual(goodbye.type, 6, 'GOODBYE after a malformed frame');
        const reason = GLib.Variant.new_from_bytes(new GLib.VariantType('(s)'),
            new GLib.Bytes(goodbye.payload), false).deepUnpack()[0];
        assert(reason.includes('version 9'), `the reason names the version: ${reason}`);
        await worker.wait_async(null);
        assertEqual(worker.get_exit_status(), 2, 'exit status 2');
    } finally {
        worker.force_exit();
    }
}

/** A hostile parent: a header announcing a 1 GiB CALL, then one byte. The
 *  worker's buffer grows with the bytes that arrive, so under an address
 *  space of what an idle worker uses plus 512 MiB it answers GOODBYE and
 *  exits with 2 (it asked for the whole 1 GiB at once, and aborted). */
async function hostileHeader() {
    let worker = spawnWorker();
    let limit;
    try {
        await readFrame(worker.get_stdout_pipe());
        const [, status] = GLib.file_get_contents(`/proc/${worker.get_identifier()}/status`);
        const peak = Number(new TextDecoder().decode(status).match(/VmPeak:\s+(\d+) kB/)[1]);
        limit = peak * 1024 + 512 * 1024 * 1024;
        worker.get_stdin_pipe().close(null);
        await worker.wait_async(null);
        assertEqual(worker.get_exit_status(), 0, 'an idle worker leaves at the end of input');
    } finally {
        worker.force_exit();
    }

    worker = spawnWorker(['prlimit', `--as=${limit}`, '--']);
    try {
        const hello = await readFrame(worker.get_stdout_pipe());
        assertEqual(hello.type, 1, 'HELLO under the limit');
        const header = new DataView(new ArrayBuffer(9));
        header.setUint32(0, 1 << 30, true);
        header.setUint8(4, 2);
        header.setUint8(5, 2);
        header.setUint8(8, 'x'.charCodeAt(0));
        worker.get_stdin_pipe().write_all(new Uint8Array(header.buffer), null);
        worker.get_stdin_pipe().close(null);
        const goodbye = await readFrame(worker.get_stdout_pipe());
        assertEqual(goodbye.type, 6, 'GOODBYE after a frame cut short');
        const reason = decode(goodbye, '(s)').deepUnpack()[0];
        assert(reason.includes('ends inside a frame (1 of 1073741824 bytes)'),
            `the reason says where the frame ended: ${reason}`);
        await worker.wait_async(null);
        assert(worker.get_if_exited() && worker.get_exit_status() === 2,
            'exit status 2, not a crash');
    } finally {
        worker.force_exit();
    }
}

/** processBackend({initializer, initArgs}): every worker runs it once
 *  before its tasks; it stays out of other backends; its errors come back
 *  as the JS error class. */
async function initializers() {
    const setUp = await gjsFunction(MODULE, 'setUp');
    const initState = await gjsFunction(MODULE, 'initState');
    const self = Number(GLib.file_read_link('/proc/self'));
    let backend = processBackend({initializer: setUp, initArgs: [{model: 'a', size: 3}]});
    try {
        const first = await map(initState, [...Array(8).keys()], {nJobs: 2, backend, batchSize: 1});
        const second = await map(initState, [...Array(8).keys()], {nJobs: 2, backend, batchSize: 1});
        const pids = new Set(first.map(([pid]) => pid));
        assert(!pids.has(self) && pids.size >= 1 && pids.size <= 2, `one or two workers: ${[...pids]}`);
        for (const [pid, value, runs] of [...first, ...second]) {
            assertEqual([value, runs], [{model: 'a', size: 3}, 1],
                `worker ${pid} ran the initializer once, with its arguments`);
        }
        assert(second.every(([pid]) => pids.has(pid)), 'the second run reuses the workers');
    } finally {
        backend.shutdown();
    }

    // not in this process, nor in the workers of other backends
    const tasks = await import(GLib.filename_to_uri(MODULE, null));
    assertEqual(tasks.initState(0).slice(1), [null, 0], 'the parent never runs the initializer');
    const plain = await map(initState, [0, 1, 2], processes);
    assertEqual(plain.map(([, value, runs]) => [value, runs]), [[null, 0], [null, 0], [null, 0]],
        'the "processes" backend has no initializer');

    // an async initializer is awaited before the first task
    backend = processBackend({initializer: await gjsFunction(MODULE, 'setUpLater'), initArgs: ['b']});
    try {
        const states = await map(initState, [0, 1, 2, 3], {nJobs: 2, backend});
        assertEqual(states.map(([, value, runs]) => [value, runs]), Array(4).fill(['b', 1]),
            'an async initializer');
    } finally {
        backend.shutdown();
    }

    // a failing initializer: its error class, naming the initializer
    backend = processBackend({initializer: await gjsFunction(MODULE, 'failingSetUp'),
        initArgs: ['c']});
    try {
        const caught = await rejection(map(initState, [0, 1, 2, 3], {nJobs: 2, backend}));
        assert(caught instanceof RangeError, `RangeError back, got ${caught}`);
        assert(caught.message.includes('the initializer of worker') &&
            caught.message.includes('RangeError: no model called c') &&
            caught.message.includes('failingSetUp@'), `names the initializer: ${caught.message}`);
    } finally {
        backend.shutdown();
    }

    // bad input
    let caught = await rejection((async () => processBackend({initializer: jsFunction(x => x)}))());
    assert(caught instanceof TypeError && caught.message.includes('reference'),
        `an initializer without a reference: ${caught}`);
    caught = await rejection((async () => processBackend({initializer: 'setUp'}))());
    assert(caught instanceof TypeError, `an initializer that is not a Joblib.Function: ${caught}`);
    caught = await rejection((async () => processBackend({initializer: setUp, initArgs: 'a'}))());
    assert(caught instanceof TypeError && caught.message.includes('initArgs'),
        `initArgs not an array: ${caught}`);
    caught = await rejection((async () => processBackend({initArgs: [1]}))());
    assert(caught instanceof TypeError, `initArgs without an initializer: ${caught}`);
}

// A cached gjsFunction runs in the workers through the parent's cache:
// the first run stores each worker's pid, a run on new workers reads them
// back instead of computing its own, and so does this process.
async function cachedInWorkers() {
    const location = GLib.dir_make_tmp('gjs-worker-cache-XXXXXX');
    const memory = Joblib.Memory.new_for_path(location);
    const cached = memory.cache(await gjsFunction(MODULE, 'pid'), null);
    const calls = [...Array(6).keys()].map(i => Joblib.Call.new(cached, new GLib.Variant('(x)', [i])));
    const self = Number(GLib.file_read_link('/proc/self'));
    const runOnNewWorkers = async () => {
        const backend = processBackend({});
        try {
            return (await run(calls, {nJobs: 2, backend, batchSize: 1})).map(fromVariant);
        } finally {
            backend.shutdown();
        }
    };
    const first = await runOnNewWorkers();
    assert(first.every(p => p !== self), `computed in workers: ${first}`);
    assertEqual(memory.list_entries().get_n_items(), 6, 'six entries stored by the workers');
    const second = await runOnNewWorkers();
    assertEqual(second, first, 'new workers read the stored pids');
    assertEqual(fromVariant(cached.call(new GLib.Variant('(x)', [3]), null)), first[3], 'and so does the parent');

    // settings a worker cannot use fail the tasks instead of running uncached
    const broken = await gjsFunction(MODULE, 'pid');
    const [kind, fields] = broken.get_reference().deepUnpack();
    broken.set_reference(new GLib.Variant('(sa{sv})', [kind,
        {...fields, memory: new GLib.Variant('a{sv}', {location: new GLib.Variant('s', '')})}]));
    const caught = await rejection(run([Joblib.Call.new(broken, new GLib.Variant('(x)', [1]))],
        processes));
    assert(caught instanceof GLib.Error && caught.matches(Joblib.Error, Joblib.Error.INVALID_ARGUMENT),
        `bad memory settings: ${caught}`);
    memory.clear();
    memory.wait_reclaimed();
    GLib.rmdir(location);
}

// map() sends the inputs of a gjsFunction to GJS workers in groups
// (groups.js): results in order, onResult once per task index, progress
// counted in tasks, an error naming its task.
async function groupedMap() {
    const square = await gjsFunction(MODULE, 'square');
    const inputs = [...Array(3000).keys()];
    const seen = new Set();
    let lastDone = 0, lastTotal = 0, signals = 0;
    const out = await map(square, inputs, {
        ...processes,
        onResult: (index, value) => {
            assert(!seen.has(index) && fromVariant(value) === index * index, `result ${index}`);
            seen.add(index);
        },
        onProgress: (done, total) => {
            lastDone = done;
            lastTotal = total;
            signals++;
        },
    });
    assertEqual(out, inputs.map(x => x * x), 'grouped results in order');
    assertEqual(seen.size, inputs.length, 'onResult once per task');
    assertEqual([lastDone, lastTotal], [3000, 3000], 'progress counts tasks');
    assert(signals < 200, `fewer calls than tasks (${signals} progress signals)`);

    const fail = await gjsFunction(MODULE, 'failOnTwo');
    const caught = await rejection(map(fail, [...Array(400).keys()].map(i => (i === 350 ? 2 : 1)),
        processes));
    assert(caught instanceof RangeError && caught.message.includes('task 350 (failOnTwo)'),
        `the failed task is named: ${caught}`);
}

// A value as a string that tells every JS type apart (NaN, -0, typed
// arrays and their class, undefined), for comparing results exactly.
function exactly(value) {
    if (typeof value === 'number')
        return Object.is(value, -0) ? '-0' : String(value);
    if (value === undefined || value === null || typeof value !== 'object')
        return `${typeof value}:${String(value)}`;
    if (ArrayBuffer.isView(value))
        return `${value.constructor.name}[${[...value].map(exactly)}]`;
    if (Array.isArray(value))
        return `[${value.map(exactly)}]`;
    return `{${Object.entries(value).map(([k, v]) => `${k}:${exactly(v)}`)}}`;
}

// Groups whose values JSON carries exactly travel as JSON text, others as
// variants: either way a gjsFunction's results on processes are the very
// values the same tasks give on threads (one variant per value).
async function groupedValuesAsOnThreads() {
    const echo = await gjsFunction(MODULE, 'echo');
    const safe = [1, 2.5, -0, 2 ** 60, 'a', 'é😀', true, null, [1, [2, 'x', null]],
        {a: 1, b: [true, {c: 'd'}]}, [undefined, 3], {}, [], ''];
    const unsafe = [NaN, Infinity, -Infinity, new Float64Array([1.5, 2]), new Int32Array([7]),
        {u: undefined}, [1, NaN], {n: {m: [Infinity]}}, undefined];
    for (const [what, values] of [['JSON-safe', safe], ['mixed', [...safe, ...unsafe]],
        ['not JSON-safe', unsafe]]) {
        const inputs = Array.from({length: 480}, (_, i) => values[i % values.length]);
        // eslint-disable-next-line no-await-in-loop
        const onProcesses = await map(echo, inputs, processes);
        const onResults = new Map();
        // eslint-disable-next-line no-await-in-loop
        await map(echo, inputs, {...processes,
            onResult: (index, value) => onResults.set(index, fromVariant(value))});
        // eslint-disable-next-line no-await-in-loop
        const onThreads = await map(echo, inputs, {nJobs: 2, batchSize: 1});
        assertEqual(onProcesses.map(exactly), onThreads.map(exactly), `${what} values`);
        assertEqual([...onResults.keys()].sort((a, b) => a - b), [...inputs.keys()],
            `${what}: onResult once per task`);
        assertEqual(inputs.map((_, i) => exactly(onResults.get(i))), onThreads.map(exactly),
            `${what}: onResult values`);
    }
}

// On threads, map() of a JS function runs groups of tasks here (no variant
// per value): the results, errors, progress and onResult of one call per
// task (batchSize: 1).
async function localGroupsAsOneCallPerTask() {
    class Point {}
    const odd = [NaN, -0, undefined, new Float64Array([1, 2]), 2 ** 60, 'é😀', {a: [1, null]},
        [undefined], Infinity];
    const results = x => odd[x % odd.length];
    const inputs = [...Array(3000).keys()];
    for (const fn of [results, await gjsFunction(MODULE, 'square')]) {
        let signals = 0, lastProgress = null;
        const seen = new Map();
        // eslint-disable-next-line no-await-in-loop
        const grouped = await map(fn, inputs, {nJobs: 2,
            onProgress: (done, total) => {
                signals++;
                lastProgress = [done, total];
            },
            onResult: (index, value) => seen.set(index, fromVariant(value))});
        // eslint-disable-next-line no-await-in-loop
        const single = await map(fn, inputs, {nJobs: 2, batchSize: 1});
        assertEqual(grouped.map(exactly), single.map(exactly), `${fn.name ?? 'square'}: results`);
        assertEqual(inputs.map(i => exactly(seen.get(i))), single.map(exactly),
            'onResult once per task, same values');
        assertEqual(lastProgress, [3000, 3000], 'progress counts tasks');
        assert(signals < 300, `tasks grouped (${signals} progress signals)`);
    }
    // the function gets copies, as from variants
    const kept = [{a: 1}, {a: 2}];
    const out = await map(o => {
        o.a++;
        return o;
    }, kept, {nJobs: 2});
    assertEqual([kept, out], [[{a: 1}, {a: 2}], [{a: 2}, {a: 3}]], 'inputs copied');
    // a result that has no variant form fails its task, as before
    for (const [what, fn, expected] of [
        ['class instance', x => (x === 1500 ? new Point() : x), TypeError],
        ['thrown', x => {
            if (x === 2222)
                throw new RangeError('too far');
            return x;
        }, RangeError],
        ['GLib.Error', x => {
            if (x === 777)
                throw new GLib.Error(GLib.file_error_quark(), GLib.FileError.NOENT, 'gone');
            return x;
        }, GLib.Error]]) {
        // eslint-disable-next-line no-await-in-loop
        const grouped = await rejection(map(fn, inputs, {nJobs: 2}));
        // eslint-disable-next-line no-await-in-loop
        const single = await rejection(map(fn, inputs, {nJobs: 2, batchSize: 1}));
        assert(grouped instanceof expected && single instanceof expected, `${what}: ${grouped}`);
        assertEqual([grouped.constructor.name, grouped.message, grouped.code],
            [single.constructor.name, single.message, single.code], `${what}: same error`);
    }
}

async function main() {
    const square = await gjsFunction(MODULE, 'square');
    assertEqual(square.get_reference_kind(), 'gjs', 'reference kind');
    assertEqual(square.get_reference().deepUnpack()[1].export.deepUnpack(), 'square', 'export field');

    // the same function on processes, threads (main-thread-only) and in order
    const inputs = [...Array(40).keys()];
    assertEqual(await map(square, inputs, processes), inputs.map(x => x * x), 'processes');
    assertEqual(await map(square, inputs, {nJobs: 2}), inputs.map(x => x * x), 'threads');

    // really parallel: two worker processes, neither of them us
    const pid = await gjsFunction(MODULE, 'pid');
    const pids = await map(pid, [...Array(12).keys()], {...processes, batchSize: 1});
    const distinct = new Set(pids);
    const self = Number(GLib.file_read_link('/proc/self'));
    assert(!distinct.has(self), `tasks ran outside this process (${self}: ${pids})`);
    assertEqual(distinct.size, 2, `two worker pids (${[...distinct]})`);
    for (const p of distinct) {
        const cmdline = GLib.file_get_contents(`/proc/${p}/cmdline`)[1];
        assert(new TextDecoder().decode(cmdline).includes('worker.js'), `pid ${p} is a GJS worker`);
    }

    // async exports, typed arrays in and out, stdout kept off the protocol
    assertEqual(await map(await gjsFunction(MODULE, 'later'), [1, 2, 3], processes), [2, 3, 4], 'async export');
    const data = Float64Array.from({length: 1000}, (_, i) => i / 4);
    const totals = await map(await gjsFunction(MODULE, 'total'),
        [data, new Int32Array([1, 2, 3]), new Uint8Array([250, 5])], processes);
    assertEqual(totals, [data.reduce((a, b) => a + b, 0), 6, 255], 'typed array arguments');
    const [scaled] = await map(await gjsFunction(MODULE, 'scale'), [[data, 2]], processes);
    assert(scaled instanceof Float64Array && scaled.length === 1000 && scaled[999] === 999 / 2,
        'a Float64Array result');

    // a JS error comes back as its class, with name, message and stack
    let caught = await rejection(map(await gjsFunction(MODULE, 'failOnTwo'), [0, 1, 2, 3], processes));
    assert(caught instanceof RangeError, `RangeError back, got ${caught?.constructor?.name}`);
    assert(caught.message.includes('task 2 (failOnTwo)'), `names the task: ${caught.message}`);
    assert(caught.message.includes('RangeError: two is out of range'), 'name and message');
    assert(caught.message.includes('failOnTwo@file://') && caught.message.includes('tasks-module.js:'),
        `the worker's stack: ${caught.message}`);

    // an error class of its own: an Error whose text starts with its name
    caught = await rejection(map(await gjsFunction(MODULE, 'fit'), [7], processes));
    assert(caught instanceof Error && caught.message.includes('FitError: no fit for 7'),
        `custom error name: ${caught?.message}`);

    // bad references: caught in this process, or by the worker
    caught = await rejection(gjsFunction(MODULE, 'missing'));
    assert(caught instanceof TypeError && caught.message.includes('missing'), `missing export: ${caught}`);
    caught = await rejection(gjsFunction(MODULE, 'notAFunction'));
    assert(caught instanceof TypeError, 'an export that is not a function');
    caught = await rejection(gjsFunction('', 'square'));
    assert(caught instanceof TypeError, 'empty module path');
    caught = await rejection(gjsFunction('/nonexistent/module.js', 'square'));
    assert(caught !== null, 'a module that does not exist');

    const forged = Joblib.Function.new('forged', () => null);
    forged.set_reference(new GLib.Variant('(sa{sv})', ['gjs', {
        file: new GLib.Variant('s', MODULE), export: new GLib.Variant('s', 'missing'),
    }]));
    caught = await rejection(map(forged, [1], processes));
    assert(caught instanceof GLib.Error && caught.matches(Joblib.error_quark(), Joblib.Error.NOT_FOUND),
        `worker: missing export is NOT_FOUND: ${caught}`);
    forged.set_reference(new GLib.Variant('(sa{sv})', ['gjs', {file: new GLib.Variant('s', MODULE)}]));
    caught = await rejection(map(forged, [1], processes));
    assert(caught instanceof GLib.Error && caught.matches(Joblib.error_quark(), Joblib.Error.PROTOCOL),
        `worker: a reference without export is PROTOCOL: ${caught}`);

    await malformedFrame();
    await hostileHeader();
    await initFrames();
    await initializers();
    await cachedInWorkers();
    await groupedMap();
    await groupedValuesAsOnThreads();
    await localGroupsAsOneCallPerTask();

    // the pool survived the errors
    assertEqual(await map(square, [5, 6], processes), [25, 36], 'workers still answer');
}

runMain(main);
