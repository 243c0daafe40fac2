# SPDX-License-Identifier: LGPL-2.1-or-later
"""Python values <-> GVariant, without changing any value's type.

The GVariant form is used only where it is lossless (see ``_plain``):
exact ``int``, ``float``, ``complex``, ``str``, ``bytes``, ``bytearray``,
``bool``, ``None``, plain ``list``, ``tuple``, ``dict``, ``set`` and
``frozenset`` of those, and base-class numpy arrays of numeric dtypes in C
order (zero copy).  Any other value -- numpy scalars, enum members, dict
subclasses, masked arrays, matrices, Fortran-ordered arrays, objects --
and any value in which one container appears twice (shared or
self-referencing structure) is pickled as a whole, so that it comes back
with its exact types, order, masks and identity structure.  Pickles use
protocol 5 with numpy buffers out of band: arrays inside pickled values
stay zero-copy, aligned and mmap-able in files.

A ``(sv)`` tag never comes from user data, because user tuples become
tuples of ``v``, so tags cannot be confused with values.  Loading pickled
content with ``allow_pickle=False`` rebuilds standard values only (see
_safe_pickle): safe by default.
"""

import io
import pickle
import struct
import sys

from . import _buffers
from ._framing import offset_width, offset_width_for_body
from ._safe_pickle import PickleNotAllowedError, safe_loads

from gi.module import get_introspection_module

from ._gi import GLib, Joblib

_TAG = "(sv)"
# JobArray's variant form ("joblib.array", typestr, shape, data): what
# job_dump writes as an aligned, mmap-able buffer (JOB_ARRAY_VARIANT_TYPE).
_ARRAY = "(ssatay)"
_ARRAY_TAG = "joblib.array"
_ARRAY_TYPES = frozenset(["b1", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8",
                          "f2", "f4", "f8", "c8", "c16"])
# a pickle whose numpy buffers travel out of band: (pickle bytes, buffers)
_PICKLE_BUFFERS_TYPE = "(ayaay)"


def _tagged(tag, value):
    # direct constructors: GLib.Variant(_TAG, ...) parses the type string
    # and walks the value in Python, several microseconds a call
    return _new_tuple([_new_string(tag), _new_variant(value)])


# Direct constructors: GLib.Variant(type, value) parses its type string on
# every call, several times slower for the scalars that most tasks take.
_new_int64 = GLib.Variant.new_int64
_new_double = GLib.Variant.new_double
_new_string = GLib.Variant.new_string
_new_boolean = GLib.Variant.new_boolean
_new_variant = GLib.Variant.new_variant
_new_tuple = get_introspection_module("GLib").Variant.new_tuple
_INT64_MIN, _INT64_MAX = -(2 ** 63), 2 ** 63 - 1
_V = GLib.VariantType.new("v")
_AT = GLib.VariantType.new("at")
_AY = GLib.VariantType.new("ay")
# Variants are immutable: the array tag and each dtype string are made once.
_ARRAY_TAG_VARIANT = GLib.Variant("s", _ARRAY_TAG)
_TYPESTR_VARIANTS = {}
_SV_ENTRY = GLib.VariantType.new("{sv}")
_AY = GLib.VariantType.new("ay")
_new_dict_entry = GLib.Variant.new_dict_entry
_new_array = GLib.Variant.new_array
_new_bytes = GLib.Bytes.new
_new_from_bytes = GLib.Variant.new_from_bytes
_NONE = GLib.Variant("mv", None)


def _string(obj):
    """A str's variant: "s", or, when GLib's strings cannot hold it (a NUL,
    a lone surrogate), the tagged bytes that _from_tagged reads back."""
    if "\0" not in obj:
        try:
            return _new_string(obj)
        except UnicodeEncodeError:
            pass
    return _tagged("str", _new_from_bytes(_AY, _new_bytes(obj.encode("utf-8", "surrogatepass")),
                                          True))


class _NotPlain(Exception):
    """Raised inside _plain: the value needs pickle."""


