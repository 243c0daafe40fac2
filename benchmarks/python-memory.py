#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""joblib_glib's Python Memory next to Python joblib's, in the same run.

Usage (from a build tree, with the uninstalled typelib on the paths):
  /usr/bin/python3 benchmarks/python-memory.py [--entries N] [--removal M] [--json]
                                               [--ours-only]
Prints the load average and a markdown table of medians: a hit with an
int argument (the same entry again and again, then a different entry each
time), a miss (compute + store) with an int argument while the
cache grows to N entries (16 000 by default; the median of each quarter
shows whether the cost stays flat), reduce_size from M (1 000) to M/2
entries and clear on M entries.
"""

import json
import os
import statistics
import sys
import tempfile
import time

import joblib

import joblib_glib


def f(x):
    return x * 2


def median_us(times):
    return statistics.median(times) * 1e6


def rows(module, location, entries):
    memory = module.Memory(location, verbose=0)
    cached = memory.cache(f)
    out = {}
    misses = []
    clock = time.perf_counter
    for i in range(entries):
        t0 = clock()
        cached(i)
        misses.append(clock() - t0)
    quarter = entries // 4
    out["miss_us"] = median_us(misses)
    for q in range(4):
        out[f"miss_q{q + 1}_us"] = median_us(misses[q * quarter:(q + 1) * quarter])
    hits = []
    for _ in range(5001):
        t0 = clock()
        cached(-1 if not hits else 7)
        hits.append(clock() - t0)
    out["hit_us"] = median_us(hits[1:])
    # A different entry on each hit: no hit repeats one that this process
    # touched in the last second, so each sets the LRU time.
    spread = []
    for i in range(min(entries, 5000)):
        t0 = clock()
        cached(i)
        spread.append(clock() - t0)
    out["hit_spread_us"] = median_us(spread)
    return out


def removal_rows(module, location, removal):
    memory = module.Memory(location, verbose=0)
    cached = memory.cache(f)
    for i in range(removal):
        cached(i)
    out = {}
    if module is joblib:
        # joblib 1.2's reduce_size only knows the memory's bytes_limit:
        # half the store is the same cut as items_limit=removal/2.
        total = sum(os.path.getsize(os.path.join(d, name))
                    for d, _, names in os.walk(location) for name in names)
        memory.bytes_limit = total // 2
        t0 = time.perf_counter()
        memory.reduce_size()
    else:
        t0 = time.perf_counter()
        memory.reduce_size(items_limit=removal // 2)
    out["reduce_ms"] = (time.perf_counter() - t0) * 1e3
    wait_reclaimed(memory)
    out["reduce_freed_ms"] = (time.perf_counter() - t0) * 1e3
    for i in range(removal):
        cached(i)
    t0 = time.perf_counter()
    memory.clear(warn=False)
    out["clear_ms"] = (time.perf_counter() - t0) * 1e3
    wait_reclaimed(memory)
    out["clear_freed_ms"] = (time.perf_counter() - t0) * 1e3
    return out


def wait_reclaimed(memory):
    """joblib_glib frees removed entries' files on a background thread;
    joblib removes them before returning."""
    if isinstance(memory, joblib_glib.Memory) and hasattr(memory._memory, "wait_reclaimed"):
        memory._memory.wait_reclaimed()


ROWS = [
    ("hit_us", "hit, int argument", "µs"),
    ("hit_spread_us", "hit, int argument, a different entry each time", "µs"),
    ("miss_us", "miss, int argument (compute + store), median over the growth", "µs"),
    ("miss_q1_us", "miss, first quarter of the growth", "µs"),
    ("miss_q4_us", "miss, last quarter of the growth", "µs"),
    ("reduce_ms", "reduce_size {removal} → {half} entries", "ms"),
    ("clear_ms", "clear, {removal} entries", "ms"),
    ("reduce_freed_ms", "reduce_size {removal} → {half}, until the space is freed", "ms"),
    ("clear_freed_ms", "clear, {removal} entries, until the space is freed", "ms"),
]


def main():
    entries = 16000
    if "--entries" in sys.argv:
        entries = int(sys.argv[sys.argv.index("--entries") + 1])
    removal = 1000
    if "--removal" in sys.argv:
        removal = int(sys.argv[sys.argv.index("--removal") + 1])
    load_before = os.getloadavg()
    results = {}
    for module in (joblib_glib,) if "--ours-only" in sys.argv else (joblib_glib, joblib):
        with tempfile.TemporaryDirectory() as tmp:
            row = rows(module, os.path.join(tmp, "grow"), entries)
            row.update(removal_rows(module, os.path.join(tmp, "remove"), removal))
        results[module.__name__] = row
    load_after = os.getloadavg()
    if "--json" in sys.argv or "--ours-only" in sys.argv:
        print(json.dumps({"load": [load_before, load_after], **results}))
        return
    print(f"load average (1, 5, 15 min): before {' '.join(f'{x:.2f}' for x in load_before)}, "
          f"after {' '.join(f'{x:.2f}' for x in load_after)}; {entries} entries")
    print(f"| measure (median) | joblib_glib | joblib {joblib.__version__} | joblib / ours |")
    print("|---|---:|---:|---:|")
    for key, label, unit in ROWS:
        label = label.format(removal=removal, half=removal // 2)
        ours, theirs = results["joblib_glib"][key], results["joblib"][key]
        print(f"| {label} | {ours:.3g} {unit} | {theirs:.3g} {unit} | {theirs / ours:.1f}x |")


if __name__ == "__main__":
    main()
