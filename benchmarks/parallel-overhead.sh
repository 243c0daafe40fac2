#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Per-task overhead of JobParallel (threads, n_jobs=2, auto batching) next
# to Python joblib's threading and loky backends, in the same run.
#
#   benchmarks/parallel-overhead.sh [BUILD_DIR] [REPETITIONS]
#
# Builds BUILD_DIR/benchmarks/parallel-overhead if needed and prints a
# markdown table: µs per task (median), and joblib's figure over ours.
set -eu

srcdir=$(cd "$(dirname "$0")" && pwd)
builddir=${1:-_build}
reps=${2:-9}
python=/usr/bin/python3

ninja -C "$builddir" benchmarks/parallel-overhead >/dev/null
out=$(mktemp)
trap 'rm -f "$out"' EXIT

echo "joblib-glib (threads)..." >&2
"$builddir/benchmarks/parallel-overhead" "$reps" >>"$out"
echo "Python joblib (threading, loky)..." >&2
"$python" "$srcdir/parallel_overhead_joblib.py" "$(( (reps + 1) / 2 ))" >>"$out"

"$python" - "$out" <<'PY'
import json, sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith('{')]
def get(impl, backend, mode, n):
    for r in rows:
        if (r['impl'], r['backend'], r['mode'], r['n']) == (impl, backend, mode, n):
            return r['us_per_task']
    return None

sizes = sorted({r['n'] for r in rows})
print('| N | ours, dispatch (µs/task) | ours, end-to-end (µs/task) '
      '| ours, bulk map of a JobArray / an `ai` GVariant (µs/element) '
      '| joblib threading (µs/task) | joblib loky (µs/task) '
      '| threading / ours | loky / ours | loky / bulk |')
print('|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
for n in sizes:
    d = get('joblib-glib', 'threading', 'dispatch', n)
    e = get('joblib-glib', 'threading', 'end-to-end', n)
    ba = get('joblib-glib', 'threading', 'bulk-array', n)
    bv = get('joblib-glib', 'threading', 'bulk-variant', n)
    t = get('joblib', 'threading', 'end-to-end', n)
    l = get('joblib', 'loky', 'end-to-end', n)
    ratio = lambda x, y: ('%.1f×' if x / y < 10 else '%.0f×') % (x / y) if x and y else 'n/a'
    print('| %s | %.3f | %.3f | %.4f / %.4f | %.2f | %.2f | %s | %s | %s |'
          % (f'{n:,}'.replace(',', ' '), d, e, ba, bv, t, l, ratio(t, e), ratio(l, e),
             ratio(l, ba)))
print()
print('Ratios compare joblib with our end-to-end figure (building the calls '
      'included); medians of the runs.')
PY
