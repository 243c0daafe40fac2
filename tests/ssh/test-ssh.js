// SPDX-License-Identifier: LGPL-2.1-or-later
// The SSH backend from GJS: JS functions of a module file run in GJS
// workers started over ssh (run through tests/ssh/with-sshd.sh).
import GLib from 'gi://GLib';
import Joblib from 'gi://Joblib';

import {assert, assertEqual, rejection, runMain} from '../gjs/harness.js';
import {gjsFunction, map} from '../../bindings/gjs/joblib.js';

const MODULE = GLib.build_filenamev([GLib.getenv('G_TEST_SRCDIR') ?? '.', 'gjs', 'tasks-module.js']);

function sshBackend(hosts) {
    return new Joblib.SshBackend({
        hosts, listenAddress: '127.0.0.1',
        sshCommand: ['ssh', '-F', GLib.getenv('JOB_SSH_TEST_CONFIG')],
    });
}

async function main() {
    const backend = sshBackend(['joblib-a:2', 'joblib-b']);
    const square = await gjsFunction(MODULE, 'square');
    const inputs = [...Array(20).keys()];

    assertEqual(await map(square, inputs, {nJobs: 3, backend}), inputs.map(x => x * x),
        'JS tasks over ssh, in input order');
    const failOnTwo = await gjsFunction(MODULE, 'failOnTwo');
    const caught = await rejection(map(failOnTwo, [0, 1, 2, 3], {nJobs: 3, backend}));
    assert(caught instanceof Error && `${caught}`.includes('two is out of range'),
        `a task's error reaches the caller: ${caught}`);
    backend.shutdown();

    const nowhere = sshBackend(['x:0']);
    const bad = await rejection(map(square, [1, 2], {nJobs: 2, backend: nowhere}));
    assert(bad instanceof GLib.Error &&
           bad.matches(Joblib.error_quark(), Joblib.Error.INVALID_ARGUMENT),
        `a bad host is INVALID_ARGUMENT: ${bad}`);
}

runMain(main);
