# SPDX-License-Identifier: LGPL-2.1-or-later
"""joblib's dump/load over Joblib.dump/Joblib.load.

Values are converted with _values (numpy arrays as JobArray variants, so
their buffers are written without a copy and load back as views).  Objects
with no GVariant form are pickled into the file only with
``allow_pickle=True`` on dump, and loading pickled content needs
``allow_pickle=True`` too: by default a file cannot run code when loaded.
"""

import os

from ._gi import Gio, GLib, Joblib
from ._values import PickleNotAllowedError, from_variant, to_variant

_DEFAULT_ZLIB_LEVEL = 3  # joblib's level for compress=True


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


def _file(filename):
    if isinstance(filename, Gio.File):
        return filename
    if not isinstance(filename, (str, bytes, os.PathLike)):
        raise TypeError(f"filename must be a path, not {type(filename).__name__}")
    return Gio.File.new_for_path(os.fsdecode(os.fspath(filename)))


def dump(value, filename, compress=0, allow_pickle=False):
    """Persist a value (nested dicts, lists, tuples, scalars, numpy arrays)
    into one file, as joblib.dump.

    ``compress``: 0/False (by the file extension: .z .gz .bz2 .lzma .xz .lz4
    .zst, else none), True (zlib 3), 1-9 (zlib at that level), a codec name
    or ``(name, level)``.  Other objects are pickled only with
    ``allow_pickle=True``, else TypeError.  Returns ``[filename]``."""
    method, level = parse_compress(compress)
    variant = to_variant(value, allow_pickle=allow_pickle)
    Joblib.dump(variant, _file(filename), method, level, None)
    return [filename]


def load(filename, mmap_mode=None, allow_pickle=False):
    """Load a file written by :func:`dump`.

    ``mmap_mode=None`` reads the file, arrays are writable; ``"r"`` maps an
    uncompressed file, arrays are read-only views of the mapping; ``"c"``
    maps it and gives writable private copies.  Pickled content raises
    PickleNotAllowedError unless ``allow_pickle=True``."""
    if mmap_mode not in (None, "r", "c"):
        raise ValueError(f"mmap_mode must be None, 'r' or 'c', not {mmap_mode!r}")
    flags = Joblib.LoadFlags.MMAP if mmap_mode is not None else Joblib.LoadFlags.NONE
    variant = Joblib.load(_file(filename), flags, 0, None)
    value = from_variant(variant, allow_pickle=allow_pickle, writable=mmap_mode is None)
    if mmap_mode == "c":
        value = _copy_arrays(value)
    return value


def _copy_arrays(value):
    try:
        import numpy
    except ImportError:
        return value
    if isinstance(value, numpy.ndarray):
        return value.copy()
    if isinstance(value, list):
        return [_copy_arrays(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_copy_arrays(v) for v in value)
    if isinstance(value, dict):
        return {k: _copy_arrays(v) for k, v in value.items()}
    return value


__all__ = ["dump", "load", "parse_compress", "PickleNotAllowedError", "GLib"]
