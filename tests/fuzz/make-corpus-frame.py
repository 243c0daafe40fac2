#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes the seed corpus of fuzz-frame: well-formed worker protocol frames
(docs/worker-protocol.md) and a few broken ones, for protocol versions 1
and 2. Run with /usr/bin/python3 from tests/fuzz/ to regenerate."""
import os
import struct

from gi.repository import GLib

HELLO, CALL, RESULT, ERROR, DONE, GOODBYE = 1, 2, 3, 4, 5, 6


def frame(version, message, type_string, value):
    data = GLib.Variant(type_string, value).get_data_as_bytes().get_data()
    return struct.pack("<IBBH", len(data), version, message, 0) + data


def frames(version):
    hello = frame(version, HELLO, "(sxa{sv})",
                  ("native", 1234, {"gjs": GLib.Variant("b", False)}))
    ref = ("native", {"module": GLib.Variant("s", "/tmp/tasks.so"),
                      "symbol": GLib.Variant("s", "task_square")})
    if version == 1:
        call = frame(version, CALL, "(tba(sa{sv})a(uva(usst)))",
                     (7, True, [ref],
                      [(0, GLib.Variant("(x)", (3,)), []),
                       (0, GLib.Variant("()", ()),
                        [(0, "/dev/shm/joblib-1", "ay", 4096)])]))
        result = frame(version, RESULT, "(tuv)", (7, 0, GLib.Variant("x", 9)))
    else:
        call = frame(version, CALL, "(tba(sa{sv})auava(uusst))",
                     (7, True, [ref], [0, 0],
                      [GLib.Variant("(x)", (3,)), GLib.Variant("()", ())],
                      [(1, 0, "/dev/shm/joblib-1", "ay", 4096)]))
        result = frame(version, RESULT, "(tuav)",
                       (7, 0, [GLib.Variant("x", 9), GLib.Variant("ad", [1.5, 2.5])]))
    error = frame(version, ERROR, "(tusis)", (7, 1, "g-io-error-quark", 1, "no such file"))
    done = frame(version, DONE, "(td)", (7, 0.001))
    goodbye = frame(version, GOODBYE, "(s)", ("",))
    return {
        "hello": hello, "call": call, "result": result, "error": error,
        "done": done, "goodbye": goodbye,
        "conversation": hello + call + result + error + done + goodbye,
        "truncated": (hello + call)[:-5],
        "header-only": hello[:8],
        "huge-length": struct.pack("<IBBH", 0xFFFFFFF0, version, CALL, 0) + b"\0" * 8,
        "bad-type": struct.pack("<IBBH", 0, version, 99, 0),
        # found by fuzz-frame: an empty payload made the reader pass a NULL
        # buffer to g_input_stream_read_all()
        "empty-payload": struct.pack("<IBBH", 0, version, DONE, 0),
        "not-normal": struct.pack("<IBBH", 4, version, GOODBYE, 0) + b"ab\xff\0",
    }


here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus-frame")
os.makedirs(here, exist_ok=True)
for version in (1, 2):
    for name, data in frames(version).items():
        with open(os.path.join(here, "v%d-%s.bin" % (version, name)), "wb") as f:
            f.write(data)