def _plain(obj, seen, sort_keys=False, coerce_mmap=False):
    """The lossless GVariant form of ``obj``, else raise _NotPlain.

    ``seen`` collects the ids of containers met: a container met twice
    (shared or self-referencing) is not plain, as pickle keeps identity.
    With ``sort_keys`` (cache keys) str-keyed dicts are written in key
    order and memmaps as arrays, as joblib's hash makes no difference."""
    kind = type(obj)
    if kind is int:
        if _INT64_MIN <= obj <= _INT64_MAX:
            return _new_int64(obj)
        return _tagged("bigint", _new_string(str(obj)))
    if kind is float:
        return _new_double(obj)
    if kind is str:
        return _string(obj)
    if kind is bool:
        return _new_boolean(obj)
    if obj is None:
        return _NONE
    if kind is bytes:
        return _new_from_bytes(_AY, _new_bytes(obj), True)
    if kind is list or kind is dict or kind is tuple or kind is set or kind is frozenset \
            or kind is bytearray:
        if obj or kind is not tuple:  # () is one object that pickle never shares
            key = id(obj)
            if key in seen:
                raise _NotPlain
            seen.add(key)
        if kind is list:
            return GLib.Variant.new_array(
                _V, [_new_variant(_plain(x, seen, sort_keys, coerce_mmap)) for x in obj])
        if kind is tuple:
            if not obj:
                return GLib.Variant("()", ())
            return _new_tuple([_new_variant(_plain(x, seen, sort_keys, coerce_mmap))
                               for x in obj])
        if kind is dict:
            return _plain_dict(obj, seen, sort_keys, coerce_mmap)
        if kind is bytearray:
            return _tagged("bytearray", GLib.Variant("ay", bytes(obj)))
        items = sorted(obj, key=_set_order) if sort_keys else obj
        return _tagged("set" if kind is set else "frozenset",
                       GLib.Variant.new_array(_V, [_new_variant(
                           _plain(x, seen, sort_keys, coerce_mmap)) for x in items]))
    if kind is complex:
        return _tagged("complex", GLib.Variant("(dd)", (obj.real, obj.imag)))
    if isinstance(obj, GLib.Variant):
        return _tagged("variant", _new_variant(obj))
    numpy = sys.modules.get("numpy")
    if numpy is not None and (kind is numpy.ndarray or
                              (coerce_mmap and kind is numpy.memmap)):
        if obj.dtype.str[1:] not in _ARRAY_TYPES or not _c_ordered(obj):
            raise _NotPlain
        key = id(obj)
        if key in seen:
            raise _NotPlain
        seen.add(key)
        return array_to_variant(obj)
    raise _NotPlain


def _set_order(item):
    # sets of one orderable type in value order, else by type then repr:
    # stable across interpreters (never by hash(), which is salted for str)
    return (type(item).__name__, item) if isinstance(item, (int, float, str, bytes)) \
        and not isinstance(item, bool) else (type(item).__name__, repr(item))


def _plain_dict(obj, seen, sort_keys, coerce_mmap):
    if all(type(k) is str and "\0" not in k for k in obj):
        items = sorted(obj.items()) if sort_keys else obj.items()
        # the introspected constructors: GLib.Variant("a{sv}", ...) parses
        # type strings for every member, several times slower
        try:
            return _new_array(_SV_ENTRY, [
                _new_dict_entry(_new_string(k),
                                _new_variant(_plain(v, seen, sort_keys, coerce_mmap)))
                for k, v in items])
        except UnicodeEncodeError:
            pass   # a key with a lone surrogate: as a general dict
    if sort_keys:
        raise _NotPlain  # joblib orders mixed keys its own way: the hasher does it
    pairs = [GLib.Variant.new_tuple(_new_variant(_plain(k, seen, sort_keys, coerce_mmap)),
                                    _new_variant(_plain(v, seen, sort_keys, coerce_mmap)))
             for k, v in obj.items()]
    return _tagged("dict", GLib.Variant.new_array(GLib.VariantType("(vv)"), pairs))


