# SPDX-License-Identifier: LGPL-2.1-or-later
"""Memory hits through the one-call lookup (calls whose arguments are
ints, floats or bools), next to Python joblib: the same values of the
same types, the same calls computed, the same keys as the ordinary path,
a corrupt entry computed again."""

import math
import warnings

import joblib
import numpy as np
import pytest

import joblib_glib

MODULES = (joblib, joblib_glib)

RESULTS = {
    "int": 7, "negative-int": -(2 ** 62), "big-int": 2 ** 70, "float": 2.5, "nan": math.nan,
    "negative-zero": -0.0, "bool": False, "none": None, "str": "héllo", "empty-str": "",
    "tuple": (1, "a", 2.0), "list": [1, [2, None]], "dict": {"b": 1, "a": 2},
    "small-array": np.arange(6, dtype=np.int32).reshape(2, 3),
    "big-array": np.arange(10_000, dtype=np.float64),  # returned as a variant, not bytes
    "empty-array": np.zeros(0), "bytes": b"\0\1",
}


def check_same(a, b):
    assert type(a) is type(b), (a, b)
    if isinstance(a, np.ndarray):
        assert (a.dtype, a.shape, a.flags.writeable) == (b.dtype, b.shape, b.flags.writeable)
        assert np.array_equal(a, b)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    elif isinstance(a, float):
        assert math.copysign(1, a) == math.copysign(1, b) and a == b
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            check_same(x, y)
    else:
        assert a == b and (not isinstance(a, dict) or list(a) == list(b))


COMPUTED = []  # the arguments of each call that ran, appended by the functions


