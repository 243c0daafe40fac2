#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# pip install of the source tree (pyproject.toml, meson-python) into a
# fresh venv, with no network (--no-index) and no build isolation; then
# the tutorial runs from that venv with no environment variable at all:
# joblib_glib finds the library, its typelib and its worker programs in
# the package (joblib_glib/_native). PyGObject and numpy come from the
# system (--system-site-packages). Builds the library once more, as a
# wheel: the slowest test of the suite (about a minute of CPU).
set -euo pipefail
source_root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Nothing of the test environment: no PYTHONPATH, GI_TYPELIB_PATH,
# LD_LIBRARY_PATH nor JOB_* variable reaches pip or the tutorial.
clean_env=(env -i HOME="$HOME" PATH=/usr/bin:/bin LC_ALL=C.UTF-8
           CCACHE_BASEDIR="$source_root" CCACHE_NOHASHDIR=true)

/usr/bin/python3 -m venv --system-site-packages "$work/venv"
if ! (cd "$work" && "${clean_env[@]}" "$work/venv/bin/pip" install --no-index \
        --no-build-isolation --no-cache-dir "$source_root" >"$work/pip.log" 2>&1); then
  tail -40 "$work/pip.log" >&2
  exit 1
fi
grep -q "Successfully installed joblib-glib-" "$work/pip.log"

site=$("$work/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["platlib"])')
native="$site/joblib_glib/_native"
for f in "$native"/lib/*/libjoblib-glib-1.0.so.0 \
         "$native"/lib/*/girepository-1.0/Joblib-1.0.typelib \
         "$native"/libexec/joblib-glib-worker "$native"/libexec/joblib-glib-worker-launch; do
  [[ -e $f ]] || { echo "not in the installed package: $f" >&2; exit 1; }
done

# The library in use is the package's, in this process and in workers.
cd "$work"
"${clean_env[@]}" "$work/venv/bin/python" - "$native" <<'PY'
import sys

import joblib_glib
from joblib_glib import Parallel, delayed
from joblib_glib._gi import Joblib

native = sys.argv[1]
assert joblib_glib.__file__.startswith(native.rsplit("/_native", 1)[0]), joblib_glib.__file__
maps = open("/proc/self/maps").read()
loaded = {line.split()[-1] for line in maps.splitlines() if "libjoblib-glib-1.0" in line}
assert loaded and all(path.startswith(native) for path in loaded), loaded
assert Joblib.VERSION_S == joblib_glib.__version__
# process workers (this interpreter, the package from the venv)
assert Parallel(n_jobs=2)(delayed(pow)(i, 2) for i in range(10)) == [i * i for i in range(10)]
print("pip package ok")
PY
"${clean_env[@]}" "$work/venv/bin/python" "$source_root/examples/python/tutorial.py" --quick
