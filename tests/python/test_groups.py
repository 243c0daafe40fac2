# SPDX-License-Identifier: LGPL-2.1-or-later
"""Parallel groups small tasks in one call (joblib_glib._chunks): results,
orders, errors, verbose lines and group sizes."""

import threading
import time

import numpy as np
import pytest

import joblib_glib._parallel as parallel_module
from joblib_glib import Parallel, delayed
from joblib_glib._chunks import ChunkSizer

BACKENDS = ["threading", "loky", "sequential"]


def add(x, y=2):
    return x + y


def boom(x):
    if x == 777:
        raise ValueError(f"task {x} diverged")
    return x


def nap(x):
    start = time.monotonic()
    time.sleep(0.02)
    return x, start, time.monotonic(), threading.get_ident()


@pytest.fixture
def sources(monkeypatch):
    """The TaskSource of every Parallel call made in the test."""
    made = []
    original = parallel_module.Parallel._make_source

    def make_source(self, iterator):
        source = original(self, iterator)
        made.append(source)
        return source

    monkeypatch.setattr(parallel_module.Parallel, "_make_source", make_source)
    return made


@pytest.mark.parametrize("backend", BACKENDS)
def test_grouped_results_in_order(backend, sources):
    n = 20000
    assert Parallel(n_jobs=2, backend=backend)(delayed(add)(i, y=1) for i in range(n)) == \
        [i + 1 for i in range(n)]
    spans = sources[-1].spans
    # a group covers consecutive tasks, all of them once
    assert [first for _, first, _, _ in spans] == \
        [sum(count for _, _, count, _ in spans[:i]) for i in range(len(spans))]
    assert sum(count for _, _, count, _ in spans) == n
    # trivial tasks are grouped: far fewer calls than tasks
    assert len(spans) < n / 10
    assert {kind for kind, _, _, _ in spans} == {"remote" if backend == "loky" else "local"}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("return_as", ["generator", "generator_unordered"])
