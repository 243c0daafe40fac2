# SPDX-License-Identifier: LGPL-2.1-or-later
"""joblib's dump/load over Joblib.dump/Joblib.load.

Values are converted losslessly with _values: numpy arrays as JobArray
variants (their buffers written without a copy, loaded back as views or
memory maps), other objects pickled -- ``dump`` accepts whatever joblib
accepts.  ``load`` is safe by default: pickled content is rebuilt only
when it holds standard values (builtins, numpy arrays and scalars,
collections, datetime, decimal, fractions, enum members), see
_safe_pickle; anything else needs ``allow_pickle=True`` or ``trusted``.
"""

import io
import os
import struct
import warnings

from . import _joblib_files
from ._gi import Gio, GLib, Joblib
from ._values import (_ARRAY, _ARRAY_TAG, _PICKLE_BUFFERS_TYPE, _TAG, PickleNotAllowedError,
                      from_variant, pickled_variant, to_variant)

_DEFAULT_ZLIB_LEVEL = 3  # joblib's level for compress=True
_MAGIC = b"\x89JOBGLIB"
_PREAMBLE = struct.Struct("<8sIIQQ")
_TABLE_ENTRY = struct.Struct("=4Q")  # (ordinal, offset, length, checksum)
_HEADER_TYPE = "(sva(tttt))"


def parse_compress(compress):
    """joblib's ``compress`` argument -> (Joblib.Compression, level)."""
    if compress is None or compress is False:
        return Joblib.Compression.AUTO, Joblib.COMPRESSION_DEFAULT_LEVEL
    if compress is True:
        return Joblib.Compression.ZLIB, _DEFAULT_ZLIB_LEVEL
    if isinstance(compress, int):
        if not 0 <= compress <= 9:
            raise ValueError(f"compress must be between 0 and 9, not {compress}")
        if compress == 0:
            return Joblib.Compression.AUTO, Joblib.COMPRESSION_DEFAULT_LEVEL
        return Joblib.Compression.ZLIB, compress
    name, level = compress, Joblib.COMPRESSION_DEFAULT_LEVEL
    if isinstance(compress, tuple):
        if len(compress) != 2 or not isinstance(compress[1], int):
            raise ValueError(f"compress must be (name, level), not {compress!r}")
        name, level = compress
    if not isinstance(name, str):
        raise ValueError(f"compress must be a bool, an int, a codec name or (name, level), "
                         f"not {compress!r}")
    ok, method = Joblib.compression_from_name(name)
    if not ok:
        raise ValueError(f"unknown compression {name!r}; known: zlib, gzip, bz2, lzma, xz, "
                         f"lz4, zstd")
    return method, level


def _path(filename):
    if isinstance(filename, Gio.File):
        return None
    if not isinstance(filename, (str, bytes, os.PathLike)):
        raise TypeError(f"filename must be a path or a file object, not "
                        f"{type(filename).__name__}")
    return os.fsdecode(os.fspath(filename))


def _file(filename):
    if isinstance(filename, Gio.File):
        return filename
    return Gio.File.new_for_path(_path(filename))


def _is_file_object(filename):
    return hasattr(filename, "write") or hasattr(filename, "read")


def _check_path(path, writing):
    """The OSError joblib (open()) raises for a path, before GIO's error."""
    if os.path.isdir(path):
        raise IsADirectoryError(21, "Is a directory", path)
    if not writing and not os.path.exists(path):
        raise FileNotFoundError(2, "No such file or directory", path)
    if writing and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        raise FileNotFoundError(2, "No such file or directory", path)


