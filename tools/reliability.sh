#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The reliability runs, after the normal suites of
# `tools/dev.sh test`, which calls this script:
#   tools/reliability.sh [--full] [asan|valgrind|tsan]...
# Without a step name it runs all three.
#
#   asan      an ASan+UBSan build ($build-asan) running the 'c', 'fuzz'
#             and 'slow' suites (the stress test for 20 s, 60 s with
#             --full; not the benchmarks) and 'python', 'gjs', 'vala',
#             'cli' (libasan preloaded into the interpreters). Every
#             process the tests start (workers, interpreters) writes its
#             report to $build-asan/sanitizer-reports/ (log_path, set in
#             tests/meson.build), emptied here first: any file there
#             fails the run, even from a worker nobody waited for
#   valgrind  the 'c' and 'fuzz' suites of the normal build under memcheck
#             with GLib's suppressions (the 'valgrind' test setup of
#             tests/meson.build), following the worker programs the tests
#             start; one report per process in
#             $build/meson-logs/valgrind-reports/, emptied here first:
#             any report with an error fails the run
#   tsan      a ThreadSanitizer build ($build-tsan) running the C tests
#             that use threads (thread and process backends, Parallel,
#             Memory single-flight, async persistence, hashing, fault
#             injection) and the memory stress test (10 s; 60 s with
#             --full). Debian's GLib is not built with TSan: the
#             preloaded tests/tsan/ library makes its locks and its
#             documented thread hand-offs visible to TSan (see
#             tests/README.md); no suppression. About 30 s-1 min
#
# Any report fails the run: ASan/UBSan/TSan abort the test
# (halt_on_error), valgrind exits 1 (--error-exitcode), and the report
# files of child processes are checked after each step.
set -euo pipefail

cd "$(dirname "$0")/.."
build=${JOB_BUILD_DIR:-_build}
full=0
steps=()
for arg in "$@"; do
  case $arg in
    --full) full=1 ;;
    asan|valgrind|tsan) steps+=("$arg") ;;
    *) echo "usage: $0 [--full] [asan|valgrind|tsan]..." >&2; exit 2 ;;
  esac
done
(( ${#steps[@]} > 0 )) || steps=(asan valgrind tsan)

# A report is a failure, wherever it comes from. ASan/UBSan options
# (with their report files) are in the test environment of the
# sanitizer build (tests/meson.build).
# TSan: handle_segv=0, workers crashed on purpose must die by SIGSEGV.
export TSAN_OPTIONS="halt_on_error=1:handle_segv=0:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp"

step_start=0
begin () { step_start=$SECONDS; echo "== reliability: $*" >&2; }
end () { echo "== reliability: $1 took $((SECONDS - step_start)) s" >&2; }

# An empty folder for the reports of one run.
fresh_folder () {
  mkdir -p "$1"
  find "$1" -mindepth 1 -maxdepth 1 -type f -delete
}

# Prints the reports in $1 that match the extended regex $2 (every file
# when empty) and returns 1 if there is any.
check_reports () {
  local folder=$1 pattern=$2 n_files found=()
  n_files=$(find "$folder" -type f | wc -l)
  if [[ -z $pattern ]]; then
    mapfile -t found < <(find "$folder" -type f | sort)
  else
    mapfile -t found < <(grep -l -E -r "$pattern" "$folder" | sort)
  fi
  echo "== reliability: $n_files report files in $folder, ${#found[@]} with findings" >&2
  (( ${#found[@]} == 0 )) && return 0
  for f in "${found[@]}"; do
    echo "---- $f" >&2
    cat "$f" >&2
  done
  return 1
}

for step in "${steps[@]}"; do
  case $step in
    asan)
      begin "ASan+UBSan build"
      if [[ ! -f $build-asan/build.ninja ]]; then
        meson setup "$build-asan" --buildtype=debugoptimized \
          -Db_sanitize=address,undefined -Db_lundef=false -Ddocs=disabled
      fi
      ninja -C "$build-asan"
      reports=$build-asan/sanitizer-reports
      fresh_folder "$reports"
      status=0
      # Every C program (the slow ones with a shorter stress run) and,
      # below, every binding suite. The benchmarks are left out: they
      # would only time instrumented code.
      # GLib keeps some allocations for the life of the process (types,
      # quarks): only leaks reported through our own code count, which
      # LeakSanitizer cannot tell apart, so leaks are valgrind's job.
      JOB_STRESS_SECONDS=$(( full ? 60 : 20 )) \
        meson test -C "$build-asan" --print-errorlogs --num-processes 2 \
          --suite c --suite fuzz --suite slow --no-suite benchmarks || status=$?
      # The interpreters (the cli suite drives the tool from Python) are
      # not built with ASan: preload its runtime.
      if (( status == 0 )); then
        LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)" \
          meson test -C "$build-asan" --print-errorlogs --num-processes 2 \
            --suite python --suite gjs --suite vala --suite cli || status=$?
      fi
      # Reports of processes whose end no test saw (a worker crashing
      # after its answers, an interpreter's child) fail the run too.
      check_reports "$reports" "" || status=1
      (( status == 0 )) || exit "$status"
      end "ASan+UBSan"
      ;;
    valgrind)
      begin "valgrind memcheck, suites c and fuzz, worker programs followed"
      reports=$build/meson-logs/valgrind-reports
      fresh_folder "$reports"
      status=0
      VALGRIND_OPTS="--log-file=$(cd "$reports" && pwd)/%p.log" \
        meson test -C "$build" --setup valgrind --print-errorlogs --num-processes 2 \
          --suite c --suite fuzz || status=$?
      check_reports "$reports" "ERROR SUMMARY: [1-9]" || status=1
      (( status == 0 )) || exit "$status"
      end "valgrind"
      ;;
    tsan)
      begin "ThreadSanitizer build"
      if [[ ! -f $build-tsan/build.ninja ]]; then
        meson setup "$build-tsan" --buildtype=debugoptimized -Db_sanitize=thread \
          -Db_lundef=false -Dintrospection=disabled -Dvapi=disabled -Ddocs=disabled
      fi
      ninja -C "$build-tsan"
      # The programs that run code on several threads; the others
      # (codecs, the worker protocol's parser...) would only be slower.
      tests=(test-backend test-parallel test-memory test-memory-stress
             test-process-backend test-process-memory test-faults
             test-persist test-hash test-task-count test-nesting)
      seconds=10
      if (( full )); then
        seconds=60
      fi
      JOB_STRESS_SECONDS=$seconds \
        meson test -C "$build-tsan" --print-errorlogs --num-processes 2 "${tests[@]}"
      end "ThreadSanitizer"
      ;;
  esac
done
