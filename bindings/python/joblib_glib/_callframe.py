# SPDX-License-Identifier: LGPL-2.1-or-later
"""A version 2 CALL frame of the worker protocol, read from its bytes.

The payload of a CALL frame is GLib's serialization of
``(tba(sa{sv})auava(uusst))``: the call's id, whether to stop at the first
error, the function references, each task's reference index, each task's
argument tuple (a variant) and the shared-memory arguments.  Reading one
task's arguments through PyGObject took about fifteen calls of one to two
microseconds each, several times the cost of a small task; here the frame
is read with struct and slices instead, every offset checked against the
bounds of its container.

Anything in another shape is left to GLib, as the worker read every frame
before: parse() returns None for the whole frame (a framing offset out of
order or out of bounds, shared-memory arguments, a big-endian machine), and
decode_args() returns None for one task's arguments (a type not listed
there, a value not in normal form).  So a frame read here gives the values
GLib would give, and a frame GLib would read differently is read by GLib.

Used by the worker's main thread only: nothing here is shared.
"""

import pickle
import struct
import sys

from . import _buffers
from ._framing import offset_width
from ._values import _ARRAY, _parse_array, pickled_args_span

_CODES = {1: "B", 2: "H", 4: "I", 8: "Q"}
_U64 = struct.Struct("<Q")
_SCALARS = {b"x": struct.Struct("<q"), b"d": struct.Struct("<d")}
_ARRAY_TYPE = _ARRAY.encode("ascii")
# "(v…vb)": the argument tuples that PythonFunction makes, by type string;
# the number of v members, or None for any other type
_arities = {}


