# SPDX-License-Identifier: LGPL-2.1-or-later
"""Python values <-> GVariant.

Natural mappings where GVariant has them (int, float, bool, str, bytes,
list, tuple, dict with str keys, None), and tagged ``(sv)`` pairs for the
rest.  A ``(sv)`` never comes from user data, because user tuples become
tuples of ``v``, so tags cannot be confused with values.  Objects with no
mapping are pickled into a tagged value only when the caller allows it;
loading never unpickles unless allowed: safe by default.
"""

import pickle
import sys

from . import _buffers

from gi.module import get_introspection_module

from ._gi import GLib

_TAG = "(sv)"
# JobArray's variant form ("joblib.array", typestr, shape, data): what
# job_dump writes as an aligned, mmap-able buffer (JOB_ARRAY_VARIANT_TYPE).
_ARRAY = "(ssatay)"
_ARRAY_TAG = "joblib.array"
_ARRAY_TYPES = frozenset(["b1", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8",
                          "f2", "f4", "f8", "c8", "c16"])


class PickleNotAllowedError(ValueError):
    """Pickled content met where pickling is not allowed."""


def _tagged(tag, value):
    return GLib.Variant(_TAG, (tag, value))


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


def to_variant(obj, allow_pickle=True):
    """Convert a Python value into a GLib.Variant."""
    kind = type(obj)
    if kind is int and _INT64_MIN <= obj <= _INT64_MAX:
        return _new_int64(obj)
    if kind is float:
        return _new_double(obj)
    if kind is str:
        return _new_string(obj)
    if kind is bool:
        return _new_boolean(obj)
    if isinstance(obj, GLib.Variant):
        return _tagged("variant", GLib.Variant("v", obj))
    if obj is None:
        return GLib.Variant("mv", None)
    if isinstance(obj, bool):
        return GLib.Variant("b", obj)
    if isinstance(obj, int):
        if -(2 ** 63) <= obj < 2 ** 63:
            return GLib.Variant("x", obj)
        return _tagged("bigint", GLib.Variant("s", str(obj)))
    if isinstance(obj, float):
        return GLib.Variant("d", obj)
    if isinstance(obj, complex):
        return _tagged("complex", GLib.Variant("(dd)", (obj.real, obj.imag)))
    if isinstance(obj, str):
        return GLib.Variant("s", obj)
    if isinstance(obj, bytes):
        return GLib.Variant("ay", obj)
    if isinstance(obj, bytearray):
        return _tagged("bytearray", GLib.Variant("ay", bytes(obj)))
    if isinstance(obj, list):
        return GLib.Variant.new_array(_V, [_new_variant(to_variant(x, allow_pickle)) for x in obj])
    if isinstance(obj, tuple) and not hasattr(obj, "_fields"):
        return _new_tuple([_new_variant(to_variant(x, allow_pickle)) for x in obj]) \
            if obj else GLib.Variant("()", ())
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj):
            return GLib.Variant("a{sv}", {k: to_variant(v, allow_pickle) for k, v in obj.items()})
        pairs = [GLib.Variant("(vv)", (to_variant(k, allow_pickle), to_variant(v, allow_pickle)))
                 for k, v in obj.items()]
        return _tagged("dict", GLib.Variant.new_array(GLib.VariantType("(vv)"), pairs))
    if isinstance(obj, (set, frozenset)):
        tag = "set" if isinstance(obj, set) else "frozenset"
        return _tagged(tag, to_variant(list(obj), allow_pickle))
    array = _numpy_to_variant(obj, allow_pickle)
    if array is not None:
        return array
    if not allow_pickle:
        raise TypeError(f"cannot convert {type(obj).__name__} to a GVariant without pickling")
    return _tagged("pickle", GLib.Variant("ay", pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)))


def _numpy_to_variant(obj, allow_pickle):
    try:
        import numpy
    except ImportError:
        return None
    if isinstance(obj, numpy.generic):
        return to_variant(obj.item(), allow_pickle)
    if isinstance(obj, numpy.ndarray) and obj.dtype.str[1:] in _ARRAY_TYPES:
        return array_to_variant(obj)
    return None


def array_to_variant(array):
    """The JobArray variant form of a numpy array, sharing its buffer when
    it is C-contiguous (else of a contiguous copy)."""
    import numpy
    contiguous = numpy.require(array, requirements="C")  # keeps 0-d arrays 0-d
    data = _buffers.bytes_for_array(contiguous)
    return GLib.Variant.new_tuple(
        GLib.Variant("s", _ARRAY_TAG), GLib.Variant("s", contiguous.dtype.str),
        GLib.Variant("at", list(contiguous.shape)),
        GLib.Variant.new_from_bytes(GLib.VariantType("ay"), data, True))


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


