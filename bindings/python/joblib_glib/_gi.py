# SPDX-License-Identifier: LGPL-2.1-or-later
"""The GIR modules, loaded once with the versions this package needs."""

import gi

gi.require_version("GLib", "2.0")
gi.require_version("Gio", "2.0")
gi.require_version("Joblib", "1.0")

from gi.repository import GLib, Gio, GObject, Joblib  # noqa: E402

__all__ = ["GLib", "Gio", "GObject", "Joblib"]
