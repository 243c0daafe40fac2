#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs the build into a scratch prefix, then builds and runs a program
# with nothing but `pkg-config joblib-glib-1.0`, and checks that the GIR,
# typelib and VAPI were installed too, and the GJS and Python files where
# the pkg-config variables gjsdir and pythondir say.
set -euo pipefail
build_root=$1
source_dir=$(cd "$(dirname "$0")" && pwd)
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT

meson install -C "$build_root" --no-rebuild --quiet --destdir "$dest" >/dev/null
pcfile=$(find "$dest" -name joblib-glib-1.0.pc | head -n 1)
[[ -n $pcfile ]] || { echo "joblib-glib-1.0.pc was not installed" >&2; exit 1; }
# point the installed .pc at the scratch prefix
mkdir -p "$dest/pc"
sed "s|^prefix=|prefix=$dest|" "$pcfile" > "$dest/pc/joblib-glib-1.0.pc"
export PKG_CONFIG_PATH=$dest/pc
cc -o "$dest/consumer" "$source_dir/consumer.c" $(pkg-config --cflags --libs joblib-glib-1.0)
libdir=$(dirname "$(find "$dest" -name 'libjoblib-glib-1.0.so' | head -n 1)")
LD_LIBRARY_PATH=$libdir "$dest/consumer"
# the bindings' folders, from the pkg-config variables
gjsdir=$(pkg-config --variable=gjsdir joblib-glib-1.0)
[[ -f $gjsdir/joblib.js && -f $gjsdir/worker.js ]] || { echo "no joblib.js/worker.js in gjsdir $gjsdir" >&2; exit 1; }
pythondir=$(pkg-config --variable=pythondir joblib-glib-1.0)
[[ -f $pythondir/joblib_glib/__init__.py ]] || { echo "no joblib_glib package in pythondir $pythondir" >&2; exit 1; }
for f in Joblib-1.0.gir Joblib-1.0.typelib joblib-glib-1.0.vapi joblib-glib.h job-version.h job-enums.h; do
  [[ -n $(find "$dest" -name "$f") ]] || { echo "$f was not installed" >&2; exit 1; }
done
echo "installed and consumed"