def _c_ordered(array):
    """C-contiguous with the strides numpy gives a new array of this shape
    (numpy calls arrays with odd strides on length-1 axes contiguous too)."""
    if not array.flags.c_contiguous:
        return False
    stride = array.itemsize
    for dim, actual in zip(reversed(array.shape), reversed(array.strides)):
        if actual != stride and dim > 1:
            return False
        stride *= dim
    return True


def plain_variant(obj, sort_keys=False, coerce_mmap=False):
    """The lossless GVariant form of ``obj``, or None when it needs pickle."""
    try:
        return _plain(obj, set(), sort_keys, coerce_mmap)
    except _NotPlain:
        return None
    except RecursionError:
        return None


def dumps(obj, by_value=False, protocol=pickle.HIGHEST_PROTOCOL, buffers=None):
    """Pickle bytes of ``obj``.  ``by_value``: as loky sends values to its
    workers (cloudpickle for lambdas, local functions and everything of
    ``__main__``, plain pickle otherwise).  ``buffers``: a list that
    receives numpy buffers out of band (protocol 5)."""
    callback = buffers.append if buffers is not None else None
    try:
        data = pickle.dumps(obj, protocol=protocol, buffer_callback=callback)
    except (pickle.PicklingError, AttributeError, TypeError):
        if not by_value:
            raise
        data = None
    if by_value and (data is None or b"__main__" in data):
        try:
            import cloudpickle
        except ImportError:
            if data is None:
                raise
            return data
        if buffers is not None:
            del buffers[:]
        data = cloudpickle.dumps(obj, protocol=protocol, buffer_callback=callback)
    return data


_variant_from_pickle = Joblib.variant_from_pickle
# Containers with fewer items are converted node by node, faster for them.
_TREE_MIN_ITEMS = 8


def _drop_buffer(buffer):
    return None  # out of band: arrays are not copied into a pickle dropped anyway


def _plain_tree(obj):
    """The GVariant of a plain container made by one C call from its
    pickle (Python's C pickler), or None when the container is not plain
    (classes, shared containers): then _plain decides."""
    try:
        data = pickle.dumps(obj, protocol=5, buffer_callback=_drop_buffer)
    except Exception:  # noqa: BLE001 -- unpicklable: _plain says why
        return None
    try:
        return _variant_from_pickle(_new_bytes(data))
    except GLib.Error:
        return None


def to_variant(obj, allow_pickle=True, by_value=False):
    """Convert a Python value into a GLib.Variant (losslessly: see above).

    ``allow_pickle=False`` raises TypeError for values that need pickle;
    ``by_value`` pickles as loky does for its workers (cloudpickle)."""
    kind = type(obj)
    if kind is int and _INT64_MIN <= obj <= _INT64_MAX:
        return _new_int64(obj)
    if kind is float:
        return _new_double(obj)
    if kind is str:
        return _string(obj)
    if kind is bool:
        return _new_boolean(obj)
    if (kind is list or kind is dict or kind is tuple or kind is set or kind is frozenset) \
            and len(obj) >= _TREE_MIN_ITEMS:
        tree = _plain_tree(obj)
        if tree is not None:
            return tree
    try:
        return _plain(obj, set())
    except (_NotPlain, RecursionError):
        pass
    if not allow_pickle:
        raise TypeError(f"cannot convert {type(obj).__name__} to a GVariant without pickling")
    return pickled_variant(obj, by_value)


def pickled_variant(obj, by_value=False, protocol=pickle.HIGHEST_PROTOCOL):
    """The ("pickle", ...) form of any picklable value: plain pickle bytes,
    or (bytes, buffers) when numpy buffers went out of band."""
    buffers = [] if protocol >= 5 else None
    data = dumps(obj, by_value, protocol, buffers)
    if not buffers:
        return _tagged("pickle", GLib.Variant.new_from_bytes(
            GLib.VariantType("ay"), GLib.Bytes.new(data), True))
    children = []
    for buffer in buffers:
        raw = buffer.raw()
        numpy = sys.modules.get("numpy")
        if numpy is not None and raw.nbytes:
            data_bytes = _buffers.bytes_for_array(numpy.frombuffer(raw, dtype=numpy.uint8))
        else:
            data_bytes = GLib.Bytes.new(raw.tobytes())
        children.append(GLib.Variant.new_from_bytes(GLib.VariantType("ay"), data_bytes, True))
    return _tagged("pickle", GLib.Variant.new_tuple(
        GLib.Variant.new_from_bytes(GLib.VariantType("ay"), GLib.Bytes.new(data), True),
        GLib.Variant.new_array(GLib.VariantType("ay"), children)))


