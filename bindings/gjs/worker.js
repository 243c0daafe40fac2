// SPDX-License-Identifier: LGPL-2.1-or-later
//
// The GJS worker of JobProcessBackend: `gjs -m worker.js`.
//
// It speaks the worker protocol (docs/worker-protocol.md) and runs "gjs"
// function references: {file: a JS module's path, export: the name of a
// function it exports}. The module is loaded once with import(); the
// function gets the task's arguments as JS values (values.js) and returns
// a JS value or a promise of one. A thrown error goes back as a GError of
// GJS's own JS error domain, so that a GJS parent sees the same error
// class, with the error's name, message and stack in its message. An INIT
// frame (the backend's worker initializer) runs its function once before
// the calls; if it fails, its error goes back as call 0, task 0 and the
// worker exits with status 3.
//
// The protocol's descriptors come from JOB_GJS_WORKER_FDS ("in,out");
// without it, standard input and output. The library's default command
// starts this module through /bin/sh so that the protocol is on private
// descriptors and what tasks print goes to stderr. JOB_WORKER_STATUS_FD
// names the status page (a memfd) that the parent reads if we die.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import System from 'system';

import {fromVariant, ownVariant, toVariant, tupleVariant, variantArray} from './values.js';

// The parent's protocol version: the default command passes it in
// JOB_WORKER_PROTOCOL. Version 1 sent one task tuple per task and one
// RESULT frame per value; version 2 sends parallel arrays and RESULTS
// frames holding the values of consecutive tasks.
const VERSION = Number(GLib.getenv('JOB_WORKER_PROTOCOL') ?? 1);
const HEADER_SIZE = 8;
// The bounds of the library's own reader (job-worker-protocol.c): frames
// up to 1 GiB, a payload buffer that starts at 64 KiB and doubles as
// bytes arrive, never sized by what a header announces.
const MAX_FRAME = 1 << 30;
const READ_STEP = 64 * 1024;
// A full garbage collection after every 32 MiB of frames read or written
// (see collectGarbage()).
const GC_BYTES = 32 * 1024 * 1024;
const FLUSH_BYTES = 64 * 1024;
const FLUSH_USEC = 10 * 1000;
const MESSAGE = {HELLO: 1, CALL: 2, RESULT: 3, ERROR: 4, DONE: 5, GOODBYE: 6, INIT: 7};
const TYPES = {
    [MESSAGE.HELLO]: '(sxa{sv})',
    [MESSAGE.CALL]: VERSION === 1 ? '(tba(sa{sv})a(uva(usst)))' : '(tba(sa{sv})auava(uusst))',
    [MESSAGE.RESULT]: VERSION === 1 ? '(tuv)' : '(tuav)',
    [MESSAGE.ERROR]: '(tusis)',
    [MESSAGE.DONE]: '(td)',
    [MESSAGE.GOODBYE]: '(s)',
};
// Version 2 may start with INIT: the backend's worker initializer.
if (VERSION >= 2)
    TYPES[MESSAGE.INIT] = '((sa{sv})v)';
const VARIANT_TYPES = Object.fromEntries(Object.entries(TYPES).map(([message, type]) =>
    [message, new GLib.VariantType(type)]));
// Exit status of a worker whose initializer failed (2: the protocol broke).
const EXIT_INIT_FAILED = 3;
const JOB_ERROR = 'job-error-quark';
const JOB_ERROR_TASK_FAILED = 3;
const JOB_ERROR_NOT_FOUND = 9;
const JOB_ERROR_PROTOCOL = 10;
// GJS's JS error domain: a GError of it turns back into the JS class of
// the same code when it reaches JS (gjs/error-types.h, GjsJSError).
const GJS_JS_ERROR = 'gjs-js-error-quark';
const GJS_JS_ERROR_CODES = {
    Error: 0, EvalError: 1, InternalError: 2, RangeError: 3, ReferenceError: 4,
    StopIteration: 5, SyntaxError: 6, TypeError: 7, URIError: 8,
};

class ProtocolError extends Error {}

