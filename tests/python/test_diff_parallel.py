# SPDX-License-Identifier: LGPL-2.1-or-later
"""joblib_glib next to Python joblib: Parallel, its configuration, its
errors and the public names.

Each case is a snippet taking the module (``J``: joblib or joblib_glib);
the test runs it on both in the same process and compares what came out:
the value and its type, or the exception's type.  Where joblib_glib
differs on purpose, the case says so and asserts the difference."""

import collections
import contextlib
import functools
import io
import logging
import math
import operator
import os
import sys
import threading
import time

import joblib
import numpy as np
import pytest

import joblib_glib

SQRT = math.sqrt
CASES = {}


def case(name, compare=None):
    """Register a snippet; ``compare(ours, theirs)`` replaces equality."""
    def register(snippet):
        assert name not in CASES, name
        CASES[name] = (snippet, compare)
        return snippet
    return register


def _describe(value):
    """What is compared of a result: its value and the types inside."""
    if isinstance(value, np.ndarray):
        return ("ndarray", value.dtype.str, value.shape, value.tolist())
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_describe(v) for v in value])
    if isinstance(value, dict):
        return (type(value).__name__, sorted((repr(k), _describe(v)) for k, v in value.items()))
    return (type(value).__name__, value)


def _outcome(snippet, module):
    try:
        return ("value", _describe(snippet(module)))
    except BaseException as exc:  # noqa: BLE001 -- compared by type
        return ("raises", _exception_name(exc))


def _exception_name(exc):
    kind = type(exc)
    # Ours may be another class of the same name (TerminatedWorkerError)
    return kind.__name__ if kind.__module__ != "builtins" else kind.__qualname__


# --- tasks (module level: both libraries send them by reference) ---------------

def square(x):
    return x * x


def add(x, y=0, *, z=0):
    return x + y + z


def fail_on(x, bad):
    if x == bad:
        raise ValueError(f"bad value {x}")
    return x


class CustomError(Exception):
    def __init__(self, code, text):
        super().__init__(code, text)
        self.code = code


def raise_custom(x):
    raise CustomError(x, "custom")


def identity(x):
    return x


def sleep_for(seconds):
    time.sleep(seconds)
    return seconds


def pid(_):
    return os.getpid()


def in_main_thread(_):
    return threading.current_thread() is threading.main_thread()


def array_info(a):
    return (type(a).__name__, bool(a.flags.writeable), a.dtype.str, float(a.sum()))


def env(name):
    return os.environ.get(name)


def die(x):
    if x == 2:
        os._exit(3)
    return x


def append_to(target, x):
    target.append(x)
    return len(target)


def nested_sum(n):
    return sum(joblib_glib.Parallel(n_jobs=2, backend="threading")(
        joblib_glib.delayed(square)(i) for i in range(n)))


def nested_sum_joblib(n):
    return sum(joblib.Parallel(n_jobs=2, backend="threading")(
        joblib.delayed(square)(i) for i in range(n)))


def recurse(x, module_name):
    J = sys.modules[module_name]
    return sum(J.Parallel()(J.delayed(recurse)(i, module_name) for i in range(2)))


def nested_in_own_process(module_name):
    J = sys.modules[module_name]
    pids = J.Parallel(n_jobs=2)(J.delayed(pid)(i) for i in range(4))
    return set(pids) == {os.getpid()}


class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y

    def norm2(self):
        return self.x * self.x + self.y * self.y


def norm2(point):
    return point.norm2()


def call(function, *args):
    return function(*args)


BACKENDS = ("threading", "loky", "sequential")


def run(J, function, inputs, **options):
    return J.Parallel(**options)(J.delayed(function)(*args) for args in inputs)


# --- results ------------------------------------------------------------------