def _numpy_to_variant(obj, allow_pickle):
    """Kept for callers of the old name: the array form of a plain array."""
    return plain_variant(obj)


# Arguments of process workers up to this size are copied into their
# variant, and read back from a copy, as they are copied into the CALL
# frame and again in the worker anyway: sharing the buffer (a GBytes over the array's memory, made
# through ctypes) and building the tuple child by child cost about 20 µs
# per array, copying 64 KiB about 3.
_COPY_MAX = 64 * 1024
_ARRAY_TYPE = GLib.VariantType.new(_ARRAY)
_ARRAY_HEAD = _ARRAY_TAG.encode("ascii") + b"\0"
_OFFSET_FORMATS = ((1, "<3B"), (2, "<3H"), (4, "<3I"), (8, "<3Q"))


def _serialized_array(typestr, shape, data):
    """The normal form of ("joblib.array", typestr, shape, data) as
    (ssatay), what GLib would write: the two strings, the shape aligned to
    8 bytes, the data, then the little-endian end offsets of the first
    three members, the last member's first, in the smallest width that
    addresses the whole."""
    head = _ARRAY_HEAD + typestr.encode("ascii") + b"\0"
    pad = b"\0" * (-len(head) % 8)
    shape_bytes = struct.pack("=%dQ" % len(shape), *shape)
    shape_end = len(head) + len(pad) + len(shape_bytes)
    body = shape_end + len(data)
    for width, offsets in _OFFSET_FORMATS:
        if body + 3 * width < 1 << (8 * width):
            break
    return b"".join((head, pad, shape_bytes, data,
                     struct.pack(offsets, shape_end, len(head), len(_ARRAY_HEAD))))


def array_to_variant(array, copy_small=False):
    """The JobArray variant form of a numpy array, sharing its buffer when
    it is C-contiguous (else of a contiguous copy); with ``copy_small``,
    arrays of up to 64 KiB are copied into it."""
    import numpy
    contiguous = numpy.require(array, requirements="C")  # keeps 0-d arrays 0-d
    typestr = contiguous.dtype.str
    shape = contiguous.shape
    if copy_small and contiguous.nbytes <= _COPY_MAX:
        return _new_from_bytes(_ARRAY_TYPE, _new_bytes(
            _serialized_array(typestr, shape, contiguous.tobytes())), True)
    data = _buffers.bytes_for_array(contiguous)
    typestr_variant = _TYPESTR_VARIANTS.get(typestr)
    if typestr_variant is None:
        typestr_variant = _TYPESTR_VARIANTS.setdefault(typestr, GLib.Variant("s", typestr))
    # "at" is a fixed-size array: its serialized form is the native
    # uint64s one after another, built with one call (GLib.Variant("at",
    # ...) walks the list in Python).
    shape_variant = GLib.Variant.new_from_bytes(
        _AT, GLib.Bytes.new(struct.pack("=%dQ" % len(shape), *shape)), True)
    return GLib.Variant.new_tuple(_ARRAY_TAG_VARIANT, typestr_variant, shape_variant,
                                  GLib.Variant.new_from_bytes(_AY, data, True))


def call_arg_variant(obj):
    """The GVariant of a task argument bound for a worker process: small
    numpy arrays copied (array_to_variant), anything else as to_variant."""
    numpy = sys.modules.get("numpy")
    if numpy is not None and type(obj) is numpy.ndarray and obj.nbytes <= _COPY_MAX and \
            obj.dtype.str[1:] in _ARRAY_TYPES and obj.flags.c_contiguous:
        return array_to_variant(obj, copy_small=True)
    return to_variant(obj)


_ARGS_TYPES = {}
_LITTLE = sys.byteorder == "little"