def dump(value, filename, compress=0, protocol=None, cache_size=None, allow_pickle=True):
    """Persist any value into one file, as joblib.dump.

    ``filename``: a path or a writable binary file object.  ``compress``:
    0/False (by the file extension: .z .gz .bz2 .lzma .xz .lz4 .zst, else
    none), True (zlib 3), 1-9 (zlib at that level), a codec name or
    ``(name, level)``.  Values without a GVariant form are pickled with
    ``protocol`` (default: the highest).  ``allow_pickle=False`` refuses
    them (TypeError) instead.  Returns ``[filename]``."""
    python_codec, level = _python_codec(compress, filename)
    method, level = (Joblib.Compression.NONE, level) if python_codec is not None \
        else parse_compress(compress)
    if protocol is not None and not isinstance(protocol, int):
        raise TypeError(f"protocol must be an int, not {type(protocol).__name__}")
    if protocol is None or protocol < 0 or protocol >= 5:
        variant = to_variant(value, allow_pickle=allow_pickle)
    else:
        variant = to_variant(value, allow_pickle=False) if not allow_pickle else \
            _with_protocol(value, protocol)
    if _is_file_object(filename):
        if not hasattr(filename, "write"):
            raise TypeError("dump needs a file object opened for writing")
        _write_stream(variant, filename, method, level, python_codec)
        return [filename]
    path = _path(filename)
    if python_codec is not None:
        _check_path(path, True)
        _write_stream(variant, path, method, level, python_codec)
        return [filename]
    if path is not None:
        _check_path(path, True)
    try:
        Joblib.dump(variant, _file(filename), method, level, None)
    except GLib.Error as error:
        _raise(error, path)
    return [filename]


def _python_codec(compress, filename):
    """A registered Python compressor chosen by name or by extension, and
    its level."""
    from . import _compressors
    name, level = compress, None
    if isinstance(compress, tuple) and len(compress) == 2:
        name, level = compress
    if isinstance(name, str):
        found = _compressors.find(name)
        if found is not None and not Joblib.compression_from_name(name)[0]:
            return found, level
        return None, level
    if compress in (0, False, None) and isinstance(filename, (str, os.PathLike)):
        return _compressors.by_extension(os.fspath(filename)), level
    return None, level


def _write_stream(variant, file, method, level, python_codec):
    stream = Gio.MemoryOutputStream.new_resizable()
    try:
        Joblib.dump_to_stream(variant, stream, _stream_method(method),
                              level if level is not None else Joblib.COMPRESSION_DEFAULT_LEVEL,
                              None)
        stream.close(None)
    except GLib.Error as error:
        _raise(error)
    data = stream.steal_as_bytes().get_data() or b""
    if python_codec is None:
        file.write(data)
        return
    # a path or a file object, as joblib hands them to its compressors
    with python_codec.compressor_file(file, compresslevel=level) as compressed:
        compressed.write(data)


def _read_python_codec(file):
    """The decompressed bytes when a registered compressor wrote the file."""
    from . import _compressors
    if not _compressors._COMPRESSORS:
        return None
    head = file.read(16)
    file.seek(0)
    codec = _compressors.by_prefix(head)
    if codec is None:
        return None
    with codec.decompressor_file(file) as decompressed:
        return decompressed.read()


def _load_bytes(data):
    stream = Gio.MemoryInputStream.new_from_bytes(GLib.Bytes.new(data))
    try:
        return Joblib.load_from_stream(stream, 0, None)
    except GLib.Error as error:
        _raise(error)


def _with_protocol(value, protocol):
    from ._values import plain_variant
    plain = plain_variant(value)
    return plain if plain is not None else pickled_variant(value, protocol=protocol)


def _stream_method(method):
    # a stream has no name to pick a codec from: AUTO means none
    if method == Joblib.Compression.AUTO:
        return Joblib.Compression.NONE
    return method


def _raise(error, path=None):
    if error.matches(Gio.io_error_quark(), Gio.IOErrorEnum.NOT_FOUND):
        raise FileNotFoundError(2, error.message, path) from error
    if error.matches(Gio.io_error_quark(), Gio.IOErrorEnum.IS_DIRECTORY):
        raise IsADirectoryError(21, error.message, path) from error
    if error.matches(Gio.io_error_quark(), Gio.IOErrorEnum.PERMISSION_DENIED):
        raise PermissionError(13, error.message, path) from error
    raise error