for _backend in BACKENDS:
    for _n_jobs in (1, 2, -1):
        case(f"squares-{_backend}-n{_n_jobs}")(
            lambda J, b=_backend, n=_n_jobs: run(J, square, [(i,) for i in range(20)],
                                                  n_jobs=n, backend=b))
    case(f"kwargs-{_backend}")(
        lambda J, b=_backend: J.Parallel(n_jobs=2, backend=b)(
            J.delayed(add)(i, y=2, z=3) for i in range(10)))
    case(f"types-{_backend}")(
        lambda J, b=_backend: run(J, identity, [(v,) for v in (
            None, True, 3, 2.5, 1j, "été", b"\x00\xff", (1, "a"), [1, [2]], {"k": (1, 2)},
            {1, 2}, frozenset({3}))], n_jobs=2, backend=b))
    case(f"empty-{_backend}")(lambda J, b=_backend: run(J, square, [], n_jobs=2, backend=b))
    case(f"builtin-{_backend}")(lambda J, b=_backend: run(J, abs, [(-i,) for i in range(5)],
                                                          n_jobs=2, backend=b))
    case(f"partial-{_backend}")(
        lambda J, b=_backend: run(J, functools.partial(add, y=10), [(i,) for i in range(5)],
                                  n_jobs=2, backend=b))
    case(f"method-{_backend}")(
        lambda J, b=_backend: run(J, "a-b-c".split, [("-",), ("b",)], n_jobs=2, backend=b))
    case(f"numpy-results-{_backend}")(
        lambda J, b=_backend: run(J, np.arange, [(i,) for i in range(1, 5)], n_jobs=2,
                                  backend=b))
    case(f"numpy-scalars-{_backend}")(
        lambda J, b=_backend: [type(v).__name__ for v in run(
            J, np.float32, [(i,) for i in range(4)], n_jobs=2, backend=b)])
    case(f"mixed-functions-{_backend}")(
        lambda J, b=_backend: J.Parallel(n_jobs=2, backend=b)(
            J.delayed(square if i % 2 else add)(i) for i in range(12)))
    case(f"exception-{_backend}")(
        lambda J, b=_backend: run(J, fail_on, [(i, 3) for i in range(6)], n_jobs=2, backend=b))
    case(f"custom-exception-args-{_backend}")(
        lambda J, b=_backend: _exception_args(J, b))
    case(f"wrong-arguments-{_backend}")(
        lambda J, b=_backend: J.Parallel(n_jobs=2, backend=b)(
            J.delayed(square)(1, 2) for _ in range(2)))
    case(f"lambda-{_backend}")(
        lambda J, b=_backend: run(J, lambda x: x + 1, [(i,) for i in range(5)], n_jobs=2,
                                  backend=b))
    case(f"local-function-{_backend}")(lambda J, b=_backend: _local_function(J, b))
    case(f"pre-dispatch-all-{_backend}")(
        lambda J, b=_backend: run(J, square, [(i,) for i in range(9)], n_jobs=2, backend=b,
                                  pre_dispatch="all"))
    case(f"batch-size-3-{_backend}")(
        lambda J, b=_backend: run(J, square, [(i,) for i in range(10)], n_jobs=2, backend=b,
                                  batch_size=3))
    case(f"timeout-not-reached-{_backend}")(
        lambda J, b=_backend: run(J, square, [(i,) for i in range(4)], n_jobs=2, backend=b,
                                  timeout=60))


def _exception_args(J, backend):
    try:
        run(J, raise_custom, [(7,)], n_jobs=2, backend=backend)
    except CustomError as exc:
        return ("CustomError", exc.args, exc.code)
    return None


def _local_function(J, backend):
    offset = 100

    def shifted(x):
        return x + offset
    return run(J, shifted, [(i,) for i in range(4)], n_jobs=2, backend=backend)


case("generator-input")(lambda J: J.Parallel(n_jobs=2)(
    J.delayed(square)(i) for i in range(30) if i % 3))
