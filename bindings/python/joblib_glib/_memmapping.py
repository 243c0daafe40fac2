# SPDX-License-Identifier: LGPL-2.1-or-later
"""Large numpy arrays reach process workers as memory maps, as joblib's.

joblib pickles the arguments of tasks for its worker processes with a
reducer that writes every numpy array larger than ``max_nbytes`` -- at the
top level or nested in lists, dicts, tuples or objects -- once to a file
of a folder of the call (in ``temp_folder``, else ``$JOBLIB_TEMP_FOLDER``,
else ``/dev/shm`` when it has room, else the temporary folder) and sends a
reference that the worker opens with ``np.memmap`` in ``mmap_mode``
(``"w+"`` opens as ``"r+"``, so that it does not erase the data).  Arrays
that are views of a ``np.memmap`` file (a np.memmap or a plain ndarray
whose base is one) travel as references to that file at any size.  The
folder is removed when the call ends; the folders of a process killed
before that are removed by the next process that makes one in the same
place (``sweep``).

``Memmapper`` does the same for one Parallel run on a local process
backend: ``dumps`` pickles a value as ``_values.dumps`` does, with those
references in place of the large arrays; ``open_memmap`` (run by the
worker's unpickler) opens them.  The plain pickle is tried first: only a
value whose pickle is larger than ``max_nbytes`` can hold such an array,
so small arguments cost nothing more.
"""

import copyreg
import fcntl
import mmap
import os
import pickle
import re
import shutil
import sys
import tempfile
import threading
import uuid

from ._values import dumps as _dumps

_SHM = "/dev/shm"
# joblib's rule: /dev/shm only when it has this much room
_SHM_MIN_FREE = 2 * 1024 ** 3
FOLDER_PREFIX = "joblib_memmapping_folder_"
_SCALARS = frozenset([int, float, complex, str, bytes, bool, type(None)])
# Our run folders, told apart from joblib's own (same prefix, no lock):
# the owner's pid (for people), then a random part.
_OURS = re.compile(re.escape(FOLDER_PREFIX) + r"[0-9]+_glib-[0-9a-f]{32}\Z")
_swept = set()
_swept_lock = threading.Lock()


def sweep(root):
    """Remove the run folders under ``root`` whose owner process is gone
    (killed before it could remove them), as loky's resource tracker does;
    returns how many.  The owner holds a flock(2) on its folder for as
    long as the folder lives, and the kernel drops it when the process
    dies: a folder whose lock can be taken has no owner, whatever became
    of its pid (a reused pid does not keep a folder alive).  Only folders
    of this user with our name shape are touched: joblib's own folders
    share the prefix but hold no lock."""
    try:
        names = os.listdir(root)
    except OSError:
        return 0
    removed = 0
    uid = os.geteuid()
    for name in names:
        if not _OURS.match(name):
            continue
        path = os.path.join(root, name)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError:
            continue   # gone meanwhile, a link, not ours to open
        try:
            if os.fstat(fd).st_uid != uid:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue   # its owner runs
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
        finally:
            os.close(fd)
    return removed


def _sweep_once(root):
    """Sweep ``root`` the first time this process makes a run folder in
    it (as the C library sweeps its shared-memory folder)."""
    with _swept_lock:
        if root in _swept:
            return
        _swept.add(root)
    sweep(root)