Object.defineProperty(ProtocolError.prototype, 'name', {value: 'ProtocolError'});

// The initializer failed: its error went to the parent; the worker leaves.
class InitError extends Error {}

function channelFds() {
    const fds = GLib.getenv('JOB_GJS_WORKER_FDS');
    if (fds === null)
        return [0, 1];
    const [input, output] = fds.split(',').map(Number);
    if (!Number.isInteger(input) || !Number.isInteger(output))
        throw new Error(`JOB_GJS_WORKER_FDS=${fds}: expected "in,out"`);
    return [input, output];
}

// The status page: a shared memfd; we write it through /proc so that the
// bytes land in the same pages the parent maps.
class StatusPage {
    constructor() {
        const fd = Number(GLib.getenv('JOB_WORKER_STATUS_FD'));
        this._stream = null;
        if (!Number.isInteger(fd) || fd < 3)
            return;
        try {
            const file = Gio.File.new_for_path(`/proc/self/fd/${fd}`);
            this._stream = file.open_readwrite(null);
        } catch (e) {
            printerr(`joblib-glib gjs worker: no status page: ${e.message}`);
        }
        GLib.close(fd);
    }

    _write(offset, bytes) {
        this._stream.seek(offset, GLib.SeekType.SET, null);
        this._stream.get_output_stream().write_all(bytes, null);
    }

    start(batchId, position) {
        if (this._stream === null)
            return;
        const record = new DataView(new ArrayBuffer(16));
        record.setBigUint64(0, BigInt(batchId), true);
        record.setUint32(8, position, true);
        record.setUint32(12, 1, true);
        this._write(0, new Uint8Array(record.buffer));
    }

    stop() {
        if (this._stream !== null)
            this._write(12, new Uint8Array(4));
    }
}

function uint64(x) {
    return ownVariant(GLib.Variant.new_uint64(x));
}

function uint32(x) {
    return ownVariant(GLib.Variant.new_uint32(x));
}

function encodeFrame(message, body) {
    if (!body.is_normal_form())
        body = body.get_normal_form();
    const payload = body.get_data_as_bytes().toArray();
    const frame = new Uint8Array(HEADER_SIZE + payload.byteLength);
    const header = new DataView(frame.buffer);
    header.setUint32(0, payload.byteLength, true);
    header.setUint8(4, VERSION);
    header.setUint8(5, message);
    frame.set(payload, HEADER_SIZE);
    return frame;
}

class Worker {
    constructor(input, output) {
        this._input = input;
        this._output = output;
        this._pending = new Uint8Array(0);
        this._buffer = [];
        this._buffered = 0;
        this._lastFlush = GLib.get_monotonic_time();
        this._status = new StatusPage();
        this._modules = new Map();   // file → Promise of the module
        this._memorized = new Map();  // printed reference → Promise of {jobMemorized}
        this._sinceGc = 0;
    }

    send(message, body) {
        const frame = encodeFrame(message, body);
        this._buffer.push(frame);
        this._buffered += frame.byteLength;
        this._sinceGc += frame.byteLength;
    }

    flush() {
        if (this._buffered > 0) {
            const all = new Uint8Array(this._buffered);
            let offset = 0;
            for (const chunk of this._buffer) {
                all.set(chunk, offset);
                offset += chunk.byteLength;
            }
            this._output.write_all(all, null);
        }
        this._buffer = [];
        this._buffered = 0;
        this._lastFlush = GLib.get_monotonic_time();
    }

    // SpiderMonkey schedules collections by the size of the JS heap, which
    // does not count the C memory (GBytes, GVariant) that JS wrappers hold:
    // a frame is a few bytes of JS for megabytes of C, so that between two
    // collections the worker held as much as 30 MiB more, at random. A full
    // collection after each GC_BYTES of frames bounds that.
    collectGarbage() {
        System.gc();
        this._sinceGc = 0;
    }

    collectGarbageIfDue() {
        if (this._sinceGc >= GC_BYTES)
            this.collectGarbage();
    }

