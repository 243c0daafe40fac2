#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The GTK 4 demo (examples/gtk) under a private Xvfb: one cached run that
# must finish (with a screenshot), then a run in GJS workers cancelled
# after two tasks. Every process started here is stopped by its pid.
# usage: test-gtk-app.sh SOURCE_ROOT OUTPUT_DIR
set -eu

src=$1
out=$2
mkdir -p "$out"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/joblib-gtk-XXXXXX")
xvfb_pid=
cleanup() {
  if [ -n "$xvfb_pid" ]; then
    kill "$xvfb_pid" 2>/dev/null || true
    wait "$xvfb_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# Xvfb picks a free display and writes its number to fd 3.
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$tmp/display" 2>"$tmp/xvfb.log" &
xvfb_pid=$!
for _ in $(seq 100); do
  [ -s "$tmp/display" ] && break
  kill -0 "$xvfb_pid" 2>/dev/null || { cat "$tmp/xvfb.log" >&2; exit 1; }
  sleep 0.1
done
[ -s "$tmp/display" ] || { echo "Xvfb did not start" >&2; exit 1; }
export DISPLAY=":$(cat "$tmp/display")"
# No session bus here; the cairo renderer needs no GL.
export GSK_RENDERER=cairo NO_AT_BRIDGE=1 GTK_A11Y=none

demo="$src/examples/gtk/joblib-gtk-demo.js"
shot="$out/gtk-demo.png"
rm -f "$shot"

status=0
timeout 120 gjs -m "$demo" --run cached --n-jobs 2 --quit-after-run \
  --cache-dir "$tmp/cache" --screenshot "$shot" >"$tmp/run1.log" 2>"$tmp/run1.err" || status=$?
cat "$tmp/run1.log"
[ "$status" -eq 0 ] || { echo "cached run exited $status" >&2; cat "$tmp/run1.err" >&2; exit 1; }
grep -q '^finished: 12 of 12, ' "$tmp/run1.log" || { echo "cached run did not finish" >&2; exit 1; }
# PNG signature
[ "$(head -c 8 "$shot" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || {
  echo "no PNG screenshot at $shot" >&2; exit 1; }
# the 12 entries are on disk
n=$(find "$tmp/cache" -name metadata.json | wc -l)
[ "$n" -eq 12 ] || { echo "expected 12 cache entries, found $n" >&2; exit 1; }

timeout 120 gjs -m "$demo" --run sleep --n-jobs 2 --cancel-after 2 --quit-after-run \
  --cache-dir "$tmp/cache" >"$tmp/run2.log" 2>"$tmp/run2.err" || status=$?
cat "$tmp/run2.log"
[ "$status" -eq 0 ] || { echo "cancelled run exited $status" >&2; cat "$tmp/run2.err" >&2; exit 1; }
grep -q '^cancelled: ' "$tmp/run2.log" || { echo "the run was not cancelled" >&2; exit 1; }

# bad input: an unknown workload is a usage error
status=0
gjs -m "$demo" --run nosuch >/dev/null 2>"$tmp/run3.err" || status=$?
[ "$status" -eq 2 ] && grep -q 'unknown workload' "$tmp/run3.err" || {
  echo "unknown workload: exit $status" >&2; exit 1; }
echo "ok"
