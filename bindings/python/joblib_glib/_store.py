# SPDX-License-Identifier: LGPL-2.1-or-later
"""Custom cache stores for Memory: joblib's ``register_store_backend``.

The built-in store ("local") is JobMemory's GIO store.  A store registered
here is a ``StoreBackendBase`` subclass with joblib's primitives
(``_open_item``, ``_item_exists``, ``_move_item``, ``create_location``,
``clear_location``, ``get_items``, ``configure``); ``StoreBackendMixin``
builds items, metadata and clearing on them, with outputs written by
:func:`joblib_glib.dump` into the file objects the store opens.  Calls are
keyed by :func:`joblib_glib.hash` of the bound arguments (ignored ones
left out), under a folder named after the function.
"""

import functools
import json
import os
import time
from abc import ABCMeta, abstractmethod

_STORE_BACKENDS = {}


class StoreBackendBase(metaclass=ABCMeta):
    """The primitives a cache store provides (joblib's StoreBackendBase)."""

    location = None

    @abstractmethod
    def _open_item(self, f, mode):
        """A file object for the item ``f`` opened with ``mode``."""

    @abstractmethod
    def _item_exists(self, location):
        """Whether an item or folder exists at ``location``."""

    @abstractmethod
    def _move_item(self, src, dst):
        """Move an item (atomically where the store can)."""

    @abstractmethod
    def create_location(self, location):
        """Create a folder."""

    @abstractmethod
    def clear_location(self, location):
        """Remove a folder and everything in it."""

    @abstractmethod
    def get_items(self):
        """The stored items (for size reduction)."""

    @abstractmethod
    def configure(self, location, verbose=0, backend_options=None):
        """Set the store's location and options."""


class StoreBackendMixin:
    """Items, metadata and clearing over the primitives of StoreBackendBase."""

    compress = False

    def _path(self, path):
        return os.path.join(self.location, *path)

    def load_item(self, path, verbose=1, msg=None):
        from ._persist import load
        with self._open_item(os.path.join(self._path(path), "output.pkl"), "rb") as file:
            return load(file, allow_pickle=True)

    def dump_item(self, path, item, verbose=1):
        from ._persist import dump
        folder = self._path(path)
        if not self._item_exists(folder):
            self.create_location(folder)
        target = os.path.join(folder, "output.pkl")
        temporary = f"{target}.{os.getpid()}.tmp"
        with self._open_item(temporary, "wb") as file:
            dump(item, file, compress=self.compress)
        self._move_item(temporary, target)

    def clear_item(self, path):
        if self._item_exists(self._path(path)):
            self.clear_location(self._path(path))

    def contains_item(self, path):
        return self._item_exists(os.path.join(self._path(path), "output.pkl"))

    def get_metadata(self, path):
        try:
            with self._open_item(os.path.join(self._path(path), "metadata.json"), "rb") as file:
                return json.loads(file.read().decode("utf-8"))
        except (OSError, ValueError):
            return {}

    def store_metadata(self, path, metadata):
        folder = self._path(path)
        if not self._item_exists(folder):
            self.create_location(folder)
        with self._open_item(os.path.join(folder, "metadata.json"), "wb") as file:
            file.write(json.dumps(metadata).encode("utf-8"))

    def contains_path(self, path):
        return self._item_exists(self._path(path))

    def clear_path(self, path):
        if self._item_exists(self._path(path)):
            self.clear_location(self._path(path))

    def clear(self):
        self.clear_location(self.location)


def register_store_backend(backend_name, backend):
    """Make ``Memory(location, backend=backend_name)`` use ``backend``, a
    :class:`StoreBackendBase` subclass (joblib's register_store_backend)."""
    if not isinstance(backend_name, str):
        raise ValueError(f"Store backend name should be a string, '{backend_name}' given.")
    if backend is None or not (isinstance(backend, type) and
                               issubclass(backend, StoreBackendBase)):
        raise ValueError(f"Store backend should inherit StoreBackendBase, '{backend}' given.")
    _STORE_BACKENDS[backend_name] = backend


def get_store_backend(backend, location, memory):
    """The registered store for Memory(location, backend), None for the
    built-in local store; TypeError for unknown names, as joblib."""
    if isinstance(location, StoreBackendBase):
        return location
    if backend == "local" or location is None:
        return None
    cls = _STORE_BACKENDS.get(backend)
    if cls is None:
        raise TypeError(f"Unknown location {location} or backend {backend}")
    store = cls()
    store.configure(os.path.expanduser(os.fspath(location)), verbose=memory._verbose,
                    backend_options=dict(compress=memory.compress, mmap_mode=memory.mmap_mode,
                                         **memory.backend_options))
    return store


class NotMemorizedResult:
    """The result of ``call_and_shelve`` on a Memory without a location."""

    def __init__(self, value):
        self.value = value

    def get(self):
        return self.value

    def clear(self):
        self.value = None


class StoreMemorizedFunc:
    """A function cached in a registered store."""

    _joblib_glib_memorized = True

    def __init__(self, func, memory, ignore, verbose=None, mmap_mode=False,
                 cache_validation_callback=None):
        from ._functions import PythonFunction, qualified_name, source_version
        self.func = func
        self.memory = memory
        self.ignore = ignore
        self.mmap_mode = memory.mmap_mode if mmap_mode is False else mmap_mode
        self.cache_validation_callback = cache_validation_callback
        self.store_backend = memory.store_backend
        self._signature = PythonFunction(func).signature
        unknown = [name for name in ignore if name not in self._signature.names]
        if unknown:
            raise ValueError(f"ignore list: {', '.join(unknown)} not an argument of "
                             f"{qualified_name(func)}")
        self.func_id = qualified_name(func)
        self.version = source_version(func)
        functools.update_wrapper(self, func)

    def _args_id(self, args, kwargs):
        from ._hashing import hash as joblib_hash
        values, _opaque = self._signature.bind(args, kwargs)
        kept = {name: value for name, value in zip(self._signature.names, values)
                if name not in self.ignore} if self._signature.names else values
        return joblib_hash((self.version, kept), coerce_mmap=self.mmap_mode is not None)

    def _valid(self, path):
        if self.cache_validation_callback is None:
            return True
        return bool(self.cache_validation_callback(self.store_backend.get_metadata(path)))

    def call(self, *args, **kwargs):
        path = [self.func_id, self._args_id(args, kwargs)]
        start = time.time()
        output = self.func(*args, **kwargs)
        self.store_backend.dump_item(path, output)
        metadata = {"duration": time.time() - start, "time": start,
                    "input_args": {k: repr(v) for k, v in kwargs.items()}}
        self.store_backend.store_metadata(path, metadata)
        return output, metadata

    def __call__(self, *args, **kwargs):
        path = [self.func_id, self._args_id(args, kwargs)]
        if self.store_backend.contains_item(path) and self._valid(path):
            return self.store_backend.load_item(path)
        return self.call(*args, **kwargs)[0]

    def check_call_in_cache(self, *args, **kwargs):
        return self.store_backend.contains_item([self.func_id, self._args_id(args, kwargs)])

    def call_and_shelve(self, *args, **kwargs):
        return NotMemorizedResult(self(*args, **kwargs))

    def clear(self, warn=True):
        self.store_backend.clear_path([self.func_id])


__all__ = ["StoreBackendBase", "StoreBackendMixin", "register_store_backend"]
