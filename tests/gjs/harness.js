// SPDX-License-Identifier: LGPL-2.1-or-later
// Shared by the GJS tests: assertions that count, and a runner
// for an async main() under a GLib.MainLoop (no top-level await: a module
// still evaluating cannot run the promise jobs that the loop waits for).
import GLib from 'gi://GLib';
import System from 'system';

let checks = 0;

export function assert(condition, what) {
    if (!condition)
        throw new Error(`assertion failed: ${what}`);
    checks++;
}

export function assertEqual(actual, expected, what) {
    const a = JSON.stringify(actual), e = JSON.stringify(expected);
    assert(a === e, `${what}: expected ${e}, got ${a}`);
}

/** Resolves to what the promise rejects with, or null if it resolves. */
export async function rejection(promise) {
    try {
        await promise;
    } catch (e) {
        return e;
    }
    return null;
}

/** Runs main() in a main loop; exits 1 with the failure, else prints ok. */
export function runMain(main) {
    const loop = new GLib.MainLoop(null, false);
    let failure = null;
    main().catch(e => {
        failure = e;
    }).finally(() => loop.quit());
    loop.run();
    if (failure) {
        printerr(`FAIL: ${failure}\n${failure.stack ?? ''}`);
        System.exit(1);
    }
    print(`ok ${checks} checks`);
}
