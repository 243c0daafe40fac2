// SPDX-License-Identifier: LGPL-2.1-or-later
// A module the installed GJS worker imports (consumer.js).
export function cube(x) {
    return x * x * x;
}
