// SPDX-License-Identifier: LGPL-2.1-or-later
//
// A GTK 4 window over joblib-glib: pick a workload of the
// tutorial and n_jobs, run it with a progress bar on the `progress`
// signal and a Cancel button on a GCancellable, see results arrive on the
// `result` signal, and browse the Memory cache (Joblib.Memory's entries
// list model) with size and age, with a Clear button. The window stays
// responsive: parallel workloads run in GJS worker processes, and the
// cached one runs one task per main loop iteration.
//
//   gjs -m examples/gtk/joblib-gtk-demo.js [--run WORKLOAD] [--n-jobs N]
//       [--quit-after-run] [--cancel-after N] [--screenshot FILE.png]
//       [--cache-dir DIR]
//
// WORKLOAD: sleep, pi or cached. --run starts that workload at once;
// --quit-after-run prints how it ended and exits (0 when it finished or
// was cancelled as asked); --screenshot saves the window to a PNG first.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Gtk from 'gi://Gtk?version=4.0';
import Joblib from 'gi://Joblib';
import System from 'system';

import {cache, gjsFunction, map} from '../../bindings/gjs/joblib.js';

const HERE = GLib.path_get_dirname(GLib.filename_from_uri(import.meta.url)[0]);
// Uninstalled: the GJS worker of this source tree.
if (GLib.getenv('JOB_GJS_WORKER_PATH') === null)
    GLib.setenv('JOB_GJS_WORKER_PATH', GLib.build_filenamev([HERE, '..', '..', 'bindings', 'gjs', 'worker.js']), false);

/** The tutorial's costly_compute: the mean of |column 0| of a block of
 *  data (2/π), generated on the fly. It allocates nothing: GJS 1.74 may
 *  refuse signal handlers while an incremental GC that big allocations on
 *  the main thread start is still sweeping (a Gjs-CRITICAL). */
function costlyCompute(seed, rows) {
    let sum = 0;
    for (let i = 0; i < rows; i++)
        sum += Math.abs(Math.sin(seed * 7919 + i * 10));
    return sum / rows;
}

const WORKLOADS = [
    {
        id: 'sleep',
        title: 'my_function: sleep 0.5 s ×10 (GJS workers)',
        backend: 'processes',
        make: async () => ({fn: await gjsFunction(`${HERE}/workloads.js`, 'my_function'),
            inputs: [...Array(10).keys()]}),
        show: v => String(v),
    },
    {
        id: 'pi',
        title: 'estimate π: 16 × 2·10⁶ points (GJS workers)',
        backend: 'processes',
        make: async () => ({fn: await gjsFunction(`${HERE}/workloads.js`, 'estimate_pi'),
            inputs: [...Array(16).keys()].map(seed => [seed + 1, 2000000])}),
        show: v => v.toFixed(5),
    },
    {
        id: 'cached',
        title: 'costly_compute ×12, cached on disk (Memory)',
        backend: 'threading',
        make: async memory => ({fn: cache(memory, costlyCompute).memorized,
            inputs: [...Array(12).keys()].map(seed => [seed, 200000])}),
        show: v => v.toFixed(6),
    },
];

function parseOptions(argv) {
    const options = {run: null, nJobs: 2, quitAfterRun: false, cancelAfter: 0,
        screenshot: null, cacheDir: null};
    for (let i = 0; i < argv.length; i++) {
        const value = () => {
            if (i + 1 >= argv.length)
                throw new Error(`${argv[i]} needs a value`);
            return argv[++i];
        };
        switch (argv[i]) {
        case '--run': options.run = value(); break;
        case '--n-jobs': options.nJobs = Number(value()); break;
        case '--quit-after-run': options.quitAfterRun = true; break;
        case '--cancel-after': options.cancelAfter = Number(value()); break;
        case '--screenshot': options.screenshot = value(); break;
        case '--cache-dir': options.cacheDir = value(); break;
        default: throw new Error(`unknown option ${argv[i]}`);
        }
    }
    if (options.run !== null && !WORKLOADS.some(w => w.id === options.run))
        throw new Error(`unknown workload ${options.run}: ${WORKLOADS.map(w => w.id).join(', ')}`);
    if (!Number.isInteger(options.nJobs) || options.nJobs < 1 || options.nJobs > 64)
        throw new Error('--n-jobs takes 1 to 64');
    return options;
}

function formatAge(seconds) {
    if (seconds < 60)
        return `${Math.round(seconds)} s`;
    if (seconds < 3600)
        return `${Math.round(seconds / 60)} min`;
    return `${Math.round(seconds / 3600)} h`;
}

function formatSize(bytes) {
    return GLib.format_size(bytes);
}

/** A column of the cache view showing text(entry). */
function textColumn(title, text, expand = false) {
    const factory = new Gtk.SignalListItemFactory();
    factory.connect('setup', (_f, item) => item.set_child(new Gtk.Label({xalign: 0})));
    factory.connect('bind', (_f, item) => item.get_child().set_label(text(item.get_item())));
    return new Gtk.ColumnViewColumn({title, factory, expand});
}