def load(filename, mmap_mode=None, allow_pickle=False, trusted=None):
    """Load a file written by :func:`dump`.

    ``filename``: a path or a readable binary file object.  ``mmap_mode``:
    None reads the file, arrays are writable; "r" maps an uncompressed
    file and gives read-only ``np.memmap`` arrays; "r+" (and "w+", which
    joblib treats alike) writable ones whose changes reach the file; "c"
    copy-on-write ones.  Pickled content is rebuilt without opt-in only
    when it holds standard values; other types need ``allow_pickle=True``
    or their names in ``trusted`` (PickleNotAllowedError names them)."""
    if mmap_mode not in (None, "r", "r+", "w+", "c"):
        raise ValueError(f"mmap_mode must be None, 'r', 'r+', 'w+' or 'c', not {mmap_mode!r}")
    if _is_file_object(filename):
        if not hasattr(filename, "read"):
            raise TypeError("load needs a file object opened for reading")
        data = None
        if hasattr(filename, "seek") and hasattr(filename, "tell"):
            data = _read_python_codec(filename)
        if data is None:
            data = filename.read()
        if isinstance(data, str):
            raise TypeError("load needs a file object opened in binary mode")
        if _joblib_files.is_joblib_data(data):
            return _joblib_files.load_data(data, allow_pickle, trusted)
        variant = _load_bytes(data)
        return from_variant(variant, allow_pickle=allow_pickle, writable=True, trusted=trusted,
                                native=True)
    path = _path(filename)
    # one look at the file's head: the raise is open()'s, as in joblib
    ours = path is not None and _is_ours(path)
    if not ours and _joblib_files.is_joblib_file(_file(filename)):
        return _joblib_files.load(_file(filename), path, mmap_mode, allow_pickle, trusted)
    if path is not None and not ours:
        with open(path, "rb") as file:
            data = _read_python_codec(file)
        if data is not None:
            return from_variant(_load_bytes(data), allow_pickle=allow_pickle, writable=True,
                                trusted=trusted)
    mapped = mmap_mode is not None and ours
    if mmap_mode is not None and path is not None and not mapped:
        warnings.warn(f'mmap_mode "{mmap_mode}" is not compatible with compressed file '
                      f'{path}. "{mmap_mode}" flag will be ignored.', stacklevel=2)
    flags = Joblib.LoadFlags.MMAP if mapped else Joblib.LoadFlags.NONE
    try:
        variant = Joblib.load(_file(filename), flags, 0, None)
    except GLib.Error as error:
        _raise(error, path)
    if not mapped:
        return from_variant(variant, allow_pickle=allow_pickle, writable=True, trusted=trusted,
                                native=True)
    if not _holds_arrays(variant) and mmap_mode != "r":
        # pickled objects: their arrays would view a read-only mapping
        variant = Joblib.load(_file(filename), Joblib.LoadFlags.NONE, 0, None)
        return from_variant(variant, allow_pickle=allow_pickle, writable=True, trusted=trusted,
                                native=True)
    value = from_variant(variant, allow_pickle=allow_pickle, writable=False, trusted=trusted,
                         native=True)
    return _as_memmaps(value, variant, path, mmap_mode)


def _is_ours(path):
    """Whether ``path`` starts with this library's uncompressed magic and
    no registered Python compressor claims its head.  Raises open()'s
    OSError (missing file, a folder, no permission) as joblib.load does."""
    head = _read_at(path, 0, 16)
    if head[:len(_MAGIC)] != _MAGIC:
        return False
    from . import _compressors
    return not _compressors._COMPRESSORS or _compressors.by_prefix(head) is None


