# SPDX-License-Identifier: LGPL-2.1-or-later
"""Ctrl-C during a Parallel run: KeyboardInterrupt in the caller, the run
cancelled.

Python runs its SIGINT handler in the main thread at the next bytecode,
which during a run is usually the first line of a GI callback (a result
handler, the task source): PyGObject prints an exception raised there and
goes on, so the run would silently lose a result.  While a run waits on
its context in the main thread, ``guard`` puts a handler in front of the
one in force:

* interrupted inside a task or the task source that runs in this thread
  (n_jobs=1, the input generator), it raises as usual: those callbacks turn
  every exception into a task error, and the run ends;
* interrupted in joblib_glib's own waiting loop or result handlers, it only
  records the exception and cancels the run;
* interrupted anywhere else (the code consuming a generator of results),
  it behaves exactly as the previous handler.

The run then ends (cancelled: queued tasks dropped, process workers
stopped, threads finish the task they run) and the caller raises the
recorded KeyboardInterrupt.  A wakeup descriptor watched by the run's
context makes the signal end a blocking wait at once.
"""

import signal
import socket
import threading

from ._gi import GLib

# Code objects of joblib_glib functions that run user code in the caller's
# thread and turn every exception into a task error ("raise there"), and of
# the waiting loops and result handlers ("record and cancel").
_RAISE_CODES = set()
_RECORD_CODES = set()


def raise_inside(*functions):
    """Mark functions whose frames make the handler raise (see above)."""
    for function in functions:
        _RAISE_CODES.add(getattr(function, "__code__", function))


def record_inside(*functions):
    """Mark functions whose frames make the handler record and cancel."""
    for function in functions:
        _RECORD_CODES.add(getattr(function, "__code__", function))


class _State:
    """What is installed while guards are active (main thread only)."""

    def __init__(self):
        # a guard of the main thread was interrupted: tasks that would
        # still start in it (the sequential backend runs the next one
        # before the run sees the cancellation) raise at once
        self.interrupted = False
        self.count = 0
        self.previous = None
        self.previous_wakeup = -1
        self.sockets = None
        self.channel = None
        self.guards = []


_state = _State()


def _where(frame):
    while frame is not None:
        code = frame.f_code
        if code in _RAISE_CODES:
            return "raise"
        if code in _RECORD_CODES:
            return "record"
        frame = frame.f_back
    return "outside"


def _on_signal(signum, frame):
    previous = _state.previous
    where = _where(frame)
    if where == "outside" or not _state.guards:
        if callable(previous):
            previous(signum, frame)
        return
    try:
        if callable(previous):
            previous(signum, frame)
    except BaseException as exc:  # noqa: BLE001 -- recorded, raised by the caller
        for guard in list(_state.guards):
            guard.interrupt(exc)
        if where == "raise":
            raise


def _drain(*_args):
    read_socket = _state.sockets[0] if _state.sockets else None
    if read_socket is not None:
        try:
            while read_socket.recv(256):
                pass
        except OSError:
            pass
    return GLib.SOURCE_CONTINUE


class Guard:
    """One run's part: its cancellable, the recorded exception."""

    __slots__ = ("cancellable", "exception", "source", "active")

    def __init__(self, cancellable):
        self.cancellable = cancellable
        self.exception = None
        self.source = None
        self.active = False

    def interrupt(self, exc):
        if self.exception is None:
            self.exception = exc
        _state.interrupted = True
        self.cancellable.cancel()



def check():
    """Raise KeyboardInterrupt in the main thread when a run there was
    interrupted: called before a task starts in the caller's thread."""
    if _state.interrupted and threading.current_thread() is threading.main_thread():
        raise KeyboardInterrupt


def _install():
    previous = signal.getsignal(signal.SIGINT)
    if not callable(previous):
        return False   # SIG_IGN, SIG_DFL, or set outside Python
    if _state.sockets is None:
        read_socket, write_socket = socket.socketpair()
        for sock in (read_socket, write_socket):
            sock.setblocking(False)
            sock.set_inheritable(False)
        _state.sockets = (read_socket, write_socket)
        _state.channel = GLib.IOChannel.unix_new(read_socket.fileno())
    try:
        _state.previous_wakeup = signal.set_wakeup_fd(_state.sockets[1].fileno(),
                                                      warn_on_full_buffer=False)
    except ValueError:
        return False
    _state.previous = previous
    signal.signal(signal.SIGINT, _on_signal)
    return True


def _uninstall():
    if signal.getsignal(signal.SIGINT) is _on_signal:
        signal.signal(signal.SIGINT, _state.previous)
    current = signal.set_wakeup_fd(_state.previous_wakeup)
    if current != _state.sockets[1].fileno():
        signal.set_wakeup_fd(current)  # someone set another one meanwhile
    _state.previous = None
    _state.previous_wakeup = -1


def enter(guard, context):
    """Activate ``guard`` for a run waiting on ``context`` (main thread
    only; elsewhere signals never arrive and this does nothing)."""
    if guard.active or threading.current_thread() is not threading.main_thread():
        return
    if _state.count == 0 and not _install():
        return
    _state.count += 1
    _state.guards.append(guard)
    guard.active = True
    source = GLib.io_create_watch(_state.channel, GLib.IOCondition.IN)
    source.set_callback(_drain)
    source.attach(context)
    guard.source = source


def leave(guard):
    """Deactivate ``guard``; the last one restores the previous handler."""
    if not guard.active:
        return
    guard.active = False
    guard.source.destroy()
    guard.source = None
    _state.guards.remove(guard)
    _state.interrupted = any(g.exception is not None for g in _state.guards)
    _state.count -= 1
    if _state.count == 0:
        _uninstall()


record_inside(_drain, _on_signal)

__all__ = ["Guard", "check", "enter", "leave", "raise_inside", "record_inside"]

