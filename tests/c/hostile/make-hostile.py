#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes the decompression bombs of tests/c/test-hostile-files.c.

Run from the build folder once (the files are kept in the source tree):
  GI_TYPELIB_PATH=introspection LD_LIBRARY_PATH=libjoblib-glib \
    /usr/bin/python3 ../tests/c/hostile/make-hostile.py ../tests/c/hostile

- zeros-300m.<codec>: a valid dump of 300 MiB of zero bytes, compressed
  (at most 45 KB): expands 7 000 times and more, past the default cap.
- header-200m.zst: a preamble announcing a 200 MiB header, then 200 MiB of
  zeros: the header alone would fill 200 MiB before its checksum failed.
- header-2g.zst: the same announcing 2 GiB, with 300 MiB of zeros after it.
"""
import struct
import sys

import gi
gi.require_version("Joblib", "1.0")
from gi.repository import Gio, GLib, Joblib  # noqa: E402

MIB = 1024 * 1024
out = sys.argv[1]
zeros = GLib.Bytes.new(bytes(300 * MIB))
value = GLib.Variant.new_from_bytes(GLib.VariantType.new("ay"), zeros, True)

for name, codec in (("zst", Joblib.Compression.ZSTD), ("bz2", Joblib.Compression.BZ2),
                    ("xz", Joblib.Compression.XZ), ("lzma", Joblib.Compression.LZMA)):
    Joblib.dump(value, Gio.File.new_for_path(f"{out}/zeros-300m.{name}"), codec, -1, None)


def header_bomb(path, announced, zero_bytes):
    preamble = b"\x89JOBGLIB" + struct.pack("<IIQQ", 1, 0, announced, 0)
    converter = Joblib.compression_new_compressor(Joblib.Compression.ZSTD, -1)
    base = Gio.File.new_for_path(path).replace(None, False, Gio.FileCreateFlags.NONE, None)
    stream = Gio.ConverterOutputStream.new(base, converter)
    stream.write_all(preamble, None)
    chunk = bytes(MIB)
    for _ in range(zero_bytes // MIB):
        stream.write_all(chunk, None)
    stream.close(None)


header_bomb(f"{out}/header-200m.zst", 200 * MIB, 200 * MIB)
header_bomb(f"{out}/header-2g.zst", 2048 * MIB, 300 * MIB)