def serialized_call_args(values, opaque):
    """The argument tuple (v…vb) that call_arg_variant's values and the
    ``opaque`` flag make, written here as GLib serializes it when every
    value is a small contiguous array or a number, boolean or string
    (little-endian machines), else None.  One GLib call instead of four
    or five per argument: the form a worker reads from the frame's bytes
    (_callframe).  Checked against GLib's own by the tests."""
    if not _LITTLE:
        return None
    numpy = sys.modules.get("numpy")
    parts = []
    ends = []
    size = 0
    for value in values:
        kind = type(value)
        if kind is int and _INT64_MIN <= value <= _INT64_MAX:
            part = struct.pack("<q", value) + b"\0x"
        elif kind is float:
            part = struct.pack("<d", value) + b"\0d"
        elif kind is bool:
            part = b"\1\0b" if value else b"\0\0b"
        elif kind is str and "\0" not in value:
            try:
                part = value.encode("utf-8") + b"\0\0s"
            except UnicodeEncodeError:
                return None
        elif numpy is not None and kind is numpy.ndarray and value.nbytes <= _COPY_MAX and \
                value.dtype.str[1:] in _ARRAY_TYPES and value.flags.c_contiguous:
            part = _serialized_array(value.dtype.str, value.shape, value.tobytes()) + \
                b"\0" + _ARRAY.encode("ascii")
        else:
            return None
        if size % 8:
            parts.append(bytes(8 - size % 8))
            size += 8 - size % 8
        parts.append(part)
        size += len(part)
        ends.append(size)
    parts.append(b"\1" if opaque else b"\0")
    size += 1
    # one framing offset per variant, the last one's first, in the
    # smallest width that addresses the whole tuple
    for width in (1, 2, 4, 8):
        if size + width * len(ends) <= (1 << (8 * width)) - 1 or width == 8:
            break
    parts.extend(end.to_bytes(width, "little") for end in reversed(ends))
    type_string = "(" + "v" * len(ends) + "b)"
    variant_type = _ARGS_TYPES.get(type_string)
    if variant_type is None:
        variant_type = _ARGS_TYPES.setdefault(type_string, GLib.VariantType.new(type_string))
    return _new_from_bytes(variant_type, _new_bytes(b"".join(parts)), True)