class DemoWindow {
    constructor(app, options) {
        this.options = options;
        this.memory = Joblib.Memory.new_for_path(options.cacheDir ??
            GLib.build_filenamev([GLib.get_user_cache_dir(), 'joblib-glib-gtk-demo']));
        this.cancellable = null;
        this.heartbeats = 0;

        this.window = new Gtk.ApplicationWindow({application: app, title: 'joblib-glib',
            default_width: 900, default_height: 560});
        const header = new Gtk.HeaderBar();
        this.window.set_titlebar(header);

        const box = new Gtk.Box({orientation: Gtk.Orientation.VERTICAL, spacing: 8,
            margin_top: 12, margin_bottom: 12, margin_start: 12, margin_end: 12});
        this.window.set_child(box);

        const controls = new Gtk.Box({spacing: 8});
        this.workload = Gtk.DropDown.new_from_strings(WORKLOADS.map(w => w.title));
        this.workload.hexpand = true;
        this.nJobs = Gtk.SpinButton.new_with_range(1, 64, 1);
        this.nJobs.value = options.nJobs;
        this.runButton = new Gtk.Button({label: 'Run', css_classes: ['suggested-action']});
        this.cancelButton = new Gtk.Button({label: 'Cancel', sensitive: false});
        controls.append(this.workload);
        controls.append(new Gtk.Label({label: 'n_jobs'}));
        controls.append(this.nJobs);
        controls.append(this.runButton);
        controls.append(this.cancelButton);
        box.append(controls);

        this.progress = new Gtk.ProgressBar({show_text: true, text: 'idle'});
        box.append(this.progress);
        const statusRow = new Gtk.Box({spacing: 8});
        this.spinner = new Gtk.Spinner();
        this.status = new Gtk.Label({xalign: 0, hexpand: true, label: 'Pick a workload and press Run.'});
        // Ticks while the main loop runs: it keeps counting during a run.
        this.heartbeat = new Gtk.Label({label: '♥ 0', css_classes: ['dim-label']});
        statusRow.append(this.spinner);
        statusRow.append(this.status);
        statusRow.append(this.heartbeat);
        box.append(statusRow);

        const panes = new Gtk.Paned({orientation: Gtk.Orientation.HORIZONTAL, vexpand: true,
            position: 280});
        this.results = new Gtk.ListBox({selection_mode: Gtk.SelectionMode.NONE});
        panes.set_start_child(this._frame('Results',
            new Gtk.ScrolledWindow({child: this.results, vexpand: true})));

        this.cacheView = new Gtk.ColumnView({show_row_separators: true});
        this.cacheView.append_column(textColumn('function', e => e.function_name));
        this.cacheView.append_column(textColumn('arguments', e => e.input_args ?? '', true));
        this.cacheView.append_column(textColumn('size', e => formatSize(e.size)));
        this.cacheView.append_column(textColumn('age', e =>
            formatAge((GLib.get_real_time() / 1e6) - e.created.to_unix())));
        const cacheBox = new Gtk.Box({orientation: Gtk.Orientation.VERTICAL, spacing: 6});
        cacheBox.append(new Gtk.ScrolledWindow({child: this.cacheView, vexpand: true}));
        const cacheRow = new Gtk.Box({spacing: 8});
        this.cacheSummary = new Gtk.Label({xalign: 0, hexpand: true});
        this.clearButton = new Gtk.Button({label: 'Clear cache'});
        cacheRow.append(this.cacheSummary);
        cacheRow.append(this.clearButton);
        cacheBox.append(cacheRow);
        panes.set_end_child(this._frame('Memory cache', cacheBox));
        box.append(panes);

        this.runButton.connect('clicked', () => this.run().catch(logError));
        this.cancelButton.connect('clicked', () => this.cancellable?.cancel());
        this.clearButton.connect('clicked', () => {
            this.memory.clear();
            this.refreshCache();
        });
        GLib.timeout_add(GLib.PRIORITY_DEFAULT, 100, () => {
            this.heartbeat.label = `♥ ${++this.heartbeats}`;
            return GLib.SOURCE_CONTINUE;
        });
        this.refreshCache();
    }

    _frame(title, child) {
        const frame = new Gtk.Box({orientation: Gtk.Orientation.VERTICAL, spacing: 4});
        frame.append(new Gtk.Label({label: `<b>${title}</b>`, use_markup: true, xalign: 0}));
        frame.append(child);
        return frame;
    }

    refreshCache() {
        const entries = this.memory.list_entries();
        this.cacheView.model = new Gtk.NoSelection({model: entries});
        let bytes = 0;
        for (let i = 0; i < entries.get_n_items(); i++)
            bytes += entries.get_item(i).size;
        this.cacheSummary.label = `${entries.get_n_items()} entries, ${formatSize(bytes)}`;
    }

