// SPDX-License-Identifier: LGPL-2.1-or-later
// The tutorial's task, in its own module so that GJS worker processes can
// import it (tutorial.js is still evaluating while its main loop runs).
import GLib from 'gi://GLib';

export function myFunction(i) {
    // Simulate a long computation; a real one could be an SVD.
    GLib.usleep(GLib.getenv('JOB_EXAMPLE_QUICK') ? 10000 : 500000);
    return i;
}