def _make_run_folder(root):
    """A new run folder under ``root``, locked: (path, fd of the lock).
    It is made and locked under a hidden name, then renamed, so that a
    sweep never sees it unlocked."""
    _sweep_once(root)
    name = f"{FOLDER_PREFIX}{os.getpid()}_glib-{uuid.uuid4().hex}"
    hidden = os.path.join(root, "." + name)
    os.makedirs(hidden, mode=0o700)
    fd = os.open(hidden, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        folder = os.path.join(root, name)
        os.rename(hidden, folder)
    except BaseException:
        os.close(fd)
        shutil.rmtree(hidden, ignore_errors=True)
        raise
    return folder, fd


def resolve_temp_folder(temp_folder=None):
    """The folder that holds the run folders: ``temp_folder``, else
    ``$JOBLIB_TEMP_FOLDER``, else /dev/shm if it has 2 GiB free and can be
    written, else tempfile's folder (joblib's order)."""
    if temp_folder is None:
        temp_folder = os.environ.get("JOBLIB_TEMP_FOLDER") or None
    if temp_folder is None:
        try:
            stats = os.statvfs(_SHM)
            if stats.f_bsize * stats.f_bavail > _SHM_MIN_FREE and \
                    os.access(_SHM, os.W_OK | os.X_OK):
                temp_folder = _SHM
        except OSError:
            temp_folder = None
    if temp_folder is None:
        temp_folder = tempfile.gettempdir()
    return os.path.abspath(os.path.expanduser(os.fspath(temp_folder)))


def _backing_memmap(array):
    """The np.memmap with a file that ``array`` is a view of, or None."""
    numpy = sys.modules["numpy"]
    base = array
    while base is not None:
        if isinstance(base, numpy.memmap) and getattr(base, "filename", None) and \
                getattr(base, "_mmap", None) is not None:
            return base
        base = getattr(base, "base", None)
        if not isinstance(base, numpy.ndarray):
            # the mmap object itself ends the chain
            return None
    return None


def _reduce_result(memmap):
    """How a worker pickles a np.memmap (results): one of a run's folder
    as a plain array, since the folder goes with the run (joblib's
    backward reducer); others as numpy pickles any memmap."""
    numpy = sys.modules["numpy"]
    if FOLDER_PREFIX in (getattr(memmap, "filename", None) or ""):
        return numpy.asarray(memmap).__reduce__()
    return numpy.ndarray.__reduce__(memmap)


_reducer = []


class _OpenMaps:
    """The maps of run files that this worker opened lately, reused by the
    next tasks that get the same array.  A fresh map costs a page fault
    per 16 pages at first touch (an 8 MB array: 120 faults, about 9 ms of
    CPU, 20 times the sum of its values); joblib shares one map between the
    tasks of a batch (the pickle memo), here between the tasks of a run.
    Each task gets a view of its own.  Only shared maps ("r", "r+") of our
    run folders, whose files never change name: a copy-on-write map ("c")
    would carry one task's writes to the next.  Maps unused for IDLE
    seconds are dropped, so that a worker left idle keeps no pages of a
    removed folder alive."""

    IDLE = 0.5
    MOST = 16

    def __init__(self):
        self.maps = {}            # key -> [array, last use]
        self.lock = threading.Lock()
        self.wake = threading.Condition(self.lock)
        self.thread = None

    def get(self, key, make):
        import time
        with self.lock:
            found = self.maps.get(key)
            if found is not None:
                found[1] = time.monotonic()
                return found[0]
        array = make()
        with self.lock:
            if len(self.maps) >= self.MOST:
                del self.maps[min(self.maps, key=lambda k: self.maps[k][1])]
            self.maps[key] = [array, time.monotonic()]
            if self.thread is None:
                self.thread = threading.Thread(target=self._drop_idle, daemon=True,
                                               name="joblib_glib maps")
                self.thread.start()
        return array

    def drop_idle(self, now):
        """Drop the maps unused since ``now - IDLE``; called with the lock."""
        for key in [k for k, (_, used) in self.maps.items() if now - used >= self.IDLE]:
            del self.maps[key]

    def _drop_idle(self):
        import time
        with self.lock:
            while self.maps:
                self.wake.wait(self.IDLE)
                self.drop_idle(time.monotonic())
            self.thread = None


_open_maps = _OpenMaps()


def _view(array):
    """A view of its own for one task (a np.memmap view keeps the file's
    name, offset and mode)."""
    view = array.view(type(array))
    if not array.flags.writeable:
        view.flags.writeable = False
    return view


def open_memmap(filename, dtype, mode, offset, shape, strides, order="C"):
    """Run in the worker: the array a Memmapper sent.  Contiguous ones
    (C or Fortran ``order``) as np.memmap; a strided view as a plain
    ndarray viewing a map of the bytes it spans, as joblib gives it (numpy's
    as_strided makes no np.memmap)."""
    if mode == "w+":
        mode = "r+"   # "w+" would erase the file's data
    if mode in ("r", "r+") and _OURS.match(os.path.basename(os.path.dirname(filename))):
        key = (filename, dtype, mode, offset, shape, strides, order)
        return _view(_open_maps.get(key, lambda: _open(filename, dtype, mode, offset, shape,
                                                       strides, order)))
    return _open(filename, dtype, mode, offset, shape, strides, order)


def _open(filename, dtype, mode, offset, shape, strides, order):
    numpy = sys.modules.get("numpy") or __import__("numpy")
    if not _reducer:
        copyreg.pickle(numpy.memmap, _reduce_result)
        _reducer.append(True)
    if strides is None:
        return numpy.memmap(filename, dtype=dtype, mode=mode, offset=offset, shape=shape,
                            order=order)
    itemsize = numpy.dtype(dtype).itemsize
    low = sum((n - 1) * s for n, s in zip(shape, strides) if s < 0 and n > 0)
    high = sum((n - 1) * s for n, s in zip(shape, strides) if s > 0 and n > 0) + itemsize
    whole = numpy.memmap(filename, dtype=numpy.uint8, mode=mode, offset=offset + low,
                         shape=(high - low,))
    view = numpy.ndarray(shape, dtype, buffer=whole, offset=-low, strides=strides)
    if mode == "r":
        view.flags.writeable = False
    return view


def _reduce_backed(array, backing):
    """The reference to a view of a memmap file (joblib's rule: its mode,
    "w+" as "r+"), or None when its place in the file is unknown.  The
    offset comes from the mmap buffer itself: slices of a memmap keep the
    offset of the memmap they come from."""
    numpy = sys.modules["numpy"]
    try:
        mapped = numpy.frombuffer(backing._mmap, dtype=numpy.uint8)
    except (TypeError, ValueError):
        return None
    # numpy maps from the allocation boundary below the memmap's offset
    file_start = backing.offset - backing.offset % mmap.ALLOCATIONGRANULARITY
    first = array.__array_interface__["data"][0]
    offset = first - mapped.__array_interface__["data"][0] + file_start
    strides, order = None, "C"
    if not array.flags.c_contiguous:
        if array.flags.f_contiguous:
            order = "F"
        else:
            strides = array.strides
    return open_memmap, (os.fspath(backing.filename), array.dtype.str if array.dtype.names is None
                         else array.dtype, backing.mode, offset, array.shape, strides, order)


class Memmapper:
    """The memory-mapped arrays of one Parallel run (see the module text).

    ``dumps`` may be called from the thread that pulls tasks only; ``close``
    removes the run's folder and everything in it."""

    def __init__(self, max_nbytes, mmap_mode, temp_folder):
        self.max_nbytes = max_nbytes
        self.mmap_mode = mmap_mode or "r"
        self.temp_folder = temp_folder
        self.folder = None
        # the folder's lock (see sweep), held until close()
        self.folder_fd = None
        # id(array) -> (array, filename): each array is written once per run
        # (joblib keys on the array object too); the array is kept so that
        # its id stays its own
        self.files = {}
        self.lock = threading.Lock()

    def keeps_variant(self, values):
        """Whether a call with these top-level argument values keeps the
        GVariant form (an array's buffer goes to the worker without being
        pickled, several times faster for arrays below max_nbytes): when
        they are small exact arrays and scalars only, so that nothing
        nested can hold an array to map."""
        numpy = sys.modules.get("numpy")
        found = False
        for value in values:
            kind = type(value)
            if kind in _SCALARS:
                continue
            if numpy is None or kind is not numpy.ndarray or \
                    (self.max_nbytes is not None and value.nbytes > self.max_nbytes) or \
                    value.dtype.hasobject or \
                    (value.base is not None and _backing_memmap(value) is not None):
                return False
            found = True
        return found

    def dumps(self, obj):
        """Pickle bytes of ``obj`` as _values.dumps(by_value=True), large
        arrays as references to files of the run's folder."""
        if "numpy" not in sys.modules:
            return _dumps(obj, by_value=True)
        # One pass of the C pickler first: numpy hands it the buffers of
        # its arrays (protocol 5), kept in the pickle when small, left out
        # -- not copied -- when large; then only a value that holds a large
        # array, an array viewing a np.memmap file (a np.memmap names its
        # class; a plain view of one hands its buffer here), an array that
        # numpy could not hand over as one buffer (not contiguous: it may
        # view a file too) or something of __main__ is pickled again, by
        # the mapping pickler.
        large = []
        limit = self.max_nbytes

        def in_band(buffer):
            raw = buffer.raw()
            if limit is not None and raw.nbytes > limit:
                large.append(True)
                return False
            base = getattr(raw.obj, "base", None)
            if base is not None and _backing_memmap(raw.obj) is not None:
                large.append(True)
            return True
        try:
            data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL, buffer_callback=in_band)
        except (pickle.PicklingError, AttributeError, TypeError):
            data = None
        if data is not None and not large and b"memmap" not in data and \
                b"__main__" not in data and b"_reconstruct" not in data:
            return data
        return self._dumps_mapping(obj)

    def _dumps_mapping(self, obj):
        import io
        stream = io.BytesIO()
        try:
            _MappingPickler(stream, self).dump(obj)
            data = stream.getvalue()
        except (pickle.PicklingError, AttributeError, TypeError):
            data = None
        if data is None or b"__main__" in data:
            try:
                import cloudpickle
            except ImportError:
                if data is None:
                    raise
                return data
            stream = io.BytesIO()
            _cloud_pickler(cloudpickle)(stream, self).dump(obj)
            data = stream.getvalue()
        return data

    def reduce(self, array):
        """The reduction of a numpy array (joblib's forward reducer), or
        NotImplemented for the usual pickling."""
        numpy = sys.modules["numpy"]
        if type(array) is not numpy.ndarray and type(array) is not numpy.memmap:
            return NotImplemented
        backing = _backing_memmap(array)
        found = _reduce_backed(array, backing) if backing is not None else None
        if found is not None:
            return found
        if array.dtype.hasobject or self.max_nbytes is None or \
                array.nbytes <= self.max_nbytes:
            if type(array) is numpy.memmap:
                # a memmap without a file (a view of ours): as an array
                return pickle.loads, (pickle.dumps(numpy.asarray(array),
                                                   protocol=pickle.HIGHEST_PROTOCOL),)
            return NotImplemented
        filename = self._file_of(array)
        # written in C order, or in Fortran order for Fortran arrays (as
        # joblib keeps it)
        order = "F" if array.flags.f_contiguous and not array.flags.c_contiguous else "C"
        return open_memmap, (filename, array.dtype.str if array.dtype.names is None
                             else array.dtype, self.mmap_mode, 0, array.shape, None, order)

    def _file_of(self, array):
        numpy = sys.modules["numpy"]
        with self.lock:
            found = self.files.get(id(array))
            if found is not None:
                return found[1]
            if self.folder is None:
                self.folder, self.folder_fd = _make_run_folder(
                    resolve_temp_folder(self.temp_folder))
            filename = os.path.join(self.folder, f"{os.getpid()}-{threading.get_ident()}-"
                                    f"{uuid.uuid4().hex}.mmap")
            with open(filename, "wb") as stream:
                if array.flags.f_contiguous and not array.flags.c_contiguous:
                    array.T.tofile(stream)   # the Fortran-ordered bytes
                else:
                    numpy.ascontiguousarray(array).tofile(stream)
            self.files[id(array)] = (array, filename)
            return filename

    def close(self):
        """Remove the run's folder (workers that still map a file keep
        their pages: the files are unlinked, not truncated)."""
        with self.lock:
            folder, self.folder = self.folder, None
            fd, self.folder_fd = self.folder_fd, None
            self.files.clear()
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        if fd is not None:
            os.close(fd)


class _MappingPickler(pickle.Pickler):
    def __init__(self, stream, memmapper):
        super().__init__(stream, protocol=pickle.HIGHEST_PROTOCOL)
        self.memmapper = memmapper

    def reducer_override(self, obj):
        if type(obj).__module__ == "numpy":
            return self.memmapper.reduce(obj)
        return NotImplemented


_cloud_classes = {}


def _cloud_pickler(cloudpickle):
    """A CloudPickler that maps arrays as _MappingPickler (made once)."""
    cls = _cloud_classes.get("cls")
    if cls is None:
        class _MappingCloudPickler(cloudpickle.CloudPickler):
            def __init__(self, stream, memmapper):
                super().__init__(stream, protocol=pickle.HIGHEST_PROTOCOL)
                self.memmapper = memmapper

            def reducer_override(self, obj):
                if type(obj).__module__ == "numpy":
                    found = self.memmapper.reduce(obj)
                    if found is not NotImplemented:
                        return found
                return super().reducer_override(obj)
        cls = _cloud_classes["cls"] = _MappingCloudPickler
    return cls


__all__ = ["Memmapper", "open_memmap", "resolve_temp_folder", "FOLDER_PREFIX"]
