# SPDX-License-Identifier: LGPL-2.1-or-later
"""Files written by Python's joblib.dump, read by the C reader.

``Joblib.load`` reads a joblib file (a pickle with numpy arrays inside)
without running any code and maps it to a GVariant (docs/joblib-files.md);
this module rebuilds the exact Python values from that: numpy arrays of
the same dtype, shape and memory order (``numpy.memmap`` with
``mmap_mode``), numpy scalars, tuples, sets, OrderedDict, big ints...
When the C reader meets a class it does not rebuild (datetime, Decimal,
a user's class...), and for ``mmap_mode="r+"``/``"w+"`` (numpy.memmap
objects that write to the file), the file is read by Python's unpickler
as joblib reads it, under the safe-load rule of _safe_pickle: standard
values only, unless ``allow_pickle=True`` or the types are ``trusted``.
"""

import collections
import io
import pickle
import warnings

from ._gi import GLib, Gio, Joblib
from ._safe_pickle import (PickleNotAllowedError, SafeUnpickler, refused_error,
                           trusted_names)
from ._values import _TREE_MIN_SIZE, array_from_variant, load_tree
from . import _buffers


def is_joblib_file(gfile):
    """Whether ``gfile`` (a Gio.File) holds a file written by joblib.dump;
    False when it cannot be read, so that the caller's load reports why."""
    try:
        return Joblib.file_format_detect(gfile, None) == Joblib.FileFormat.JOBLIB
    except GLib.Error:
        return False


def _decoded_stream(data):
    stream = Gio.MemoryInputStream.new_from_bytes(GLib.Bytes.new(data))
    method = Joblib.compression_detect(data[:8])
    if method == Joblib.Compression.NONE:
        return stream
    return Gio.ConverterInputStream.new(stream, Joblib.compression_new_decompressor(method))


def is_joblib_data(data):
    """Whether ``data`` (bytes) is a file written by joblib.dump."""
    try:
        head = _decoded_stream(data[:4096]).read_bytes(2, None).get_data() or b""
    except GLib.Error:
        return False
    return len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def _is_compressed(gfile):
    stream = gfile.read(None)
    try:
        head = stream.read_bytes(8, None).get_data() or b""
    finally:
        stream.close(None)
    return Joblib.compression_detect(head) != Joblib.Compression.NONE


def _unsupported(error):
    return isinstance(error, GLib.Error) and error.matches(Joblib.error_quark(),
                                                           Joblib.Error.UNSUPPORTED)


def load(gfile, path, mmap_mode=None, allow_pickle=False, trusted=None):
    """The value of a joblib file (``path`` is its local path or None), as
    joblib.load gives it."""
    if mmap_mode is not None and (path is None or _is_compressed(gfile)):
        # joblib's warning; then a normal load
        warnings.warn(f'mmap_mode "{mmap_mode}" is not compatible with compressed file '
                      f'{gfile.get_parse_name()}. "{mmap_mode}" flag will be ignored.',
                      stacklevel=3)
        mmap_mode = None
    if mmap_mode in ("r+", "w+"):
        with open(path, "rb") as handle:
            return _unpickle(handle, path, "r+", allow_pickle, trusted)
    flags = Joblib.LoadFlags.MMAP if mmap_mode is not None else Joblib.LoadFlags.NONE
    try:
        variant = Joblib.load(gfile, flags, 0, None)
    except GLib.Error as error:
        if not _unsupported(error):
            raise
        if path is not None and not _is_compressed(gfile):
            with open(path, "rb") as handle:
                return _unpickle(handle, path, mmap_mode, allow_pickle, trusted)
        with _open_decoded(gfile) as handle:
            return _unpickle(handle, None, None, allow_pickle, trusted)
    return _Rebuilder(mmap_mode).value(variant)


def load_data(data, allow_pickle=False, trusted=None):
    """The value of a joblib file read into ``data`` (bytes)."""
    stream = Gio.MemoryInputStream.new_from_bytes(GLib.Bytes.new(data))
    try:
        variant = Joblib.load_from_stream(stream, 0, None)
    except GLib.Error as error:
        if not _unsupported(error):
            raise
        with io.BufferedReader(_GioFile(_decoded_stream(data)), 1 << 20) as handle:
            return _unpickle(handle, None, None, allow_pickle, trusted)
    return _Rebuilder(None).value(variant)


