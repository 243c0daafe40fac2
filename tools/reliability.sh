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
#             'cli' (libasan preloaded into the interpreters)
#   valgrind  the 'c' and 'fuzz' suites of the normal build under memcheck
#             with GLib's suppressions (the 'valgrind' test setup of
#             tests/meson.build); no report is expected: about 1.5 min
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
# (halt_on_error), valgrind exits 1 (--error-exitcode).
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

# A report is a failure, wherever it comes from.
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
# handle_segv=0 (TSan as ASan): workers crashed on purpose must die by SIGSEGV.
export TSAN_OPTIONS="halt_on_error=1:handle_segv=0:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp"

step_start=0
begin () { step_start=$SECONDS; echo "== reliability: $*" >&2; }
end () { echo "== reliability: $1 took $((SECONDS - step_start)) s" >&2; }

for step in "${steps[@]}"; do
  case $step in
    asan)
      begin "ASan+UBSan build"
      if [[ ! -f $build-asan/build.ninja ]]; then
        meson setup "$build-asan" --buildtype=debugoptimized \
          -Db_sanitize=address,undefined -Db_lundef=false -Ddocs=disabled
      fi
      ninja -C "$build-asan"
      # Every C program (the slow ones with a shorter stress run) and,
      # below, every binding suite. The benchmarks are left out: they
      # would only time instrumented code.
      # GLib keeps some allocations for the life of the process (types,
      # quarks): only leaks reported through our own code count, which
      # LeakSanitizer cannot tell apart, so leaks are valgrind's job.
      # handle_segv=0: tests that crash a worker on purpose expect it to
      # die by SIGSEGV; a real crash still fails its test.
      JOB_STRESS_SECONDS=$(( full ? 60 : 20 )) \
      ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:handle_segv=0 \
        meson test -C "$build-asan" --print-errorlogs --num-processes 2 \
          --suite c --suite fuzz --suite slow --no-suite benchmarks
      # The interpreters (the cli suite drives the tool from Python) are
      # not built with ASan: preload its runtime.
      ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:handle_segv=0:verify_asan_link_order=0 \
      LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)" \
        meson test -C "$build-asan" --print-errorlogs --num-processes 2 \
          --suite python --suite gjs --suite vala --suite cli
      end "ASan+UBSan"
      ;;
    valgrind)
      begin "valgrind memcheck, suites c and fuzz"
      meson test -C "$build" --setup valgrind --print-errorlogs --num-processes 2 \
        --suite c --suite fuzz
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
             test-persist test-hash test-task-count)
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
