# SPDX-License-Identifier: LGPL-2.1-or-later
"""The handles on stored results of joblib_glib.Memory: MemorizedResult
(what ``call_and_shelve`` returns; picklable), the stored entry that an
unpickled one finds on disk, and NotMemorizedFunc (``Memory(None)``).
The cached function itself is in _memory."""

import functools
import json
import os
import time

from . import _location
from ._functions import qualified_name, reraise
from ._gi import Gio, GLib, Joblib
from ._store import NotMemorizedResult


class MemorizedResult:
    """A result stored in the cache (from ``call_and_shelve``); picklable."""

    def __init__(self, result, memorized, args_id=None, func=None):
        self._result = result
        self._memorized = memorized
        self.mmap_mode = memorized.mmap_mode
        self.func = result.get_function_name() if result is not None else func
        self.args_id = result.get_args_hash() if result is not None else args_id
        self.timestamp = time.time()

    @property
    def duration(self):
        return self._result.get_duration() if self._result is not None else None

    def get(self):
        """Load the result (KeyError once it was cleared)."""
        if self._result is None:
            self._result = self._memorized._find_result(self.args_id)
            if self._result is None:
                raise KeyError(f"the result of {self.func} ({self.args_id}) is no longer "
                               f"in the cache")
        try:
            value = self._result.get()
        except GLib.Error as error:
            if error.matches(Joblib.error_quark(), Joblib.Error.NOT_FOUND):
                raise KeyError(f"the result of {self.func} ({self.args_id}) is no longer "
                               f"in the cache") from None
            reraise(error)
        return self._memorized._output(value, self.args_id)

    def clear(self):
        if self._result is None:
            self._result = self._memorized._find_result(self.args_id)
            if self._result is None:
                return
        try:
            self._result.clear()
        except GLib.Error as error:
            reraise(error)

    def __reduce__(self):
        return (_rebuild_result, (self._memorized, self.args_id, self.func))

    def __repr__(self):
        return f"MemorizedResult(func={self.func!r}, args_id={self.args_id!r})"


def _rebuild_result(memorized, args_id, func):
    return MemorizedResult(None, memorized, args_id, func)


class _StoredResult:
    """A stored entry found on disk (a MemorizedResult unpickled elsewhere):
    ``folder`` is a path, or a Gio.File on a remote location."""

    def __init__(self, memorized, folder, args_id):
        self._memorized, self._folder, self._args_id = memorized, folder, args_id

    def get_function_name(self):
        return qualified_name(self._memorized.func)

    def get_args_hash(self):
        return self._args_id

    def get_duration(self):
        if not isinstance(self._folder, str):
            return _location.read_duration(self._folder)
        try:
            with open(os.path.join(self._folder, "metadata.json"), encoding="utf-8") as file:
                return json.load(file).get("duration")
        except (OSError, ValueError):
            return None

    def get(self):
        if not isinstance(self._folder, str):
            try:
                return Joblib.load(self._folder.get_child("output"), Joblib.LoadFlags.NONE, 0,
                                   None)
            except GLib.Error as error:
                if error.matches(Gio.io_error_quark(), Gio.IOErrorEnum.NOT_FOUND):
                    raise KeyError(f"the result {self._args_id} is no longer in the cache") \
                        from None
                raise
        output = os.path.join(self._folder, "output")
        if not os.path.exists(output):
            raise KeyError(f"the result {self._args_id} is no longer in the cache")
        flags = Joblib.LoadFlags.MMAP if self._memorized.mmap_mode else Joblib.LoadFlags.NONE
        return Joblib.load(_gfile(output), flags, 0, None)

    def clear(self):
        if not isinstance(self._folder, str):
            _location.remove_tree(self._folder)
            return
        import shutil
        shutil.rmtree(self._folder, ignore_errors=True)


def _gfile(path):
    return Gio.File.new_for_path(path)


class NotMemorizedFunc:
    """What ``Memory(None).cache`` returns: the function, uncached."""

    def __init__(self, func):
        self.func = func
        functools.update_wrapper(self, func)

    def __call__(self, *args, **kwargs):
        return self.func(*args, **kwargs)

    def call(self, *args, **kwargs):
        return self.func(*args, **kwargs), {}

    def call_and_shelve(self, *args, **kwargs):
        return NotMemorizedResult(self.func(*args, **kwargs))

    def check_call_in_cache(self, *args, **kwargs):
        return False

    def clear(self, warn=True):
        pass

