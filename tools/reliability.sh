#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The reliability runs, after the normal suites of
# `tools/dev.sh test`, which calls this script:
#   tools/reliability.sh [--full] [asan|valgrind|tsan]...
# Without a step name it runs all three.
#
#   asan      an ASan+UBSan build ($build-asan: the library, its programs
#             and tests; no examples, benchmarks or bindings) running the
#             'c' and 'fuzz' suites and the memory stress test (20 s);
#             with --full the whole 'slow' suite (stress for 60 s) and a second
#             ASan build with introspection ($build-asan-gi) also runs the
#             'python', 'gjs', 'vala' and 'cli' suites, libasan preloaded
#             into the interpreters. Every process the tests start
#             (workers, interpreters) writes its report to
#             <build>/sanitizer-reports/ (log_path, set in tests/meson.build),
#             emptied here first: any file there fails the run, even from a
#             worker nobody waited for
#   valgrind  the 'c' and 'fuzz' suites of the normal build under memcheck
#             with GLib's suppressions (the 'valgrind' test setup of
#             tests/meson.build), following the worker programs the tests
#             start; one report per process in
#             $build/meson-logs/valgrind-reports/, emptied here first:
#             any report with an error fails the run
#   tsan      a ThreadSanitizer build ($build-tsan, library and tests only)
#             running the C tests that use threads (thread and process
#             backends, Parallel, Memory single-flight, async persistence,
#             hashing, fault injection) and the memory stress test (10 s;
#             60 s with --full). Debian's GLib is not built with TSan: the
#             preloaded tests/tsan/ library makes its locks and its
#             documented thread hand-offs visible to TSan (see
#             tests/README.md); no suppression
#
# The sanitizer builds leave out what they would not test (examples,
# benchmarks, docs, and introspection unless --full): CI builds every
# tree from scratch on 2 cores, `tools/dev.sh test` must stay under
# 20 minutes there.
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

# A sanitizer build tree ($1) of the library, its programs and tests,
# with the options that follow.
sanitizer_setup () {
  local dir=$1
  shift
  if [[ ! -f $dir/build.ninja ]]; then
    meson setup "$dir" --buildtype=debugoptimized -Db_lundef=false \
      -Dvapi=disabled -Ddocs=disabled -Dexamples=false -Dbenchmarks=false "$@"
  fi
}
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
      sanitizer_setup "$build-asan" -Db_sanitize=address,undefined -Dintrospection=disabled
      ninja -C "$build-asan"
      reports=$build-asan/sanitizer-reports
      fresh_folder "$reports"
      status=0
      # Every C program; with --full the slow ones too. The memory
      # stress test runs in both, for 20 s (60 s with --full).
      # GLib keeps some allocations for the life of the process (types,
      # quarks): only leaks reported through our own code count, which
      # LeakSanitizer cannot tell apart, so leaks are valgrind's job.
      suites=(--suite c --suite fuzz)
      if (( full )); then
        suites+=(--suite slow --no-suite benchmarks)
      fi
      JOB_STRESS_SECONDS=$(( full ? 60 : 20 )) \
        meson test -C "$build-asan" --print-errorlogs --num-processes 2 "${suites[@]}" \
          || status=$?
      if (( status == 0 && ! full )); then
        JOB_STRESS_SECONDS=20 meson test -C "$build-asan" --print-errorlogs test-memory-stress \
          || status=$?
      fi
      # Reports of processes whose end no test saw (a worker crashing
      # after its answers) fail the run too.
      check_reports "$reports" "" || status=1
      (( status == 0 )) || exit "$status"
      if (( full )); then
        # The bindings on an instrumented library: the interpreters are
        # not built with ASan, its runtime is preloaded.
        sanitizer_setup "$build-asan-gi" -Db_sanitize=address,undefined -Dintrospection=enabled
        ninja -C "$build-asan-gi"
        reports=$build-asan-gi/sanitizer-reports
        fresh_folder "$reports"
        LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)" \
          meson test -C "$build-asan-gi" --print-errorlogs --num-processes 2 \
            --suite python --suite gjs --suite vala --suite cli || status=$?
        check_reports "$reports" "" || status=1
        (( status == 0 )) || exit "$status"
      fi
      end "ASan+UBSan"
      ;;
    valgrind)
      begin "valgrind memcheck, suites c and fuzz, worker programs followed"
      reports=$build/meson-logs/valgrind-reports
      fresh_folder "$reports"
      fresh_folder "$reports-killed"
      status=0
      VALGRIND_OPTS="--log-file=$(cd "$reports" && pwd)/%p.log" \
        meson test -C "$build" --setup valgrind --print-errorlogs --num-processes 2 \
          --suite c --suite fuzz || status=$?
      # A worker the tests crash on purpose dies by a signal, with its
      # memory still held by frames the signal cut off: its leak records
      # say nothing. Its other errors (invalid reads or writes,
      # uninitialised values...) still count.
      for f in "$reports"/*.log; do
        [[ -f $f ]] || continue
        if grep -q "Process terminating with default action of signal" "$f" &&
           grep -q -E "ERROR SUMMARY: [1-9]" "$f" &&
           ! grep -q -E "Invalid (read|write|free)|uninitialised|Conditional jump|Mismatched|overlap|Syscall param" "$f"; then
          echo "== reliability: leak records of a process killed by a signal left out: $f" >&2
          mv "$f" "$reports-killed/"
        fi
      done
      check_reports "$reports" "ERROR SUMMARY: [1-9]" || status=1
      (( status == 0 )) || exit "$status"
      end "valgrind"
      ;;
    tsan)
      begin "ThreadSanitizer build"
      sanitizer_setup "$build-tsan" -Db_sanitize=thread -Dintrospection=disabled
      ninja -C "$build-tsan"
      # The programs that run code on several threads; the others
      # (codecs, the worker protocol's parser...) would only be slower.
      tests=(test-backend test-parallel test-memory test-memory-stress test-memory-reclaim
             test-process-backend test-process-memory test-faults
             test-persist test-persist-frames test-persist-local test-hash test-task-count test-nesting
             test-main-context-slices test-buffer-pool)
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
