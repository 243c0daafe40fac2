# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Python worker of JobProcessBackend: ``python3 -m joblib_glib.worker``.

It speaks the worker protocol (docs/worker-protocol.md) on the descriptors
it was started with as stdin/stdout, moved aside first so that what tasks
print goes to stderr and what they read is /dev/null.  It resolves
"python" function references: by module + qualified name, or by value
(the ``pickle`` field, written with cloudpickle by the caller); with a
``memory`` field it runs the function through that cache.  A task's
exception is sent back as an error whose message holds the exception's
type, message, traceback and arguments (see _functions.format_remote_exception).
An INIT frame (the backend's worker initializer) runs its function once
before the calls; if it fails, the worker sends its error as call 0, task 0
and exits with status 3.
"""

import ctypes
import importlib
import mmap
import os
import pickle
import select
import struct
import sys
import time

from ._framing import offset_width_for_body

_HEADER = struct.Struct("<IBBH")
_HELLO, _CALL, _RESULT, _ERROR, _DONE, _GOODBYE, _INIT = range(1, 8)
# Frame types by protocol version. Version 2 sends the tasks of a call as
# parallel arrays and answers consecutive results in one RESULTS frame, and
# may start with INIT: a worker initializer and its argument tuple.
_TYPES = {
    1: {_HELLO: "(sxa{sv})", _CALL: "(tba(sa{sv})a(uva(usst)))", _RESULT: "(tuv)",
        _ERROR: "(tusis)", _DONE: "(td)", _GOODBYE: "(s)"},
    2: {_HELLO: "(sxa{sv})", _CALL: "(tba(sa{sv})auava(uusst))", _RESULT: "(tuav)",
        _ERROR: "(tusis)", _DONE: "(td)", _GOODBYE: "(s)", _INIT: "((sa{sv})v)"},
}
_MAX_FRAME = 1 << 30
# Answers are buffered so that a batch of small tasks costs one write;
# flushed when large or old so that the parent sees progress.
_FLUSH_BYTES = 64 * 1024
_FLUSH_SECONDS = 0.01
_READ_AHEAD = 64 * 1024
_STATUS = struct.Struct("=QII")
# The fixed heads of version 2's DONE (td) and RESULTS (tuav) payloads,
# little-endian: the bytes GLib serializes (the u of RESULTS is followed by
# padding to the array's alignment of 8).
_DONE_BODY = struct.Struct("<Qd")
_RESULTS_HEAD = struct.Struct("<QI4x")
ERROR_DOMAIN = "joblib-glib-python-error-quark"
# JOB_ERROR and JOB_ERROR_PROTOCOL (job-error.h), for a bad initializer
# reference as the native worker reports it.
_JOB_ERROR_DOMAIN = "job-error-quark"
_JOB_ERROR_PROTOCOL = 10
# Exit status of a worker whose initializer failed (2: the protocol broke).
_EXIT_INIT_FAILED = 3


class ProtocolError(Exception):
    """A malformed frame or conversation."""


def _buffers():
    from . import _buffers as module
    return module


class _Channel:
    def __init__(self, in_fd, out_fd):
        self.in_fd = in_fd
        self.out_fd = out_fd
        self.pending = bytearray()
        self.inbuf = bytearray()   # read ahead: small frames cost no read each
        self.last_flush = time.monotonic()
        self.version = None   # the parent's, learnt from its first frame
        self.results = None   # version 2: (call id, first task, [values])

    def _read_exactly(self, n):
        while len(self.inbuf) < n:
            chunk = os.read(self.in_fd, max(n - len(self.inbuf), _READ_AHEAD))
            if not chunk:
                if self.inbuf:
                    raise ProtocolError("the stream ended inside a frame")
                return None
            self.inbuf += chunk
        data = bytes(self.inbuf[:n])
        del self.inbuf[:n]
        return data

    def input_waiting(self):
        """Whether the parent's next frame is already here: then the
        answers wait in the buffer and leave with the next calls', one
        write (one wake-up of the parent) for all of them."""
        if self.inbuf:
            return True
        ready, _, _ = select.select([self.in_fd], [], [], 0)
        return bool(ready)

    def read(self):
        """The next frame's (type, payload): bytes, or a bytearray for a
        large frame; (None, None) at the end of the stream."""
        header = self._read_exactly(_HEADER.size)
        if header is None:
            return None, None
        length, version, kind, reserved = _HEADER.unpack(header)
        if self.version is None and version in _TYPES:
            self.version = version
        if version != self.version or reserved != 0 or kind not in _TYPES[version] or \
                length > _MAX_FRAME:
            raise ProtocolError(f"bad frame header (version {version}, type {kind}, "
                                f"length {length})")
        if length > _READ_AHEAD:
            return kind, self._read_payload(length)
        payload = self._read_exactly(length) if length else b""
        if payload is None:
            raise ProtocolError("the stream ended inside a frame")
        return kind, payload

    def body(self, GLib, kind, payload):
        """A frame's payload as the GLib.Variant of its type."""
        if isinstance(payload, bytearray):
            data = _buffers().bytes_for_bytearray(payload)
        else:
            data = GLib.Bytes.new(payload)
        # Untrusted bytes are safe to read as a GVariant (trusted=False):
        # malformed parts read as default values, never outside the buffer.
        return GLib.Variant.new_from_bytes(_variant_type(GLib, self.version, kind), data,
                                           False)

    def _read_payload(self, n):
        """A large frame's @n bytes, read into one buffer that the frame's
        GBytes then shares: no chunk objects, no copies (each copy of a
        frame of many 10 KB arguments cost fresh pages, a fault per 4 KiB)."""
        payload = bytearray(n)
        with memoryview(payload) as view:
            pos = min(len(self.inbuf), n)
            view[:pos] = self.inbuf[:pos]
            del self.inbuf[:pos]
            while pos < n:
                got = os.readv(self.in_fd, [view[pos:]])
                if not got:
                    raise ProtocolError("the stream ended inside a frame")
                pos += got
        return payload

    def append(self, GLib, kind, body):
        if kind != _RESULT:
            self._end_results(GLib)
        if sys.byteorder != "little":
            body = body.byteswap()
        data = body.get_data_as_bytes().get_data() or b""
        self.pending += _HEADER.pack(len(data), self.version, kind, 0)
        self.pending += data

    def result(self, GLib, call_id, position, value):
        """Holds a task's answer: a GLib.Variant, or on a little-endian
        machine its serialized (bytes, type) as encode_result makes it."""
        if self.version == 1:
            self.append(GLib, _RESULT, GLib.Variant("(tuv)", (call_id, position, value)))
            return
        if self.results is None:
            self.results = (call_id, position, [])
        if sys.byteorder == "little" and type(value) is not tuple:
            value = _serialized(value)
        self.results[2].append(value)

    def _end_results(self, GLib):
        if self.results is not None:
            call_id, first, values = self.results
            self.results = None
            if sys.byteorder == "little":
                self._append_payload(_RESULT, _results_payload(call_id, first, values))
                return
            self.append(GLib, _RESULT, GLib.Variant.new_tuple(
                GLib.Variant("t", call_id), GLib.Variant("u", first),
                GLib.Variant.new_array(GLib.VariantType("v"),
                                       [GLib.Variant.new_variant(v) for v in values])))

    def _append_payload(self, kind, data):
        self.pending += _HEADER.pack(len(data), self.version, kind, 0)
        self.pending += data

    def done(self, GLib, call_id, seconds):
        """The DONE frame of a call (its results first)."""
        if self.version == 1:
            self.append(GLib, _DONE, GLib.Variant("(td)", (call_id, seconds)))
            return
        self._end_results(GLib)
        self._append_payload(_DONE, _DONE_BODY.pack(call_id, seconds))

    def flush(self, GLib=None):
        if GLib is not None:
            self._end_results(GLib)
        with memoryview(self.pending) as whole:
            view = whole
            while view:
                written = os.write(self.out_fd, view)
                view = view[written:]
            del view
        del self.pending[:]
        self.last_flush = time.monotonic()

    def maybe_flush(self, GLib):
        if len(self.pending) >= _FLUSH_BYTES or \
                time.monotonic() - self.last_flush >= _FLUSH_SECONDS:
            self.flush(GLib)


_variant_types = {}


def _variant_type(GLib, version, kind):
    """The GLib.VariantType of a frame type, made once."""
    found = _variant_types.get((version, kind))
    if found is None:
        found = _variant_types[(version, kind)] = GLib.VariantType(_TYPES[version][kind])
    return found


def _serialized(value):
    """(bytes, type string as bytes) of a GLib.Variant."""
    return value.get_data_as_bytes().get_data() or b"", value.get_type_string().encode("ascii")


_INT64 = struct.Struct("<q")
_DOUBLE = struct.Struct("<d")
_INT64_MIN, _INT64_MAX = -(2 ** 63), 2 ** 63 - 1


def encode_result(value):
    """A task's Python result as the (bytes, type) of the GLib.Variant
    that _values.to_variant(value, by_value=True) makes, little-endian:
    numbers, booleans, strings and bytes (the answer of a group of tasks,
    _chunks.run_chunk) written here with no PyGObject call, anything else
    through GLib."""
    kind = type(value)
    if kind is int and _INT64_MIN <= value <= _INT64_MAX:
        return _INT64.pack(value), b"x"
    if kind is float:
        return _DOUBLE.pack(value), b"d"
    if kind is bool:
        return (b"\1" if value else b"\0"), b"b"
    if kind is bytes:
        return value, b"ay"
    if kind is str and "\0" not in value:
        try:
            return value.encode("utf-8") + b"\0", b"s"
        except UnicodeEncodeError:
            pass   # lone surrogates: to_variant's own form
    from ._values import to_variant
    return _serialized(to_variant(value, by_value=True))


def _results_payload(call_id, first, values):
    """The little-endian serialized form of a RESULTS (tuav) payload, as
    GLib writes it (checked against GLib by the tests), from each value's
    (bytes, type): the t and the u, the `v` elements (a value's bytes, a
    zero byte, its type string), each at an offset aligned to 8, then the
    end of each element as a framing offset whose width depends on the size
    of the array.  Built here because one GLib.Variant made from Python
    costs microseconds, and a group's answer took five of them."""
    parts = []
    ends = []
    size = 0
    for data, type_string in values:
        if size % 8:
            pad = 8 - size % 8
            parts.append(bytes(pad))
            size += pad
        parts.append(data)
        parts.append(b"\0")
        parts.append(type_string)
        size += len(data) + 1 + len(type_string)
        ends.append(size)
    width = offset_width_for_body(size, len(ends))
    parts.extend(end.to_bytes(width, "little") for end in ends)
    return _RESULTS_HEAD.pack(call_id, first) + b"".join(parts)


def _map_status_page():
    fd_text = os.environ.pop("JOB_WORKER_STATUS_FD", None)
    if not fd_text:
        return None
    try:
        fd = int(fd_text)
        page = mmap.mmap(fd, 4096, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    except (ValueError, OSError):
        return None
    finally:
        try:
            os.close(int(fd_text))
        except (ValueError, OSError):
            pass
    return page


class _Resolver:
    """Function references -> (call, python): ``call`` runs the function on
    an argument tuple (a GLib.Variant) and returns a GLib.Variant;
    ``python`` is its PythonFunction when it can take values read from the
    frame's bytes (_callframe), else None."""

    def __init__(self):
        self.cache = {}
        self.serialized = {}   # the same, by the reference's bytes
        self.reference_type = None

    def resolve(self, GLib, reference):
        """The (call, python) of a reference: a GLib.Variant, or its
        serialized bytes (read through GLib the first time only)."""
        if type(reference) is bytes:
            found = self.serialized.get(reference)
            if found is None:
                if self.reference_type is None:
                    self.reference_type = GLib.VariantType.new("(sa{sv})")
                found = self.resolve(GLib, GLib.Variant.new_from_bytes(
                    self.reference_type, GLib.Bytes.new(reference), False))
                self.serialized[reference] = found
            return found
        key = reference.print_(False)
        found = self.cache.get(key)
        if found is None:
            found = self._resolve(reference)
            self.cache[key] = found
        return found

    def _resolve(self, reference):
        from ._functions import PythonFunction
        kind = reference.get_child_value(0).get_string()
        fields = reference.get_child_value(1)
        if kind != "python":
            raise ProtocolError(f"the Python worker cannot run {kind!r} references")
        module = fields.lookup_value("module", None)
        qualname = fields.lookup_value("qualname", None)
        pickled = fields.lookup_value("pickle", None)
        memory = fields.lookup_value("memory", None)
        if pickled is not None:
            func = pickle.loads(bytes(pickled.get_data_as_bytes().get_data() or b""))
        elif module is not None and qualname is not None:
            func = importlib.import_module(module.get_string())
            for part in qualname.get_string().split("."):
                func = getattr(func, part)
        else:
            raise ProtocolError("a python reference needs module and qualname, or pickle")
        if getattr(func, "_joblib_glib_memorized", False):
            func = func.func
        if memory is None:
            python = PythonFunction(func, arrays=_array_settings(fields))
            return python.call_pickled, python
        return _cached_call(func, reference), None


def _array_settings(fields):
    """(max_nbytes, mmap_mode) for array arguments: the reference's
    "arrays" field (Parallel's max_nbytes and mmap_mode), else joblib's
    defaults."""
    from ._functions import DEFAULT_ARRAYS
    arrays = fields.lookup_value("arrays", None)
    if arrays is None:
        return DEFAULT_ARRAYS
    max_nbytes = arrays.lookup_value("max-nbytes", None)
    mmap_mode = arrays.lookup_value("mmap-mode", None)
    max_nbytes = max_nbytes.get_int64() if max_nbytes is not None else DEFAULT_ARRAYS[0]
    return (None if max_nbytes < 0 else max_nbytes,
            mmap_mode.get_string() if mmap_mode is not None else DEFAULT_ARRAYS[1])


def _cached_call(func, reference):
    from ._functions import qualified_name
    from ._gi import Joblib
    from ._memory import MemorizedPython
    # the settings of the parent's cache travel in the reference, read by
    # the library (the same call as in the native and GJS workers); the
    # argument tuple is the one Python Memory makes (see _memory)
    python = MemorizedPython(func, name=qualified_name(func))
    cached = Joblib.Memory.cache_for_reference(python.gfunction, reference)
    # Keep the Python function alive with the cached function.
    cached._joblib_glib_python = python
    validate = reference.get_child_value(1).lookup_value("validate", None)
    if validate is not None:
        # the parent's cache_validation_callback, sent by value
        from ._memory import validation_func
        callback = pickle.loads(bytes(validate.get_data_as_bytes().get_data() or b""))
        cached.set_validate_func(validation_func(callback, python))

    def call(args):
        return cached.call(args, None)
    return call


def _arguments(GLib, args, shared):
    if not shared:
        return args, []
    children = [args.get_child_value(i) for i in range(args.n_children())]
    mapped = []
    for position, path, type_string, size in shared:
        if position >= len(children):
            raise ProtocolError(f"shared-memory argument {position} of {len(children)}")
        if not GLib.VariantType.string_is_valid(type_string):
            raise ProtocolError(f"invalid type {type_string!r} for a shared-memory argument")
        data = GLib.MappedFile.new(path, False)
        if data.get_length() != size:
            raise ProtocolError(f"shared-memory argument {path!r} has {data.get_length()} "
                                f"bytes, expected {size}")
        mapped.append(data)
        children[position] = GLib.Variant.new_from_bytes(GLib.VariantType(type_string),
                                                          data.get_bytes(), False)
    return GLib.Variant.new_tuple(*children), mapped


def _error_message(exc):
    from ._functions import format_remote_exception, take_exception
    from ._gi import GLib
    if isinstance(exc, GLib.Error):
        original = take_exception(exc)
        if original is None:
            return exc.domain, exc.code, exc.message
        exc = original
    return ERROR_DOMAIN, 1, format_remote_exception(exc)


class _GLibCall:
    """A CALL frame read through GLib: version 1, or a frame that
    _callframe leaves to GLib."""

    def __init__(self, channel, body):
        self.batch_id = body.get_child_value(0).get_uint64()
        self.stop_on_error = body.get_child_value(1).get_boolean()
        references = body.get_child_value(2)
        self.references = [references.get_child_value(i)
                           for i in range(references.n_children())]
        # (reference index, argument tuple, shared-memory arguments) per task
        self.tasks = list(self._tasks(channel, body))
        self.indexes = [task[0] for task in self.tasks]

    @staticmethod
    def _tasks(channel, body):
        if channel.version == 1:
            tasks = body.get_child_value(3)
            for position in range(tasks.n_children()):
                task = tasks.get_child_value(position)
                shared = task.get_child_value(2)
                yield (task.get_child_value(0).get_uint32(),
                       task.get_child_value(1).get_variant(),
                       [shared.get_child_value(i).unpack() for i in range(shared.n_children())])
            return
        indexes = body.get_child_value(3).unpack()
        args = body.get_child_value(4)
        if args.n_children() != len(indexes):
            raise ProtocolError(f"a call of {len(indexes)} tasks with {args.n_children()} "
                                f"argument tuples")
        shared = {}
        table = body.get_child_value(5)
        for i in range(table.n_children()):
            task, position, path, type_string, size = table.get_child_value(i).unpack()
            shared.setdefault(task, []).append((position, path, type_string, size))
        for position, index in enumerate(indexes):
            yield index, args.get_child_value(position).get_variant(), shared.get(position, [])

    def run(self, GLib, position, call, python):
        """Task ``position``'s answer (a GLib.Variant)."""
        _, task_args, shared = self.tasks[position]
        args, mapped = _arguments(GLib, task_args, shared)
        try:
            return call(args)
        finally:
            del mapped


class _BytesCall:
    """A CALL frame read from its bytes (_callframe); a task whose
    arguments are not read there is read through GLib."""

    def __init__(self, channel, payload, frame):
        self.channel = channel
        self.payload = payload
        self.frame = frame
        self.batch_id = frame.batch_id
        self.stop_on_error = frame.stop_on_error
        self.references = frame.references
        self.indexes = frame.indexes
        self.args = None   # the argument tuples through GLib, when needed

    def run(self, GLib, position, call, python):
        """Task ``position``'s answer: (bytes, type), or a GLib.Variant."""
        if python is not None:
            decoded = self.frame.decode_args(position)
            if decoded is not None:
                return encode_result(python.call_values(*decoded))
        if self.args is None:
            self.args = self.channel.body(GLib, _CALL, self.payload).get_child_value(4)
        return call(self.args.get_child_value(position).get_variant())


def _run_call(GLib, channel, resolver, status, call):
    start = time.monotonic()
    batch_id = call.batch_id
    funcs = []
    for reference in call.references:
        try:
            funcs.append(resolver.resolve(GLib, reference))
        except ProtocolError:
            raise
        except BaseException as exc:  # noqa: BLE001 -- reported per task
            funcs.append(exc)
    for position, index in enumerate(call.indexes):
        if status is not None:
            _STATUS.pack_into(status, 0, batch_id, position, 1)
        result = None
        error = None
        try:
            if index >= len(funcs):
                raise ProtocolError(f"task {position} names function {index} of {len(funcs)}")
            func = funcs[index]
            if isinstance(func, BaseException):
                raise func
            result = call.run(GLib, position, *func)
        except ProtocolError:
            raise
        except BaseException as exc:  # noqa: BLE001 -- every exception goes back
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            error = _error_message(exc)
        finally:
            if status is not None:
                _STATUS.pack_into(status, 0, batch_id, position, 0)
        if error is None:
            channel.result(GLib, batch_id, position, result)
        else:
            channel.append(GLib, _ERROR, GLib.Variant("(tusis)", (batch_id, position) + error))
        channel.maybe_flush(GLib)
        if error is not None and call.stop_on_error:
            break
    channel.done(GLib, batch_id, time.monotonic() - start)


def _run_init(GLib, channel, resolver, body):
    """Runs the worker initializer of an INIT frame once, dropping its
    value.  Returns None, or the error it sent as call 0, task 0 (its
    (domain, code, message)): then the worker must leave."""
    try:
        func = resolver.resolve(GLib, body.get_child_value(0))[0]
        args = body.get_child_value(1).get_variant()
        if not args.get_type_string().startswith("("):
            raise ProtocolError(f"initializer arguments of type {args.get_type_string()!r} "
                                f"are not a tuple")
        func(args)
    except ProtocolError as exc:
        error = (_JOB_ERROR_DOMAIN, _JOB_ERROR_PROTOCOL, str(exc))
    except BaseException as exc:  # noqa: BLE001 -- every exception goes back
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        error = _error_message(exc)
    else:
        return None
    channel.append(GLib, _ERROR, GLib.Variant("(tusis)", (0, 0) + error))
    return error


def _die_with_parent():
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
    except (OSError, AttributeError):
        pass
    return os.getppid() != 1


def main():
    if not _die_with_parent():
        return 1
    # Keep the protocol on private descriptors: what tasks print to stdout
    # goes to stderr, and they read nothing from the parent's pipe.
    in_fd = os.dup(0)
    out_fd = os.dup(1)
    sys.stdout.flush()
    os.dup2(2, 1)
    null_fd = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null_fd, 0)
    os.close(null_fd)

    from . import _callframe
    from ._functions import set_process_nesting_level
    from ._gi import GLib
    # tasks here are one level down: their Parallel calls use threads,
    # and run in their caller one level further (as joblib's workers)
    set_process_nesting_level(1)
    channel = _Channel(in_fd, out_fd)
    status = _map_status_page()
    resolver = _Resolver()
    first = True
    try:
        while True:
            kind, payload = channel.read()
            if kind is None or kind == _GOODBYE:
                channel.flush(GLib)   # answers held while this was queued
                return 0
            if first:
                # HELLO goes out once the parent's first frame told which
                # protocol version it speaks (pipes buffer either way).
                first = False
                channel.append(GLib, _HELLO,
                               GLib.Variant("(sxa{sv})", ("python", os.getpid(), {})))
            if kind == _INIT:
                error = _run_init(GLib, channel, resolver, channel.body(GLib, kind, payload))
                channel.flush(GLib)
                if error is not None:
                    from ._functions import _REMOTE_MARKER
                    # the message without the marker lines that carry the type
                    text = error[2].partition(_REMOTE_MARKER)[0].rstrip()
                    sys.stderr.write(f"joblib_glib.worker[{os.getpid()}]: the initializer "
                                     f"failed: {text}\n")
                    return _EXIT_INIT_FAILED
                continue
            if kind != _CALL:
                raise ProtocolError(f"unexpected frame of type {kind} from the parent")
            if not channel.pending and channel.results is None:
                # "old" counts from the first answer held
                channel.last_flush = time.monotonic()
            frame = _callframe.parse(payload) if channel.version == 2 else None
            if frame is None:
                call = _GLibCall(channel, channel.body(GLib, kind, payload))
            else:
                call = _BytesCall(channel, payload, frame)
            _run_call(GLib, channel, resolver, status, call)
            if not channel.input_waiting():
                channel.flush(GLib)
    except ProtocolError as error:
        sys.stderr.write(f"joblib_glib.worker[{os.getpid()}]: {error}\n")
        del channel.pending[:]
        channel.results = None
        channel.version = channel.version or max(_TYPES)
        channel.append(GLib, _GOODBYE, GLib.Variant("(s)", (str(error),)))
        channel.flush()
        return 2
    except (BrokenPipeError, KeyboardInterrupt):
        return 0


if __name__ == "__main__":
    sys.exit(main())