class _Rebuilder:
    def __init__(self, mmap_mode):
        self.mmap_mode = mmap_mode
        self.writable = mmap_mode is None

    def value(self, variant):
        kind = variant.get_type_string()
        if kind == "v":
            return self.value(variant.get_variant())
        if kind == "x":
            return variant.get_int64()
        if kind == "d":
            return variant.get_double()
        if kind == "s":
            return variant.get_string()
        if kind == "b":
            return variant.get_boolean()
        if kind == "mv":
            return None
        if kind == "ay":
            return _bytes(variant)
        if (kind == "av" or kind == "a{sv}") and variant.get_size() >= _TREE_MIN_SIZE:
            # one C call and Python's unpickler for the tree; arrays and
            # other tagged values come back through self.value
            return load_tree(variant, self.value)
        if kind == "av":
            return [self.value(variant.get_child_value(i)) for i in range(variant.n_children())]
        if kind == "a{sv}":
            return {variant.get_child_value(i).get_child_value(0).get_string():
                    self.value(variant.get_child_value(i).get_child_value(1))
                    for i in range(variant.n_children())}
        if kind == "(ssatay)":
            return self._memmap(array_from_variant(variant, writable=self.writable))
        if kind == "(sv)":
            return self._tagged(variant.get_child_value(0).get_string(),
                                variant.get_child_value(1).get_variant())
        if kind.startswith("("):
            return tuple(self.value(variant.get_child_value(i))
                         for i in range(variant.n_children()))
        raise ValueError(f"unexpected value of type {kind} in a joblib file")

    def _tagged(self, tag, payload):
        if tag == "bigint":
            return int(payload.get_string())
        if tag == "complex":
            real, imag = payload.unpack()
            return complex(real, imag)
        if tag == "str":
            return _bytes(payload).decode("utf-8", "surrogatepass")
        if tag == "bytearray":
            return bytearray(_bytes(payload))
        if tag == "set":
            return set(self.value(payload))
        if tag == "frozenset":
            return frozenset(self.value(payload))
        if tag == "dict":
            return dict(self._pairs(payload))
        if tag == "collections.OrderedDict":
            if payload.get_type_string() == "a{sv}":
                return collections.OrderedDict(self.value(payload))
            return collections.OrderedDict(self._pairs(payload.get_child_value(1).get_variant()))
        if tag == "numpy.ndarray":
            return self._ndarray(payload)
        if tag == "numpy.scalar":
            return self.value(payload)[()]
        if tag == "numpy.dtype":
            import numpy
            return numpy.dtype(payload.get_string())
        raise ValueError(f"unexpected tag {tag!r} in a joblib file")

    def _pairs(self, payload):
        for i in range(payload.n_children()):
            pair = payload.get_child_value(i)
            yield self.value(pair.get_child_value(0)), self.value(pair.get_child_value(1))

    def _ndarray(self, payload):
        import numpy
        fields = {payload.get_child_value(i).get_child_value(0).get_string():
                  payload.get_child_value(i).get_child_value(1).get_variant()
                  for i in range(payload.n_children())}
        dtype = numpy.dtype(fields["dtype"].get_string())
        shape = tuple(fields["shape"].unpack())
        fortran = fields["order"].get_string() == "F"
        if "items" in fields:
            items = fields["items"]
            array = numpy.empty(items.n_children(), dtype=object)
            for i in range(items.n_children()):
                array[i] = self.value(items.get_child_value(i))
            array = array.reshape(shape)
            return numpy.asfortranarray(array) if fortran else array
        data = fields["data"].get_data_as_bytes()
        if fortran:
            # the bytes are the C-order array of the reversed shape
            array = _buffers.array_from_bytes(data, dtype.str, shape[::-1], self.writable).T
        else:
            array = _buffers.array_from_bytes(data, dtype.str, shape, self.writable)
        return self._memmap(array)

    def _memmap(self, array):
        """joblib gives numpy.memmap arrays with mmap_mode (views here)."""
        if self.mmap_mode is None:
            return array
        import numpy
        if self.mmap_mode == "c":
            array = array.copy(order="K")
        return array.view(numpy.memmap)


def _bytes(variant):
    return bytes(variant.get_data_as_bytes().get_data() or b"")


