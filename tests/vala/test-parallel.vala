// SPDX-License-Identifier: LGPL-2.1-or-later
// JobParallel from Vala, compiled against the generated VAPI: closures as
// JobFuncs, "yield parallel.run_async (...)" in a main loop, and errors as
// Vala error domains. Exits nonzero on any failure.

int failures = 0;

void check (bool condition, string what) {
    if (condition) {
        print ("ok - %s\n", what);
    } else {
        failures++;
        print ("not ok - %s\n", what);
    }
}

Joblib.Call[] make_calls (Joblib.Function function, int n) {
    Joblib.Call[] calls = {};
    for (int i = 0; i < n; i++)
        calls += new Joblib.Call (function, new Variant ("(i)", i));
    return calls;
}

async void run_tests () {
    var add_one = new Joblib.Function ("add_one", (args, cancellable) => {
        int32 x;
        args.get ("(i)", out x);
        return new Variant.int32 (x + 1);
    });
    var parallel = new Joblib.Parallel (2);

    try {
        var results = yield parallel.run_async (make_calls (add_one, 200), null);
        bool ordered = results.length == 200;
        for (int i = 0; ordered && i < results.length; i++)
            ordered = results[i].get_int32 () == i + 1;
        check (ordered, "yield run_async gives the 200 results in input order");
    } catch (GLib.Error e) {
        check (false, "run_async failed: " + e.message);
    }

    uint progress_done = 0;
    int progress_total = 0;
    parallel.progress.connect ((done, total) => {
        progress_done = done;
        progress_total = total;
    });
    try {
        yield parallel.run_async (make_calls (add_one, 10), null);
        check (progress_done == 10 && progress_total == 10, "progress reaches 10 of 10");
    } catch (GLib.Error e) {
        check (false, "run_async failed: " + e.message);
    }

    var failing = new Joblib.Function ("failing", (args, cancellable) => {
        int32 x;
        args.get ("(i)", out x);
        if (x == 5)
            throw new IOError.NOT_FOUND ("five is missing");
        return new Variant.int32 (x);
    });
    try {
        yield parallel.run_async (make_calls (failing, 20), null);
        check (false, "a task error fails the run");
    } catch (IOError.NOT_FOUND e) {
        check ("task 5 (failing)" in e.message && "five is missing" in e.message,
               "the task's IOError.NOT_FOUND arrives, naming the task: " + e.message);
    } catch (GLib.Error e) {
        check (false, "wrong error: " + e.message);
    }

    parallel.set_n_jobs (0);
    try {
        yield parallel.run_async (make_calls (add_one, 2), null);
        check (false, "n_jobs = 0 fails");
    } catch (Joblib.Error.INVALID_ARGUMENT e) {
        check (true, "n_jobs = 0 is Joblib.Error.INVALID_ARGUMENT");
    } catch (GLib.Error e) {
        check (false, "wrong error for n_jobs = 0: " + e.message);
    }

    var cancellable = new Cancellable ();
    cancellable.cancel ();
    parallel.set_n_jobs (2);
    try {
        yield parallel.run_async (make_calls (add_one, 10), cancellable);
        check (false, "a cancelled run fails");
    } catch (IOError.CANCELLED e) {
        check (true, "a cancelled run is IOError.CANCELLED");
    } catch (GLib.Error e) {
        check (false, "wrong error for a cancelled run: " + e.message);
    }
}

int main (string[] args) {
    var loop = new MainLoop ();
    run_tests.begin ((obj, res) => {
        run_tests.end (res);
        loop.quit ();
    });
    loop.run ();
    print ("%s\n", failures == 0 ? "# all passed" : "# %d failed".printf (failures));
    return failures == 0 ? 0 : 1;
}