def _read_at(path, offset, size):
    """Up to ``size`` bytes of ``path`` from ``offset``; the OSError names
    the path, as open() would."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return os.pread(fd, size, offset)
    except OSError as error:
        raise type(error)(error.errno, error.strerror, path) from None
    finally:
        os.close(fd)


def _uncompressed(path):
    try:
        return _read_at(path, 0, len(_MAGIC)) == _MAGIC
    except OSError:
        return False


def _array_offsets(path):
    """File offsets of the array buffers of an uncompressed file, in the
    order from_variant meets them: JobArrays' data, then nothing else."""
    from ._buffers import _address_of_data, shares_buffers
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        magic, version, flags, size, _checksum = _PREAMBLE.unpack(
            os.pread(fd, _PREAMBLE.size, 0))
        header_bytes = GLib.Bytes.new(os.pread(fd, size, _PREAMBLE.size))
    finally:
        os.close(fd)
    header = GLib.Variant.new_from_bytes(GLib.VariantType(_HEADER_TYPE), header_bytes, False)
    # a(tttt): fixed-size entries back to back, read as GLib reads them
    entries = header.get_child_value(2)
    data = entries.get_data_as_bytes().get_data() or b""
    if len(data) == entries.n_children() * _TABLE_ENTRY.size:
        table = {ordinal: offset for ordinal, offset, _length, _sum
                 in _TABLE_ENTRY.iter_unpack(data)}
    else:
        table = dict(entries.get_child_value(i).unpack()[:2]
                     for i in range(entries.n_children()))
    base = _address_of_data(header_bytes) if shares_buffers() else None
    offsets = []
    ordinal = [0]

    def fixed(value):
        text = value.get_type_string()
        return text[0] == "a" and text[1:].strip("bynqiuxthd(){}") == ""

    def offset_of(child):
        if ordinal[0] in table:
            return table[ordinal[0]]
        if base is None:
            return None
        data = child.get_data_as_bytes()
        if not data.get_size():
            return None
        return _PREAMBLE.size + _address_of_data(data) - base

    def walk(value):
        if fixed(value):
            ordinal[0] += 1
            return
        if not value.is_container():
            return
        if value.get_type_string() == _ARRAY and \
                value.get_child_value(0).get_string() == _ARRAY_TAG:
            ordinal[0] += 1  # the shape
            offsets.append(offset_of(value.get_child_value(3)))
            ordinal[0] += 1
            return
        for i in range(value.n_children()):
            walk(value.get_child_value(i))

    walk(header.get_child_value(1))
    return offsets


_xxhash = []


def _xxh3_64(data):
    """XXH3-64 of a buffer (libxxhash, which the library links too)."""
    if not _xxhash:
        import ctypes
        import ctypes.util
        library = ctypes.CDLL(ctypes.util.find_library("xxhash") or "libxxhash.so.0")
        library.XXH3_64bits.restype = ctypes.c_uint64
        library.XXH3_64bits.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        _xxhash.append(library)
    import ctypes
    view = memoryview(data)
    if not view.nbytes:
        return _xxhash[0].XXH3_64bits(None, 0)
    buffer = (ctypes.c_char * view.nbytes).from_buffer(view) if not view.readonly \
        else ctypes.create_string_buffer(view.tobytes(), view.nbytes)
    return _xxhash[0].XXH3_64bits(ctypes.addressof(buffer), view.nbytes)


def refresh_checksums(path):
    """Rewrites the checksums of an uncompressed file after its arrays were
    changed through writable memory maps ("r+"/"w+"), so that it keeps
    loading: the arrays' table entries, then the header's own."""
    import mmap
    with open(path, "r+b") as file:
        magic, version, flags, size, _checksum = _PREAMBLE.unpack(file.read(_PREAMBLE.size))
        if magic != _MAGIC:
            return
        header = GLib.Variant.new_from_bytes(GLib.VariantType(_HEADER_TYPE),
                                             GLib.Bytes.new(file.read(size)), False)
        with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as whole:
            entries = []
            table = header.get_child_value(2)
            for i in range(table.n_children()):
                ordinal, offset, length, _ = table.get_child_value(i).unpack()
                entries.append((ordinal, offset, length,
                                _xxh3_64(memoryview(whole)[offset:offset + length])))
        rebuilt = GLib.Variant.new_tuple(header.get_child_value(0), header.get_child_value(1),
                                         GLib.Variant("a(tttt)", entries))
        data = rebuilt.get_data_as_bytes().get_data() or b""
        if len(data) != size:
            raise ValueError(f"{path}: the rewritten header changed size")
        file.seek(_PREAMBLE.size)
        file.write(data)
        file.seek(0)
        file.write(_PREAMBLE.pack(magic, version, flags, size, _xxh3_64(data)))