# The Python reader: joblib's layout (each NumpyArrayWrapper followed by
# the array's bytes) over Python's unpickler, restricted by SafeUnpickler
# unless allow_pickle=True; joblib itself need not be installed.

class _GioFile(io.RawIOBase):
    """A decompressed Gio.InputStream as a Python binary file."""

    def __init__(self, stream):
        self._stream = stream

    def readable(self):
        return True

    def readinto(self, buffer):
        data = self._stream.read_bytes(len(buffer), None).get_data() or b""
        buffer[:len(data)] = data
        return len(data)


def _open_decoded(gfile):
    stream = gfile.read(None)
    buffered = Gio.BufferedInputStream.new(stream)
    buffered.fill(8, None)
    head = bytes(buffered.peek_buffer())
    method = Joblib.compression_detect(head)
    if method != Joblib.Compression.NONE:
        buffered = Gio.ConverterInputStream.new(
            buffered, Joblib.compression_new_decompressor(method))
    return io.BufferedReader(_GioFile(buffered), 1 << 20)


class _ArrayWrapper:
    """Stands for joblib.numpy_pickle.NumpyArrayWrapper: its state says
    what the array bytes after it in the file are."""

    def read(self, unpickler):
        import numpy
        state = self.__dict__
        handle = unpickler.handle
        dtype, shape, order = state["dtype"], tuple(state["shape"]), state["order"]
        if not isinstance(dtype, numpy.dtype) or order not in ("C", "F"):
            raise pickle.UnpicklingError("malformed joblib array wrapper")
        if dtype.hasobject:
            return unpickler.nested(handle).load()
        if state.get("numpy_array_alignment_bytes") is not None:
            handle.read(handle.read(1)[0])
        count = 1
        for dim in shape:
            count *= dim
        if unpickler.mmap_mode is not None and state.get("allow_mmap"):
            array = numpy.memmap(unpickler.path, dtype=dtype, mode=unpickler.mmap_mode,
                                 offset=handle.tell(), shape=shape, order=order)
            handle.seek(handle.tell() + array.nbytes)
        else:
            data = handle.read(count * dtype.itemsize)
            if len(data) != count * dtype.itemsize:
                raise EOFError("the file is truncated in array data")
            array = numpy.frombuffer(data, dtype=dtype).copy()
            array = array.reshape(shape[::-1]).T if order == "F" else array.reshape(shape)
        if not array.dtype.isnative:
            array = array.byteswap().view(array.dtype.newbyteorder("="))
        return array


def _with_wrapper(base):
    class Unpickler(base):
        dispatch = dict(base.dispatch)

        def find_class(self, module, name):
            if (module, name) == ("joblib.numpy_pickle", "NumpyArrayWrapper"):
                if hasattr(self, "_buildable"):
                    self._buildable.add(_ArrayWrapper)
                return _ArrayWrapper
            return super().find_class(module, name)

        def load_build(self):
            base.load_build(self)
            if isinstance(self.stack[-1], _ArrayWrapper):
                self.stack[-1] = self.stack[-1].read(self)

        dispatch[pickle.BUILD[0]] = load_build

    return Unpickler


_PlainUnpickler = _with_wrapper(pickle._Unpickler)
_SafeUnpickler = _with_wrapper(SafeUnpickler)
_HOW = "pass allow_pickle=True to unpickle them only if you trust where the file comes from"


def _unpickle(handle, path, mmap_mode, allow_pickle, trusted):
    """joblib's load over ``handle``, a binary file positioned at the start
    of the pickle (``path``: the file's, for ``mmap_mode``)."""

    def make(file):
        unpickler = (_PlainUnpickler(file) if allow_pickle is True else
                     _SafeUnpickler(file, trusted_names(trusted)))
        unpickler.handle, unpickler.path, unpickler.mmap_mode = file, path, mmap_mode
        unpickler.nested = make
        return unpickler

    unpickler = make(handle)
    try:
        value = unpickler.load()
    except PickleNotAllowedError:
        raise
    except Exception as error:
        if getattr(unpickler, "refused", None):
            raise refused_error(unpickler.refused, _HOW) from error
        raise
    if getattr(unpickler, "refused", None):
        raise refused_error(unpickler.refused, _HOW)
    return value
