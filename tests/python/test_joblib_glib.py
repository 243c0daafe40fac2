# SPDX-License-Identifier: LGPL-2.1-or-later
"""The joblib-compatible Python API (joblib_glib) on the GLib engine."""

import threading
import time

import pytest

from joblib_glib import (Parallel, PickleNotAllowedError, cpu_count, delayed, effective_n_jobs,
                         from_variant, parallel_config, to_variant)


def square(x):
    return x * x


def my_function(i):
    time.sleep(0.05)
    return i


def test_results_in_input_order():
    assert Parallel(n_jobs=2)(delayed(square)(i) for i in range(200)) == [i * i for i in range(200)]


@pytest.mark.parametrize("backend", [None, "loky", "processes", "threading", "sequential"])
@pytest.mark.parametrize("n_jobs", [None, 1])
def test_one_job_runs_here_on_every_backend(backend, n_jobs):
    # n_jobs=1 (and the default, None) runs the tasks in this process
    # whatever the backend, as joblib does: even arguments bound for
    # worker processes come back right.
    def f(a, b=10, *rest, scale=1):
        return (a + b + sum(rest)) * scale, threading.get_ident()

    out = Parallel(n_jobs=n_jobs, backend=backend)(delayed(f)(i, 1, 2, scale=2) for i in range(5))
    assert [value for value, _ in out] == [(i + 3) * 2 for i in range(5)]
    assert {thread for _, thread in out} == {threading.get_ident()}


def test_threads_overlap_when_the_gil_is_released():
    spans = []
    lock = threading.Lock()

    def nap(i):
        start = time.monotonic()
        time.sleep(0.05)
        with lock:
            spans.append((start, time.monotonic(), threading.get_ident()))
        return i

    assert Parallel(n_jobs=2, backend="threading")(delayed(nap)(i) for i in range(6)) == list(range(6))
    assert any(a[2] != b[2] and a[0] < b[1] and b[0] < a[1]
               for a in spans for b in spans if a is not b)


def test_keyword_and_default_arguments():
    def f(a, b=10, *rest, scale=1, **extra):
        return (a + b + sum(rest)) * scale, sorted(extra)

    out = Parallel(n_jobs=2)(delayed(f)(i, 1, 2, 3, scale=2, tag="x") for i in range(3))
    assert out == [((i + 6) * 2, ["tag"]) for i in range(3)]


def test_original_exception_is_raised():
    def boom(x):
        if x == 7:
            raise ValueError(f"model {x} diverged")
        return x

    with pytest.raises(ValueError, match="model 7 diverged"):
        Parallel(n_jobs=2)(delayed(boom)(i) for i in range(20))


def test_error_in_the_input_generator_is_raised():
    def tasks():
        yield delayed(square)(1)
        raise KeyError("input broke")

    with pytest.raises(KeyError, match="input broke"):
        Parallel(n_jobs=2)(tasks())


def test_generator_outputs():
    ordered = Parallel(n_jobs=2, return_as="generator")(delayed(square)(i) for i in range(30))
    assert not isinstance(ordered, list)
    assert list(ordered) == [i * i for i in range(30)]
    unordered = Parallel(n_jobs=2, return_as="generator_unordered")(
        delayed(square)(i) for i in range(30))
    assert sorted(unordered) == [i * i for i in range(30)]


def test_input_is_consumed_lazily():
    pulled = []

    def tasks():
        for i in range(50):
            pulled.append(i)
            yield delayed(my_function)(i)

    gen = Parallel(n_jobs=2, batch_size=1, return_as="generator")(tasks())
    first = next(gen)
    assert first == 0
    # pre_dispatch = 2*n_jobs batches of one task: far from all 50 read
    assert len(pulled) < 20
    assert list(gen) == list(range(1, 50))


