// SPDX-License-Identifier: LGPL-2.1-or-later
// The joblib tutorial's Memory part in Vala: a function cached on disk,
// computed once and then read back, with "yield call_async", the cache
// entries listed (GListModel of Joblib.CacheEntry) and cleared.
// Exits 1 if the cache misbehaves.

int computed = 0;

Variant? slow_square (Variant args, Cancellable? cancellable) throws Error {
    int64 x;
    args.get ("(x)", out x);
    computed++;
    Thread.usleep (100000);
    return new Variant.int64 (x * x);
}

async int run (string location) {
    var memory = new Joblib.Memory.for_path (location);
    var cached = memory.cache (new Joblib.Function ("slow_square", slow_square));

    try {
        for (int round = 0; round < 2; round++) {
            var timer = new Timer ();
            var value = yield cached.call_async (new Variant ("(x)", (int64) 12));
            print ("round %d: %lld in %.3f s (computed %d times)\n",
                   round, value.get_int64 (), timer.elapsed (), computed);
            if (value.get_int64 () != 144)
                return 1;
        }
        if (computed != 1 || !cached.check_call_in_cache (new Variant ("(x)", (int64) 12)))
            return 1;

        var entries = memory.list_entries ();
        for (uint i = 0; i < entries.get_n_items (); i++) {
            var entry = (Joblib.CacheEntry) entries.get_item (i);
            print ("entry %s/%s: %llu bytes, args %s\n", entry.get_function_name (),
                   entry.get_args_hash (), entry.get_size (), entry.input_args);
        }
        if (entries.get_n_items () != 1)
            return 1;

        memory.clear ();
        if (memory.list_entries ().get_n_items () != 0)
            return 1;
    } catch (Error e) {
        printerr ("%s\n", e.message);
        return 1;
    }
    return 0;
}

int main (string[] args) {
    string location;
    try {
        location = args.length > 1 ? args[1] : DirUtils.make_tmp ("joblib-vala-XXXXXX");
    } catch (FileError e) {
        printerr ("%s\n", e.message);
        return 1;
    }
    var loop = new MainLoop ();
    int status = 1;
    run.begin (location, (obj, res) => {
        status = run.end (res);
        loop.quit ();
    });
    loop.run ();
    DirUtils.remove (location);
    return status;
}