    // [message, body], or null at a clean end of input.
    //
    // Reads block: no callback of the main loop ever runs worker code.
    // GJS before 1.81.90 refuses to call JS from C (an async read's
    // callback, a signal) while an incremental garbage collection is
    // between two slices of its sweeping, as if the call came from a
    // finalizer: it logs "Attempting to run a JS callback during garbage
    // collection" (a critical) and drops the call, so that the read never
    // completed and the worker hung, or died under fatal criticals.
    readFrame() {
        const header = this._readExactly(HEADER_SIZE, true);
        if (header === null)
            return null;
        const view = new DataView(header.buffer, header.byteOffset, HEADER_SIZE);
        const length = view.getUint32(0, true);
        const version = view.getUint8(4), message = view.getUint8(5);
        if (version !== VERSION)
            throw new ProtocolError(`frame of protocol version ${version}, expected ${VERSION}`);
        if (!(message in TYPES))
            throw new ProtocolError(`unknown message type ${message}`);
        if (view.getUint16(6, true) !== 0)
            throw new ProtocolError('reserved header bytes are not zero');
        if (length > MAX_FRAME)
            throw new ProtocolError(`frame of ${length} bytes is over the limit`);
        const payload = this._readExactly(length, false);
        this._sinceGc += length;
        const body = ownVariant(GLib.Variant.new_from_bytes(VARIANT_TYPES[message],
            new GLib.Bytes(payload), false));
        if (!Worker.isNormalFrame(message, body))
            throw new ProtocolError('frame payload is not in normal form');
        return [message, body];
    }

    // GLib checks byte arrays one byte at a time: a CALL frame over 64 KiB
    // has its parts checked one by one, its argument tuples (any bytes are
    // a normal array of numbers) left to GVariant's bounds-checked reads,
    // as the native worker does.
    static isNormalFrame(message, body) {
        if (message !== MESSAGE.CALL || VERSION !== 2 || body.get_size() <= 64 * 1024)
            return body.is_normal_form();
        const n = body.n_children();
        for (let i = 0; i < n; i++) {
            if (i !== 4 && !body.get_child_value(i).is_normal_form())
                return false;
        }
        return n === 6;
    }

    // The next @n bytes. The buffer grows with the bytes that arrived
    // (doubling from 64 KiB), so that a header announcing 1 GiB followed
    // by one byte costs 64 KiB; an allocation that fails is a protocol
    // error. At most READ_STEP bytes are read ahead of the frame.
    _readExactly(n, atFrameStart) {
        let capacity = Math.min(n, READ_STEP);
        let out = new Uint8Array(capacity);
        let have = Math.min(this._pending.byteLength, n);
        out.set(this._pending.subarray(0, have));
        this._pending = this._pending.subarray(have);
        while (have < n) {
            if (have === capacity) {
                capacity = Math.min(n, capacity * 2);
                let grown;
                try {
                    grown = new Uint8Array(capacity);
                } catch {
                    throw new ProtocolError(`out of memory for a frame of ${n} bytes`);
                }
                grown.set(out);
                out = grown;
            }
            const chunk = this._input.read_bytes(Math.max(capacity - have, READ_STEP), null).toArray();
            if (chunk.byteLength === 0) {
                if (atFrameStart && have === 0)
                    return null;
                throw new ProtocolError(`the stream ends inside a frame (${have} of ${n} bytes)`);
            }
            const used = Math.min(chunk.byteLength, n - have);
            out.set(chunk.subarray(0, used), have);
            have += used;
            if (used < chunk.byteLength)
                this._pending = chunk.slice(used);
        }
        return out;
    }

