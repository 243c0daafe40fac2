# SPDX-License-Identifier: LGPL-2.1-or-later
"""Python callables as Joblib.Function objects.

Arguments are bound to the callable's signature (defaults applied), so
that the same call always gives the same argument tuple: what caches key
on.  Every exception is turned into a GLib.Error that carries the
exception's type name, message and traceback text; the original exception
is kept so that Parallel can re-raise it as joblib does.
"""

import hashlib
import importlib
import inspect
import itertools
import pickle
import sys
import threading
import traceback
import types
import weakref
from concurrent.futures import BrokenExecutor

from gi.module import get_introspection_module

from . import _interrupt
from ._gi import GLib, Joblib
from ._values import (call_arg_variant, from_variant, pickled_call_args, serialized_call_args,
                      to_variant, unpickle_call_args)

# How deep the calling thread is in nested Parallel calls: 0 in the
# caller, 1 in a task of a top-level call (a worker thread, or a worker
# process: see worker.main), and so on.  Parallel bounds nested runs with
# it (see _parallel.nested_backend).
_nesting = threading.local()
_process_level = {"value": 0}


def nesting_level():
    return getattr(_nesting, "level", _process_level["value"])


def set_process_nesting_level(level):
    _process_level["value"] = level


def run_nested(level, function, *args):
    """``function(*args)`` with the thread's nesting level set to ``level``."""
    previous = getattr(_nesting, "level", None)
    _nesting.level = level
    try:
        return function(*args)
    finally:
        if previous is None:
            del _nesting.level
        else:
            _nesting.level = previous


# Python exceptions arrive in C as errors of this domain.
ERROR_DOMAIN = "joblib-glib-python-error-quark"
ERROR_CODE = 1

_pending_exceptions = {}
_pending_lock = threading.Lock()
_exception_ids = itertools.count(1)
_MARKER = "[joblib-glib python exception #"


def _remember_exception(exc):
    token = next(_exception_ids)
    with _pending_lock:
        _pending_exceptions[token] = exc
    return token


_TRACEBACK_FRAMES = 20


def raise_as_glib_error(exc):
    """Raise a GLib.Error standing for a Python exception.

    PyGObject only prints exceptions other than GLib.Error raised in
    callbacks, and C then sees a NULL result with no error."""
    token = _remember_exception(exc)
    # The innermost frames only: the exception itself goes back to Python
    # callers whole, and an exception passing up through nested Parallel
    # calls would otherwise be formatted ever longer at each level.
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__,
                                              limit=-_TRACEBACK_FRAMES))
    raise GLib.Error(f"{type(exc).__name__}: {exc}\n{text}{_MARKER}{token}]",
                     ERROR_DOMAIN, ERROR_CODE) from None


def take_exception(error):
    """The Python exception behind a GLib.Error made by a wrapped callable."""
    message = getattr(error, "message", "") or ""
    start = message.rfind(_MARKER)
    if start < 0:
        return None
    end = message.find("]", start)
    try:
        token = int(message[start + len(_MARKER):end])
    except ValueError:
        return None
    with _pending_lock:
        return _pending_exceptions.pop(token, None)


def forget_exceptions(errors):
    for error in errors:
        take_exception(error)


def qualified_name(func):
    module = getattr(func, "__module__", None) or "__main__"
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None) \
        or type(func).__name__
    return f"{module}.{name}"


_qualified_name = qualified_name

# Exceptions from worker processes: the message ends with this marker line,
# the exception type, then the exception's args as a printed GVariant
# (parsed back with GLib.Variant.parse: no code runs).
_REMOTE_MARKER = "[joblib-glib remote exception "


class RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker process; set as the
    ``__cause__`` of the exception raised in the caller."""

    def __init__(self, text):
        super().__init__(text)
        self.text = text

    def __str__(self):
        return "\n" + self.text


class TerminatedWorkerError(BrokenExecutor):
    """A worker process died (killed by a signal, or it exited) while it
    ran a task of the Parallel call, as loky's TerminatedWorkerError; the
    ``GLib.Error`` (Joblib.Error.WORKER_DIED) is its ``__cause__``."""


class WorkerError(RuntimeError):
    """An exception from a worker process whose type cannot be imported or
    rebuilt here; ``type_name`` names it and the message is its text."""

    def __init__(self, type_name, message):
        super().__init__(f"{type_name}: {message}")
        self.type_name = type_name


def format_remote_exception(exc):
    """The GError message that carries an exception out of a worker."""
    from ._values import to_variant
    kind = type(exc)
    text = "".join(traceback.format_exception(kind, exc, exc.__traceback__))
    try:
        args = to_variant(tuple(exc.args), allow_pickle=False).print_(True)
    except (TypeError, ValueError):
        args = ""
    return f"{kind.__name__}: {exc}\n{text}{_REMOTE_MARKER}{kind.__module__}:{kind.__qualname__}]" \
           f"\n{args}"


def _find_class(module_name, qualname):
    try:
        obj = sys.modules.get(module_name) or importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError, ValueError):
        return None
    return obj if isinstance(obj, type) and issubclass(obj, BaseException) else None


def remote_exception(error):
    """The exception a worker process reported in a GLib.Error, or None."""
    from ._values import from_variant
    message = getattr(error, "message", "") or ""
    start = message.rfind(_REMOTE_MARKER)
    if start < 0:
        return None
    end = message.find("]", start)
    type_name = message[start + len(_REMOTE_MARKER):end]
    module_name, _, qualname = type_name.partition(":")
    args_text = message[end + 2:]
    text = message[:start]
    first_line = text.split("\n", 1)[0]
    # The parent puts its context before the worker's "Kind: message" line
    # ("task 3 (mod.f)", "the initializer of worker 1234 failed"): shown
    # under the exception.
    context, found, rest = first_line.partition(f"{qualname.rpartition('.')[2]}: ")
    if not found:
        context, rest = "", first_line.partition(": ")[2]
    cls = _find_class(module_name, qualname)
    exc = None
    if cls is not None:
        try:
            args = from_variant(GLib.Variant.parse(None, args_text, None, None),
                                allow_pickle=False) if args_text else (rest,)
            exc = cls(*args)
        except Exception:  # noqa: BLE001 -- any failure: fall back to WorkerError
            exc = None
    if exc is None:
        exc = WorkerError(type_name.replace(":", "."), rest)
    context = context.rstrip(": ")
    if context and hasattr(exc, "add_note"):
        exc.add_note(context)
    exc.__cause__ = RemoteTraceback(text)
    return exc


def reraise(error):
    """Raise the Python exception behind a GLib.Error, else the error."""
    original = take_exception(error)
    if original is None:
        original = remote_exception(error)
    if original is not None:
        raise original
    raise error


def _resolve(module_name, qualname):
    obj = sys.modules.get(module_name)
    if obj is None:
        return None
    try:
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except AttributeError:
        return None
    return obj


def _dumps_function(func):
    try:
        import cloudpickle
    except ImportError:
        return pickle.dumps(func, protocol=pickle.HIGHEST_PROTOCOL)
    return cloudpickle.dumps(func, protocol=pickle.HIGHEST_PROTOCOL)


def _module_and_qualname(func):
    module = getattr(func, "__module__", None) or "__main__"
    qualname = getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or ""
    return module, qualname


def _found_by_name(func, module, qualname):
    """Whether importing module and qualname gives this very function."""
    found = None
    if module != "__main__" and qualname and "<" not in qualname:
        found = _resolve(module, qualname)
        if getattr(found, "_joblib_glib_memorized", False):
            found = found.func
    return found is func


def pickled_function_or_name(func):
    """How another process of ours finds ``func``: ("name", module,
    qualname) when that names it, else ("pickle", bytes) by value; the
    rule of python_reference."""
    module, qualname = _module_and_qualname(func)
    if _found_by_name(func, module, qualname):
        return ("name", module, qualname)
    return ("pickle", _dumps_function(func))


def python_reference(func, extra=None):
    """The "python" reference by which a worker process finds ``func``:
    module + qualified name when that names this very function, else the
    function pickled by value (cloudpickle: lambdas, closures, functions of
    ``__main__`` or a notebook) in the ``pickle`` field."""
    module, qualname = _module_and_qualname(func)
    fields = {"module": GLib.Variant("s", module), "qualname": GLib.Variant("s", qualname)}
    if not _found_by_name(func, module, qualname):
        fields["pickle"] = GLib.Variant.new_from_bytes(
            GLib.VariantType("ay"), GLib.Bytes.new(_dumps_function(func)), True)
    for key, value in (extra or {}).items():
        fields[key] = GLib.Variant("a{sv}", value) if isinstance(value, dict) else value
    return GLib.Variant("(sa{sv})", ("python", fields))


class _Signature:
    """How positional + keyword arguments map to one canonical tuple."""

    def __init__(self, func):
        try:
            self.signature = inspect.signature(func)
        except (TypeError, ValueError):
            self.signature = None
        names = []
        if self.signature is not None:
            for parameter in self.signature.parameters.values():
                if parameter.kind == parameter.VAR_POSITIONAL:
                    names.append("*" + parameter.name)
                elif parameter.kind == parameter.VAR_KEYWORD:
                    names.append("**" + parameter.name)
                else:
                    names.append(parameter.name)
        self.names = names
        # Plain positional parameters only: a call with one value for each
        # needs no binding (the common case, and inspect's bind is slow).
        self.n_plain = len(names) if self.signature is not None and all(
            p.kind == p.POSITIONAL_OR_KEYWORD or p.kind == p.POSITIONAL_ONLY
            for p in self.signature.parameters.values()) else -1

    def bind(self, args, kwargs):
        """Canonical list of values in parameter order."""
        if not kwargs and len(args) == self.n_plain:
            return args, False
        if self.signature is None:
            return [list(args), dict(kwargs)], True
        bound = self.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        values = []
        for parameter in self.signature.parameters.values():
            value = bound.arguments.get(parameter.name, () if parameter.kind ==
                                        parameter.VAR_POSITIONAL else {})
            if parameter.kind == parameter.VAR_POSITIONAL:
                value = list(value)
            values.append(value)
        return values, False

    def call(self, func, values, opaque):
        if opaque:
            args, kwargs = values
            return func(*args, **kwargs)
        args, kwargs = [], {}
        for parameter, value in zip(self.signature.parameters.values(), values):
            if parameter.kind == parameter.VAR_POSITIONAL:
                args.extend(value)
            elif parameter.kind == parameter.VAR_KEYWORD:
                kwargs.update(value)
            elif parameter.kind == parameter.KEYWORD_ONLY:
                kwargs[parameter.name] = value
            else:
                args.append(value)
        return func(*args, **kwargs)


_interrupt_state = _interrupt._state
_new_variant = GLib.Variant.new_variant
# the introspected constructor takes a list (the override, *args)
_new_tuple = get_introspection_module("GLib").Variant.new_tuple
_TRUE = GLib.Variant.new_boolean(True)
_new_call = Joblib.Call.new
_FALSE = GLib.Variant.new_boolean(False)


def _weak_invoke(ref):
    def invoke(args, cancellable):
        function = ref()
        if function is None:
            raise GLib.Error("the Python callable of this function was released",
                             ERROR_DOMAIN, ERROR_CODE)
        return function._invoke(args, cancellable)
    return invoke


class PythonFunction:
    """A Python callable and the Joblib.Function that runs it."""

    def __init__(self, func, name=None, version=None, arrays=None, level=None,
                 memmapper=None):
        self.func = func
        # in the parent: the _memmapping.Memmapper of the run, which maps
        # large arrays anywhere in the arguments (local process workers)
        self.memmapper = memmapper
        # the nesting level of the tasks it runs in this process (None:
        # the thread's own)
        self.level = level
        # in a worker process: (max_nbytes or None, mmap_mode), how array
        # arguments are handed to the function (see worker_array); in the
        # parent: what the reference tells the worker, None for joblib's
        # defaults
        self.arrays = arrays
        self.signature = _Signature(func)
        # The C function holds a weak reference only: a strong one would
        # make a cycle through C (self -> gfunction -> closure -> self) that
        # Python's collector cannot see, leaking self and func.
        self.gfunction = Joblib.Function.new(name or _qualified_name(func),
                                             _weak_invoke(weakref.ref(self)))
        self.has_reference = False
        if version is not None:
            self.gfunction.set_version(str(version))
        if self.signature.names:
            self.gfunction.set_parameter_names(self.signature.names)

    def make_args(self, args, kwargs):
        return self._variant_args(*self.signature.bind(args, kwargs))

    @staticmethod
    def _variant_args(values, opaque, convert=to_variant):
        children = [_new_variant(convert(v)) for v in values]
        children.append(_TRUE if opaque else _FALSE)
        return _new_tuple(children)

    def make_call(self, args, kwargs, need_reference=False):
        if need_reference:
            return _new_call(self.referenced(), self.remote_args(args, kwargs))
        return _new_call(self.gfunction, self.make_args(args, kwargs))

    def referenced(self):
        """The Joblib.Function, with the "python" reference by which worker
        processes find the callable."""
        if not self.has_reference:
            extra = None
            if self.arrays is not None:
                max_nbytes, mmap_mode = self.arrays
                extra = {"arrays": {
                    "max-nbytes": GLib.Variant("x", -1 if max_nbytes is None else max_nbytes),
                    "mmap-mode": GLib.Variant("s", mmap_mode or "")}}
            self.gfunction.set_reference(python_reference(self.func, extra))
            self.has_reference = True
        return self.gfunction

    def remote_args(self, args, kwargs):
        """The argument tuple for a worker process of ours: one pickled blob
        (see _values.pickled_call_args), bound to the signature there; the
        GVariant form when an argument is an array or a variant."""
        values, opaque = self.signature.bind(args, kwargs)
        pickled = pickled_call_args(values, opaque, self.memmapper)
        if pickled is not None:
            return pickled
        serialized = serialized_call_args(values, opaque)
        if serialized is not None:
            return serialized
        return self._variant_args(values, opaque, call_arg_variant)

    def call_pickled(self, args):
        """Run the function on an argument tuple made by make_call for a
        process backend (pickled arguments) or by make_args."""
        unpickled = unpickle_call_args(args)
        if unpickled is None:
            return self.call_variant(args)
        return to_variant(self.call_values(*unpickled, True), by_value=True)

    def call_variant(self, args):
        """Run the function on an argument tuple made by make_args."""
        n = args.n_children()
        opaque = args.get_child_value(n - 1).get_boolean()
        # worker_array copies or re-views every array: small ones may come
        # from a copy of the frame
        copy_small = self.arrays is not None
        values = [from_variant(args.get_child_value(i), copy_small=copy_small)
                  for i in range(n - 1)]
        return to_variant(self.call_values(values, opaque), by_value=True)

    def call_values(self, values, opaque, pickled=False):
        """The Python result of the function on bound argument values read
        from a task's argument tuple: one pickle (``pickled``; results go
        back as loky sends them, cloudpickle for classes that only exist
        here, sent by value), or one value per argument (arrays handed as
        ``arrays`` says)."""
        if pickled:
            return mapped_result(self._call_values(values, opaque))
        if self.arrays is not None:
            values = [worker_array(v, *self.arrays) for v in values]
        return self._call_values(values, opaque)

    def _call_values(self, values, opaque):
        if not opaque and len(values) == self.signature.n_plain:
            # positional parameters only: no binding to undo
            return self.func(*values)
        return self.signature.call(self.func, values, opaque)

    def _invoke(self, args, cancellable):
        # Arguments bound for a process backend come back here when the run
        # stays in this process (n_jobs=1 runs inline, as in joblib): they
        # were pickled by this process, so reading them back is safe.
        try:
            if _interrupt_state.interrupted:
                _interrupt.check()
            if self.level is not None:
                return run_nested(self.level, self.call_pickled, args)
            return self.call_pickled(args)
        except GLib.Error:
            raise
        except BaseException as exc:  # noqa: BLE001 -- every exception must reach C
            raise_as_glib_error(exc)


# Tasks that run in the caller's thread (n_jobs=1, Memory) run inside
# _invoke: Ctrl-C there ends the task with KeyboardInterrupt.
_interrupt.raise_inside(PythonFunction._invoke)


class FunctionCache:
    """The PythonFunction of each callable of one Parallel run.

    Per run rather than global: a PythonFunction holds its callable, so a
    global table would keep every lambda and closure ever run alive.
    Module-level builtins (immortal anyway) are shared by all runs."""

    _builtins = {}
    _builtins_lock = threading.Lock()

    def __init__(self, arrays=None, level=None, memmapper=None):
        self._functions = {}
        self._arrays = arrays
        self._level = level
        self._memmapper = memmapper

    def get(self, func):
        if isinstance(func, PythonFunction):
            return func
        if self._arrays is not None or self._level or self._memmapper is not None:
            pass   # settings of their own: not the shared builtins
        elif isinstance(func, types.BuiltinFunctionType) and \
                (func.__self__ is None or isinstance(func.__self__, types.ModuleType)):
            with self._builtins_lock:
                wrapped = self._builtins.get(func)
                if wrapped is None:
                    wrapped = self._builtins[func] = PythonFunction(func)
                return wrapped
        # keyed by id: the entry holds the callable, so the id stays its own
        entry = self._functions.get(id(func))
        if entry is None:
            entry = self._functions[id(func)] = PythonFunction(
                func, arrays=self._arrays, level=self._level, memmapper=self._memmapper)
        return entry


# joblib's defaults: arrays above 1 MiB reach workers as read-only memmaps
DEFAULT_ARRAYS = (1024 ** 2, "r")


def worker_array(value, max_nbytes, mmap_mode):
    """An array argument as a joblib worker gets it: a writable copy up to
    ``max_nbytes`` (always with None), above it a memmap, read-only for
    mmap_mode "r", else writable (a private copy: as in joblib, writes do
    not reach the caller's array)."""
    numpy = sys.modules.get("numpy")
    if numpy is None or type(value) is not numpy.ndarray:
        return value
    if max_nbytes is None or value.nbytes <= max_nbytes:
        return value.copy(order="K")
    if mmap_mode in ("r", None, ""):
        view = value.view(numpy.memmap)
        view.flags.writeable = False
        return view
    return value.copy(order="K").view(numpy.memmap)


def mapped_result(value):
    """A task's result as joblib's workers send it back: a np.memmap of a
    file of a run's memory-map folder (an argument returned as it came)
    as a plain array, since the folder goes at the end of the run."""
    numpy = sys.modules.get("numpy")
    if numpy is not None and type(value) is numpy.memmap and \
            "joblib_memmapping_folder_" in (getattr(value, "filename", None) or ""):
        return numpy.asarray(value)
    return value


def source_version(func):
    """A hash of the function's source; of its code when there is none."""
    try:
        text = inspect.getsource(func).encode("utf-8")
    except (OSError, TypeError):
        code = getattr(func, "__code__", None)
        text = repr((code.co_code, code.co_consts)).encode() if code is not None \
            else repr(func).encode()
    return hashlib.sha256(text).hexdigest()[:16]
