#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# One entry point for a fresh Debian 12 machine:
#   tools/dev.sh demo   install what is missing, build, run the tutorial demo
#   tools/dev.sh test   install what is missing, build, run every test suite,
#                       then tools/reliability.sh (sanitizers, valgrind):
#                       under 20 minutes on 2 cores
#   tools/dev.sh test --full   the same with the longer reliability runs
#                       (the bindings on an ASan library, longer stress)
# Missing Debian packages are installed with apt-get when run as root;
# otherwise the exact install line is printed and the script exits 1.
set -euo pipefail

cd "$(dirname "$0")/.."
top=$PWD
build=${JOB_BUILD_DIR:-_build}

packages=(
  build-essential pkg-config meson ninja-build gettext
  libglib2.0-dev libglib2.0-bin gobject-introspection libgirepository1.0-dev
  zlib1g-dev liblzma-dev libbz2-dev liblz4-dev libzstd-dev libxxhash-dev
  libjson-glib-dev valac gjs python3-gi python3-pytest python3-numpy
  python3-joblib python3-cloudpickle gi-docgen python3-lz4 python3-sklearn
  libgtk-4-dev gir1.2-gtk-4.0 xvfb gir1.2-adw-1 python3-gi-cairo desktop-file-utils
  python3-matplotlib liblapacke-dev libopenblas-dev
  valgrind
  slurmctld slurmd slurm-client munge glib-networking libgnutls28-dev
  python3-distributed python3-ipyparallel
  openssh-server openssh-client gvfs-backends gvfs-daemons dbus
  python3-mesonpy python3-venv python3-pip
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if (( ${#missing[@]} > 0 )); then
  line="apt-get -o DPkg::Lock::Timeout=600 install -y ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    echo "joblib-glib needs these Debian packages; run as root:" >&2
    echo "  apt-get update && $line" >&2
    exit 1
  fi
  echo "Installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get -q -o DPkg::Lock::Timeout=600 install -y "${missing[@]}" >&2
fi

if [[ ! -f $build/build.ninja ]]; then
  meson setup "$build" --buildtype=debugoptimized
fi
ninja -C "$build"

case "${1:-demo}" in
  demo)
    exec "$build/examples/c/tutorial-parallel"
    ;;
  test)
    # Every suite, the slow one included (the memory stress test for
    # 20 s), then tools/reliability.sh: the C and fuzz suites in an
    # ASan+UBSan build and under valgrind (worker programs followed),
    # the threaded C tests in a ThreadSanitizer build; no report is
    # allowed. The whole run stays under 20 minutes on 2 cores from a
    # fresh machine. `test --full` adds the bindings' suites on an ASan
    # library and the longer stress runs. `test ARGS...` only runs meson
    # test with ARGS.
    if [[ ${2:-} == --full ]]; then
      meson test -C "$build" --print-errorlogs --num-processes 2
      exec tools/reliability.sh --full asan valgrind tsan
    elif (( $# > 1 )); then
      exec meson test -C "$build" --print-errorlogs --num-processes 2 "${@:2}"
    fi
    JOB_STRESS_SECONDS=${JOB_STRESS_SECONDS:-20} \
      meson test -C "$build" --print-errorlogs --num-processes 2
    exec tools/reliability.sh asan valgrind tsan
    ;;
  *)
    echo "usage: $0 demo|test" >&2
    exit 2
    ;;
esac