    _resolve(reference) {
        const [kind, fields] = reference.deepUnpack();
        if (kind !== 'gjs')
            return Promise.reject(new ProtocolError(`cannot run a “${kind}” reference`));
        const file = fields.file?.deepUnpack(), name = fields.export?.deepUnpack();
        if (typeof file !== 'string' || typeof name !== 'string')
            return Promise.reject(new ProtocolError('a gjs reference needs "file" and "export" strings'));
        if (!this._modules.has(file)) {
            // A resource:/// module (the helpers inside the library, or an
            // app's own GResource registered by its code) is imported as is,
            // once the library, which registers its resources, is loaded.
            const loading = file.startsWith('resource:///')
                ? import('gi://Joblib').then(({default: Joblib}) => {
                    void Joblib.Function.$gtype;
                    return import(file);
                })
                : import(GLib.filename_to_uri(GLib.canonicalize_filename(file, null), null));
            this._modules.set(file, loading);
        }
        const memorized = fields.memory !== undefined;
        return this._modules.get(file).then(module => {
            const fn = module[name];
            if (typeof fn !== 'function') {
                throw Object.assign(new Error(`${file} exports no function “${name}”`),
                    {jobCode: JOB_ERROR_NOT_FOUND});
            }
            if (!memorized)
                return fn;
            // one cached function per reference, not one per call
            const key = reference.print(false);
            if (!this._memorized.has(key))
                this._memorized.set(key, Worker._memorize(fn, name, reference));
            return this._memorized.get(key);
        });
    }

    // A reference with a "memory" field is a cached function (see
    // JobMemorizedFunction): the worker looks results up and stores them in
    // the parent's cache folder with the same settings, which
    // Joblib.Memory.cache_for_reference() reads from the reference. The
    // cached function gets the task's argument tuple as the parent made
    // it, so that both hash the same bytes; it must return its value (no
    // promise).
    static async _memorize(fn, name, reference) {
        const {default: Joblib} = await import('gi://Joblib');
        const inner = Joblib.Function.new(name, args => {
            const values = [];
            for (let i = 0; i < args.n_children(); i++)
                values.push(fromVariant(args.get_child_value(i)));
            const result = fn(...values);
            if (result !== null && typeof result?.then === 'function')
                throw new TypeError(`${name} returned a promise: cached functions run in a worker must be synchronous`);
            return toVariant(result);
        });
        return {jobMemorized: Joblib.Memory.cache_for_reference(inner, reference)};
    }

    // [domain, code, message] of the GError that stands for a JS error.
    static errorFields(error) {
        let domain, code, text;
        if (error instanceof GLib.Error) {
            domain = GLib.quark_to_string(error.domain);
            code = error.code;
            text = error.message;
        } else if (error instanceof ProtocolError) {
            domain = JOB_ERROR;
            code = JOB_ERROR_PROTOCOL;
            text = error.message;
        } else if (error instanceof Error && error.jobCode !== undefined) {
            domain = JOB_ERROR;
            code = error.jobCode;
            text = error.message;
        } else if (error instanceof Error) {
            const name = error.name ?? error.constructor.name;
            domain = GJS_JS_ERROR;
            code = GJS_JS_ERROR_CODES[name] ?? 0;
            text = `${name}: ${error.message}\n${error.stack ?? ''}`.trimEnd();
        } else {
            domain = JOB_ERROR;
            code = JOB_ERROR_TASK_FAILED;
            text = `threw a non-error value: ${String(error)}`;
        }
        return [domain, code, text];
    }

    sendError(batchId, position, error) {
        const [domain, code, text] = Worker.errorFields(error);
        this.send(MESSAGE.ERROR, tupleVariant([uint64(batchId), uint32(position),
            ownVariant(GLib.Variant.new_string(domain)), ownVariant(GLib.Variant.new_int32(code)),
            ownVariant(GLib.Variant.new_string(text))]));
    }

