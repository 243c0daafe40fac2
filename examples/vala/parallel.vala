// SPDX-License-Identifier: LGPL-2.1-or-later
// The joblib tutorial's Parallel part in Vala: ten calls of a slow
// function on two threads with "yield run_async", a progress bar on the
// `progress` signal, results as they complete on `result`, and a task
// error caught as its own error domain. Exits 1 if a result is wrong.

Variant? my_function (Variant args, Cancellable? cancellable) throws Error {
    int32 i;
    args.get ("(i)", out i);
    Thread.usleep (50000);
    if (i < 0)
        throw new Joblib.Error.INVALID_ARGUMENT ("negative input %d", i);
    return new Variant.int32 (i * i);
}

async int run () {
    var function = new Joblib.Function ("my_function", my_function);
    var parallel = new Joblib.Parallel (2);
    parallel.backend_name = "threading";

    Joblib.Call[] calls = {};
    for (int i = 0; i < 10; i++)
        calls += new Joblib.Call (function, new Variant ("(i)", i));

    parallel.progress.connect ((done, total) => {
        print ("progress %u/%d\n", done, total);
    });
    var arrived = 0;
    parallel.result.connect ((index, value) => {
        arrived++;
    });

    try {
        var results = yield parallel.run_async (calls);
        string[] text = {};
        for (int i = 0; i < results.length; i++)
            text += results[i].get_int32 ().to_string ();
        print ("results: [%s] (%d arrived one by one)\n", string.joinv (", ", text), arrived);
        for (int i = 0; i < results.length; i++)
            if (results[i].get_int32 () != i * i)
                return 1;
        if (arrived != 10)
            return 1;
    } catch (Error e) {
        printerr ("run failed: %s\n", e.message);
        return 1;
    }

    calls += new Joblib.Call (function, new Variant ("(i)", -1));
    try {
        yield parallel.run_async (calls);
        return 1;
    } catch (Joblib.Error.INVALID_ARGUMENT e) {
        print ("caught: %s\n", e.message);
    } catch (Error e) {
        printerr ("wrong error: %s\n", e.message);
        return 1;
    }
    return 0;
}

int main () {
    var loop = new MainLoop ();
    int status = 1;
    run.begin ((obj, res) => {
        status = run.end (res);
        loop.quit ();
    });
    loop.run ();
    return status;
}