case("iterator-input")(lambda J: J.Parallel(n_jobs=2)(iter([J.delayed(square)(4)])))
case("list-input")(lambda J: J.Parallel(n_jobs=2)([J.delayed(square)(i) for i in range(5)]))
case("ordered-after-sleeps")(lambda J: run(
    J, sleep_for, [(s,) for s in (0.05, 0.0, 0.03, 0.0)], n_jobs=2, backend="threading"))
case("many-trivial-tasks")(lambda J: sum(run(J, square, [(i,) for i in range(3000)],
                                             n_jobs=2, backend="threading")))
case("context-manager-two-calls")(lambda J: _two_calls(J))
case("reuse-parallel-object")(lambda J: (lambda p: [p(J.delayed(square)(i) for i in range(3)),
                                                  p(J.delayed(add)(i) for i in range(3))])(
    J.Parallel(n_jobs=2)))
case("delayed-captures")(lambda J: J.delayed(add)(1, y=2)[1:])
case("delayed-function")(lambda J: J.delayed(add)(1)[0] is add)
case("verbose-results")(lambda J: _quiet(lambda: run(J, square, [(i,) for i in range(5)],
                                                    n_jobs=2, verbose=10)))
case("verbose-to-sys-stderr")(lambda J: _verbose_lines(J, "threading"))
case("verbose-to-sys-stderr-loky")(lambda J: _verbose_lines(J, "loky"))
case("threads-share-memory")(lambda J: _shared_list(J, "threading", None))
case("sharedmem-shares-memory")(lambda J: _shared_list(J, None, "sharedmem"))
case("prefer-threads-in-process")(lambda J: len(set(run(
    J, pid, [(i,) for i in range(4)], n_jobs=2, prefer="threads"))) == 1 and
    run(J, pid, [(0,)], n_jobs=2, prefer="threads")[0] == os.getpid())
case("loky-runs-elsewhere")(lambda J: os.getpid() not in run(
    J, pid, [(i,) for i in range(4)], n_jobs=2, backend="loky"))
case("n-jobs-1-in-caller")(lambda J: set(run(J, pid, [(i,) for i in range(3)], n_jobs=1)) ==
     {os.getpid()})
case("n-jobs-1-main-thread")(lambda J: run(J, in_main_thread, [(0,)], n_jobs=1,
                                           backend="threading"))
case("worker-threads-not-main")(lambda J: run(J, in_main_thread, [(0,), (1,)], n_jobs=2,
                                              backend="threading"))
