# SPDX-License-Identifier: LGPL-2.1-or-later
"""joblib's ``hash()`` and the cache keys of Python Memory.

joblib hashes a value by pickling it (protocol 3, pure-Python pickler)
with four changes: dict items are written in sorted order, sets as a
sorted list, strings and bytes are never memoized (so equal strings hash
alike whatever their identity), and numpy arrays contribute their bytes
plus (class, dtype, shape, strides) instead of their pickle.  Two values
hash alike exactly when those streams are equal: 1, 1.0, True and
np.float64(1) all differ, {"a": 1, "b": 2} equals {"b": 2, "a": 1}, a
list that appears twice differs from two equal lists.

:func:`hash` follows that definition, so that its hex digests are the
ones joblib prints, with one change: where joblib falls back to Python's
``hash()`` to order unorderable set items or dict keys (salted per
interpreter for strings, so joblib's own key changes after a restart),
the order here comes from a stable digest of each item; frozensets are
ordered too.

Memory keys: values that have a lossless GVariant form (see
_values._plain, with dicts in key order) are keyed by that variant, which
C hashes with xxh3 at memory speed; the rest of a call is keyed by this
hasher's digest over all its arguments at once (so that shared
structure across arguments counts as in joblib), with arrays inside it
hashed by xxh3 as well.
"""

import builtins
import hashlib
import io
import pickle
import struct
import sys
import types

from ._gi import GLib, Joblib

_Pickler = pickle._Pickler


def _salted(value):
    """Whether Python's hash() of this value changes between interpreters."""
    if value is None or isinstance(value, (int, float, complex)):
        return False
    if isinstance(value, tuple):
        return any(_salted(item) for item in value)
    return True


class _Hasher(_Pickler):
    """joblib's hashing pickler (see the module comment)."""

    def __init__(self, hash_name="md5", coerce_mmap=False, fast_arrays=False):
        self.stream = io.BytesIO()
        _Pickler.__init__(self, self.stream, protocol=3)
        self._hash = hashlib.new(hash_name)
        self._coerce_mmap = coerce_mmap
        self._fast_arrays = fast_arrays
        self._numpy = sys.modules.get("numpy")

    def digest(self, obj):
        try:
            self.dump(obj)
        except pickle.PicklingError as error:
            error.args += (f"PicklingError while hashing {obj!r}: {error!r}",)
            raise
        self._hash.update(self.stream.getvalue())
        return self._hash

    def _stable_key(self, value):
        if not _salted(value):
            return builtins.hash(value)
        inner = _Hasher(coerce_mmap=self._coerce_mmap, fast_arrays=self._fast_arrays)
        return int.from_bytes(inner.digest(value).digest()[:8], "little", signed=True)

    def save(self, obj, save_persistent_id=True):
        numpy = self._numpy
        if numpy is not None:
            if isinstance(obj, numpy.ndarray) and not obj.dtype.hasobject:
                self._hash_array(obj, numpy)
                kind = numpy.ndarray if self._coerce_mmap and isinstance(obj, numpy.memmap) \
                    else obj.__class__
                obj = (kind, ("HASHED", obj.dtype, obj.shape, obj.strides))
            elif isinstance(obj, numpy.dtype):
                self._hash.update(b"_HASHED_DTYPE")
                self._hash.update(pickle.dumps(obj))
                return
        if isinstance(obj, (types.MethodType, types.BuiltinMethodType)):
            # joblib's stand-in for methods: the function name and the
            # object it is bound to
            name = obj.__func__.__name__ if hasattr(obj, "__func__") else obj.__name__
            owner = obj.__self__
            if type(owner) is type(pickle):
                obj = _MethodKey(name, owner.__name__)
            elif owner is None:
                obj = _MethodKey(name, owner)
            else:
                obj = _MethodKey(name, owner, owner.__class__)
        _Pickler.save(self, obj)

    def _hash_array(self, obj, numpy):
        if obj.shape == ():
            flat = obj.flatten()
        elif obj.flags.c_contiguous:
            flat = obj
        elif obj.flags.f_contiguous:
            flat = obj.T
        else:
            flat = obj.flatten()
        if self._fast_arrays and flat.nbytes >= 4096:
            from ._values import array_to_variant
            whole = array_to_variant(flat.reshape(-1).view(numpy.uint8))
            self._hash.update(Joblib.hash_variant(whole).encode())
        else:
            self._hash.update(memoryview(flat.view(numpy.uint8)))

    def memoize(self, obj):
        if isinstance(obj, (bytes, str)):
            return
        _Pickler.memoize(self, obj)

    def save_global(self, obj, name=None):
        stand_in = _STAND_INS.get(obj)
        if stand_in is not None:
            # written as joblib writes its own helper classes
            self.write(pickle.GLOBAL + stand_in)
            self.memoize(obj)
            return
        try:
            _Pickler.save_global(self, obj, name=name)
        except pickle.PicklingError:
            # joblib's retry for classes of __main__ not yet bound there
            _Pickler.save_global(self, obj, name=name)

    dispatch = _Pickler.dispatch.copy()
    dispatch[type(len)] = save_global
    dispatch[type(object)] = save_global
    dispatch[types.FunctionType] = save_global

    def _batch_setitems(self, items):
        items = list(items)
        try:
            ordered = sorted(items)
        except (TypeError, ArithmeticError):
            ordered = sorted((self._stable_key(k), v) for k, v in items)
        _Pickler._batch_setitems(self, iter(ordered))

    def save_set(self, obj):
        _Pickler.save(self, _ConsistentSet(self._ordered(obj)))

    dispatch[set] = save_set

    def save_frozenset(self, obj):
        # frozenset's own pickle, (frozenset, (items,)), with items ordered
        self.save_reduce(frozenset, (self._ordered(obj),), obj=obj)

    dispatch[frozenset] = save_frozenset

    def _ordered(self, items):
        try:
            return sorted(items)
        except (TypeError, ArithmeticError):
            return sorted(self._stable_key(item) for item in items)


