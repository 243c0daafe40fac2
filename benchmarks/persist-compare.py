#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""job_dump/job_load next to joblib.dump/load, same data, same run.

Usage: /usr/bin/python3 benchmarks/persist-compare.py _build/benchmarks/persist-bench
           [--mib MIB] [--codecs none,zlib,...]
Prints a markdown table (medians; MB/s over the uncompressed size). The
array is 80 MiB of float64 unless --mib says otherwise; --codecs keeps
only the named codecs (benchmarks/run --quick uses both).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import joblib
import numpy as np

CODECS = [("none", None), ("zlib", 3), ("gzip", 3), ("bz2", 3), ("lzma", 3), ("xz", 3),
          ("lz4", 1), ("zstd", 3)]


def status_bytes(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    return 0


def reset_peak():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def bench_joblib(name, value, nbytes, tmp, codec, level, repeats):
    ext = {"none": "pkl", "zlib": "z", "gzip": "gz", "bz2": "bz2", "lzma": "lzma", "xz": "xz",
           "lz4": "lz4"}[codec]
    path = os.path.join(tmp, f"{name}.{ext}")
    compress = 0 if codec == "none" else (codec, level)
    dumps, loads, mmaps, firsts, peak = [], [], [], [], 0
    for _ in range(repeats):
        if os.path.exists(path):
            os.unlink(path)
        before = status_bytes("VmRSS:")
        reset_peak()
        t0 = time.perf_counter()
        joblib.dump(value, path, compress=compress)
        dumps.append(time.perf_counter() - t0)
        peak = max(peak, status_bytes("VmHWM:") - before)
        t0 = time.perf_counter()
        joblib.load(path)
        loads.append(time.perf_counter() - t0)
        if codec == "none":
            t0 = time.perf_counter()
            mapped = joblib.load(path, mmap_mode="r")
            mmaps.append(time.perf_counter() - t0)
            mapped[0]
            firsts.append(time.perf_counter() - t0)
            del mapped
    size = os.path.getsize(path)
    os.unlink(path)
    return {"impl": "joblib", "data": name, "codec": codec, "bytes": nbytes, "file_size": size,
            "dump_s": statistics.median(dumps), "load_s": statistics.median(loads),
            "mmap_s": statistics.median(mmaps) if mmaps else None,
            "mmap_first_s": statistics.median(firsts) if firsts else None, "dump_peak_extra": peak}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("bench_exe")
    parser.add_argument("--mib", type=float, default=80)
    parser.add_argument("--codecs", default=",".join(c for c, _ in CODECS))
    args = parser.parse_args()
    keep = args.codecs.split(",")
    if "none" not in keep or not set(keep) <= {c for c, _ in CODECS}:
        parser.error("--codecs takes names from %s, 'none' included"
                     % ",".join(c for c, _ in CODECS))
    CODECS[:] = [(c, l) for c, l in CODECS if c in keep]
    bench_exe = args.bench_exe
    rng = np.random.default_rng(0)
    array = rng.standard_normal(max(int(args.mib * 1024 * 1024 / 8), 1))  # float64
    dicts = [{"id": i, "name": f"item{i}", "value": i * 0.5, "tags": ["a", "b"]} for i in range(1000)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        npy = os.path.join(tmp, "array.npy")
        np.save(npy, array)
        specs = [f"{c}:{l}" if l is not None else c for c, l in CODECS]
        out = subprocess.run([bench_exe, npy, tmp] + specs, check=True, capture_output=True, text=True)
        ours = [json.loads(line) for line in out.stdout.splitlines()]
        for codec, level in CODECS:
            if codec == "zstd":
                continue
            if codec == "lz4":
                try:
                    import lz4  # noqa: F401
                except ImportError:
                    continue
            slow = codec not in ("none", "lz4")
            rows.append(bench_joblib("array", array, array.nbytes, tmp, codec, level, 3 if slow else 7))
            rows.append(bench_joblib("dicts", dicts, len(json.dumps(dicts)), tmp, codec, level, 7))
    rows += ours

    print("| data | codec | joblib dump | ours dump | dump speed-up | joblib load | ours load |"
          " load speed-up | joblib size | our size | joblib dump peak | our dump peak |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for data in ("array", "dicts"):
        for codec, _ in CODECS:
            j = next((r for r in rows if r["impl"] == "joblib" and r["data"] == data and r["codec"] == codec), None)
            o = next(r for r in rows if r["impl"] == "joblib-glib" and r["data"] == data and r["codec"] == codec)

            def speed(r, key):
                if r is None:
                    return "—"
                if data == "array":
                    return f"{r[key] * 1e3:.1f} ms ({r['bytes'] / r[key] / 1e6:.0f} MB/s)"
                return f"{r[key] * 1e3:.2f} ms"

            def ratio(key):
                return f"{j[key] / o[key]:.2f}x" if j else "—"

            def mib(r, key):
                return f"{r[key] / 2**20:.1f} MiB" if r else "—"

            print(f"| {data} | {codec} | {speed(j, 'dump_s')} | {speed(o, 'dump_s')} | {ratio('dump_s')} |"
                  f" {speed(j, 'load_s')} | {speed(o, 'load_s')} | {ratio('load_s')} |"
                  f" {j['file_size'] if j else '—'} | {o['file_size']} |"
                  f" {mib(j, 'dump_peak_extra')} | {mib(o, 'dump_peak_extra')} |")
    for data in ("array", "dicts"):
        j = next(r for r in rows if r["impl"] == "joblib" and r["data"] == data and r["codec"] == "none")
        o = next(r for r in rows if r["impl"] == "joblib-glib" and r["data"] == data and r["codec"] == "none")
        print(f"\nmmap load, {data}: joblib {j['mmap_s'] * 1e3:.3f} ms, ours {o['mmap_s'] * 1e3:.3f} ms;"
              f" to the first element: joblib {j['mmap_first_s'] * 1e3:.3f} ms,"
              f" ours {o['mmap_first_s'] * 1e3:.3f} ms")
    python_mapped_rows(array, repeats=21)


def python_mapped_rows(array, repeats):
    """joblib_glib.load(mmap_mode="r") then the first element, from Python,
    next to joblib on the same array, the two alternating (skipped when
    joblib_glib cannot be imported here)."""
    try:
        import joblib_glib
    except ImportError:
        return
    firsts = {"joblib": [], "joblib_glib": []}
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for module in (joblib, joblib_glib):
            paths[module.__name__] = os.path.join(tmp, module.__name__ + ".pkl")
            module.dump(array, paths[module.__name__])
        for _ in range(repeats):
            for module in (joblib, joblib_glib):
                t0 = time.perf_counter()
                mapped = module.load(paths[module.__name__], mmap_mode="r")
                mapped[0]
                firsts[module.__name__].append(time.perf_counter() - t0)
                del mapped
    j, o = (statistics.median(firsts[name]) for name in ("joblib", "joblib_glib"))
    print(f"\nFrom Python, mmap load of the array to the first element: joblib {j * 1e3:.3f} ms,"
          f" joblib_glib {o * 1e3:.3f} ms ({j / o:.2f}x)")


if __name__ == "__main__":
    main()
