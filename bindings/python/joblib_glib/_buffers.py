# SPDX-License-Identifier: LGPL-2.1-or-later
"""numpy arrays <-> GBytes without copying the buffer.

PyGObject 3.42 copies when it turns a Python buffer into a GBytes and when
it hands the data of a GBytes to Python.  To share buffers instead, this
module uses libglib through ctypes:

* numpy -> GBytes: ``g_bytes_new_with_free_func`` over the array's memory;
  the array is kept alive until GLib calls the free function (from
  whichever thread drops the last reference).
* GBytes -> numpy: the address of the data (``g_bytes_get_data``) wrapped
  with ``__array_interface__`` by an object that holds the Python
  ``GLib.Bytes``, so the buffer lives as long as the array.

PyGObject does not expose a boxed value's address; ``hash()`` of a
``GLib.Bytes`` is that address (pyg_boxed_hash).  That is checked once
against GLib itself; when the check fails, or libglib cannot be loaded,
both directions fall back to copying.
"""

import ctypes
import ctypes.util
import itertools
import threading

from ._gi import GLib, GObject

_ADDRESS_MASK = (1 << (8 * ctypes.sizeof(ctypes.c_void_p))) - 1
_DESTROY_NOTIFY = ctypes.CFUNCTYPE(None, ctypes.c_void_p)

_kept = {}                     # token -> the numpy array a GBytes points into
_tokens = itertools.count(1)
_state = {"glib": None, "ok": None}
_state_lock = threading.Lock()


def _release(token):
    _kept.pop(token, None)


# A module-level reference: the C callback must outlive every GBytes.
_release_callback = _DESTROY_NOTIFY(_release)


def _load_glib():
    name = ctypes.util.find_library("glib-2.0") or "libglib-2.0.so.0"
    glib = ctypes.CDLL(name)
    glib.g_bytes_new_with_free_func.restype = ctypes.c_void_p
    glib.g_bytes_new_with_free_func.argtypes = [ctypes.c_void_p, ctypes.c_size_t,
                                                ctypes.c_void_p, ctypes.c_void_p]
    glib.g_bytes_unref.restype = None
    glib.g_bytes_unref.argtypes = [ctypes.c_void_p]
    glib.g_bytes_get_data.restype = ctypes.c_void_p
    glib.g_bytes_get_data.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t)]
    return glib


def _glib():
    """libglib through ctypes once the address trick is known to work, else None."""
    if _state["ok"] is None:
        with _state_lock:
            if _state["ok"] is None:
                try:
                    glib = _load_glib()
                    probe = b"joblib-glib probe"
                    data = GLib.Bytes.new(probe)
                    size = ctypes.c_size_t()
                    address = glib.g_bytes_get_data(_address(data), ctypes.byref(size))
                    ok = size.value == len(probe) and ctypes.string_at(address, size.value) == probe
                except (OSError, AttributeError, TypeError, ValueError):
                    glib, ok = None, False
                _state["glib"] = glib if ok else None
                _state["ok"] = ok
    return _state["glib"]


def _address(boxed):
    return hash(boxed) & _ADDRESS_MASK


def _boxed_value_class():
    # The GObject override of Value.set_boxed only takes Python boxed
    # objects; the introspected method takes a raw pointer.
    from gi.module import get_introspection_module
    return get_introspection_module("GObject").Value


def _bytes_over(address, size, keep):
    """A GLib.Bytes over ``size`` bytes at ``address``; ``keep`` (what owns
    that memory) lives until GLib frees the GBytes."""
    glib = _state["glib"]
    token = next(_tokens)
    _kept[token] = keep
    pointer = glib.g_bytes_new_with_free_func(
        address, size, ctypes.cast(_release_callback, ctypes.c_void_p), token)
    value = GObject.Value(GLib.Bytes.__gtype__)
    _boxed_value_class().set_boxed(value, pointer)  # takes a reference
    glib.g_bytes_unref(pointer)
    data = value.get_boxed()
    value.unset()
    return data


def bytes_for_array(array):
    """A GLib.Bytes over a C-contiguous numpy array's memory."""
    glib = _glib()
    if glib is None or array.nbytes == 0:
        return GLib.Bytes.new(array.tobytes())
    return _bytes_over(array.ctypes.data, array.nbytes, array)


def bytes_for_bytearray(buffer):
    """A GLib.Bytes over a bytearray's memory (which must not change
    while GLib holds it); a copy where sharing is not available."""
    glib = _glib()
    if glib is None or not buffer:
        return GLib.Bytes.new(bytes(buffer))
    view = (ctypes.c_char * len(buffer)).from_buffer(buffer)  # holds the buffer
    return _bytes_over(ctypes.addressof(view), len(buffer), view)


class _View:
    """Holds the GLib.Bytes that a numpy array views."""

    __slots__ = ("__array_interface__", "_bytes")

    def __init__(self, data, address, typestr, shape, writable):
        self._bytes = data
        self.__array_interface__ = {
            "version": 3, "typestr": typestr, "shape": tuple(shape),
            "data": (address, not writable),
        }


def array_from_bytes(data, typestr, shape, writable=False):
    """A numpy array viewing a GLib.Bytes (read-only unless writable)."""
    import numpy
    dtype = numpy.dtype(typestr)
    count = 1
    for dim in shape:
        count *= dim
    glib = _glib()
    size = data.get_size()
    if size != count * dtype.itemsize:
        raise ValueError(f"array data has {size} bytes, expected {count * dtype.itemsize} "
                         f"for shape {tuple(shape)} of {typestr}")
    if glib is None or count == 0:
        array = numpy.frombuffer(data.get_data() or b"", dtype=dtype).reshape(shape)
        return array.copy() if writable else array
    return numpy.asarray(_View(data, _address_of_data(data), dtype.str, shape, writable))


def array_from_data(data, typestr, shape, writable=False):
    """A numpy array over a Python bytes object (read-only unless writable:
    then a copy), with the same checks as array_from_bytes."""
    import numpy
    dtype = numpy.dtype(typestr)
    count = 1
    for dim in shape:
        count *= dim
    if len(data) != count * dtype.itemsize:
        raise ValueError(f"array data has {len(data)} bytes, expected {count * dtype.itemsize} "
                         f"for shape {tuple(shape)} of {typestr}")
    array = numpy.frombuffer(data, dtype=dtype).reshape(shape)
    return array.copy() if writable else array


def _address_of_data(data):
    length = ctypes.c_size_t()
    return _glib().g_bytes_get_data(_address(data), ctypes.byref(length))


def shares_buffers():
    """Whether arrays and GBytes share memory here (else they are copied)."""
    return _glib() is not None
