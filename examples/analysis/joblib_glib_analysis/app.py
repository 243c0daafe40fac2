# SPDX-License-Identifier: LGPL-2.1-or-later
"""joblib-glib Analysis: a GTK 4 + libadwaita app that runs a parameter sweep
with joblib_glib on worker processes, caches every result with Memory, and
plots the outcome with matplotlib.

- Sweep page: open a CSV file (two numeric columns) or generate data, run
  the sweep (progress bar, Cancel), see the data with the best fit and the
  cross-validation error of every (degree, alpha) pair.
- Cache page: the cached results with their size and age; Clear empties it.
  A second sweep over the same data is served from the cache.

The sweep never blocks the window: ``Parallel.start()`` drives it from the
GLib main loop, and the process workers do the arithmetic.
"""

import argparse
import os
import sys
import time

import gi

gi.require_version("Gtk", "4.0")
gi.require_version("Adw", "1")
from gi.repository import Adw, Gio, GLib, Gtk  # noqa: E402

import matplotlib  # noqa: E402

matplotlib.use("GTK4Agg")
from matplotlib.backends.backend_gtk4agg import FigureCanvasGTK4Agg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import numpy as np  # noqa: E402

from joblib_glib import Memory, Parallel, delayed  # noqa: E402

from . import sweep  # noqa: E402

APP_ID = "org.gnome.JoblibGlib.Analysis"
VERSION = "0.1.0"


def default_cache_dir():
    return os.path.join(GLib.get_user_cache_dir(), "joblib-glib-analysis")


def human_size(n_bytes):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n_bytes < 1024 or unit == "GiB":
            return f"{n_bytes:.0f} {unit}" if unit == "B" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1024
    return f"{n_bytes} B"


def human_age(seconds):
    seconds = max(int(seconds), 0)
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"