    // The tasks of a CALL, whichever the version: [{refIndex, args (a
    // tuple variant), shared: [[position, path, type, size]…]}].
    static tasksOf(body) {
        const tasks = [];
        if (VERSION === 1) {
            const list = body.get_child_value(3);
            for (let i = 0; i < list.n_children(); i++) {
                const task = list.get_child_value(i);
                const shared = task.get_child_value(2);
                const sharedArgs = [];
                for (let j = 0; j < shared.n_children(); j++)
                    sharedArgs.push(shared.get_child_value(j).deepUnpack());
                tasks.push({
                    refIndex: task.get_child_value(0).get_uint32(),
                    args: task.get_child_value(1).get_variant(),
                    shared: sharedArgs,
                });
            }
            return tasks;
        }
        const refs = body.get_child_value(3).deepUnpack();
        const args = body.get_child_value(4);
        if (args.n_children() !== refs.length)
            throw new ProtocolError(`${refs.length} function indexes for ${args.n_children()} argument tuples`);
        for (let i = 0; i < refs.length; i++)
            tasks.push({refIndex: refs[i], args: args.get_child_value(i).get_variant(), shared: []});
        const shared = body.get_child_value(5);
        for (let j = 0; j < shared.n_children(); j++) {
            const [task, ...rest] = shared.get_child_value(j).deepUnpack();
            if (task >= tasks.length)
                throw new ProtocolError(`shared-memory argument of task ${task} of ${tasks.length}`);
            tasks[task].shared.push(rest);
        }
        return tasks;
    }

    // Version 2 batches the values of consecutive tasks in one frame.
    _sendResult(batchId, position, value) {
        if (VERSION === 1) {
            this.send(MESSAGE.RESULT, tupleVariant([uint64(batchId), uint32(position),
                ownVariant(GLib.Variant.new_variant(value))]));
            return;
        }
        if (this._results.length === 0)
            this._resultsStart = position;
        this._results.push(value);
    }

    _sendResults(batchId) {
        if (this._results.length > 0) {
            this.send(MESSAGE.RESULT, tupleVariant([uint64(batchId), uint32(this._resultsStart),
                variantArray(this._results)]));
        }
        this._results = [];
    }

    async runCall(body) {
        const start = GLib.get_monotonic_time();
        const batchId = body.get_child_value(0).get_uint64();
        const stopOnError = body.get_child_value(1).get_boolean();
        const references = body.get_child_value(2);
        const tasks = Worker.tasksOf(body);
        const functions = [];
        for (let i = 0; i < references.n_children(); i++) {
            const promise = this._resolve(references.get_child_value(i));
            promise.catch(() => {});   // reported per task
            functions.push(promise);
        }

        this._results = [];
        for (let i = 0; i < tasks.length; i++) {
            const task = tasks[i];
            let ok = true;
            this._status.start(batchId, i);
            try {
                if (task.refIndex >= functions.length)
                    throw new ProtocolError(`task ${i} names function ${task.refIndex} of ${functions.length}`);
                // eslint-disable-next-line no-await-in-loop
                const fn = await functions[task.refIndex];
                if (fn.jobMemorized !== undefined) {
                    const args = tupleVariant(Worker.argumentVariants(task));
                    // A miss calls our JS function from C: finish any
                    // garbage collection under way first (see readFrame()).
                    if (!fn.jobMemorized.check_call_in_cache(args))
                        this.collectGarbage();
                    this._sendResult(batchId, i, fn.jobMemorized.call(args, null));
                } else {
                    let result = fn(...Worker.argumentsOf(task));
                    if (result !== null && typeof result?.then === 'function')
                        // eslint-disable-next-line no-await-in-loop
                        result = await result;
                    this._sendResult(batchId, i, toVariant(result));
                }
            } catch (e) {
                ok = false;
                this._sendResults(batchId);
                this.sendError(batchId, i, e);
            }
            this._status.stop();
            if (this._buffered >= FLUSH_BYTES ||
                GLib.get_monotonic_time() - this._lastFlush >= FLUSH_USEC) {
                this._sendResults(batchId);
                this.flush();
            }
            if (!ok && stopOnError)
                break;
        }

        this._sendResults(batchId);
        this.send(MESSAGE.DONE, tupleVariant([uint64(batchId),
            ownVariant(GLib.Variant.new_double((GLib.get_monotonic_time() - start) / 1e6))]));
    }

    // Whether the parent's next frame is already here: then the answers
    // wait in the buffer and leave with the next calls', one write (one
    // wake-up of the parent) for all of them.
    inputWaiting() {
        return this._pending.byteLength > 0 || this._input.is_readable();
    }

