# SPDX-License-Identifier: LGPL-2.1-or-later
"""Parallel runs driven by a GLib main loop: the form a GTK application uses.

``Parallel.__call__`` blocks its caller and ``Parallel.run_async`` needs an
asyncio loop.  A GTK window has neither to spare: it runs a GLib main loop,
wants a progress callback, a ``Gio.Cancellable`` behind its Cancel button
and a callback when the results are in.  :func:`start` gives it exactly
that, on top of ``Joblib.Parallel.run_iterate_async``: the dispatcher runs
on the caller's thread-default main context, so every callback below runs
there too, between two frames, never on a worker thread.
"""

from ._gi import Gio, GLib
from ._functions import forget_exceptions
from ._logger import write_verbose_line

__all__ = ["ParallelRun", "start"]


class ParallelRun:
    """One run started by :func:`start`.

    ``done`` tells whether it has ended; ``results`` (the list, in input
    order) and ``error`` (the exception) are set when it has.
    ``cancel()`` stops it: queued tasks are dropped, running workers
    stopped, and the completion callback still runs, with ``error`` set to
    the ``GLib.Error`` of ``Gio.IOErrorEnum.CANCELLED``.
    """

    def __init__(self, cancellable):
        self.cancellable = cancellable
        self.done = False
        self.results = None
        self.error = None
        self.n_done = 0

    def cancel(self):
        """Cancel the run; the completion callback still runs (with an error)."""
        self.cancellable.cancel()

    def __repr__(self):
        state = "done" if self.done else "running"
        return f"<ParallelRun {state}, {self.n_done} tasks finished>"


def start(parallel, iterable, on_done, on_progress=None, cancellable=None):
    """Start ``parallel(iterable)`` on the thread-default GLib main context.

    Returns at once with a :class:`ParallelRun`.  While the main loop runs:

    - ``on_progress(n_done, n_total)`` is called each time tasks finish
      (``n_total`` is None while a lazy iterable is not exhausted);
    - ``on_done(run)`` is called once at the end, with ``run.results`` (a
      list in input order, as ``Parallel.__call__`` returns) or
      ``run.error`` (the exception ``Parallel.__call__`` would raise);
    - with ``verbose``, the progress lines are written as
      ``Parallel.__call__`` and joblib write them: to ``sys.stderr``
      (``sys.stdout`` from 50 up), as they come.

    An exception raised by ``on_progress`` cancels the run and becomes
    ``run.error``; one raised by ``on_done`` propagates out of the main
    loop iteration as PyGObject reports it.  ``cancellable`` (a
    ``Gio.Cancellable``, for example the one a Cancel button triggers)
    cancels the run as :meth:`ParallelRun.cancel` does.

    Call it from the thread that runs the main loop: the callbacks run on
    that thread's default main context.
    """
    if not callable(on_done):
        raise TypeError(f"on_done must be callable, not {type(on_done).__name__}")
    if on_progress is not None and not callable(on_progress):
        raise TypeError(f"on_progress must be callable or None, not "
                        f"{type(on_progress).__name__}")
    if cancellable is not None and not isinstance(cancellable, Gio.Cancellable):
        raise TypeError(f"cancellable must be a Gio.Cancellable, not "
                        f"{type(cancellable).__name__}")
    items = iterable if isinstance(iterable, (list, tuple)) else None
    n_total = len(items) if items is not None else None
    source = parallel._make_source(iter(iterable))
    parallel._prepare_workers()
    job = parallel._run_parallel()
    run_cancellable = Gio.Cancellable.new()
    run = ParallelRun(run_cancellable)
    per_call = {}
    failures = []
    forward = cancellable.connect(run_cancellable.cancel) if cancellable is not None else 0

    def fail(exc):
        if not failures:
            failures.append(exc)
        run_cancellable.cancel()

    def on_result(_job, index, value):
        try:
            values = source.results_of(index, value)
            per_call[index] = values
            run.n_done += len(values)
            if on_progress is not None:
                on_progress(run.n_done,
                            n_total if n_total is not None or not source.exhausted
                            else source.n_tasks)
        except BaseException as exc:  # noqa: BLE001 -- becomes run.error
            fail(exc)

    def on_verbose_line(_job, line):
        try:
            write_verbose_line(_job, line)
        except BaseException as exc:  # noqa: BLE001 -- becomes run.error
            fail(exc)

    def finished(_job, result):
        error = None
        try:
            job.run_iterate_finish(result)
        except GLib.Error as exc:
            error = exc
        finally:
            job.disconnect(handler)
            job.disconnect(verbose_handler)
            if forward:
                cancellable.disconnect(forward)
            source.close()
        run.done = True
        if failures:
            if error is not None:
                forget_exceptions([error])
            run.error = failures[0]
        elif error is not None:
            run.error = parallel._exception_of(error)
        else:
            run.results = [value for i in range(len(per_call)) for value in per_call[i]]
        on_done(run)

    handler = job.connect("result", on_result)
    verbose_handler = job.connect("verbose-line", on_verbose_line)
    job.run_iterate_async(source.next_call, cancellable=run_cancellable, callback=finished)
    return run
