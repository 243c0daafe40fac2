// SPDX-License-Identifier: LGPL-2.1-or-later
// The task of gjs-tasks.js, run in GJS worker processes (a "gjs"
// reference names this file and its export).

export function addOne(x) {
    return x + 1;
}