    // The task's arguments as JS values; those sent through shared memory
    // are mapped read-only from their files.
    static argumentsOf(task) {
        return Worker.argumentVariants(task).map(fromVariant);
    }

    // The task's arguments as variants, shared-memory ones mapped.
    static argumentVariants(task) {
        const args = task.args;
        if (!args.get_type_string().startsWith('('))
            throw new ProtocolError(`arguments of type “${args.get_type_string()}” are not a tuple`);
        const values = [];
        for (let i = 0; i < args.n_children(); i++)
            values.push(args.get_child_value(i));
        for (const [position, path, typeString, size] of task.shared) {
            if (position >= values.length)
                throw new ProtocolError(`shared-memory argument ${position} of ${values.length}`);
            if (!GLib.variant_type_string_is_valid(typeString))
                throw new ProtocolError(`invalid type “${typeString}” for a shared-memory argument`);
            const mapped = GLib.MappedFile.new(path, false);
            if (mapped.get_length() !== Number(size))
                throw new ProtocolError(`shared-memory argument “${path}” has ${mapped.get_length()} bytes, expected ${size}`);
            values[position] = ownVariant(GLib.Variant.new_from_bytes(new GLib.VariantType(typeString),
                mapped.get_bytes(), false));
        }
        return values;
    }

    // Runs the worker initializer of an INIT frame once, dropping its
    // value. If it fails, its error goes to the parent as call 0, task 0,
    // mapped as a task's error, and an InitError ends the worker.
    async runInit(body) {
        try {
            const fn = await this._resolve(body.get_child_value(0));
            const result = fn(...Worker.argumentsOf({args: body.get_child_value(1).get_variant(),
                shared: []}));
            if (result !== null && typeof result?.then === 'function')
                await result;
        } catch (e) {
            this.sendError(0, 0, e);
            this.flush();
            throw new InitError(`the initializer failed: ${Worker.errorFields(e)[2]}`);
        }
    }

    async serve() {
        this.send(MESSAGE.HELLO, tupleVariant([ownVariant(GLib.Variant.new_string('gjs')),
            ownVariant(GLib.Variant.new_int64(getPid())), toVariant({})]));
        this.flush();
        for (;;) {
            this.collectGarbageIfDue();
            const frame = this.readFrame();
            // answers held while the end was queued
            if (frame === null || frame[0] === MESSAGE.GOODBYE) {
                this.flush();
                return;
            }
            const [message, body] = frame;
            if (message === MESSAGE.INIT) {
                // eslint-disable-next-line no-await-in-loop
                await this.runInit(body);
                continue;
            }
            if (message !== MESSAGE.CALL)
                throw new ProtocolError(`unexpected message type ${message} from the parent`);
            if (this._buffered === 0)
                this._lastFlush = GLib.get_monotonic_time();   // "old" from the first answer held
            // eslint-disable-next-line no-await-in-loop
            await this.runCall(body);
            if (!this.inputWaiting())
                this.flush();
        }
    }
}

function getPid() {
    // /proc/self is this process (gjs itself, after sh's exec).
    return Number(GLib.file_read_link('/proc/self'));
}

const [inFd, outFd] = channelFds();
const worker = new Worker(new Gio.UnixInputStream({fd: inFd, closeFd: true}),
    new Gio.UnixOutputStream({fd: outFd, closeFd: true}));
const loop = new GLib.MainLoop(null, false);
let status = 0;
worker.serve().catch(e => {
    printerr(`joblib-glib gjs worker[${getPid()}]: ${e.message}`);
    if (e instanceof ProtocolError) {
        worker._buffer = [];
        worker._buffered = 0;
        worker.send(MESSAGE.GOODBYE, tupleVariant([ownVariant(GLib.Variant.new_string(e.message))]));
        try {
            worker.flush();
        } catch (flushError) {
            printerr(`joblib-glib gjs worker: ${flushError.message}`);
        }
    }
    status = e instanceof InitError ? EXIT_INIT_FAILED : 2;
}).finally(() => loop.quit());
loop.run();
System.exit(status);
