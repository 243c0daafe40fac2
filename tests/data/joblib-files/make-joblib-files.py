#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes the corpus of files made by Python's joblib.dump that the tests
load from C, Python and GJS.  Run it from this folder with python3-joblib,
python3-numpy and python3-lz4 installed:

    /usr/bin/python3 make-joblib-files.py

The values are fixed (no randomness), so the files only change when
joblib, numpy or a codec writes differently.  Each file name says what it
holds: VALUE[-pPROTOCOL].pkl[.CODEC]."""

import collections
import os
import sys

import joblib
import numpy as np


def mixed():
    """Every kind of value the C reader rebuilds."""
    return {
        "int": 1, "negative": -5, "int64": 2 ** 62, "bigint": 2 ** 70, "negbig": -(2 ** 80),
        "float": 1.5, "complex": 1 + 2j, "str": "h\u00e9llo \u2603", "nul": "a\x00b",
        "surrogate": "x\udc80y", "bytes": b"\x00\xff", "bytearray": bytearray(b"ab"),
        "none": None, "true": True, "false": False,
        "tuple": (1, "a", (2.0,)), "empty_tuple": (), "list": [1, [2, 3], {}],
        "set": {1, 2, 3}, "frozenset": frozenset({"x"}),
        "odict": collections.OrderedDict([("b", 1), ("a", 2)]),
        "intkeys": {1: "one", (2, 3): "pair", None: "none"},
        "shared": [[1, 2]] * 2,
        "f8": np.arange(6.0).reshape(2, 3),
        "i4": np.arange(-3, 3, dtype="<i4"),
        "u1": np.array([0, 255], dtype=np.uint8),
        "b1": np.array([[True, False]]),
        "c16": np.array([1 + 2j, -3j]),
        "f4_fortran": np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4)),
        "big_endian": np.arange(4, dtype=">i4"),
        "f2": np.array([0.5, -2.0], dtype=np.float16),
        "bytes_array": np.array([b"ab", b"cde"]),
        "unicode_array": np.array(["a", "\u00e9t\u00e9"]),
        "datetime": np.array(["2020-01-01", "2021-06-30"], dtype="M8[D]"),
        "timedelta": np.array([1, 2], dtype="m8[ms]"),
        "object_array": np.array(["a", 1, None], dtype=object),
        "zero_d": np.array(3.25),
        "empty": np.zeros((0, 3)),
        "scalar_f8": np.float64(2.5),
        "scalar_i4": np.int32(-7),
        "scalar_bool": np.bool_(True),
        "dtype": np.dtype("<f4"),
    }


def arrays():
    """A bigger array, so that mapping it means something."""
    return [np.arange(10000, dtype=np.float64), np.ones((50, 20), dtype=np.int16, order="F")]


def standard():
    """Standard values that the C reader leaves to Python's safe loader."""
    import datetime
    import decimal
    import fractions
    return {"fraction": fractions.Fraction(1, 3), "date": datetime.date(2020, 1, 2),
            "decimal": decimal.Decimal("1.5"), "array": np.arange(3)}


def unsupported():
    """A class that only allow_pickle=True rebuilds."""
    import pathlib
    return {"path": pathlib.PurePosixPath("/tmp/x"), "array": np.arange(3)}


# joblib's codecs and the extensions that select them in joblib.dump
CODECS = {None: "", "zlib": ".z", "gzip": ".gz", "bz2": ".bz2", "lzma": ".lzma",
          "xz": ".xz", "lz4": ".lz4"}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    os.chdir(here)
    for codec, extension in CODECS.items():
        name = "mixed.pkl" + extension
        joblib.dump(mixed(), name, compress=0 if codec is None else (codec, 3))
    for protocol in (2, 3, 5):
        joblib.dump(mixed(), f"mixed-p{protocol}.pkl", protocol=protocol)
    joblib.dump(arrays(), "arrays.pkl")
    joblib.dump(arrays(), "arrays.pkl.gz", compress=("gzip", 3))
    joblib.dump(standard(), "standard.pkl")
    joblib.dump(unsupported(), "unsupported.pkl")
    total = sum(os.path.getsize(f) for f in os.listdir(".") if ".pkl" in f)
    print(f"wrote {total} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