class AnalysisWindow(Adw.ApplicationWindow):
    """The main window. ``state`` tells a driver (or a test) where it is:
    "idle", "running", "done", "cancelled" or "failed"."""

    def __init__(self, app, cache_dir, n_jobs):
        super().__init__(application=app, title="joblib-glib Analysis")
        self.set_default_size(1100, 640)
        self.cache_dir = cache_dir
        self.memory = Memory(cache_dir, verbose=0)
        self.cv_error = self.memory.cache(sweep.cv_error)
        self.parallel = Parallel(n_jobs=n_jobs, backend="loky")
        self.x = self.y = None
        self.data_name = ""
        self.errors = None
        self.run = None
        self.cancellable = None
        self.state = "idle"
        self.last_error = None

        self.toasts = Adw.ToastOverlay()
        stack = Adw.ViewStack()
        stack.add_titled_with_icon(self._sweep_page(), "sweep", "Sweep",
                                   "media-playback-start-symbolic")
        stack.add_titled_with_icon(self._cache_page(), "cache", "Cache",
                                   "drive-harddisk-symbolic")
        stack.connect("notify::visible-child-name", self._on_page_changed)
        self.stack = stack

        header = Adw.HeaderBar()
        title = Adw.ViewSwitcherTitle(stack=stack, title="joblib-glib Analysis")
        header.set_title_widget(title)
        box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL)
        box.append(header)
        self.toasts.set_child(stack)
        self.toasts.set_vexpand(True)
        box.append(self.toasts)
        self.set_content(box)

    # --- the sweep page -------------------------------------------------

    def _sweep_page(self):
        controls = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=12,
                           margin_top=18, margin_bottom=18, margin_start=18, margin_end=6)
        controls.set_size_request(280, -1)

        data = Adw.PreferencesGroup(title="Data")
        self.data_row = Adw.ActionRow(title="No data yet",
                                      subtitle="Open a CSV file or generate data")
        data.add(self.data_row)
        buttons = Gtk.Box(spacing=6, homogeneous=True, margin_top=6)
        open_button = Gtk.Button(label="Open CSV…")
        open_button.connect("clicked", lambda _b: self.choose_csv())
        self.generate_button = Gtk.Button(label="Generate")
        self.generate_button.connect("clicked", lambda _b: self.generate_data())
        buttons.append(open_button)
        buttons.append(self.generate_button)
        controls.append(data)
        controls.append(buttons)

        sweep_group = Adw.PreferencesGroup(
            title="Sweep",
            description=f"{len(sweep.DEGREES)} degrees × {len(sweep.ALPHAS)} alphas, "
                        f"{sweep.FOLDS}-fold cross-validation, on worker processes")
        self.result_row = Adw.ActionRow(title="Best fit", subtitle="–")
        sweep_group.add(self.result_row)
        controls.append(sweep_group)

        self.run_button = Gtk.Button(label="Run sweep", sensitive=False)
        self.run_button.add_css_class("suggested-action")
        self.run_button.connect("clicked", lambda _b: self.start_sweep())
        self.cancel_button = Gtk.Button(label="Cancel", sensitive=False)
        self.cancel_button.add_css_class("destructive-action")
        self.cancel_button.connect("clicked", lambda _b: self.cancel_sweep())
        actions = Gtk.Box(spacing=6, homogeneous=True)
        actions.append(self.run_button)
        actions.append(self.cancel_button)
        controls.append(actions)

        self.progress = Gtk.ProgressBar(show_text=True, text="")
        controls.append(self.progress)
        self.status = Gtk.Label(label="", wrap=True, xalign=0)
        self.status.add_css_class("dim-label")
        controls.append(self.status)

        self.figure = Figure(figsize=(6, 4), constrained_layout=True)
        self.canvas = FigureCanvasGTK4Agg(self.figure)
        self.canvas.set_hexpand(True)
        self.canvas.set_vexpand(True)
        self._draw()

        page = Gtk.Paned(start_child=controls, end_child=self.canvas, position=320,
                         resize_start_child=False, shrink_start_child=False)
        return page

    def choose_csv(self):
        chooser = Gtk.FileChooserNative(title="Open a CSV file", transient_for=self,
                                        action=Gtk.FileChooserAction.OPEN)
        csv_filter = Gtk.FileFilter(name="CSV files")
        csv_filter.add_pattern("*.csv")
        chooser.add_filter(csv_filter)

        def on_response(dialog, response):
            if response == Gtk.ResponseType.ACCEPT:
                self.load_csv(dialog.get_file().get_path())
            dialog.destroy()

        chooser.connect("response", on_response)
        chooser.show()
        self._chooser = chooser

    def load_csv(self, path):
        """Load two numeric columns from ``path``; False (and a toast) on error."""
        try:
            x, y = sweep.read_csv(path)
        except (OSError, ValueError) as error:
            self.toasts.add_toast(Adw.Toast(title=str(error)))
            return False
        self._set_data(x, y, os.path.basename(path))
        return True

    def generate_data(self, n_points=400, seed=0):
        x, y = sweep.generate(n_points, seed)
        self._set_data(x, y, f"generated, seed {seed}")

    def _set_data(self, x, y, name):
        self.x, self.y, self.data_name = x, y, name
        self.errors = None
        self.data_row.set_title(f"{len(x)} points")
        self.data_row.set_subtitle(name)
        self.result_row.set_subtitle("–")
        self.run_button.set_sensitive(self.state != "running")
        self._draw()

    def start_sweep(self):
        if self.x is None or self.state == "running":
            return
        grid = sweep.grid()
        self.state = "running"
        self.last_error = None
        self.run_button.set_sensitive(False)
        self.cancel_button.set_sensitive(True)
        self.progress.set_fraction(0.0)
        self.progress.set_text(f"0 / {len(grid)}")
        self.status.set_label("Running on worker processes…")
        self.cancellable = Gio.Cancellable()
        self._started = time.monotonic()
        tasks = [delayed(self.cv_error)(self.x, self.y, degree, alpha)
                 for degree, alpha in grid]
        self.run = self.parallel.start(tasks, self._on_done, self._on_progress,
                                       self.cancellable)

    def cancel_sweep(self):
        if self.cancellable is not None:
            self.cancellable.cancel()

    def _on_progress(self, n_done, n_total):
        self.progress.set_fraction(n_done / n_total if n_total else 0.0)
        self.progress.set_text(f"{n_done} / {n_total}")

    def _on_done(self, run):
        elapsed = time.monotonic() - self._started
        self.cancel_button.set_sensitive(False)
        self.run_button.set_sensitive(True)
        self.cancellable = None
        if run.error is not None:
            cancelled = isinstance(run.error, GLib.Error) and \
                run.error.matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED)
            self.state = "cancelled" if cancelled else "failed"
            self.last_error = run.error
            self.status.set_label("Cancelled." if cancelled else f"Failed: {run.error}")
            self.progress.set_text("cancelled" if cancelled else "failed")
        else:
            self.errors = np.asarray(run.results, dtype=float)
            degree, alpha, error = sweep.best(self.errors)
            self.result_row.set_subtitle(f"degree {degree}, alpha {alpha:.0e}: "
                                         f"CV error {error:.4f}")
            self.status.set_label(f"{len(run.results)} fits in {elapsed:.2f} s")
            self.state = "done"
            self._draw()
        self.refresh_cache()

    def _draw(self):
        self.figure.clear()
        data_axes, error_axes = self.figure.subplots(1, 2)
        data_axes.set_title("Data and best fit")
        if self.x is not None:
            data_axes.scatter(self.x, self.y, s=6, alpha=0.5, label=self.data_name)
            if self.errors is not None:
                degree, alpha, _ = sweep.best(self.errors)
                model = sweep.fit(self.x, self.y, degree, alpha)
                xs = np.linspace(self.x.min(), self.x.max(), 200)
                data_axes.plot(xs, sweep.predict(model, xs), color="C3",
                               label=f"degree {degree}")
            data_axes.legend(loc="best", fontsize="small")
        error_axes.set_title("CV error (log10)")
        if self.errors is not None:
            table = np.log10(self.errors.reshape(len(sweep.DEGREES), len(sweep.ALPHAS)))
            image = error_axes.imshow(table, origin="lower", aspect="auto", cmap="viridis")
            ticks = range(0, len(sweep.ALPHAS), 2)
            error_axes.set_xticks(ticks, [f"{sweep.ALPHAS[i]:.0e}" for i in ticks],
                                  rotation=45, fontsize="x-small")
            error_axes.set_yticks(range(len(sweep.DEGREES)), sweep.DEGREES, fontsize="small")
            error_axes.set_xlabel("alpha")
            error_axes.set_ylabel("degree")
            self.figure.colorbar(image, ax=error_axes)
        self.canvas.draw_idle()

    # --- the cache page -------------------------------------------------

    def _cache_page(self):
        page = Adw.PreferencesPage()
        self.cache_group = Adw.PreferencesGroup(title="Cached results",
                                                description=self.cache_dir)
        clear = Gtk.Button(label="Clear", valign=Gtk.Align.CENTER)
        clear.add_css_class("destructive-action")
        clear.connect("clicked", lambda _b: self.clear_cache())
        self.cache_group.set_header_suffix(clear)
        self.cache_list = Gtk.ListBox(selection_mode=Gtk.SelectionMode.NONE)
        self.cache_list.add_css_class("boxed-list")
        self.cache_group.add(self.cache_list)
        page.add(self.cache_group)
        self.cache_rows = []
        return page

    def _on_page_changed(self, stack, _pspec):
        if stack.get_visible_child_name() == "cache":
            self.refresh_cache()

    def cache_entries(self):
        """The Joblib.CacheEntry objects of the cache, a snapshot."""
        model = self.memory._memory.list_entries()
        return [model.get_item(i) for i in range(model.get_n_items())]

    def refresh_cache(self):
        for row in self.cache_rows:
            self.cache_list.remove(row)
        self.cache_rows = []
        entries = self.cache_entries()
        now = time.time()
        total = 0
        for entry in entries:
            total += entry.get_size()
            created = entry.get_created()
            age = now - created.to_unix() if created is not None else 0
            row = Adw.ActionRow(
                title=f"{entry.get_function_name().rsplit('.', 1)[-1]} "
                      f"{entry.get_args_hash().split(':')[-1][:12]}",
                subtitle=f"{human_size(entry.get_size())}, {human_age(age)}")
            self.cache_list.append(row)
            self.cache_rows.append(row)
        self.cache_group.set_title(f"Cached results: {len(entries)}, "
                                   f"{human_size(total)}")
        return entries

    def clear_cache(self):
        self.memory.clear(warn=False)
        self.refresh_cache()
        self.toasts.add_toast(Adw.Toast(title="Cache cleared"))


class AnalysisApp(Adw.Application):
    def __init__(self, cache_dir=None, n_jobs=2, csv_path=None):
        super().__init__(application_id=APP_ID, flags=Gio.ApplicationFlags.NON_UNIQUE)
        self.cache_dir = cache_dir or default_cache_dir()
        self.n_jobs = n_jobs
        self.csv_path = csv_path
        self.window = None

    def do_activate(self):
        if self.window is None:
            self.window = AnalysisWindow(self, self.cache_dir, self.n_jobs)
            if self.csv_path:
                self.window.load_csv(self.csv_path)
        self.window.present()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="joblib-glib-analysis",
                                     description="A parameter sweep on joblib-glib")
    parser.add_argument("--cache-dir", help="the Memory cache folder "
                        "(default: the user cache folder)")
    parser.add_argument("--n-jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {VERSION}")
    parser.add_argument("csv", nargs="?", help="a CSV file to open")
    options = parser.parse_args(argv)
    if options.n_jobs == 0:
        parser.error("--n-jobs must not be 0")
    app = AnalysisApp(options.cache_dir, options.n_jobs, options.csv)
    return app.run([sys.argv[0]])
