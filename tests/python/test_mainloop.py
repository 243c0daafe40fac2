# SPDX-License-Identifier: LGPL-2.1-or-later
"""Parallel.start(): a run driven by the GLib main loop, as a GTK app uses it."""

import time

import joblib
import pytest
from gi.repository import Gio, GLib

import joblib_glib
from joblib_glib import Parallel, delayed


def square(x):
    return x * x


def slow_square(x):
    time.sleep(0.02)
    return x * x


def fails_on_three(x):
    if x == 3:
        raise ValueError(f"bad value {x}")
    return x


def run_loop(start, timeout=60):
    """Run a main loop until on_done; return (run, progress calls, timer ticks)."""
    loop = GLib.MainLoop()
    seen = {"progress": [], "done": [], "ticks": 0}

    def on_done(run):
        seen["done"].append(run)
        loop.quit()

    def on_progress(n_done, n_total):
        seen["progress"].append((n_done, n_total))

    def tick():
        if not seen["done"]:
            seen["ticks"] += 1
        return GLib.SOURCE_CONTINUE

    timer = GLib.timeout_add(5, tick)
    guard = GLib.timeout_add_seconds(timeout, loop.quit)
    run = start(on_done, on_progress)
    loop.run()
    GLib.source_remove(timer)
    GLib.source_remove(guard)
    assert len(seen["done"]) == 1, "on_done must run exactly once"
    assert seen["done"][0] is run
    return run, seen["progress"], seen["ticks"]


@pytest.mark.parametrize("backend", ["threading", "loky", "sequential"])
def test_results_in_order_as_joblib(backend):
    xs = list(range(40))
    expected = joblib.Parallel(n_jobs=2, backend=backend)(delayed(square)(x) for x in xs)
    parallel = Parallel(n_jobs=2, backend=backend)
    run, progress, _ = run_loop(
        lambda done, prog: parallel.start([delayed(square)(x) for x in xs], done, prog))
    assert run.done and run.error is None
    assert run.results == expected
    assert progress, "progress must be reported"
    assert [d for d, _ in progress] == sorted(d for d, _ in progress)
    assert progress[-1] == (40, 40)


def test_lazy_iterable_total_unknown_until_exhausted():
    parallel = Parallel(n_jobs=2, backend="threading", batch_size=1)
    run, progress, _ = run_loop(
        lambda done, prog: parallel.start((delayed(square)(x) for x in range(10)), done, prog))
    assert run.results == [x * x for x in range(10)]
    assert progress[-1] == (10, 10)


def test_main_loop_stays_free_while_tasks_run():
    parallel = Parallel(n_jobs=2, backend="threading")
    run, _, ticks = run_loop(
        lambda done, prog: parallel.start([delayed(slow_square)(x) for x in range(20)],
                                          done, prog))
    assert run.results == [x * x for x in range(20)]
    # The 5 ms timer ran while the tasks ran: the caller's loop was not blocked.
    assert ticks > 0


@pytest.mark.parametrize("backend", ["threading", "loky"])
def test_task_error_is_the_exception_parallel_raises(backend):
    with pytest.raises(ValueError) as from_joblib:
        joblib.Parallel(n_jobs=2, backend=backend)(delayed(fails_on_three)(x) for x in range(6))
    parallel = Parallel(n_jobs=2, backend=backend)
    run, _, _ = run_loop(
        lambda done, prog: parallel.start([delayed(fails_on_three)(x) for x in range(6)],
                                          done, prog))
    assert run.results is None
    assert type(run.error) is type(from_joblib.value)
    assert "bad value 3" in str(run.error)


def test_cancel_ends_with_cancelled_error():
    cancellable = Gio.Cancellable()
    parallel = Parallel(n_jobs=2, backend="threading", batch_size=1)

    def on_progress(n_done, _total):
        if n_done >= 2:
            cancellable.cancel()

    loop = GLib.MainLoop()
    ended = []
    run = parallel.start([delayed(slow_square)(x) for x in range(200)],
                         lambda r: (ended.append(r), loop.quit()), on_progress, cancellable)
    GLib.timeout_add_seconds(60, loop.quit)
    loop.run()
    assert ended == [run]
    assert run.results is None
    assert isinstance(run.error, GLib.Error)
    assert run.error.matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED)
    assert run.n_done < 200


def test_exception_in_progress_callback_becomes_the_error():
    parallel = Parallel(n_jobs=2, backend="threading", batch_size=1)

    def on_progress(n_done, _total):
        raise KeyError("from the progress callback")

    loop = GLib.MainLoop()
    run = parallel.start([delayed(square)(x) for x in range(10)], lambda r: loop.quit(),
                         on_progress)
    GLib.timeout_add_seconds(60, loop.quit)
    loop.run()
    assert run.done
    assert isinstance(run.error, KeyError)
    assert run.results is None


def test_module_level_start_is_the_same():
    assert joblib_glib.start is joblib_glib._mainloop.start


@pytest.mark.parametrize("kwargs, message", [
    ({"on_done": None}, "on_done must be callable"),
    ({"on_done": print, "on_progress": 3}, "on_progress must be callable"),
    ({"on_done": print, "cancellable": "no"}, "cancellable must be a Gio.Cancellable"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(TypeError, match=message):
        Parallel(n_jobs=2).start([delayed(square)(1)], **kwargs)
