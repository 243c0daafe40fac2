# SPDX-License-Identifier: LGPL-2.1-or-later
"""The GIR modules, loaded once with the versions this package needs.

Installed from a wheel (``pip install .``), the package carries the
library, its typelib and its worker programs in ``_native``, a prefix of
its own: they are found there before any other copy, with no environment
variable. Installed with meson into a prefix, ``_native`` does not exist
and GObject-Introspection's usual search applies."""

import os

import gi


def _use_bundled_library():
    native = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_native")
    if not os.path.isdir(native):
        return
    for folder, _subfolders, files in os.walk(native):
        if "Joblib-1.0.typelib" in files and os.path.basename(folder) == "girepository-1.0":
            gi.require_version("GIRepository", "2.0")
            from gi.repository import GIRepository
            GIRepository.Repository.prepend_search_path(folder)
            # the typelib names the library by its soname: look beside it
            GIRepository.Repository.prepend_library_path(os.path.dirname(folder))
            return


_use_bundled_library()

gi.require_version("GLib", "2.0")
gi.require_version("Gio", "2.0")
gi.require_version("Joblib", "1.0")

from gi.repository import GLib, Gio, GObject, Joblib  # noqa: E402

__all__ = ["GLib", "Gio", "GObject", "Joblib"]