def run(module, folder, function, calls, **cache_options):
    """Outputs of ``calls`` (argument tuples, or (args, kwargs)) and which
    ones computed."""
    del COMPUTED[:]
    memory = module.Memory(str(folder / module.__name__), verbose=0)
    cached = memory.cache(function, **cache_options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outputs = [cached(*call[0], **call[1]) if isinstance(call[-1], dict) else cached(*call)
                   for call in calls]
    return outputs, list(COMPUTED)


def both(tmp_path, function, calls, **cache_options):
    theirs = run(joblib, tmp_path, function, calls, **cache_options)
    ours = run(joblib_glib, tmp_path, function, calls, **cache_options)
    assert len(theirs[1]) == len(ours[1]), (theirs[1], ours[1])
    for a, b in zip(theirs[1], ours[1]):
        assert [type(x) for x in a] == [type(x) for x in b]
        check_same(list(a), list(b))
    for a, b in zip(theirs[0], ours[0]):
        check_same(a, b)
    return ours


@pytest.mark.parametrize("name", sorted(RESULTS))
def test_hit_returns_joblibs_value_and_type(name, tmp_path):
    def result(x):
        COMPUTED.append((x,))
        return RESULTS[name]
    result.__module__ = __name__
    outputs, computed = both(tmp_path / name, result, [(3,), (3,), (3,)])
    assert len(computed) == 1


def add(a, b, c):
    COMPUTED.append((a, b, c))
    return a + b + c


def test_argument_types_key_as_in_joblib(tmp_path):
    # 1, 1.0 and True are three keys in joblib, -0.0 and 0.0 two, nan one
    calls = [(1, 2, 3), (1.0, 2, 3), (True, 2, 3), (1, 2, 3), (True, 2, 3), (1.0, 2, 3),
             (0.0, 0, 0), (-0.0, 0, 0), (0.0, 0, 0), (math.nan, 1, 1), (math.nan, 1, 1),
             (2 ** 63 - 1, 0, 0), (2 ** 63 - 1, 0, 0), (2 ** 63, 0, 0), (2 ** 63, 0, 0),
             (-(2 ** 63), 0, 0), (-(2 ** 63), 0, 0), (-(2 ** 63) - 1, 0, 0),
             (-(2 ** 63) - 1, 0, 0), (False, True, 1.5), (False, True, 1.5),
             (np.int64(1), 2, 3), (1, 2, 3), ("1", "2", "3"), ("1", "2", "3")]
    outputs, computed = both(tmp_path, add, calls)
    assert len(computed) == 13


def scaled(x, factor=2, verbose=0):
    COMPUTED.append((x, factor, verbose))
    return x * factor


def test_defaults_keywords_and_ignored_arguments(tmp_path):
    calls = [(3,), (3, 2), (3, 2, 0), (3, 2, 5), (4, 2, 5), (4, 2, 0), (3, 3.0, 1), (3, 3.0, 2),
             ((3,), {"factor": 2}), ((4,), {"verbose": 1}), ((), {"x": 3, "factor": 3.0})]
    outputs, computed = both(tmp_path, scaled, calls, ignore=["verbose"])
    assert len(computed) == 3


def test_one_call_lookup_finds_what_the_ordinary_path_stored(tmp_path):
    computed = []

    def f(x, y):
        computed.append((x, y))
        return x * y
    f.__module__ = __name__
    memory = joblib_glib.Memory(str(tmp_path), verbose=0)
    cached = memory.cache(f)
    shelved = cached.call_and_shelve(6, 1.5)  # stored through the ordinary path
    assert cached(6, 1.5) == 9.0 and computed == [(6, 1.5)]
    assert cached(7, 1.5) == 10.5 and len(computed) == 2
    assert cached.check_call_in_cache(7, 1.5)  # ordinary path, same key
    assert shelved.get() == 9.0


def test_corrupt_entry_is_computed_again_once(tmp_path):
    computed = []

    def f(x):
        computed.append(x)
        return x + 1
    f.__module__ = __name__
    memory = joblib_glib.Memory(str(tmp_path), verbose=0)
    cached = memory.cache(f)
    assert cached(41) == 42
    outputs = list((tmp_path / "joblib-glib").rglob("output"))
    assert len(outputs) == 1
    data = bytearray(outputs[0].read_bytes())
    data[-3] ^= 0x10
    outputs[0].write_bytes(bytes(data))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert cached(41) == 42
    assert computed == [41, 41]
    assert len([w for w in caught if "corrupt" in str(w.message)]) == 1, \
        [str(w.message) for w in caught]
    assert cached(41) == 42 and computed == [41, 41]  # repaired


def test_expired_entry_is_computed_again(tmp_path):
    computed = []

    def f(x):
        computed.append(x)
        return x
    f.__module__ = __name__
    memory = joblib_glib.Memory(str(tmp_path), verbose=0)
    cached = memory.cache(f, cache_validation_callback=joblib_glib.expires_after(seconds=3600))
    assert cached(1) == 1 and cached(1) == 1 and computed == [1]
    stale = memory.cache(f, cache_validation_callback=joblib_glib.expires_after(seconds=0.001))
    import time
    time.sleep(0.01)
    assert stale(1) == 1 and computed == [1, 1]


CACHED = {}  # module name -> the cached functions of the nested-call test


def fib(n):
    COMPUTED.append((n,))
    return n if n < 2 else CACHED["fib"](n - 1) + CACHED["fib"](n - 2)


def fib_sums(n, module_name):
    """Calls the cached fib of its own module, directly and through a
    sequential Parallel, and itself through a sequential Parallel, inside
    its own cached computation (in the same thread)."""
    module = joblib if module_name == "joblib" else joblib_glib
    COMPUTED.append((n, module_name))
    direct = CACHED["fib"](n)
    through = module.Parallel(n_jobs=1)(module.delayed(CACHED["fib"])(i) for i in range(n))
    inner = module.Parallel(n_jobs=1)(module.delayed(CACHED["sums"])(n - 1, module_name)
                                      for _ in range(1 if n > 3 else 0))
    return direct, list(through), inner[0] if inner else None


def test_nested_cached_calls_get_their_own_arguments(tmp_path):
    """Cached functions called (directly, recursively, through Parallel)
    while a cached call computes in the same thread get their own
    arguments and results, and compute what joblib computes."""
    seen = {}
    for module in MODULES:
        memory = module.Memory(str(tmp_path / module.__name__), verbose=0)
        CACHED["fib"] = memory.cache(fib)
        CACHED["sums"] = memory.cache(fib_sums)
        del COMPUTED[:]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outputs = [CACHED["fib"](12), CACHED["sums"](6, module.__name__),
                       CACHED["sums"](6, module.__name__), CACHED["fib"](12)]
        seen[module.__name__] = outputs, [c for c in COMPUTED if len(c) == 2], \
            sorted(c for c in COMPUTED if len(c) == 1)
    assert seen["joblib"][0][0] == 144
    fibs, expected = [0, 1, 1, 2, 3, 5, 8], None
    for n in range(3, 7):
        expected = (fibs[n], fibs[:n], expected if n > 3 else None)
    assert seen["joblib"][0][1] == expected
    assert seen["joblib_glib"][0] == seen["joblib"][0]
    assert seen["joblib_glib"][1] == [(n, "joblib_glib") for n, _ in seen["joblib"][1]]
    assert seen["joblib_glib"][2] == seen["joblib"][2] == [(n,) for n in range(13)]
