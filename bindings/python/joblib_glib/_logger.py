# SPDX-License-Identifier: LGPL-2.1-or-later
"""joblib's small logging helpers, ``Logger`` and ``PrintTime``, for code
that subclasses or calls them (scikit-learn-style estimators, scripts).

Messages go through Python's ``logging`` and ``sys.stderr``, so that they
can be captured and show in notebooks."""

import logging
import os
import pprint
import shutil
import sys
import time

# joblib keeps up to this many rotated copies of a PrintTime log file.
_ROTATED_LOGS = 9


def format_time(seconds):
    """"12.3s, 0.2min", as joblib prints durations."""
    return f"{seconds:.1f}s, {seconds / 60:.1f}min"


def short_format_time(seconds):
    """A short duration, in seconds up to a minute, else in minutes."""
    if seconds > 60:
        return f"{seconds / 60:4.1f}min"
    return f" {seconds:5.1f}s"


class Logger:
    """Logs messages that name the object (its ``str``) through ``logging``,
    and formats objects to a bounded ``depth``."""

    def __init__(self, depth=3, name=None):
        self.depth = depth
        self._name = name

    def _message(self, msg):
        return f"[{self._name or self}]: {msg}"

    def warn(self, msg):
        logging.warning(self._message(msg))

    def info(self, msg):
        logging.info(self._message(msg))

    def debug(self, msg):
        logging.debug(self._message(msg))

    def format(self, obj, indent=0):
        """``obj`` pretty-printed, nested no deeper than ``depth``."""
        return pprint.pformat(obj, indent=indent, depth=self.depth)


class PrintTime:
    """Prints the time since the previous call (or since creation with
    ``total=True``) after a message, to ``sys.stderr`` and, if given, to a
    log file (``logdir/joblib.log`` with ``logdir``), whose earlier copies
    are kept as ``.1`` ... ``.9``."""

    def __init__(self, logfile=None, logdir=None):
        if logfile is not None and logdir is not None:
            raise ValueError("Cannot specify both logfile and logdir")
        self.last_time = self.start_time = time.time()
        if logdir is not None:
            logfile = os.path.join(logdir, "joblib.log")
        self.logfile = logfile
        if logfile is not None:
            self._start_log(logfile)

    def _start_log(self, logfile):
        folder = os.path.dirname(logfile)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if os.path.exists(logfile):
            for i in range(_ROTATED_LOGS - 1, 0, -1):
                if os.path.exists(f"{logfile}.{i}"):
                    shutil.move(f"{logfile}.{i}", f"{logfile}.{i + 1}")
            shutil.copy(logfile, f"{logfile}.1")
        with open(logfile, "w") as log:
            log.write("\nLogging joblib python script\n")
            log.write(f"\n---{time.ctime(self.last_time)}---\n")

    def __call__(self, msg="", total=False):
        now = time.time()
        if total:
            lapse = now - self.start_time
            line = f"{msg}: {lapse:.2f}s, {lapse / 60:.1f} min"
        else:
            line = f"{msg}: {format_time(now - self.last_time)}"
        print(line, file=sys.stderr)
        if self.logfile is not None:
            try:
                with open(self.logfile, "a") as log:
                    print(line, file=log)
            except OSError:
                pass   # several processes may write it: never fail the work
        self.last_time = time.time()


def write_verbose_line(parallel, line):
    """A verbose line of a Joblib.Parallel run, through Python's streams
    as joblib prints them (capturable, shown by notebooks), not to
    descriptor 2 from C: sys.stdout from verbose 50 up, else sys.stderr."""
    stream = sys.stdout if parallel.get_verbose() >= 50 else sys.stderr
    stream.write(line)
    stream.flush()


__all__ = ["Logger", "PrintTime", "format_time", "short_format_time"]