class _Writeback:
    """Refreshes a file's checksums once every writable map of it is gone
    (or at exit)."""

    _open = {}

    @classmethod
    def track(cls, path, arrays):
        import weakref
        key = os.path.realpath(path)
        count = cls._open.get(key, 0) + len(arrays)
        cls._open[key] = count
        for array in arrays:
            weakref.finalize(array, cls._release, key)

    @classmethod
    def _release(cls, key):
        left = cls._open.get(key, 1) - 1
        cls._open[key] = left
        if left <= 0:
            cls._open.pop(key, None)
            try:
                refresh_checksums(key)
            except (OSError, ValueError, GLib.Error) as error:
                warnings.warn(f"could not update the checksums of {key} after writing to "
                              f"its arrays: {error}")


def _as_memmaps(value, variant, path, mmap_mode):
    """Replaces the arrays of a mapped load with np.memmap objects over the
    same bytes of the file, as joblib returns them."""
    if not _holds_arrays(variant):
        return value
    offsets = iter(_array_offsets(path))
    mode = "r+" if mmap_mode == "w+" else mmap_mode  # as joblib: never truncate
    writable = []
    value = _mapped(value, _FileMap(path, mode), offsets, writable)
    if writable:
        _Writeback.track(path, writable)
    return value


class _FileMap:
    """One mapping of the whole file in np.memmap's mode, made at the first
    array and shared by all of them: each array is a np.memmap whose
    attributes (filename, offset, mode, its mmap as base) are those
    np.memmap(path, offset=...) gives, without a file opened per array."""

    _ACCESS = {"r": "ACCESS_READ", "c": "ACCESS_COPY", "r+": "ACCESS_WRITE"}

    def __init__(self, path, mode):
        self.path = path
        self.mode = mode
        self.whole = None

    def array(self, dtype, shape, offset):
        import mmap
        import numpy as np
        if self.whole is None:
            with open(self.path, "r+b" if self.mode == "r+" else "rb") as file:
                self.whole = mmap.mmap(file.fileno(), 0,
                                       access=getattr(mmap, self._ACCESS[self.mode]))
        mapped = np.ndarray.__new__(np.memmap, shape, dtype=dtype, buffer=self.whole,
                                    offset=offset, order="C")
        mapped._mmap = self.whole
        mapped.filename = os.path.abspath(self.path)
        mapped.offset = offset
        mapped.mode = self.mode
        return mapped


def _mapped(item, files, offsets, writable):
    """``item`` with each array (met in file order) made a np.memmap."""
    import numpy as np
    kind = type(item)
    if kind is np.ndarray:
        offset = next(offsets, None)
        if offset is None or item.size == 0:
            return item
        mapped = files.array(item.dtype, item.shape, offset)
        if files.mode == "r+":
            writable.append(mapped)
        return mapped
    if kind is list:
        return [_mapped(v, files, offsets, writable) for v in item]
    if kind is tuple:
        return tuple(_mapped(v, files, offsets, writable) for v in item)
    if kind is dict:
        return {k: _mapped(v, files, offsets, writable) for k, v in item.items()}
    return item


def _holds_arrays(variant):
    text = variant.get_type_string()
    if text == _TAG:
        return variant.get_child_value(0).get_string() != "pickle"
    return True


def memmap_output(memorized, variant, output, args_id):
    """Memory's mmap_mode "r+"/"w+"/"c": the stored output's arrays as
    writable (or copy-on-write) memory maps of the cache file."""
    if args_id is None:
        return output
    folder = memorized._entry_dir(args_id)
    if folder is None:
        return output
    path = os.path.join(folder, "output")
    if not _uncompressed(path):
        return output
    return _as_memmaps(output, variant, path, memorized.mmap_mode)


__all__ = ["dump", "load", "parse_compress", "PickleNotAllowedError", "GLib", "io"]
