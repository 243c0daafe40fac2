# SPDX-License-Identifier: LGPL-2.1-or-later
"""Rebuilding standard values from pickle bytes without running other code.

A pickle runs code in exactly these places: the callables that GLOBAL,
STACK_GLOBAL and EXT1/2/4 fetch (all through ``find_class``) when REDUCE,
NEWOBJ, NEWOBJ_EX, INST and OBJ call them or their ``__new__``; and the
methods that BUILD (``__setstate__``, ``setattr``), SETITEM(S), APPEND(S)
and ADDITEMS call on the objects being built.  PERSID and BINPERSID go
to ``persistent_load``, which the Unpickler leaves unset (they fail).

So the loader here is Python's own pure-Python Unpickler with:

* ``find_class`` answering only from an allow-list of standard callables
  (constructors of builtins, ``collections``, ``datetime``, ``decimal``,
  ``fractions``, numpy's array, dtype and scalar reconstructors) and enum
  classes of modules that are already imported, so that finding a name
  never imports anything; every other name is recorded and answered with
  an inert placeholder, so that the error can list all the types a value
  holds;
* BUILD refused unless the object is an instance of an allowed class (it
  cannot rewrite attributes of the allowed functions and classes
  themselves);
* SETITEM(S), APPEND(S) and ADDITEMS reaching only the containers that
  these constructors or the opcodes themselves make.

None of the allowed callables calls back into arbitrary objects they are
given (numpy reconstructs from bytes, dtypes and shapes; the containers
store their items), so a file can only produce values, never run code.
Enum classes run their own ``__new__``/``_missing_``, code of a module the
program imported itself.
"""

import enum
import importlib
import pickle
import sys

_STANDARD = {
    "builtins": ["complex", "range", "slice", "bytearray", "set", "frozenset", "list",
                 "dict", "tuple", "int", "float", "str", "bytes", "bool", "Ellipsis",
                 "NotImplemented"],
    "collections": ["OrderedDict", "defaultdict", "Counter", "deque"],
    "datetime": ["datetime", "date", "time", "timedelta", "timezone"],
    "decimal": ["Decimal"],
    "fractions": ["Fraction"],
    "numpy": ["ndarray", "dtype", "matrix", "memmap"],
    "numpy.core.multiarray": ["_reconstruct", "scalar"],
    "numpy.core.numeric": ["_frombuffer"],
    "numpy._core.multiarray": ["_reconstruct", "scalar"],
    "numpy._core.numeric": ["_frombuffer"],
    "numpy.ma.core": ["MaskedArray", "_mareconstruct", "MaskedConstant"],
    "numpy.matrixlib.defmatrix": ["matrix"],
}
_NUMPY_MODULES = ("numpy", "numpy.")
# classes whose instances BUILD may set the state of
_BUILDABLE = {("numpy", "ndarray"), ("numpy", "dtype"), ("numpy", "matrix"),
              ("numpy", "memmap"), ("numpy.ma.core", "MaskedArray"),
              ("numpy.ma.core", "MaskedConstant"), ("numpy.matrixlib.defmatrix", "matrix"),
              ("collections", "OrderedDict"), ("collections", "defaultdict"),
              ("collections", "Counter"), ("collections", "deque")}


class PickleNotAllowedError(ValueError):
    """Pickled content met where pickling is not allowed."""


class _Refused:
    """What find_class gives for a name that is not allowed: inert."""

    def __init__(self, *args, **kwargs):
        pass

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __setstate__(self, state):
        pass

    def __setitem__(self, key, value):
        pass

    def append(self, value):
        pass

    def extend(self, values):
        pass

    def add(self, value):
        pass


def _lookup(module_name, qualname, import_module):
    module = sys.modules.get(module_name)
    if module is None:
        if not import_module:
            return None
        module = importlib.import_module(module_name)
    obj = module
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _enum_member(cls, name):
    """getattr restricted to enum members (what pickle asks of it for them)."""
    if cls is _Refused:
        return _Refused()
    if not (isinstance(cls, type) and issubclass(cls, enum.Enum) and isinstance(name, str)
            and name in cls.__members__):
        raise PickleNotAllowedError("the value asks for an attribute that is not an enum member")
    return cls.__members__[name]


def _latin1(text, encoding="latin1"):
    """_codecs.encode restricted to what pickle protocols 0-2 ask of it."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise PickleNotAllowedError("the value asks for an encoding other than latin1")
    return text.encode("latin1")


def trusted_names(trusted):
    """``trusted`` (type names "module.qualname" or the types) -> a set of
    (module, qualname)."""
    names = set()
    for item in trusted or ():
        if isinstance(item, str):
            module, _, qualname = item.rpartition(".")
            if not module:
                raise ValueError(f"trusted names are 'module.qualname', not {item!r}")
            names.add((module, qualname))
        elif isinstance(item, type):
            names.add((item.__module__, item.__qualname__))
        else:
            raise TypeError(f"trusted takes type names or types, not {type(item).__name__}")
    return names


class SafeUnpickler(pickle._Unpickler):
    """The restricted loader described above."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file, trusted=(), buffers=None):
        super().__init__(file, buffers=buffers)
        self._trusted = trusted
        self._buildable = set()
        self.refused = []

    def find_class(self, module, name):
        if (module, name) == ("builtins", "getattr"):
            return _enum_member  # how enum members pickle: getattr(cls, name)
        if (module, name) == ("_codecs", "encode"):
            return _latin1  # how protocols 0-2 write bytes
        if (module, name) in self._trusted:
            obj = _lookup(module, name, True)
            if obj is not None:
                if isinstance(obj, type):
                    self._buildable.add(obj)
                return obj
        elif name in _STANDARD.get(module, ()):
            obj = _lookup(module, name, module.startswith(_NUMPY_MODULES) or
                          module in _STANDARD)
            if obj is not None:
                if (module, name) in _BUILDABLE:
                    self._buildable.add(obj)
                return obj
        else:
            # members of enums of modules the program has imported
            obj = _lookup(module, name, False) if "<" not in name else None
            if isinstance(obj, type) and issubclass(obj, enum.Enum):
                return obj
        self.refused.append(f"{module}.{name}")
        return _Refused

    def load_build(self):
        inst = self.stack[-2]
        kind = type(inst)
        # instances (never the classes or functions themselves) of the
        # classes allowed to have a state
        if kind is not _Refused and (isinstance(inst, type) or
                                     not isinstance(inst, tuple(self._buildable))):
            raise PickleNotAllowedError(f"the value sets the state of a "
                                        f"{kind.__module__}.{kind.__qualname__}, which "
                                        f"is not a standard value")
        super().load_build()

    dispatch[pickle.BUILD[0]] = load_build


def refused_error(names, how):
    """The error for pickled content that names types nobody allowed."""
    unique = sorted(set(names))
    return PickleNotAllowedError(
        f"the value holds pickled objects of types that are not standard values: "
        f"{', '.join(unique)}; loading them would run their code. {how}")


def safe_loads(data, trusted=(), buffers=None, how=""):
    """Standard values (and ``trusted`` types) from pickle bytes; raises
    PickleNotAllowedError naming every other type found."""
    import io
    unpickler = SafeUnpickler(io.BytesIO(data), trusted, buffers)
    try:
        value = unpickler.load()
    except PickleNotAllowedError:
        raise
    except Exception as error:
        if unpickler.refused:
            raise refused_error(unpickler.refused, how) from error
        raise
    if unpickler.refused:
        raise refused_error(unpickler.refused, how)
    return value
