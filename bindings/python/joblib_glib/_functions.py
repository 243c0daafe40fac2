# SPDX-License-Identifier: LGPL-2.1-or-later
"""Python callables as Joblib.Function objects.

Arguments are bound to the callable's signature (defaults applied), so
that the same call always gives the same argument tuple: what caches key
on.  Every exception is turned into a GLib.Error that carries the
exception's type name, message and traceback text; the original exception
is kept so that Parallel can re-raise it as joblib does.
"""

import inspect
import itertools
import threading
import traceback
import weakref

from ._gi import GLib, Joblib
from ._values import from_variant, to_variant

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


def raise_as_glib_error(exc):
    """Raise a GLib.Error standing for a Python exception.

    PyGObject only prints exceptions other than GLib.Error raised in
    callbacks, and C then sees a NULL result with no error."""
    token = _remember_exception(exc)
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
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


def _qualified_name(func):
    module = getattr(func, "__module__", None) or "__main__"
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None) \
        or type(func).__name__
    return f"{module}.{name}"


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

    def bind(self, args, kwargs):
        """Canonical list of values in parameter order."""
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


class PythonFunction:
    """A Python callable and the Joblib.Function that runs it."""

    def __init__(self, func, name=None, version=None):
        self.func = func
        self.signature = _Signature(func)
        self.gfunction = Joblib.Function.new(name or _qualified_name(func), self._invoke)
        if version is not None:
            self.gfunction.set_version(str(version))
        if self.signature.names:
            self.gfunction.set_parameter_names(self.signature.names)

    def make_args(self, args, kwargs):
        values, opaque = self.signature.bind(args, kwargs)
        children = [GLib.Variant("v", to_variant(v)) for v in values]
        children.append(GLib.Variant("b", opaque))
        return GLib.Variant.new_tuple(*children)

    def make_call(self, args, kwargs):
        return Joblib.Call.new(self.gfunction, self.make_args(args, kwargs))

    def _invoke(self, args, cancellable):
        try:
            n = args.n_children()
            opaque = args.get_child_value(n - 1).get_boolean()
            values = [from_variant(args.get_child_value(i)) for i in range(n - 1)]
            result = self.signature.call(self.func, values, opaque)
            return to_variant(result)
        except GLib.Error:
            raise
        except BaseException as exc:  # noqa: BLE001 -- every exception must reach C
            raise_as_glib_error(exc)


_wrapped = weakref.WeakKeyDictionary()
_wrapped_lock = threading.Lock()


def python_function(func):
    """The PythonFunction of a callable, made once per callable."""
    if isinstance(func, PythonFunction):
        return func
    try:
        with _wrapped_lock:
            wrapped = _wrapped.get(func)
            if wrapped is None:
                wrapped = PythonFunction(func)
                _wrapped[func] = wrapped
            return wrapped
    except TypeError:  # not weak-referenceable (e.g. a builtin bound method)
        return PythonFunction(func)
