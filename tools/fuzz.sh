#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Fuzz the tests/fuzz targets with libFuzzer (clang, ASan and UBSan):
#   tools/fuzz.sh [TARGET...] [-t SECONDS]
# TARGET is fuzz-load, fuzz-frame, fuzz-metadata or fuzz-pickle (default: all);
# each runs SECONDS (default 300) on one core, starting from a copy of its
# seed corpus in tests/fuzz/, in $JOB_FUZZ_DIR (default _fuzz/). New inputs
# stay there; crashes are written there as crash-* and make the script
# exit 1. Copy a crash into the target's corpus folder once it is fixed:
# the 'fuzz' suite then replays it as a regression test.
# Needs clang and libclang-rt-14-dev.
set -euo pipefail

cd "$(dirname "$0")/.."
build=${JOB_FUZZ_BUILD_DIR:-_build-fuzz}
out=${JOB_FUZZ_DIR:-_fuzz}
seconds=300
targets=()

while (( $# > 0 )); do
  case $1 in
    -t) seconds=$2; shift 2 ;;
    fuzz-load|fuzz-frame|fuzz-metadata|fuzz-pickle) targets+=("$1"); shift ;;
    *) echo "usage: $0 [fuzz-load|fuzz-frame|fuzz-metadata|fuzz-pickle]... [-t SECONDS]" >&2; exit 2 ;;
  esac
done
(( ${#targets[@]} > 0 )) || targets=(fuzz-load fuzz-frame fuzz-metadata fuzz-pickle)

if [[ ! -f $build/build.ninja ]]; then
  CC=clang meson setup "$build" -Dfuzzing=true \
    -Db_sanitize=address,undefined -Db_lundef=false \
    -Dintrospection=disabled -Dvapi=disabled -Ddocs=disabled
fi
ninja -C "$build" "${targets[@]/#/tests/fuzz/}"

declare -A corpus=([fuzz-load]=corpus-load [fuzz-frame]=corpus-frame
                   [fuzz-metadata]=corpus-metadata [fuzz-pickle]=corpus-pickle)
status=0
for t in "${targets[@]}"; do
  work=$out/$t
  mkdir -p "$work/corpus"
  cp -n tests/fuzz/"${corpus[$t]}"/* "$work/corpus/"
  # joblib's own files seed the pickle reader
  [[ $t != fuzz-pickle ]] || cp -n tests/data/joblib-files/*.pkl* "$work/corpus/"
  echo "== $t: ${seconds}s from $(ls "$work/corpus" | wc -l) inputs" >&2
  # allocator_may_return_null: a hostile size must be refused with an
  # error, which the loader does before it allocates; an attempt to
  # allocate it anyway still shows as a report (-rss_limit_mb).
  if ! ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=1 \
       UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
       G_DEBUG=gc-friendly,fatal-criticals G_SLICE=always-malloc \
       "$build/tests/fuzz/$t" -max_total_time="$seconds" -print_final_stats=1 \
         -rss_limit_mb=2048 -artifact_prefix="$work/" "$work/corpus" \
         2> "$work/log"; then
    status=1
    echo "$t: FOUND A CRASH, see $work/log and $work/crash-*" >&2
  fi
  grep -E "^stat::|cov:" "$work/log" | tail -8 >&2
done
exit $status