    /** Runs the selected workload; resolves to {state, done, total, results}. */
    async run() {
        const workload = WORKLOADS[this.workload.selected];
        const nJobs = this.nJobs.get_value_as_int();
        const {fn, inputs} = await workload.make(this.memory);
        const results = new Array(inputs.length).fill(null);
        const start = GLib.get_monotonic_time();
        let done = 0, progressEvents = 0;

        this.cancellable = new Gio.Cancellable();
        this.runButton.sensitive = false;
        this.cancelButton.sensitive = true;
        this.spinner.start();
        this.progress.fraction = 0;
        this.progress.text = `0 / ${inputs.length}`;
        let child;
        while ((child = this.results.get_first_child()) !== null)
            this.results.remove(child);
        this.status.label = `Running ${workload.id} with n_jobs=${nJobs} on ${workload.backend}…`;

        let state = 'finished';
        try {
            await map(fn, inputs, {
                nJobs, backend: workload.backend, batchSize: workload.backend === 'threading' ? 1 : 0,
                onProgress: (d, total) => {
                    done = d;
                    progressEvents++;
                    this.progress.fraction = total > 0 ? d / total : 0;
                    this.progress.text = `${d} / ${total}`;
                    if (this.options.cancelAfter > 0 && d >= this.options.cancelAfter)
                        this.cancellable.cancel();
                },
                onResult: (index, value) => {
                    results[index] = value.deepUnpack();
                    const shown = workload.show(Number(results[index]));
                    this.results.append(new Gtk.Label({xalign: 0,
                        label: `task ${index} → ${shown}`}));
                },
            }, this.cancellable);
        } catch (e) {
            state = e.matches?.(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED) ? 'cancelled' : 'failed';
            if (state === 'failed')
                this.status.label = `Failed: ${e.message}`;
        }
        const seconds = (GLib.get_monotonic_time() - start) / 1e6;
        if (state !== 'failed')
            this.status.label = `${state}: ${done} of ${inputs.length} in ${seconds.toFixed(2)} s`;
        this.spinner.stop();
        this.runButton.sensitive = true;
        this.cancelButton.sensitive = false;
        this.cancellable = null;
        this.refreshCache();
        return {state, done, total: inputs.length, progressEvents, seconds, results};
    }

    /** Saves the window as drawn by its own renderer: works headless. */
    screenshot(path) {
        const width = this.window.get_width(), height = this.window.get_height();
        const paintable = new Gtk.WidgetPaintable({widget: this.window});
        const snapshot = new Gtk.Snapshot();
        paintable.snapshot(snapshot, width, height);
        const node = snapshot.to_node();
        const texture = this.window.get_native().get_renderer().render_texture(node, null);
        if (!texture.save_to_png(path))
            throw new Error(`cannot write ${path}`);
    }
}

function waitFrames(widget, n) {
    return new Promise(resolve => {
        let left = n;
        widget.add_tick_callback(() => {
            if (--left > 0)
                return GLib.SOURCE_CONTINUE;
            resolve();
            return GLib.SOURCE_REMOVE;
        });
    });
}

async function drive(demo, app, options) {
    demo.workload.selected = WORKLOADS.findIndex(w => w.id === options.run);
    const outcome = await demo.run();
    print(`${outcome.state}: ${outcome.done} of ${outcome.total}, ${outcome.progressEvents} progress events, ` +
        `${demo.heartbeats} heartbeats, results ${JSON.stringify(outcome.results)}`);
    if (options.screenshot) {
        await waitFrames(demo.window, 3);
        demo.screenshot(options.screenshot);
        print(`screenshot: ${options.screenshot}`);
    }
    const expected = options.cancelAfter > 0 ? 'cancelled' : 'finished';
    if (options.quitAfterRun) {
        app.exitStatus = outcome.state === expected ? 0 : 1;
        app.quit();
    }
}

function main(argv) {
    let options;
    try {
        options = parseOptions(argv);
    } catch (e) {
        printerr(`joblib-gtk-demo: ${e.message}`);
        return 2;
    }
    const app = new Gtk.Application({application_id: 'org.gnome.JoblibGlib.Demo',
        flags: Gio.ApplicationFlags.NON_UNIQUE});
    app.exitStatus = 0;
    app.connect('activate', () => {
        const demo = new DemoWindow(app, options);
        demo.window.present();
        if (options.run !== null) {
            waitFrames(demo.window, 2).then(() => drive(demo, app, options)).catch(e => {
                printerr(`joblib-gtk-demo: ${e.message}\n${e.stack}`);
                app.exitStatus = 1;
                app.quit();
            });
        }
    });
    app.run([System.programInvocationName]);
    return app.exitStatus;
}

System.exit(main(ARGV));