def _elements(data, start, end, align):
    """The (start, end) of each element of the array of variable-size
    elements (aligned to ``align``) serialized in data[start:end], or None
    when its framing offsets are out of bounds or out of order."""
    size = end - start
    if size == 0:
        return []
    width = offset_width(size)
    code = _CODES[width]
    last = struct.unpack_from("<" + code, data, end - width)[0]
    if last > size - width or (size - last) % width:
        return None
    ends = struct.unpack_from("<%d%s" % ((size - last) // width, code), data, start + last)
    spans = []
    position = 0
    for element_end in ends:
        position += -position % align
        if not position <= element_end <= last:
            return None
        spans.append((start + position, start + element_end))
        position = element_end
    return spans


class CallFrame:
    """The parts of a CALL payload: ``batch_id``, ``stop_on_error``,
    ``references`` (each reference's serialized bytes), ``indexes`` (each
    task's reference) and ``args`` (each task's (start, end, type) in
    ``data``: where its argument tuple's bytes are, and their type)."""

    __slots__ = ("data", "batch_id", "stop_on_error", "references", "indexes", "args")

    def decode_args(self, position):
        """(values, opaque, pickled) of task ``position``'s arguments, or
        None when they are not in a form read here: then read them
        through GLib.  ``pickled``: the arguments came as one pickle."""
        start, end, type_string = self.args[position]
        return decode_args(self.data, start, end, type_string)


def parse(data):
    """The CallFrame of a version 2 CALL payload (bytes or bytearray), or
    None when GLib must read it (see the module's comment)."""
    if sys.byteorder != "little":
        return None
    size = len(data)
    width = offset_width(size)
    tail = size - 3 * width
    if tail < 16 or data[8] > 1:
        return None
    # the ends of the three variable-size members before the last, stored
    # last to first at the end of the tuple
    args_end, indexes_end, references_end = struct.unpack_from("<3" + _CODES[width], data, tail)
    indexes_start = references_end + (-references_end % 4)
    args_start = indexes_end + (-indexes_end % 8)
    shared_start = args_end + (-args_end % 8)
    if not 16 <= references_end <= indexes_start <= indexes_end <= args_start <= args_end \
            <= shared_start <= tail or (indexes_end - indexes_start) % 4:
        return None
    if shared_start != tail:
        return None   # shared-memory arguments: GLib reads those calls
    references = _elements(data, 16, references_end, 8)
    spans = _elements(data, args_start, args_end, 8)
    if references is None or spans is None:
        return None
    indexes = struct.unpack_from("<%dI" % ((indexes_end - indexes_start) // 4), data,
                                 indexes_start)
    if len(indexes) != len(spans):
        return None   # GLib's reading reports it
    args = []
    for start, end in spans:
        # a variant: its value, a zero byte, its type string
        zero = data.rfind(b"\0", start, end)
        if zero < 0:
            return None
        args.append((start, zero, bytes(data[zero + 1:end])))
    frame = CallFrame()
    frame.data = data
    frame.batch_id = _U64.unpack_from(data, 0)[0]
    frame.stop_on_error = data[8] == 1
    frame.references = [bytes(data[start:end]) for start, end in references]
    frame.indexes = indexes
    frame.args = args
    return frame


def _arity(type_string):
    """The number of v members of a "(v…vb)" type string, else None."""
    found = _arities.get(type_string, False)
    if found is False:
        found = None
        if len(type_string) >= 3 and type_string.startswith(b"(") and \
                type_string.endswith(b"b)") and type_string[1:-2] == b"v" * (len(type_string) - 3):
            found = len(type_string) - 3
        if len(_arities) < 64:
            _arities[type_string] = found
    return found


def decode_args(data, start, end, type_string):
    """(values, opaque, pickled) of the argument tuple of type
    ``type_string`` (bytes) serialized in data[start:end], or None when it
    is not read here.  Values as _values.from_variant gives them to a
    worker (small arrays read-only over the frame's bytes, copied by the
    caller as worker_array says)."""
    if type_string == b"(sv)":
        span = pickled_args_span(data, start, end)
        if span is None:
            return None
        values, opaque = pickle.loads(memoryview(data)[span[0]:span[1]])
        return values, opaque, True
    count = _arity(type_string)
    if count is None:
        return None
    size = end - start
    width = offset_width(size)
    # one framing offset per v member, stored last to first, after the b
    table = end - count * width
    flag = table - 1
    if flag < start or data[flag] > 1:
        return None
    ends = struct.unpack_from("<%d%s" % (count, _CODES[width]), data, table)
    values = []
    position = 0
    for i in range(count - 1, -1, -1):
        position += -position % 8
        value_end = ends[i]
        if not position <= value_end <= flag - start:
            return None
        value = _decode_variant(data, start + position, start + value_end)
        if value is _UNREAD:
            return None
        values.append(value)
        position = value_end
    if start + position != flag:
        return None
    return values, data[flag] == 1, False


_UNREAD = object()


def _decode_variant(data, start, end):
    """The Python value of the variant serialized in data[start:end] when
    it is a scalar (x, d, b, s) or a JobArray, else _UNREAD."""
    zero = data.rfind(b"\0", start, end)
    if zero < 0:
        return _UNREAD
    type_string = bytes(data[zero + 1:end])
    scalar = _SCALARS.get(type_string)
    if scalar is not None:
        return scalar.unpack_from(data, start)[0] if zero - start == 8 else _UNREAD
    if type_string == _ARRAY_TYPE:
        parsed = _parse_array(data, start, zero)
        if parsed is None:
            return _UNREAD
        typestr, shape, data_start, data_end = parsed
        view = memoryview(data).toreadonly()[data_start:data_end]
        return _buffers.array_from_data(view, typestr, shape, False)
    if type_string == b"b":
        return bool(data[start]) if zero - start == 1 and data[start] <= 1 else _UNREAD
    if type_string == b"s":
        if zero - start < 1 or data[zero - 1] != 0 or data.find(b"\0", start, zero - 1) >= 0:
            return _UNREAD
        try:
            return bytes(data[start:zero - 1]).decode("utf-8")
        except UnicodeDecodeError:
            return _UNREAD
    return _UNREAD
