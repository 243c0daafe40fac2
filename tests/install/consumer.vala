// SPDX-License-Identifier: LGPL-2.1-or-later
// Built with nothing but `valac --pkg joblib-glib-1.0` against the
// installed VAPI: ten calls on two threads, results in order.
Variant? twice (Variant args, Cancellable? cancellable) throws Error {
    int32 x;
    args.get ("(i)", out x);
    return new Variant.int32 (2 * x);
}

int main () {
    var function = new Joblib.Function ("twice", twice);
    var parallel = new Joblib.Parallel (2);
    parallel.backend_name = "threading";
    Joblib.Call[] calls = {};
    for (int i = 0; i < 10; i++)
        calls += new Joblib.Call (function, new Variant ("(i)", i));
    try {
        var results = parallel.run (calls);
        for (int i = 0; i < results.length; i++)
            if (results[i].get_int32 () != 2 * i) {
                printerr ("wrong result at %d\n", i);
                return 1;
            }
    } catch (Error e) {
        printerr ("%s\n", e.message);
        return 1;
    }
    print ("vala ok\n");
    return 0;
}
