#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs the build into a scratch folder, as a relocated prefix, then
# uses it from each language with only the variables a non-/usr prefix
# needs (docs/using-in-your-app.md): a C program built with pkg-config, a
# Vala program built with valac --pkg, a GJS script importing the helpers
# from the library's resources, a Python script importing joblib_glib.
# Each runs tasks on worker processes found next to the installed library
# (no JOB_* variable), and the files land where pkg-config says.
set -euo pipefail
build_root=$1
tasks_module=${2:-}
source_dir=$(cd "$(dirname "$0")" && pwd)
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT

# Nothing from the build tree or the test environment may help.
unset JOB_WORKER_PATH JOB_GJS_WORKER_PATH JOB_WORKER_CONNECT_PATH JOB_WORKER_LAUNCH_PATH \
  JOB_PYTHON GI_TYPELIB_PATH LD_LIBRARY_PATH PYTHONPATH JOB_BUILD_ROOT JOB_SOURCE_ROOT

meson install -C "$build_root" --no-rebuild --quiet --destdir "$dest" >/dev/null
pcfile=$(find "$dest" -name joblib-glib-1.0.pc | head -n 1)
[[ -n $pcfile ]] || { echo "joblib-glib-1.0.pc was not installed" >&2; exit 1; }
prefix_in_pc=$(sed -n 's/^prefix=//p' "$pcfile")
prefix=$dest$prefix_in_pc
# point the installed .pc at the relocated prefix
mkdir -p "$dest/pc"
sed "s|^prefix=.*|prefix=$prefix|" "$pcfile" > "$dest/pc/joblib-glib-1.0.pc"
export PKG_CONFIG_PATH=$dest/pc
libdir=$(dirname "$(find "$dest" -name 'libjoblib-glib-1.0.so' | head -n 1)")
typelibdir=$(dirname "$(find "$dest" -name 'Joblib-1.0.typelib' | head -n 1)")
vapidir=$(dirname "$(find "$dest" -name 'joblib-glib-1.0.vapi' | head -n 1)")
for f in Joblib-1.0.gir joblib-glib.h job-version.h job-enums.h joblib-glib-worker \
         joblib-glib-worker-launch joblib-glib-worker-connect; do
  [[ -n $(find "$dest" -name "$f") ]] || { echo "$f was not installed" >&2; exit 1; }
done
gjsdir=$(pkg-config --variable=gjsdir joblib-glib-1.0)
[[ -f $gjsdir/joblib.js && -f $gjsdir/worker.js ]] || { echo "no joblib.js/worker.js in gjsdir $gjsdir" >&2; exit 1; }
pythondir=$(pkg-config --variable=pythondir joblib-glib-1.0)
[[ -f $pythondir/joblib_glib/__init__.py ]] || { echo "no joblib_glib package in pythondir $pythondir" >&2; exit 1; }

# C: pkg-config only; worker processes from the relocated libexec.
cc -o "$dest/consumer" "$source_dir/consumer.c" $(pkg-config --cflags --libs joblib-glib-1.0)
LD_LIBRARY_PATH=$libdir "$dest/consumer" ${tasks_module:+"$tasks_module"}

# Vala: valac --pkg with the installed VAPI.
if command -v valac >/dev/null; then
  valac -q --vapidir "$vapidir" --pkg joblib-glib-1.0 -X -w -o "$dest/consumer-vala" \
    "$source_dir/consumer.vala"
  LD_LIBRARY_PATH=$libdir "$dest/consumer-vala"
fi

# GJS: the typelib and library paths; helpers from the library's resources,
# the GJS worker (worker.js, joblib-glib-worker-launch) from the prefix.
if command -v gjs >/dev/null; then
  GI_TYPELIB_PATH=$typelibdir LD_LIBRARY_PATH=$libdir gjs -m "$source_dir/consumer.js"
fi

# Python: joblib_glib from pythondir; its workers run this interpreter.
PYTHONPATH=$pythondir:$source_dir GI_TYPELIB_PATH=$typelibdir LD_LIBRARY_PATH=$libdir \
  /usr/bin/python3 "$source_dir/consumer.py" "$pythondir"
echo "installed and consumed from C, Vala, GJS and Python"
