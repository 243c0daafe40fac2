# SPDX-License-Identifier: LGPL-2.1-or-later
"""Python compressors for dump/load: joblib's ``register_compressor``.

The built-in codecs (zlib, gzip, bz2, lzma, xz, lz4, zstd) are the
library's GConverters.  A registered compressor is a CompressorWrapper: a
file-object class (``fileobj_factory``, as ``gzip.GzipFile``), the magic
``prefix`` its files start with and a file ``extension``.  dump writes the
library's uncompressed stream through it; load recognizes its prefix.
"""

_COMPRESSORS = {}


class CompressorWrapper:
    """A compressor as joblib describes one (joblib.compressor.CompressorWrapper)."""

    def __init__(self, obj, prefix=b"", extension=""):
        self.fileobj_factory = obj
        self.prefix = prefix
        self.extension = extension

    def compressor_file(self, fileobj, compresslevel=None):
        if compresslevel is None:
            return self.fileobj_factory(fileobj, "wb")
        return self.fileobj_factory(fileobj, "wb", compresslevel=compresslevel)

    def decompressor_file(self, fileobj):
        return self.fileobj_factory(fileobj, "rb")


def _is_wrapper(compressor):
    if isinstance(compressor, CompressorWrapper):
        return True
    # joblib's own CompressorWrapper instances work too
    return all(hasattr(compressor, name) for name in
               ("fileobj_factory", "prefix", "extension", "compressor_file",
                "decompressor_file"))


def register_compressor(compressor_name, compressor, force=False):
    """Register a compressor for dump(..., compress=(name, level)) and load."""
    if not isinstance(compressor_name, str):
        raise ValueError(f"Compressor name should be a string, '{compressor_name}' given.")
    if not _is_wrapper(compressor):
        raise ValueError(f"Compressor should implement the CompressorWrapper interface, "
                         f"'{compressor}' given.")
    factory = compressor.fileobj_factory
    if factory is not None and not all(hasattr(factory, name)
                                       for name in ("read", "write", "seek", "tell")):
        raise ValueError(f"Compressor 'fileobj_factory' attribute should implement the file "
                         f"object interface, '{factory}' given.")
    if compressor_name in _COMPRESSORS and not force:
        raise ValueError(f"Compressor '{compressor_name}' already registered.")
    _COMPRESSORS[compressor_name] = compressor


def find(name):
    return _COMPRESSORS.get(name)


def by_extension(path):
    for compressor in _COMPRESSORS.values():
        if compressor.extension and str(path).endswith(compressor.extension):
            return compressor
    return None


def by_prefix(head):
    for compressor in _COMPRESSORS.values():
        if compressor.prefix and head.startswith(compressor.prefix):
            return compressor
    return None


__all__ = ["CompressorWrapper", "register_compressor"]
