# SPDX-License-Identifier: LGPL-2.1-or-later
"""The C library's warnings as Python warnings.

libjoblib-glib reports what it goes on without (a Memory location that
cannot be mounted or written: "Cannot store results of f in the
cache..."; an SSH host left out of a run) with ``g_warning``, which GLib
writes to file descriptor 2: invisible in Jupyter, out of reach of
``warnings.catch_warnings`` and ``pytest.warns``.  From the moment
joblib_glib is imported, the "Joblib" log domain's warnings go through
``warnings.warn`` instead: CacheWarning for the cache's, RuntimeWarning
for others, attributed to the first caller outside this package.  With
an "error" filter the warning cannot become an exception inside the C
call: its text goes to ``sys.stderr``.  Criticals (programmer errors)
keep GLib's own handler.  The handler is removed at exit, before the
interpreter goes.  Thread-safe: GLib calls the handler on the thread
that warns, with the GIL taken by PyGObject."""

import atexit
import os
import sys
import threading
import warnings

from ._gi import GLib


class CacheWarning(Warning):
    """A cached function's result could not be stored: computed, not
    cached (joblib's CacheWarning)."""


_DOMAIN = "Joblib"
_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep
_CACHE_MESSAGES = ("Cannot store results of",)
_lock = threading.Lock()
_handler = {"id": 0}


def _stacklevel():
    """warnings.warn's stacklevel that names the first frame outside this
    package (the user's call that reached the C warning)."""
    frame = sys._getframe(2)   # the frame that called into C (warn's level 2)
    level = 2
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
        level += 1
    return level


def _on_warning(domain, level, message, *_data):
    category = CacheWarning if message.startswith(_CACHE_MESSAGES) else RuntimeWarning
    try:
        warnings.warn(message, category, stacklevel=_stacklevel())
    except Exception:  # noqa: BLE001 -- an "error" filter: no raising through C
        try:
            sys.stderr.write(f"{category.__name__}: {message}\n")
        except Exception:  # noqa: BLE001 -- no stderr left
            pass


def install():
    """Route the library's warnings to Python's (idempotent)."""
    with _lock:
        if _handler["id"]:
            return
        _handler["id"] = GLib.log_set_handler(_DOMAIN, GLib.LogLevelFlags.LEVEL_WARNING,
                                              _on_warning, None)
    atexit.register(uninstall)


def uninstall():
    """GLib's own handler again (at exit: no Python code run by a late
    C warning)."""
    with _lock:
        handler, _handler["id"] = _handler["id"], 0
    if handler:
        GLib.log_remove_handler(_DOMAIN, handler)