class _ConsistentSet:
    """A set as joblib hashes it: its sorted items."""

    def __init__(self, sequence):
        self._sequence = sequence


class _MethodKey:
    """A method as joblib hashes it."""

    def __init__(self, *args):
        self.args = args


_STAND_INS = {_ConsistentSet: b"joblib.hashing\n_ConsistentSet\n",
              _MethodKey: b"joblib.hashing\n_MyHash\n"}


def hash(obj, hash_name="md5", coerce_mmap=False):  # noqa: A001 -- joblib's name
    """A hex digest identifying ``obj``, numpy arrays included, as
    ``joblib.hash`` (same digests; see the module comment).

    ``hash_name``: "md5" or "sha1"; ``coerce_mmap``: no difference between
    np.memmap and np.ndarray."""
    if hash_name not in ("md5", "sha1"):
        raise ValueError(f"Valid options for 'hash_name' are ('md5', 'sha1'). "
                         f"Got hash_name={hash_name!r} instead.")
    return _Hasher(hash_name, coerce_mmap).digest(obj).hexdigest()


_NOTHING = GLib.Variant("mv", None)


def call_key(values, skip, coerce_mmap):
    """The cache-key children of a call's bound values (parameter order),
    and whether they give the values back exactly.

    ``skip``: positions of ignored parameters (left out of the key, as C
    leaves them out of the hash).  Returns (children, digest, exact):
    either one lossless variant per value and digest None, or placeholders
    and the hasher's digest over all kept values."""
    from ._values import _NotPlain, _plain
    seen = set()
    children = []
    exact = True
    try:
        for position, value in enumerate(values):
            if position in skip:
                children.append(_NOTHING)
                continue
            before = len(seen)
            child = _plain(value, seen, True, coerce_mmap)
            if exact and not _unchanged(value, len(seen) > before):
                exact = False
            children.append(child)
        return children, None, exact
    except (_NotPlain, RecursionError):
        pass
    kept = [value for position, value in enumerate(values) if position not in skip]
    digest = _Hasher("md5", coerce_mmap, fast_arrays=True).digest(kept).digest()
    return [_NOTHING] * len(values), digest, False


def _unchanged(value, has_containers):
    """Whether the key form of a plain value reads back as the value:
    false when a dict was reordered or a memmap made an array."""
    if not has_containers:
        return True
    kind = type(value)
    if kind is dict:
        keys = list(value)
        if keys != sorted(keys):
            return False
        return all(_unchanged(v, True) for v in value.values())
    if kind is list or kind is tuple:
        return all(_unchanged(v, True) for v in value)
    numpy = sys.modules.get("numpy")
    if numpy is not None and kind is numpy.memmap:
        return False
    return True


# The fixed-size key forms (see _values._plain): Python type -> GVariant
# type, struct code, size (which is also the alignment).
_FIXED = {int: ("x", "q", 8), float: ("d", "d", 8), bool: ("b", "?", 1)}


def key_packer(kinds, n_values, skip):
    """How to serialize the cache key of a call whose arguments have
    exactly the types ``kinds`` (one per parameter, no binding needed),
    without a GVariant per argument: (key type string, pack, keep), where
    ``pack(*kept, False)`` gives the key tuple (the kept arguments and
    the opaque flag, as call_key and C make it) in GVariant's serialized
    form, and ``keep`` the positions of the kept arguments, None for all.
    None when a type has no fixed-size form (ints, floats and bools
    only) or the call needs binding.  ``pack`` raises struct.error for
    ints beyond 64 bits (keyed as "bigint" by call_key)."""
    if len(kinds) != n_values:
        return None
    keep = [i for i in range(n_values) if i not in skip]
    codes, fmt, offset, alignment = [], "=", 0, 1
    for kind in [kinds[i] for i in keep] + [bool]:
        form = _FIXED.get(kind)
        if form is None:
            return None
        code, packed, size = form
        padding = -offset % size
        fmt += f"{padding}x{packed}" if padding else packed
        offset += padding + size
        alignment = max(alignment, size)
        codes.append(code)
    padding = -offset % alignment  # a fixed-size tuple ends aligned
    if padding:
        fmt += f"{padding}x"
    return (f"({''.join(codes)})", struct.Struct(fmt).pack,
            None if len(keep) == n_values else tuple(keep))


_byteorder = sys.byteorder
_double = struct.Struct("=d")

# Readers of a stored result's serialized bytes (host order, normal
# form) for the types from_variant reads with one getter.
DECODERS = {
    "x": lambda data: int.from_bytes(data, _byteorder, signed=True),
    "d": lambda data: _double.unpack(data)[0],
    "b": lambda data: data != b"\0",
    "s": lambda data: data[:-1].decode("utf-8"),
}


__all__ = ["hash", "call_key", "key_packer", "DECODERS"]
