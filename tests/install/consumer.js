// SPDX-License-Identifier: LGPL-2.1-or-later
// Run with the installed typelib on GI_TYPELIB_PATH: the JS helpers come
// from the library's resources (no file path), the tasks run in GJS
// worker processes started from the installed prefix.
import GLib from 'gi://GLib';
import Joblib from 'gi://Joblib';
import System from 'system';

// The library registers its resources when it is loaded: touch a type,
// then import the helpers from there.
void Joblib.Parallel.$gtype;
const {gjsFunction, map} = await import('resource:///org/gnome/JoblibGlib/js/joblib.js');

const here = GLib.path_get_dirname(GLib.filename_from_uri(import.meta.url)[0]);
const squares = await map(x => x * x, [1, 2, 3], {nJobs: 2});
if (JSON.stringify(squares) !== '[1,4,9]') {
    printerr(`threads: ${squares}`);
    System.exit(1);
}
const cube = await gjsFunction(GLib.build_filenamev([here, 'consumer-tasks.js']), 'cube');
const cubes = await map(cube, [1, 2, 3, 4], {nJobs: 2, backend: 'processes'});
if (JSON.stringify(cubes) !== '[1,8,27,64]') {
    printerr(`processes: ${cubes}`);
    System.exit(1);
}
print('gjs ok');
