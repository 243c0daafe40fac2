#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Seeds for fuzz-pickle besides the joblib files of tests/data: plain
pickles of the values and numpy objects that the reader takes, and a few
hostile shapes.  Run from tests/fuzz with /usr/bin/python3."""

import collections
import hashlib
import os
import pickle

import numpy as np

VALUES = [
    {"a": [1, 2.5, None, True], ("t", 1): frozenset({1})},
    collections.OrderedDict(x=b"\x00\x01", y=bytearray(b"z")),
    [2 ** 100, -(2 ** 64), 1 + 1j, {1, 2}],
    np.arange(6, dtype=">f8").reshape(2, 3),
    np.array(["a", None, 3], dtype=object),
    np.float32(1.5),
    np.dtype("M8[10us]"),
]
HOSTILE = [
    b"\x80\x04]\x94h\x00a.",                      # a list that holds itself
    b"\x80\x04]" + b"2\x86" * 40 + b".",          # shared tuples, 2**40 leaves
    b"\x80\x04N" + b"\x85" * 300 + b".",          # nesting too deep
]


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus-pickle")
    os.makedirs(out, exist_ok=True)
    blobs = [pickle.dumps(v, protocol=p) for v in VALUES for p in (2, 4)] + HOSTILE
    for blob in blobs:
        name = hashlib.sha1(blob).hexdigest()
        with open(os.path.join(out, name), "wb") as f:
            f.write(blob)


if __name__ == "__main__":
    main()
