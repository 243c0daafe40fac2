#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Uses the source tree as a meson subproject, the way an application
# vendors it: dependency('joblib-glib-1.0') must find the library through
# meson.override_dependency(), the options must leave out the tests,
# examples and benchmarks, and the consumer must build and run.
set -euo pipefail
source_root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# ccache, if meson picks it, hits from one run to the next
export CCACHE_BASEDIR=$work CCACHE_NOHASHDIR=true

mkdir -p "$work/app/subprojects"
ln -s "$source_root" "$work/app/subprojects/joblib-glib"
cp "$source_root/tests/install/consumer.c" "$work/app/"
cat > "$work/app/meson.build" <<'MESON'
project('app', 'c', meson_version: '>= 1.0.0')
joblib_dep = dependency('joblib-glib-1.0',
  fallback: 'joblib-glib',
  default_options: ['tests=false', 'examples=false', 'benchmarks=false',
                    'introspection=disabled', 'vapi=disabled', 'docs=disabled',
                    'nls=false'])
executable('consumer', 'consumer.c', dependencies: joblib_dep)
MESON

cd "$work/app"
meson setup _build --buildtype=plain --force-fallback-for=joblib-glib-1.0 >"$work/setup.log" 2>&1 ||
  { cat "$work/setup.log" >&2; exit 1; }
for t in test-array tutorial-parallel memory-bench; do
  if grep -q "$t" _build/build.ninja; then
    echo "the subproject builds $t although tests, examples and benchmarks are off" >&2
    exit 1
  fi
done
ninja -C _build consumer >"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log" >&2; exit 1; }
_build/consumer
echo "built and ran a consumer of the joblib-glib subproject"