def _parse_array(raw, start=0, end=None):
    """(typestr, shape, data start, data end) of the (ssatay) JobArray
    variant in raw[start:end] (bytes, bytearray or memoryview) when it is
    in the normal form that _serialized_array writes (GLib's), else None.
    Every offset is checked against the size; positions are raw's."""
    size = (len(raw) if end is None else end) - start
    width = offset_width(size)
    body = size - 3 * width
    if body < len(_ARRAY_HEAD) or raw[start:start + len(_ARRAY_HEAD)] != _ARRAY_HEAD:
        return None
    shape_end, typestr_end, tag_end = struct.unpack_from(_OFFSET_FORMATS[
        (1, 2, 4, 8).index(width)][1], raw, start + body)
    shape_start = typestr_end + (-typestr_end % 8)
    if tag_end != len(_ARRAY_HEAD) or not tag_end < typestr_end <= shape_start <= \
            shape_end <= body or (shape_end - shape_start) % 8 or \
            raw[start + typestr_end - 1] != 0:
        return None
    try:
        typestr = bytes(raw[start + tag_end:start + typestr_end - 1]).decode("ascii")
    except UnicodeDecodeError:
        return None
    if "\0" in typestr:
        return None
    shape = struct.unpack_from("=%dQ" % ((shape_end - shape_start) // 8), raw,
                               start + shape_start)
    return typestr, shape, start + shape_end, start + body


def _array_or_none(value, writable, copy_small):
    """The array of a (ssatay) value tagged as a JobArray, else None. With
    ``copy_small``, one of up to 64 KiB is read from a copy of the whole
    value: one call of PyGObject instead of about eight (1.5 µs each)."""
    if copy_small and value.get_size() <= _COPY_MAX:
        raw = value.get_data_as_bytes().get_data() or b""
        parsed = _parse_array(raw)
        if parsed is not None:
            return _buffers.array_from_data(raw[parsed[2]:parsed[3]], parsed[0], parsed[1],
                                            writable)
    if value.get_child_value(0).get_string() == _ARRAY_TAG:
        return array_from_variant(value, writable)
    return None


def array_from_variant(value, writable=False):
    """The numpy array viewing a JobArray variant's bytes."""
    typestr = value.get_child_value(1).get_string()
    shape = value.get_child_value(2).unpack()
    data = value.get_child_value(3).get_data_as_bytes()
    return _buffers.array_from_bytes(data, typestr, shape, writable)


# Scalars read with one call: Variant.unpack() is Python code that looks
# the type up again, several times slower per value.
_SCALAR_GETTERS = {"x": GLib.Variant.get_int64, "d": GLib.Variant.get_double,
                   "s": GLib.Variant.get_string, "b": GLib.Variant.get_boolean}

_HOW = ("Pass allow_pickle=True to load them if you trust where they come from, or "
        "trusted=[...] with those type names.")


class _Loading:
    """How pickled content is read: fully (allow_pickle True), or standard
    values only (False), decided at the first pickle met when allow_pickle
    is a callable (Memory checks its folder only then)."""

    __slots__ = ("allow", "trusted", "writable", "how", "native", "copy_small")

    def __init__(self, allow, trusted, writable, how, native=False, copy_small=False):
        self.allow, self.trusted, self.writable, self.how = allow, trusted, writable, how
        self.native = native
        self.copy_small = copy_small

    def loads(self, data, buffers):
        if callable(self.allow):
            self.allow = self.allow()
        if self.allow is True:
            return pickle.loads(data, buffers=buffers)
        how = self.allow if isinstance(self.allow, str) else self.how
        return safe_loads(data, self.trusted, buffers, how)


def from_variant(value, allow_pickle=True, writable=False, trusted=None, native=False,
                 copy_small=False):
    """Convert a GLib.Variant made by :func:`to_variant` back to Python.

    numpy arrays view the variant's buffer: read-only unless ``writable``
    (for values whose buffer nobody else holds, such as results).
    ``allow_pickle=False``: pickled content is rebuilt only when it holds
    standard values (and the ``trusted`` type names), else
    PickleNotAllowedError names the types found.  ``allow_pickle`` may be a
    callable deciding at the first pickle met (True, False or a message
    saying why not).  ``native``: arrays of the other byte order come back
    in the machine's, as joblib's load gives them.  ``copy_small``: arrays
    of up to 64 KiB are read from a copy instead (a worker's arguments,
    copied again anyway)."""
    type_string = value.get_type_string()
    if type_string == "v":
        value = value.get_variant()
        type_string = value.get_type_string()
    getter = _SCALAR_GETTERS.get(type_string)
    if getter is not None:
        return getter(value)
    if allow_pickle is not True or trusted:
        from ._safe_pickle import trusted_names
        loading = _Loading(allow_pickle, trusted_names(trusted), writable, _HOW, native,
                           copy_small)
    else:
        loading = _Loading(True, (), writable, _HOW, native, copy_small)
    return _from(value, type_string, loading)


class _TreeUnpickler(pickle.Unpickler):
    """Reads the pickles of Joblib.variant_to_pickle: C speed for trees of
    small values.  They hold plain opcodes and one global, complex; the
    subvalues left out (arrays, pickled payloads...) come back through
    ``persistent_load``, set per load."""

    def find_class(self, module, name):
        if (module, name) == ("builtins", "complex"):
            return complex
        raise pickle.UnpicklingError(f"unexpected global {module}.{name}")


_variant_to_pickle = Joblib.variant_to_pickle


def load_tree(value, rebuild):
    """The Python value of a container ``value``: its tree of plain values
    rebuilt by one C call and Python's C unpickler, instead of one
    PyGObject call per node; ``rebuild(subvalue)`` makes the rest."""
    data, deferred = _variant_to_pickle(value)
    unpickler = _TreeUnpickler(io.BytesIO(data.get_data()))
    if deferred.n_children():
        unpickler.persistent_load = \
            lambda pid: rebuild(deferred.get_child_value(pid).get_variant())
    return unpickler.load()


# Containers this small are read faster node by node than through a pickle.
_TREE_MIN_SIZE = 64


def _from(value, type_string, loading):
    getter = _SCALAR_GETTERS.get(type_string)
    if getter is not None:
        return getter(value)
    if type_string == "v":
        inner = value.get_variant()
        return _from(inner, inner.get_type_string(), loading)
    if type_string == _TAG:
        return _from_tagged(value, loading)
    if type_string == _ARRAY:
        array = _array_or_none(value, loading.writable, loading.copy_small)
        if array is not None:
            if loading.native and not array.dtype.isnative:
                array = array.astype(array.dtype.newbyteorder("="))
            return array
    if type_string == "mv":
        inner = value.get_maybe()
        return None if inner is None else _from(inner, inner.get_type_string(), loading)
    if (type_string == "av" or type_string == "a{sv}") and value.get_size() >= _TREE_MIN_SIZE:
        return load_tree(value, lambda sub: _from(sub, sub.get_type_string(), loading))
    if type_string == "av":
        return [_child(value, i, loading) for i in range(value.n_children())]
    if type_string.startswith("("):
        return tuple(_child(value, i, loading) for i in range(value.n_children()))
    if type_string == "a{sv}":
        result = {}
        for i in range(value.n_children()):
            entry = value.get_child_value(i)
            result[entry.get_child_value(0).get_string()] = _child(entry, 1, loading)
        return result
    if type_string == "ay":
        return bytes(value.get_data_as_bytes().get_data() or b"")
    return value.unpack()


def _child(value, i, loading):
    child = value.get_child_value(i)
    type_string = child.get_type_string()
    if type_string == "v":  # most children: unwrap here, one call less each
        child = child.get_variant()
        type_string = child.get_type_string()
    getter = _SCALAR_GETTERS.get(type_string)
    if getter is not None:
        return getter(child)
    return _from(child, type_string, loading)


def _items(value, loading):
    return [_child(value, i, loading) for i in range(value.n_children())]


def _from_tagged(value, loading):
    tag = value.get_child_value(0).get_string()
    payload = value.get_child_value(1).get_variant()
    if tag == "variant":
        return payload.get_variant()
    if tag == "bigint":
        return int(payload.get_string())
    if tag == "complex":
        real, imag = payload.unpack()
        return complex(real, imag)
    if tag == "bytearray":
        return bytearray(payload.get_data_as_bytes().get_data() or b"")
    if tag == "str":  # NUL or lone surrogates: the bytes "surrogatepass" made
        return bytes(payload.get_data_as_bytes().get_data() or b"").decode(
            "utf-8", "surrogatepass")
    if tag in ("set", "frozenset"):
        items = _items(payload, loading)
        return set(items) if tag == "set" else frozenset(items)
    if tag == "dict":
        result = {}
        for i in range(payload.n_children()):
            pair = payload.get_child_value(i)
            result[_child(pair, 0, loading)] = _child(pair, 1, loading)
        return result
    if tag == "pickle":
        return _unpickle(payload, loading)
    raise ValueError(f"unknown tagged value {tag!r}")


def _unpickle(payload, loading):
    type_string = payload.get_type_string()
    if type_string == "ay":
        return loading.loads(bytes(payload.get_data_as_bytes().get_data() or b""), None)
    if type_string != _PICKLE_BUFFERS_TYPE:
        raise ValueError(f"a pickled value of type {type_string!r}")
    data = bytes(payload.get_child_value(0).get_data_as_bytes().get_data() or b"")
    children = payload.get_child_value(1)
    buffers = []
    for i in range(children.n_children()):
        raw = children.get_child_value(i).get_data_as_bytes()
        if raw.get_size() and _buffers.shares_buffers():
            buffers.append(memoryview(_buffers.array_from_bytes(
                raw, "|u1", (raw.get_size(),), loading.writable)))
        else:
            content = raw.get_data() or b""
            buffers.append(bytearray(content) if loading.writable else memoryview(content))
    return loading.loads(data, buffers)


# Process backends: a call's bound arguments pickled as one tagged value,
# ("pickle", <ay>) of type (sv), the argument tuple itself.  Pickling is
# what joblib does between its own processes; here it replaces a GVariant
# per argument, made and read through PyGObject, by one blob (written and
# read here in GVariant's serialized form: no PyGObject call per value).
# from_variant reads it as any ("pickle", ...) value: refused unless
# allow_pickle, so nothing that loads variants unpickles it by default.
_PICKLED_ARGS_TYPE = GLib.VariantType.new(_TAG)
# "pickle\0", one byte of padding to align the variant to 8, then the
# variant's body; the variant's own type ("ay") follows its value.
_PICKLED_ARGS_HEAD = b"pickle\0\0"
_PICKLED_ARGS_TAIL = b"\0ay"
# Values that need no check before pickling; numpy arrays and GLib.Variants
# keep the per-argument form (zero-copy buffers, shared memory).
_PLAIN_TYPES = frozenset([int, float, str, bool, bytes, type(None), complex, tuple, list, dict])


def pickled_call_args(values, opaque, memmapper=None):
    """A call's bound arguments (see _functions._Signature.bind) as a
    ("pickle", <ay>) argument tuple, or None when a value is an array or a
    variant (those keep their GVariant form).  With a ``memmapper``
    (_memmapping.Memmapper) arrays are pickled too, large ones as
    references to files that the worker maps; variants keep their form."""
    flat = values[0] + list(values[1].values()) if opaque else values
    if memmapper is not None and memmapper.keeps_variant(flat):
        return None
    for value in flat:
        if type(value) not in _PLAIN_TYPES and _needs_variant(value) and \
                (memmapper is None or isinstance(value, GLib.Variant)):
            return None
    data = dumps((values, opaque), by_value=True) if memmapper is None else \
        memmapper.dumps((values, opaque))
    return pickled_args_variant(data)


def pickled_args_variant(data):
    """The ("pickle", <ay>) argument tuple of ``data``, the pickle of a
    (values, opaque) pair (as pickled_call_args makes it)."""
    body = b"".join((_PICKLED_ARGS_HEAD, data, _PICKLED_ARGS_TAIL))
    # the end of the string child, little-endian as every framing offset
    data = body + (7).to_bytes(offset_width_for_body(len(body), 1), "little")
    return GLib.Variant.new_from_bytes(_PICKLED_ARGS_TYPE, GLib.Bytes.new(data), True)


def _needs_variant(value):
    numpy = sys.modules.get("numpy")
    return isinstance(value, GLib.Variant) or \
        (numpy is not None and isinstance(value, numpy.ndarray))


def pickled_args_span(data, start, end):
    """(start, end) of the pickle inside the ("pickle", <ay>) argument
    tuple serialized in data[start:end] (bytes or bytearray), when it is in
    the form pickled_args_variant writes, else None.  The framing offset's
    width is GLib's for a container of that total size."""
    size = end - start
    width = offset_width(size)
    body_end = end - width
    head, tail = len(_PICKLED_ARGS_HEAD), len(_PICKLED_ARGS_TAIL)
    if body_end - start < head + tail or \
            data[start:start + head] != _PICKLED_ARGS_HEAD or \
            data[body_end - tail:body_end] != _PICKLED_ARGS_TAIL or \
            data[body_end:end] != (7).to_bytes(width, "little"):
        return None
    return start + head, body_end - tail


def unpickle_call_args(value):
    """(values, opaque) of an argument tuple made by pickled_call_args, or
    None for another tuple.  Only for calls from our own process (workers)."""
    if value.get_type_string() != _TAG:
        return None
    data = value.get_data_as_bytes().get_data() or b""
    span = pickled_args_span(data, 0, len(data))
    if span is None:
        # not in the serialized form written above: read it by its parts
        if value.get_child_value(0).get_string() != "pickle":
            return None
        payload = value.get_child_value(1).get_variant()
        if payload.get_type_string() != "ay":
            return None
        return pickle.loads(bytes(payload.get_data_as_bytes().get_data() or b""))
    return pickle.loads(data[span[0]:span[1]])
