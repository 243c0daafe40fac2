# SPDX-License-Identifier: LGPL-2.1-or-later
"""Parallel.start(): a run driven by the GLib main loop, as a GTK app uses it."""

import contextlib
import io
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


_timer_ticks = [0]
_ticks_at_task = []


def stamped_slow_square(x):
    _ticks_at_task.append(_timer_ticks[0])
    time.sleep(0.02)
    return x * x


@pytest.mark.parametrize("batch_size", [100, "auto"])
def test_n_jobs_1_leaves_the_loop_free_between_tasks(batch_size):
    # n_jobs=1 runs the tasks on the loop's own thread, in slices of about
    # half a frame: a 20 ms task is longer than a slice and than the 1 ms
    # timer's interval, and the timer's priority puts it before the next
    # slice, so it runs between every two tasks whatever batch_size says.
    xs = list(range(6))
    expected = joblib.Parallel(n_jobs=1, batch_size=batch_size)(
        delayed(square)(x) for x in xs)
    _timer_ticks[0] = 0
    _ticks_at_task.clear()
    loop = GLib.MainLoop()
    runs = []

    def tick():
        _timer_ticks[0] += 1
        return GLib.SOURCE_CONTINUE

    def on_done(run):
        runs.append(run)
        loop.quit()

    timer = GLib.timeout_add(1, tick)
    guard = GLib.timeout_add_seconds(60, loop.quit)
    Parallel(n_jobs=1, batch_size=batch_size).start(
        [delayed(stamped_slow_square)(x) for x in xs], on_done)
    loop.run()
    GLib.source_remove(timer)
    GLib.source_remove(guard)
    assert len(runs) == 1 and runs[0].error is None
    assert runs[0].results == expected
    assert len(_ticks_at_task) == len(xs)
    assert all(later > earlier for earlier, later in zip(_ticks_at_task, _ticks_at_task[1:])), \
        _ticks_at_task


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


def _verbose_output(run_it):
    """What run_it() writes to sys.stderr and sys.stdout (not descriptor 2)."""
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        run_it()
    return err.getvalue(), out.getvalue()


def _shape(text):
    """A verbose text without its timings: the prefix and counts of each line."""
    return [line.split("|")[0].rstrip() for line in text.splitlines()]


@pytest.mark.parametrize("backend", ["threading", "loky"])
@pytest.mark.parametrize("verbose", [10, 50])
def test_verbose_lines_as_joblib_writes_them(backend, verbose):
    calls = [delayed(square)(x) for x in range(6)]
    theirs = _verbose_output(
        lambda: joblib.Parallel(n_jobs=2, backend=backend, verbose=verbose, batch_size=6)(calls))
    ours = _verbose_output(lambda: run_loop(
        lambda done, prog: Parallel(n_jobs=2, backend=backend, verbose=verbose,
                                    batch_size=6).start(calls, done, prog)))
    called = _verbose_output(
        lambda: Parallel(n_jobs=2, backend=backend, verbose=verbose, batch_size=6)(calls))
    # the same stream as joblib: stderr below 50, stdout from 50 up
    stream = 1 if verbose >= 50 else 0
    for text in (theirs, ours, called):
        assert text[1 - stream] == ""
        assert text[stream].startswith("[Parallel(n_jobs=2)]: Using backend ")
        assert text[stream].endswith(" finished\n")
    # start() writes what __call__ writes, timings aside; the last line
    # is joblib's (its batches differ: the lines between may too)
    assert _shape(ours[stream]) == _shape(called[stream])
    assert _shape(ours[stream])[-1] == _shape(theirs[stream])[-1] == \
        "[Parallel(n_jobs=2)]: Done   6 out of   6"
    if backend == "threading":
        assert ours[stream].splitlines()[0] == theirs[stream].splitlines()[0]


def test_exception_in_verbose_stream_becomes_the_error():
    class Broken(io.StringIO):
        def write(self, text):
            raise OSError("stream closed")

    with contextlib.redirect_stderr(Broken()):
        run, _, _ = run_loop(lambda done, prog: Parallel(n_jobs=2, verbose=10).start(
            [delayed(square)(x) for x in range(4)], done, prog))
    assert isinstance(run.error, OSError) and run.results is None


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
