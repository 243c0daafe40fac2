// SPDX-License-Identifier: LGPL-2.1-or-later
// The Dask and IPython Parallel backends from GJS: JS functions of a
// module file run in GJS workers on the cluster that the Python test
// started (JOB_TEST_DASK_SCHEDULER or JOB_TEST_IPP_URL_FILE).
import GLib from 'gi://GLib';
import Joblib from 'gi://Joblib';

import {assert, assertEqual, rejection, runMain} from '../gjs/harness.js';
import {gjsFunction, map} from '../../bindings/gjs/joblib.js';

const MODULE = GLib.build_filenamev([GLib.getenv('G_TEST_SRCDIR') ?? '.', 'gjs', 'tasks-module.js']);
const SCHEDULER = GLib.getenv('JOB_TEST_DASK_SCHEDULER');

function clusterBackend() {
    const backend = SCHEDULER !== null
        ? new Joblib.DaskBackend({schedulerAddress: SCHEDULER})
        : new Joblib.IpyparallelBackend({urlFile: GLib.getenv('JOB_TEST_IPP_URL_FILE')});
    backend.listenAddress = '127.0.0.1';
    return backend;
}

async function main() {
    const backend = clusterBackend();
    const square = await gjsFunction(MODULE, 'square');
    const inputs = [...Array(20).keys()];

    assert(backend instanceof Joblib.RemoteBackend, 'a remote backend');
    assertEqual(await map(square, inputs, {nJobs: 2, backend}), inputs.map(x => x * x),
        'JS tasks on the cluster, in input order');
    const failOnTwo = await gjsFunction(MODULE, 'failOnTwo');
    const caught = await rejection(map(failOnTwo, [0, 1, 2, 3], {nJobs: 2, backend}));
    assert(caught instanceof Error && `${caught}`.includes('two is out of range'),
        `a task's error reaches the caller: ${caught}`);
    backend.shutdown();

    let bad;
    if (SCHEDULER !== null) {
        GLib.unsetenv('DASK_SCHEDULER_ADDRESS');
        bad = await rejection(map(square, [1, 2], {nJobs: 2, backend: new Joblib.DaskBackend()}));
    } else {
        try {
            clusterBackend().configure(0);
            bad = null;
        } catch (e) {
            bad = e;
        }
    }
    assert(bad instanceof GLib.Error &&
           bad.matches(Joblib.error_quark(), Joblib.Error.INVALID_ARGUMENT),
        `no scheduler, or 0 workers, is INVALID_ARGUMENT: ${bad}`);
}

runMain(main);