def test_grouped_generators(backend, return_as):
    out = list(Parallel(n_jobs=2, backend=backend, return_as=return_as)(
        delayed(add)(i) for i in range(5000)))
    if return_as == "generator":
        assert out == [i + 2 for i in range(5000)]
    else:
        assert sorted(out) == [i + 2 for i in range(5000)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_arrays_lambdas_and_groups_mix(backend, sources):
    tasks = [delayed(np.sum)(np.arange(i)) if i % 3 == 0 else delayed(lambda v: v * 3)(i)
             for i in range(600)]
    assert Parallel(n_jobs=2, backend=backend)(tasks) == \
        [sum(range(i)) if i % 3 == 0 else i * 3 for i in range(600)]
    kinds = {kind for kind, _, _, _ in sources[-1].spans}
    if backend == "loky":
        # small array arguments alone with scalars keep their own
        # zero-copy call (see Memmapper.keeps_variant)
        assert "one" in kinds and "remote" in kinds


@pytest.mark.parametrize("backend", BACKENDS)
def test_error_names_the_task(backend):
    with pytest.raises(ValueError, match="task 777 diverged") as info:
        Parallel(n_jobs=2, backend=backend)(delayed(boom)(i) for i in range(3000))
    assert "task 777 (test_groups.boom)" in info.value.__notes__


def test_slow_tasks_are_not_grouped(sources):
    out = Parallel(n_jobs=2, backend="threading")(delayed(nap)(i) for i in range(8))
    assert [x for x, _, _, _ in out] == list(range(8))
    assert all(count == 1 for _, _, count, _ in sources[-1].spans)
    # and still run side by side
    assert any(a[3] != b[3] and a[1] < b[2] and b[1] < a[2] for a in out for b in out if a is not b)


def test_verbose_counts_tasks(capfd):
    Parallel(n_jobs=2, backend="loky", verbose=10)(delayed(add)(i) for i in range(3000))
    err = capfd.readouterr().err
    assert "Done 3000 out of 3000" in err


def test_fixed_batch_size_is_not_grouped(sources):
    assert Parallel(n_jobs=2, backend="threading", batch_size=4)(
        delayed(add)(i) for i in range(100)) == [i + 2 for i in range(100)]
    assert {kind for kind, _, _, _ in sources[-1].spans} == {"one"}


def test_unpicklable_argument_is_reported():
    lock = threading.Lock()
    with pytest.raises(TypeError, match="pickle"):
        Parallel(n_jobs=2, backend="loky")(delayed(add)(lock, i) for i in range(10))


def test_bad_task_in_a_group():
    tasks = [delayed(add)(i) for i in range(50)] + [42]
    with pytest.raises(TypeError, match="delayed"):
        Parallel(n_jobs=2, backend="threading")(tasks)


def test_sizer_grows_by_doubling_and_shrinks_at_once():
    sizer = ChunkSizer()
    sizes = []
    for _ in range(20):
        sizer.update(sizer.size, sizer.size * 1e-7)   # 0.1 µs tasks
        sizes.append(sizer.size)
    assert sizes[:4] == [2, 4, 8, 16]
    assert sizes[-1] == ChunkSizer.MAX
    sizer.update(sizer.size, sizer.size * 0.002)        # 2 ms tasks
    assert sizer.size == 5
    sizer.update(5, 5 * 1.0)                            # 1 s tasks
    assert sizer.size == 1
    sizer.update(0, 0.0)
    assert sizer.size == 1


def test_sizer_grows_with_groups_sent_before_the_last_doubling():
    # groups in flight when the size doubled are half the new size: they
    # double it again; a group far shorter than the size does not
    sizer = ChunkSizer()
    sizer.update(1, 1e-7)
    assert sizer.size == 2
    sizer.update(1, 1e-7)
    assert sizer.size == 4
    sizer.update(1, 1e-7)
    assert sizer.size == 4
    sizer.update(2, 2e-7)
    assert sizer.size == 8
    sizer.update(8, 8 * 0.004)                           # 4 ms tasks: shrink
    assert sizer.size == 2


@pytest.mark.parametrize("backend", ["threading", "loky"])
def test_runs_of_one_parallel_stay_apart(backend):
    # interleaved generators (of two Parallel objects: one refuses a second
    # run while its generator is out, as joblib) and runs from two threads
    # on one Parallel object: each run sees its own results only
    parallel = Parallel(n_jobs=2, backend=backend, return_as="generator")
    first = parallel(delayed(add)(i, y=0) for i in range(3000))
    second = Parallel(n_jobs=2, backend=backend, return_as="generator")(
        delayed(add)(i, y=100000) for i in range(3000))
    out_first, out_second = [], []
    for a, b in zip(first, second):
        out_first.append(a)
        out_second.append(b)
    assert out_first == list(range(3000))
    assert out_second == [i + 100000 for i in range(3000)]

    listing = Parallel(n_jobs=2, backend=backend)
    outs = {}

    def run(offset):
        outs[offset] = listing(delayed(add)(i, y=offset) for i in range(5000))

    threads = [threading.Thread(target=run, args=(offset,)) for offset in (0, 10**6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outs[0] == list(range(5000))
    assert outs[10**6] == [i + 10**6 for i in range(5000)]


def scale(x, factor=3):
    if x == 1234 and factor == 2:
        raise KeyError(f"no scale for {x}")
    return x * factor


def _mixed_tasks(n):
    """Two functions, keyword arguments on some tasks only, a variant-free
    but non-plain argument (a set) now and then: every column of a group."""
    for i in range(n):
        if i % 7 == 0:
            yield joblib_delayed_or_ours.delayed(scale)(i, factor=i % 5)
        elif i % 11 == 0:
            yield joblib_delayed_or_ours.delayed(add)(i, y=frozenset({i}) and 4)
        elif i % 13 == 0:
            yield joblib_delayed_or_ours.delayed(sorted)({i, i + 1})
        elif i % 2:
            yield joblib_delayed_or_ours.delayed(add)(i)
        else:
            yield joblib_delayed_or_ours.delayed(scale)(i)


class joblib_delayed_or_ours:
    delayed = staticmethod(delayed)


@pytest.mark.parametrize("backend", ["loky", "threading"])
def test_groups_of_mixed_functions_and_keywords_match_joblib(backend, sources, monkeypatch):
    import joblib
    n = 6000
    ours = Parallel(n_jobs=2, backend=backend)(_mixed_tasks(n))
    monkeypatch.setattr(joblib_delayed_or_ours, "delayed", staticmethod(joblib.delayed))
    theirs = joblib.Parallel(n_jobs=2, backend=backend)(_mixed_tasks(n))
    assert ours == theirs
    assert [type(value) for value in ours] == [type(value) for value in theirs]
    spans = sources[-1].spans
    assert sum(count for _, _, count, _ in spans) == n and len(spans) < n / 10


@pytest.mark.parametrize("backend", ["loky", "threading"])
def test_error_in_a_mixed_group_names_its_task(backend):
    import joblib
    for module in (joblib, __import__("joblib_glib")):
        tasks = [module.delayed(add)(i) if i % 2 else module.delayed(scale)(i, factor=2)
                 for i in range(3000)]
        with pytest.raises(KeyError, match="no scale for 1234") as info:
            module.Parallel(n_jobs=2, backend=backend)(tasks)
        if module is not joblib:
            assert "task 1234 (test_groups.scale)" in info.value.__notes__


def test_worker_results_frames_are_the_bytes_glib_writes():
    # the Python worker writes its RESULTS payloads by hand: they must be
    # GLib's serialization of (tuav), for framing offsets of 1, 2 and 4 bytes
    from joblib_glib._gi import GLib
    from joblib_glib.worker import _results_payload, _serialized
    for n, size in ((1, 0), (2, 3), (7, 40), (40, 100), (3, 70000), (300, 30)):
        values = []
        for i in range(n):
            kind = i % 4
            if kind == 0:
                values.append(GLib.Variant("ay", bytes(range(256)) * (size // 256) + b"x" * (i % 9)))
            elif kind == 1:
                values.append(GLib.Variant("x", -i * 7919))
            elif kind == 2:
                values.append(GLib.Variant("(sd)", ("s" * (i % 5), i / 3)))
            else:
                values.append(GLib.Variant("()", ()))
        expected = GLib.Variant.new_tuple(
            GLib.Variant("t", 2 ** 40 + n), GLib.Variant("u", 3 * n),
            GLib.Variant.new_array(GLib.VariantType("v"),
                                   [GLib.Variant.new_variant(v) for v in values]))
        assert _results_payload(2 ** 40 + n, 3 * n, [_serialized(v) for v in values]) == \
            expected.get_data_as_bytes().get_data()


def test_worker_encodes_results_as_to_variant_does():
    # numbers, booleans and strings are written by hand: the bytes and type
    # of to_variant's GLib.Variant; anything else goes through to_variant
    from joblib_glib import to_variant
    from joblib_glib.worker import encode_result
    values = [0, -1, 2 ** 63 - 1, -2 ** 63, 2 ** 63, -2 ** 63 - 1, 10 ** 30, 0.0, -0.0, 1.5,
              float("inf"), float("-inf"), 1e-310, True, False, "", "abc", "é€😀",
              "nul\0inside", "lone \udc80 surrogate", None, b"raw", [1, 2], (1.0,), {"a": 1}]
    for value in values:
        try:
            expected = to_variant(value, by_value=True)
        except Exception as exc:  # noqa: BLE001 -- the same error either way
            with pytest.raises(type(exc)):
                encode_result(value)
            continue
        data, type_string = encode_result(value)
        assert type_string == expected.get_type_string().encode("ascii"), value
        assert data == expected.get_data_as_bytes().get_data(), value
    nan_data, nan_type = encode_result(float("nan"))
    assert nan_type == b"d" and nan_data == to_variant(float("nan")).get_data_as_bytes().get_data()


def blob(i):
    return bytes([i % 251]) * (i * 997 % 90000) if i % 3 else (i, str(i), None)


def test_large_and_mixed_results_from_workers_match_joblib():
    # answers over 64 KiB go out in several RESULTS frames, read back part
    # by part by the parent
    import joblib
    ours = Parallel(n_jobs=2, backend="loky")(delayed(blob)(i) for i in range(300))
    theirs = joblib.Parallel(n_jobs=2, backend="loky")(joblib.delayed(blob)(i)
                                                      for i in range(300))
    assert ours == theirs
    assert [type(value) for value in ours] == [type(value) for value in theirs]


def test_group_answers_are_pickled_bytes_read_in_either_form():
    # a worker answers a group with the pickle's bytes (an "ay" written by
    # hand); the parent also reads the GLib.Variant earlier workers sent
    import pickle

    from joblib_glib._chunks import read_chunk_result, run_chunk
    from joblib_glib._gi import GLib
    answer = run_chunk(5, [("name", "operator", "add")],
                       pickle.dumps((None, [(1, 2), ("a", "b")], None)))
    assert type(answer) is bytes
    seconds, results = read_chunk_result(answer)
    assert results == [3, "ab"] and seconds >= 0
    as_variant = GLib.Variant.new_from_bytes(GLib.VariantType("ay"), GLib.Bytes.new(answer), True)
    assert read_chunk_result(as_variant) == (seconds, results)
