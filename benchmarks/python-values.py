#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""joblib_glib's Python Memory and dump/load next to Python joblib.

Usage (from a build tree, with the uninstalled typelib on the paths):
  /usr/bin/python3 benchmarks/python-values.py [--json] [--ours-only]
Prints a markdown table of medians: Memory hits with plain arguments (the
GVariant path), with arguments that need pickle (numpy scalars, an
OrderedDict), dump/load of a float64 array and of 1 000 small dicts.
"""

import collections
import json
import os
import statistics
import sys
import tempfile
import time

import joblib
import numpy as np

import joblib_glib


def f(x, y=None):
    if isinstance(x, np.ndarray):
        return float(x[::4096].sum())
    return [x, y]


def timed(call, n):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def memory_rows(module, location):
    memory = module.Memory(location, verbose=0)
    cached = memory.cache(f)
    rng = np.random.default_rng(0)
    big = rng.random(1_000_000)
    plain = {"a": 1, "b": [1.5, "x"], "c": None}
    scalars = (np.float64(1.5), collections.OrderedDict(a=1, b=2))
    out = {}
    for key, args, n in (("hit_int_us", (7,), 3001), ("hit_dict_us", (plain, "s"), 3001),
                         ("hit_pickled_us", scalars, 3001), ("hit_1e6_us", (big,), 101)):
        cached(*args)
        out[key] = timed(lambda: cached(*args), n) * 1e6
    return out


def persist_rows(module, tmp):
    rng = np.random.default_rng(0)
    array = rng.random(10_000_000)
    dicts = [{"id": i, "name": f"item{i}", "value": i * 0.5, "tags": ["a", "b"]}
             for i in range(1000)]
    path = os.path.join(tmp, "value.bin")
    out = {}
    for key, value, n in (("array", array, 7), ("dicts", dicts, 21)):
        out[f"dump_{key}_ms"] = timed(lambda: module.dump(value, path), n) * 1e3
        out[f"load_{key}_ms"] = timed(lambda: module.load(path), n) * 1e3
    return out


ROWS = [
    ("hit_int_us", "Memory hit, int argument", "µs"),
    ("hit_dict_us", "Memory hit, dict + str arguments", "µs"),
    ("hit_pickled_us", "Memory hit, np.float64 + OrderedDict arguments", "µs"),
    ("hit_1e6_us", "Memory hit, 1e6 float64 array argument", "µs"),
    ("dump_array_ms", "dump, 80 MB float64 array", "ms"),
    ("load_array_ms", "load, 80 MB float64 array", "ms"),
    ("dump_dicts_ms", "dump, 1 000 small dicts", "ms"),
    ("load_dicts_ms", "load, 1 000 small dicts", "ms"),
]


def main():
    results = {}
    modules = (joblib_glib,) if "--ours-only" in sys.argv else (joblib_glib, joblib)
    for module in modules:
        with tempfile.TemporaryDirectory() as tmp:
            row = memory_rows(module, os.path.join(tmp, "cache"))
            row.update(persist_rows(module, tmp))
        results[module.__name__] = row
    if "--json" in sys.argv:
        print(json.dumps(results))
        return
    print(f"| measure (median) | joblib_glib | joblib {joblib.__version__} | ratio |")
    print("|---|---:|---:|---:|")
    for key, label, unit in ROWS:
        ours, theirs = results["joblib_glib"][key], results["joblib"][key]
        print(f"| {label} | {ours:.3g} {unit} | {theirs:.3g} {unit} | {theirs / ours:.1f}x |")


if __name__ == "__main__":
    main()
