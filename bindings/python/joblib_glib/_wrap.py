# SPDX-License-Identifier: LGPL-2.1-or-later
"""``wrap_non_picklable_objects``: joblib's decorator that makes a function,
a class or an object travel by value (cloudpickle) to worker processes.

joblib_glib already sends functions of ``__main__``, lambdas and closures
by value, so the decorator is mostly needed by code written for joblib;
it works the same: the wrapper calls through to the object, and pickling
it pickles the object with cloudpickle."""

import functools
import inspect
import pickle


def _dumps(obj):
    import cloudpickle
    return cloudpickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)


def _rebuild(data, keep_wrapper):
    obj = pickle.loads(data)
    return CloudpickledObjectWrapper(obj, keep_wrapper) if keep_wrapper else obj


class CloudpickledObjectWrapper:
    """An object that pickles with cloudpickle; calls and attributes go to
    the object.  Unpickled, it is the wrapper again (``keep_wrapper``) or
    the bare object."""

    def __init__(self, obj, keep_wrapper=True):
        self._obj = obj
        self._keep_wrapper = keep_wrapper
        if callable(obj):
            functools.update_wrapper(self, obj, updated=())

    def __reduce__(self):
        return _rebuild, (_dumps(self._obj), self._keep_wrapper)

    def __getattr__(self, name):
        if name in ("_obj", "_keep_wrapper"):
            raise AttributeError(name)
        return getattr(self._obj, name)

    def __call__(self, *args, **kwargs):
        return self._obj(*args, **kwargs)

    def __repr__(self):
        return f"CloudpickledObjectWrapper({self._obj!r})"


def _wrap_class(cls, keep_wrapper):
    """A class whose instances are the instances of ``cls`` wrapped."""
    class Wrapped(CloudpickledObjectWrapper):
        def __init__(self, *args, **kwargs):
            super().__init__(cls(*args, **kwargs), keep_wrapper)

    Wrapped.__name__ = cls.__name__
    Wrapped.__qualname__ = cls.__qualname__
    Wrapped.__module__ = cls.__module__
    Wrapped.__doc__ = cls.__doc__
    return Wrapped


def wrap_non_picklable_objects(obj, keep_wrapper=True):
    """Make ``obj`` (a function, a class, an object) pickle with
    cloudpickle, for worker processes: joblib's decorator of that name."""
    if inspect.isclass(obj):
        return _wrap_class(obj, keep_wrapper)
    return CloudpickledObjectWrapper(obj, keep_wrapper)


__all__ = ["CloudpickledObjectWrapper", "wrap_non_picklable_objects"]
