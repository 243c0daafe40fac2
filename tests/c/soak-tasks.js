// SPDX-License-Identifier: LGPL-2.1-or-later
// The soak test's task for the GJS worker (test-soak.c).

/** `size` bytes of value x mod 256. */
export function payload(x, size) {
    return new Uint8Array(size).fill(x & 0xff);
}
