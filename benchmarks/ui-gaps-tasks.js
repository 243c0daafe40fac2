// SPDX-License-Identifier: LGPL-2.1-or-later
// The task of benchmarks/ui-gaps-gjs.js, a module file so that GJS worker
// processes can import it (gjsFunction).
import GLib from 'gi://GLib';

const decoder = new TextDecoder();

// ns this thread has run on a CPU (GJS has no thread CPU clock)
function threadCpuNs() {
    const [, bytes] = GLib.file_get_contents('/proc/thread-self/schedstat');
    return Number(decoder.decode(bytes).split(' ')[0]);
}

/** Uses msec milliseconds of CPU time (the same work on a loaded
 *  machine); returns msec. The CPU time is read every 100 µs only: each
 *  read makes garbage, whose collection would hold the main loop too. */
export function spin(msec) {
    const end = threadCpuNs() + msec * 1e6;
    for (;;) {
        const until = GLib.get_monotonic_time() + 100;
        while (GLib.get_monotonic_time() < until)
            ;
        if (threadCpuNs() >= end)
            return msec;
    }
}