def from_variant(value, allow_pickle=True, writable=False):
    """Convert a GLib.Variant made by :func:`to_variant` back to Python.

    numpy arrays view the variant's buffer: read-only unless ``writable``
    (for values whose buffer nobody else holds, such as results)."""
    type_string = value.get_type_string()
    if type_string == "v":
        value = value.get_variant()
        type_string = value.get_type_string()
    getter = _SCALAR_GETTERS.get(type_string)
    if getter is not None:
        return getter(value)
    if type_string == "v":
        return from_variant(value.get_variant(), allow_pickle, writable)
    if type_string == _TAG:
        return _from_tagged(value, allow_pickle, writable)
    if type_string == _ARRAY and value.get_child_value(0).get_string() == _ARRAY_TAG:
        return array_from_variant(value, writable)
    if type_string == "mv":
        inner = value.get_maybe()
        return None if inner is None else from_variant(inner, allow_pickle, writable)
    if type_string == "av":
        return [from_variant(value.get_child_value(i), allow_pickle, writable) for i in range(value.n_children())]
    if type_string.startswith("("):
        return tuple(from_variant(value.get_child_value(i), allow_pickle, writable)
                     for i in range(value.n_children()))
    if type_string == "a{sv}":
        return {value.get_child_value(i).get_child_value(0).get_string():
                from_variant(value.get_child_value(i).get_child_value(1), allow_pickle, writable)
                for i in range(value.n_children())}
    if type_string == "ay":
        return bytes(value.get_data_as_bytes().get_data() or b"")
    return value.unpack()


def _from_tagged(value, allow_pickle, writable):
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
        return bytearray(from_variant(payload))
    if tag in ("set", "frozenset"):
        items = from_variant(payload, allow_pickle, writable)
        return set(items) if tag == "set" else frozenset(items)
    if tag == "dict":
        return {from_variant(pair.get_child_value(0), allow_pickle, writable):
                from_variant(pair.get_child_value(1), allow_pickle, writable)
                for pair in (payload.get_child_value(i) for i in range(payload.n_children()))}
    if tag == "pickle":
        if not allow_pickle:
            raise PickleNotAllowedError(
                "the value holds pickled Python objects; pass allow_pickle=True to load "
                "them only if you trust where they come from")
        return pickle.loads(bytes(payload.get_data_as_bytes().get_data() or b""))
    raise ValueError(f"unknown tagged value {tag!r}")


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


def _offset_size(body_size):
    """GVariant's framing offset size for a container of this body."""
    for size, limit in ((1, 0xff), (2, 0xffff), (4, 0xffffffff)):
        if body_size + size <= limit:
            return size
    return 8


def pickled_call_args(values, opaque):
    """A call's bound arguments (see _functions._Signature.bind) as a
    ("pickle", <ay>) argument tuple, or None when a value is an array or a
    variant (those keep their GVariant form)."""
    for value in (values[0] + list(values[1].values()) if opaque else values):
        if type(value) not in _PLAIN_TYPES and _needs_variant(value):
            return None
    body = b"".join((_PICKLED_ARGS_HEAD,
                     pickle.dumps((values, opaque), protocol=pickle.HIGHEST_PROTOCOL),
                     _PICKLED_ARGS_TAIL))
    # the end of the string child, little-endian as every framing offset
    data = body + (7).to_bytes(_offset_size(len(body)), "little")
    return GLib.Variant.new_from_bytes(_PICKLED_ARGS_TYPE, GLib.Bytes.new(data), True)


def _needs_variant(value):
    numpy = sys.modules.get("numpy")
    return isinstance(value, GLib.Variant) or \
        (numpy is not None and isinstance(value, numpy.ndarray))


def unpickle_call_args(value):
    """(values, opaque) of an argument tuple made by pickled_call_args, or
    None for another tuple.  Only for calls from our own process (workers)."""
    if value.get_type_string() != _TAG:
        return None
    data = value.get_data_as_bytes().get_data() or b""
    # the offset size that a body of this total size was given
    size = next(size for size in (1, 2, 4, 8) if _offset_size(len(data) - size) == size)
    end = len(data) - size
    if not (data.startswith(_PICKLED_ARGS_HEAD) and data[end:] == (7).to_bytes(size, "little")
            and data.endswith(_PICKLED_ARGS_TAIL, 0, end)):
        # not in the serialized form written above: read it by its parts
        if value.get_child_value(0).get_string() != "pickle":
            return None
        payload = value.get_child_value(1).get_variant()
        if payload.get_type_string() != "ay":
            return None
        return pickle.loads(bytes(payload.get_data_as_bytes().get_data() or b""))
    return pickle.loads(data[len(_PICKLED_ARGS_HEAD):end - len(_PICKLED_ARGS_TAIL)])
