// SPDX-License-Identifier: LGPL-2.1-or-later
// JS functions really in parallel: gjsFunction() references an exported
// function of tasks-module.js, which GJS worker processes (worker.js)
// import and run on the "processes" backend (issue 7).
import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Joblib from 'gi://Joblib';

import {assert, assertEqual, rejection, runMain} from './harness.js';
import {gjsFunction, map} from '../../bindings/gjs/joblib.js';

const MODULE = GLib.build_filenamev([GLib.getenv('G_TEST_SRCDIR') ?? '.', 'gjs', 'tasks-module.js']);
const processes = {nJobs: 2, backend: 'processes'};

Gio._promisify(Gio.Subprocess.prototype, 'wait_async', 'wait_finish');
Gio._promisify(Gio.InputStream.prototype, 'read_bytes_async', 'read_bytes_finish');

async function readFrame(stream) {
    const header = (await stream.read_bytes_async(8, GLib.PRIORITY_DEFAULT, null)).toArray();
    const view = new DataView(header.buffer, header.byteOffset, 8);
    const payload = (await stream.read_bytes_async(view.getUint32(0, true),
        GLib.PRIORITY_DEFAULT, null)).toArray();
    return {version: view.getUint8(4), type: view.getUint8(5), payload};
}

/** The worker alone on pipes: its HELLO, then a frame of an unknown
 *  version makes it answer GOODBYE with the reason and exit with 2. */
async function malformedFrame() {
    const launcher = new Gio.SubprocessLauncher({
        flags: Gio.SubprocessFlags.STDIN_PIPE | Gio.SubprocessFlags.STDOUT_PIPE |
            Gio.SubprocessFlags.STDERR_SILENCE,
    });
    launcher.setenv('JOB_WORKER_PROTOCOL', '2', true);
    launcher.unsetenv('JOB_GJS_WORKER_FDS');
    const worker = launcher.spawnv(['gjs', '-m', GLib.getenv('JOB_GJS_WORKER_PATH')]);
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

    // the pool survived the errors
    assertEqual(await map(square, [5, 6], processes), [25, 36], 'workers still answer');
}

runMain(main);
