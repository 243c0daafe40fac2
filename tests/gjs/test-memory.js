// SPDX-License-Identifier: LGPL-2.1-or-later
// JobMemory from GJS through the typelib: a JS closure cached on
// disk, called synchronously and asynchronously on the main thread.
imports.gi.versions.Joblib = '1.0';
const {GLib, Joblib} = imports.gi;

function assert(condition, what) {
    if (!condition)
        throw new Error(`assertion failed: ${what}`);
}

const dir = GLib.dir_make_tmp('job-gjs-memory-XXXXXX');
const computed = [];
const square = Joblib.Function.new('square', args => {
    const [x] = args.deepUnpack();
    computed.push(x);
    return new GLib.Variant('x', x * x);
});
// GJS refuses calls from other threads.
square.set_main_thread_only(true);

const memory = Joblib.Memory.new_for_path(dir);
const cached = memory.cache(square, null);
assert(cached.get_main_thread_only(), 'the cached function stays main-thread-only');

const args = new GLib.Variant('(x)', [7]);
assert(!cached.check_call_in_cache(args), 'not cached yet');
assert(cached.call(args, null).deepUnpack() === 49, 'first call computes');
assert(cached.call(new GLib.Variant('(x)', [7]), null).deepUnpack() === 49, 'second call hits');
assert(computed.length === 1, `computed once, got ${computed}`);
assert(cached.check_call_in_cache(args), 'cached now');

const loop = new GLib.MainLoop(null, false);
let asyncResult = null;
cached.call_async(new GLib.Variant('(x)', [8]), null, (source, result) => {
    asyncResult = source.call_finish(result).deepUnpack();
    loop.quit();
});
loop.run();
assert(asyncResult === 64, 'async call');
assert(computed.length === 2, 'async call computed');

const entries = memory.list_entries();
assert(entries.get_n_items() === 2, 'two entries');
const hashes = [0, 1].map(i => entries.get_item(i).args_hash);
assert(hashes.includes(cached.get_args_hash(args)), 'entry hash matches');

memory.clear();
assert(!cached.check_call_in_cache(args), 'cleared');
assert(memory.list_entries().get_n_items() === 0, 'no entry listed once clear returns');
// the files go on a background thread: wait for the space to come back
memory.wait_reclaimed();
assert(GLib.rmdir(dir) === 0, "clear leaves the location empty");
print("ok");