def test_n_jobs_rules():
    assert cpu_count() >= 1
    assert effective_n_jobs(-1) == cpu_count()
    assert effective_n_jobs(-2) == max(cpu_count() - 1, 1)
    with pytest.raises(ValueError, match="n_jobs == 0"):
        effective_n_jobs(0)
    from gi.repository import Joblib
    # ValueError as in joblib, the GLib.Error kept as its cause
    with pytest.raises(ValueError) as info:
        Parallel(n_jobs=0)(delayed(square)(i) for i in range(3))
    assert info.value.__cause__.matches(Joblib.error_quark(), Joblib.Error.INVALID_ARGUMENT)


def test_unknown_backend():
    # as joblib: when the Parallel is made
    with pytest.raises(ValueError, match="spark"):
        Parallel(n_jobs=2, backend="spark")


def test_bad_arguments():
    with pytest.raises(ValueError):
        Parallel(return_as="dict")
    with pytest.raises(ValueError):
        Parallel(batch_size=0)
    with pytest.raises(TypeError, match="delayed"):
        Parallel(n_jobs=2)([square, square])


def test_parallel_config_scope():
    threads = set()

    def where(i):
        threads.add(threading.get_ident())
        return i

    with parallel_config(backend="sequential", n_jobs=2):
        assert Parallel()(delayed(where)(i) for i in range(10)) == list(range(10))
    assert threads == {threading.get_ident()}
    threads.clear()
    with parallel_config(backend="threading", n_jobs=2):
        Parallel()(delayed(where)(i) for i in range(10))
    assert threading.get_ident() not in threads


@pytest.mark.parametrize("value", [
    None, True, 3, -(2 ** 70), 2.5, 1 + 2j, "text", b"\x00bytes", bytearray(b"ab"),
    [1, "two", [3.0]], (1, (2, "x")), (), {"a": 1, "b": [None]}, {1: "one", (2, 3): "pair"},
    {1, 2}, frozenset({"x"}),
])
def test_value_round_trip(value):
    assert from_variant(to_variant(value)) == value


def test_numpy_round_trip():
    numpy = pytest.importorskip("numpy")
    array = numpy.arange(24, dtype="<f8").reshape(2, 3, 4)
    back = from_variant(to_variant(array))
    assert back.dtype == array.dtype and back.shape == array.shape
    assert (back == array).all()


class Opaque:
    """A value with no GVariant mapping: it can only travel pickled."""

    def __eq__(self, other):
        return isinstance(other, Opaque)


def test_pickle_only_when_allowed():
    with pytest.raises(TypeError):
        to_variant(Opaque(), allow_pickle=False)
    packed = to_variant(Opaque())
    with pytest.raises(PickleNotAllowedError):
        from_variant(packed, allow_pickle=False)
    assert from_variant(packed) == Opaque()


def test_library_warnings_are_python_warnings(capfd):
    # libjoblib-glib's g_warning (domain "Joblib") reaches Python's
    # warnings, not file descriptor 2; criticals keep GLib's handler
    import ctypes
    import warnings

    import joblib_glib
    glib = ctypes.CDLL("libglib-2.0.so.0")
    warning = 1 << 4   # G_LOG_LEVEL_WARNING
    capfd.readouterr()
    with pytest.warns(joblib_glib.CacheWarning, match="Cannot store results of f"):
        glib.g_log(b"Joblib", warning, b"%s", b"Cannot store results of f in the cache")
    with pytest.warns(RuntimeWarning, match="SSH host lab1 cannot run workers"):
        glib.g_log(b"Joblib", warning, b"%s", b"SSH host lab1 cannot run workers")
    assert capfd.readouterr().err == ""
    # an "error" filter cannot raise through C: the text goes to sys.stderr
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        glib.g_log(b"Joblib", warning, b"%s", b"Cannot store results of g")
    assert capfd.readouterr().err == "CacheWarning: Cannot store results of g\n"
    # other domains are not ours
    glib.g_log(b"NotJoblib", warning, b"%s", b"elsewhere")
    assert "elsewhere" in capfd.readouterr().err