case("loky-thread-limits")(lambda J: run(J, env, [("OMP_NUM_THREADS",)], n_jobs=2,
                                         backend="loky") ==
     [str(max(joblib.cpu_count() // 2, 1))])
for _backend in ("threading", "loky"):
    # joblib's thread-bomb mitigation: nested levels run on threads, then
    # in their caller, and endless recursion ends in RecursionError
    case(f"unbounded-recursion-{_backend}")(lambda J, b=_backend: _in_scope(
        J, lambda J: run(J, recurse, [(i, J.__name__) for i in range(2)]), b, n_jobs=2))
case("nested-runs-in-the-worker-process")(lambda J: run(
    J, nested_in_own_process, [(J.__name__,)], n_jobs=2, backend="loky"))
case("nested-parallel-in-threads")(lambda J: run(
    J, nested_sum if J is joblib_glib else nested_sum_joblib, [(i,) for i in range(5)],
    n_jobs=2, backend="threading"))
case("nested-parallel-in-processes")(lambda J: run(
    J, nested_sum if J is joblib_glib else nested_sum_joblib, [(i,) for i in range(4)],
    n_jobs=2, backend="loky"))


def _two_calls(J):
    with J.Parallel(n_jobs=2) as parallel:
        first = parallel(J.delayed(square)(i) for i in range(4))
        second = parallel(J.delayed(add)(i, 1) for i in range(4))
    return first, second


def _quiet(function):
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        return function()


def _verbose_lines(J, backend):
    """Verbose lines go through sys.stderr (so they can be captured)."""
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        run(J, square, [(i,) for i in range(6)], n_jobs=2, backend=backend, verbose=10)
    text = err.getvalue()
    return ("[Parallel(n_jobs=2)]: " in text, "Done   6 out of   6" in text,
            out.getvalue())


def _shared_list(J, backend, require):
    target = []
    run(J, append_to, [(target, i) for i in range(6)], n_jobs=2, backend=backend,
        require=require)
    return sorted(target)


# --- values that loky sends by value (cloudpickle) ---------------------------

def _local_class_instances(J, backend):
    class Local:
        def __init__(self, v):
            self.v = v
    out = run(J, identity, [(Local(i),) for i in range(3)], n_jobs=2, backend=backend)
    return [type(o).__name__ for o in out], [o.v for o in out]


for _backend in ("threading", "loky"):
    case(f"local-class-instances-{_backend}")(
        lambda J, b=_backend: _local_class_instances(J, b))
    case(f"range-argument-{_backend}")(
        lambda J, b=_backend: run(J, list, [(range(i),) for i in range(4)], n_jobs=2,
                                  backend=b))
    case(f"type-argument-{_backend}")(
        lambda J, b=_backend: run(J, call, [(int, "7"), (str, 7), (Point, 1, 2)], n_jobs=2,
                                  backend=b)[:2])
    case(f"lambda-argument-{_backend}")(
        lambda J, b=_backend: run(J, call, [(lambda: 5,), (lambda: 6,)], n_jobs=2,
                                  backend=b))
    case(f"object-holding-lambda-{_backend}")(
        lambda J, b=_backend: run(J, call, [(({"f": lambda: 3})["f"],)], n_jobs=2,
                                  backend=b))
    case(f"module-class-instances-{_backend}")(
        lambda J, b=_backend: run(J, norm2, [(Point(i, 1),) for i in range(4)], n_jobs=2,
                                  backend=b))
    case(f"namedtuple-result-{_backend}")(
        lambda J, b=_backend: [type(v).__name__ for v in run(
            J, collections.Counter, [("aab",)], n_jobs=2, backend=b)])

# --- arrays to process workers: copies, memmaps ------------------------------

_SMALL = np.arange(10, dtype=np.float64)
_LARGE = np.arange(300_000, dtype=np.float64)   # 2.4 MB > the 1M default

case("small-array-writable-loky")(lambda J: run(J, array_info, [(_SMALL,)], n_jobs=2,
                                                backend="loky"))
case("large-array-memmap-loky")(lambda J: run(J, array_info, [(_LARGE,)], n_jobs=2,
                                              backend="loky"))
case("large-array-r+-loky")(lambda J: run(J, array_info, [(_LARGE,)], n_jobs=2,
                                          backend="loky", mmap_mode="r+"))
case("large-array-no-memmap-loky")(lambda J: run(J, array_info, [(_LARGE,)], n_jobs=2,
                                                 backend="loky", max_nbytes=None))
case("max-nbytes-small-loky")(lambda J: run(J, array_info, [(_SMALL,)], n_jobs=2,
                                            backend="loky", max_nbytes=16))
case("array-threads-shared")(lambda J: run(J, operator.is_, [(_SMALL, _SMALL)], n_jobs=2,
                                           backend="threading"))

# --- errors -------------------------------------------------------------------

case("n-jobs-0")(lambda J: run(J, square, [(1,)], n_jobs=0))
case("n-jobs-0-construct")(lambda J: J.Parallel(n_jobs=0).n_jobs)
def _joblib_13_n_jobs(expected):
    """joblib >= 1.3 converts n_jobs with int() when Parallel is made
    (ValueError if it cannot); 1.2 keeps it and fails in the run."""
    def compare(ours, theirs):
        assert theirs[0] == "raises" and ours == expected, (ours, theirs)
    return compare


case("n-jobs-str", _joblib_13_n_jobs(("raises", "ValueError")))(
    lambda J: run(J, square, [(1,)], n_jobs="two"))
case("n-jobs-float", _joblib_13_n_jobs(("value", ("list", [("int", 1), ("int", 4)]))))(
    lambda J: run(J, square, [(1,), (2,)], n_jobs=1.5))
case("n-jobs-float-attribute", lambda ours, theirs: (
    theirs == ("value", ("float", 2.0)) and ours == ("value", ("int", 2))) or
    pytest.fail(f"{ours} {theirs}"))(lambda J: J.Parallel(n_jobs=2.0).n_jobs)
case("n-jobs-numeric-str", _joblib_13_n_jobs(("value", ("list", [("int", 1)]))))(
    lambda J: run(J, square, [(1,)], n_jobs="2"))
case("unknown-backend")(lambda J: J.Parallel(backend="nope"))
case("unknown-backend-config")(lambda J: J.parallel_backend("nope"))
case("bad-prefer")(lambda J: J.Parallel(prefer="gpu"))
case("bad-require")(lambda J: J.Parallel(require="everything"))
case("loky-sharedmem")(lambda J: J.Parallel(backend="loky", require="sharedmem"))
case("multiprocessing-sharedmem")(lambda J: J.Parallel(backend="multiprocessing",
                                                       require="sharedmem"))
case("bad-pre-dispatch")(lambda J: run(J, square, [(1,), (2,)], n_jobs=2,
                                       pre_dispatch="lots"))
case("batch-size-0")(lambda J: J.Parallel(batch_size=0))
case("batch-size-negative")(lambda J: J.Parallel(batch_size=-2))
case("batch-size-text")(lambda J: J.Parallel(batch_size="big"))
case("not-delayed")(lambda J: J.Parallel(n_jobs=2)([1, 2]))
case("timeout-threads")(lambda J: run(J, sleep_for, [(2,), (2,)], n_jobs=2,
                                      backend="threading", timeout=0.2))
case("timeout-loky")(lambda J: run(J, sleep_for, [(5,), (5,)], n_jobs=2, backend="loky",
                                   timeout=0.5))
case("worker-dies-loky")(lambda J: run(J, die, [(i,) for i in range(4)], n_jobs=2,
                                       backend="loky"))
case("error-in-input-generator")(lambda J: J.Parallel(n_jobs=2)(
    J.delayed(square)(1 // (2 - i)) for i in range(4)))
case("effective-n-jobs-0")(lambda J: J.effective_n_jobs(0))

# --- configuration ------------------------------------------------------------


def _in_scope(J, function, *args, **kwargs):
    with J.parallel_backend(*args, **kwargs):
        return function(J)


case("n-jobs-default")(lambda J: J.Parallel().n_jobs)
case("n-jobs-in-backend-scope")(lambda J: _in_scope(J, lambda J: J.Parallel().n_jobs,
                                                    "threading"))
case("n-jobs-in-backend-scope-3")(lambda J: _in_scope(J, lambda J: J.Parallel().n_jobs,
                                                      "threading", n_jobs=3))
case("explicit-n-jobs-wins")(lambda J: _in_scope(J, lambda J: J.Parallel(n_jobs=2).n_jobs,
                                                 "threading", n_jobs=3))
case("effective-n-jobs-in-scope")(lambda J: _in_scope(J, lambda J: J.effective_n_jobs(),
                                                      "threading"))
case("effective-n-jobs-values")(lambda J: [J.effective_n_jobs(n) for n in (1, 2, -1, -2)])
case("cpu-count")(lambda J: J.cpu_count())
case("scope-runs-threads")(lambda J: _in_scope(
    J, lambda J: len(set(run(J, pid, [(i,) for i in range(4)]))) == 1, "threading",
    n_jobs=2))
case("scope-results")(lambda J: _in_scope(
    J, lambda J: run(J, square, [(i,) for i in range(6)]), "threading", n_jobs=2))
case("scope-sequential")(lambda J: _in_scope(
    J, lambda J: run(J, in_main_thread, [(0,), (1,)]), "sequential"))
case("scope-loky-sharedmem-falls-back")(lambda J: _in_scope(
    J, lambda J: _shared_list(J, None, "sharedmem"), "loky", n_jobs=2))
case("scope-n-jobs-0")(lambda J: _in_scope(J, lambda J: run(J, square, [(1,)]), "threading",
                                           n_jobs=0))

# --- public names --------------------------------------------------------------

for _name in ("Parallel", "delayed", "cpu_count", "effective_n_jobs", "parallel_backend",
              "register_parallel_backend", "Memory", "MemorizedResult", "dump", "load",
              "Logger", "PrintTime", "wrap_non_picklable_objects"):
    case(f"name-{_name}")(lambda J, n=_name: callable(getattr(J, n)))
case("name-version")(lambda J: type(J.__version__).__name__)
case("logger-format")(lambda J: J.Logger(depth=2).format({"a": [1, [2, [3, [4]]]]}))
case("logger-warn")(lambda J: _logged(lambda: J.Logger().warn("careful")))
case("print-time")(lambda J: _captured_stderr(lambda: J.PrintTime()("step")).split(":")[0])
case("print-time-both-paths")(lambda J: J.PrintTime(logfile="a", logdir="b"))


def _logged(function):
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        function()
    finally:
        root.removeHandler(handler)
    return [(r.levelname, r.getMessage().endswith("careful")) for r in records]


def _captured_stderr(function):
    stream = io.StringIO()
    with contextlib.redirect_stderr(stream):
        function()
    return stream.getvalue()


def _wrapped_lambda(J):
    wrapped = J.wrap_non_picklable_objects(lambda x: x * 3)
    return run(J, wrapped, [(i,) for i in range(4)], n_jobs=2, backend="loky")


case("wrap-non-picklable-lambda")(_wrapped_lambda)
case("wrap-non-picklable-call")(lambda J: J.wrap_non_picklable_objects(square)(5))


def _custom_backend(J):
    import concurrent.futures

    base = joblib.parallel.ParallelBackendBase if J is joblib else J.ParallelBackendBase

    class PoolBackend(base):
        def effective_n_jobs(self, n_jobs):
            return 2

        def configure(self, n_jobs=1, parallel=None, **kwargs):
            self.parallel = parallel
            self.pool = concurrent.futures.ThreadPoolExecutor(2)
            return 2

        def apply_async(self, func, callback=None):
            future = self.pool.submit(func)

            class Result:
                def get(self, timeout=None):
                    return future.result(timeout)
            if callback is not None:
                future.add_done_callback(lambda f: callback(Result()))
            return Result()

        def terminate(self):
            self.pool.shutdown()

    J.register_parallel_backend("diff-pool", PoolBackend)
    with J.parallel_backend("diff-pool"):
        return run(J, square, [(i,) for i in range(8)])


case("register-python-backend")(_custom_backend)

# --- the differences joblib_glib keeps on purpose -----------------------------


def test_generators_as_joblib_lists():
    """joblib 1.2 has no return_as: its generators (joblib >= 1.3) give the
    list's items in order, or as they complete."""
    expected = joblib.Parallel(n_jobs=2)(joblib.delayed(square)(i) for i in range(50))
    ours = joblib_glib.Parallel(n_jobs=2, return_as="generator")(
        joblib_glib.delayed(square)(i) for i in range(50))
    assert type(ours).__name__ == "generator"
    assert list(ours) == expected
    unordered = joblib_glib.Parallel(n_jobs=2, return_as="generator_unordered")(
        joblib_glib.delayed(square)(i) for i in range(50))
    assert sorted(unordered) == sorted(expected)


def test_second_generator_of_one_parallel_raises():
    """joblib >= 1.3: a Parallel whose generator is still out refuses a new
    call with RuntimeError; once it is consumed (or dropped) it runs again."""
    parallel = joblib_glib.Parallel(n_jobs=2, return_as="generator")
    first = parallel(joblib_glib.delayed(square)(i) for i in range(10))
    next(first)
    with pytest.raises(RuntimeError, match="already running"):
        parallel(joblib_glib.delayed(square)(i) for i in range(3))
    assert list(first) == [square(i) for i in range(1, 10)]
    assert list(parallel(joblib_glib.delayed(square)(i) for i in range(3))) == [0, 1, 4]


def test_errors_keep_the_glib_error_and_name_the_function():
    with pytest.raises(TimeoutError) as info:
        joblib_glib.Parallel(n_jobs=2, backend="threading", timeout=0.1)(
            joblib_glib.delayed(sleep_for)(1) for _ in range(30))
    assert isinstance(info.value.__cause__, joblib_glib._gi.GLib.Error)
    assert "sleep_for" in str(info.value) and "_chunks" not in str(info.value)
    with pytest.raises(joblib_glib.TerminatedWorkerError) as info:
        run(joblib_glib, die, [(i,) for i in range(40)], n_jobs=2, backend="loky")
    assert info.value.__cause__.code == int(joblib_glib._gi.Joblib.Error.WORKER_DIED)
    assert "die" in str(info.value) and "_chunks" not in str(info.value)
    with pytest.raises(ValueError) as info:
        run(joblib_glib, fail_on, [(i, 30) for i in range(40)], n_jobs=2, backend="loky")
    text = str(info.value.__cause__) + "".join(getattr(info.value, "__notes__", []))
    assert "fail_on" in text and "_chunks.run_chunk)" not in text
    with pytest.raises(ValueError) as info:
        run(joblib_glib, square, [(1,)], n_jobs=0)
    assert isinstance(info.value.__cause__, joblib_glib._gi.GLib.Error)


def _input_that_raises(J, error, n_before):
    for i in range(n_before):
        yield J.delayed(square)(i)
    raise error


def _raised_by(J, backend, error, n_before):
    """Where the exception J.Parallel raised came from: its last frame's
    function and its __cause__."""
    with pytest.raises(LookupError) as info:
        J.Parallel(n_jobs=2, backend=backend)(_input_that_raises(J, error, n_before))
    assert info.value is error
    last = info.value.__traceback__
    while last.tb_next is not None:
        last = last.tb_next
    return last.tb_frame.f_code.co_name, info.value.__cause__


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n_before", [0, 3, 7])
def test_input_generator_that_raises_as_joblib(backend, n_before):
    """A generator that raises fails the call with that very exception
    (not a copy, not a truncated list), its traceback ending in the
    generator, as joblib does; the main-loop form gets it as run.error.
    joblib 1.2 only raises it while it fills its first pre_dispatch
    batches (2*n_jobs tasks): later, the exception is printed in its
    result thread and the call never returns, so 7 tasks before the
    failure are run by joblib_glib alone."""
    ours = _raised_by(joblib_glib, backend, LookupError(f"row {n_before}"), n_before)
    assert ours == ("_input_that_raises", None)
    if n_before < 4 or backend == "sequential":
        assert _raised_by(joblib, backend, LookupError(f"row {n_before}"), n_before) == ours

    error = LookupError("row unreadable")
    loop = joblib_glib._gi.GLib.MainLoop()
    runs = []
    joblib_glib.Parallel(n_jobs=2, backend=backend).start(
        _input_that_raises(joblib_glib, error, n_before),
        lambda run: (runs.append(run), loop.quit()))
    loop.run()
    assert runs[0].error is error and runs[0].results is None


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_as_joblib(name):
    snippet, compare = CASES[name]
    theirs = _outcome(snippet, joblib)
    ours = _outcome(snippet, joblib_glib)
    if compare is not None:
        compare(ours, theirs)
    else:
        assert ours == theirs


def test_enough_cases():
    assert len(CASES) >= 80
