// SPDX-License-Identifier: LGPL-2.1-or-later
// Parallel on a remote backend from Vala, against the VAPI: run by the
// SSH tests (tests/ssh/with-sshd.sh: JOB_SSH_TEST_CONFIG), and by the
// cluster tests on their running Dask cluster (JOB_TEST_DASK_SCHEDULER)
// or IPython Parallel cluster (JOB_TEST_IPP_URL_FILE). Native tasks from
// JOB_TEST_TASKS_MODULE. Exits nonzero on any failure; 77 (skipped)
// when started without any of them.

int failures = 0;

void check (bool condition, string what) {
    if (condition) {
        print ("ok - %s\n", what);
    } else {
        failures++;
        print ("not ok - %s\n", what);
    }
}

Joblib.RemoteBackend? new_backend () {
    var ssh_config = Environment.get_variable ("JOB_SSH_TEST_CONFIG");
    var scheduler = Environment.get_variable ("JOB_TEST_DASK_SCHEDULER");
    var url_file = Environment.get_variable ("JOB_TEST_IPP_URL_FILE");
    Joblib.RemoteBackend backend;

    if (ssh_config != null) {
        var ssh = new Joblib.SshBackend ({ "joblib-a:2", "joblib-b" });
        ssh.ssh_command = { "ssh", "-F", ssh_config };
        backend = ssh;
    } else if (scheduler != null) {
        backend = new Joblib.DaskBackend (scheduler);
    } else if (url_file != null) {
        backend = new Joblib.IpyparallelBackend (url_file);
    } else {
        return null;
    }
    backend.listen_address = "127.0.0.1";
    return backend;
}

Joblib.Call[] square_calls (Joblib.Function square, int n) {
    Joblib.Call[] calls = {};
    for (int i = 0; i < n; i++)
        calls += new Joblib.Call (square, new Variant ("(x)", (int64) i));
    return calls;
}

// A backend that cannot run anything fails the run with a clear error.
void check_bad_input (Joblib.Function square) {
    Joblib.Backend bad;
    string what;

    if (Environment.get_variable ("JOB_SSH_TEST_CONFIG") != null) {
        bad = new Joblib.SshBackend ({ "x:0" });
        what = "an SSH host with 0 workers";
    } else if (Environment.get_variable ("JOB_TEST_DASK_SCHEDULER") != null) {
        Environment.unset_variable ("DASK_SCHEDULER_ADDRESS");
        bad = new Joblib.DaskBackend (null);
        what = "a Dask backend without a scheduler";
    } else {
        bad = new Joblib.IpyparallelBackend (Environment.get_variable ("JOB_TEST_IPP_URL_FILE"));
        what = "a run on 0 engines";
    }
    var parallel = new Joblib.Parallel (2);
    parallel.set_backend (bad);
    try {
        if (bad is Joblib.IpyparallelBackend)
            bad.configure (0);
        else
            parallel.run (square_calls (square, 2));
        check (false, what + " fails");
    } catch (Joblib.Error.INVALID_ARGUMENT e) {
        check (true, what + " is Joblib.Error.INVALID_ARGUMENT: " + e.message);
    } catch (GLib.Error e) {
        check (false, "wrong error for " + what + ": " + e.message);
    }
    bad.shutdown ();
}

int main () {
    var backend = new_backend ();
    if (backend == null) {
        printerr ("SKIP: no SSH server or cluster to run on\n");
        return 77;
    }
    var square = new Joblib.Function.for_symbol (Environment.get_variable ("JOB_TEST_TASKS_MODULE"),
                                                 "task_square", null);

    var parallel = new Joblib.Parallel (-1);
    parallel.set_backend (backend);
    parallel.set_batch_size (1);
    try {
        var results = parallel.run (square_calls (square, 30));
        bool ordered = results.length == 30;
        for (int i = 0; ordered && i < results.length; i++)
            ordered = results[i].get_int64 () == (int64) i * i;
        check (ordered, "30 squares in input order on " + backend.get_type ().name ());
    } catch (GLib.Error e) {
        check (false, "the run failed: " + e.message);
    }
    check (backend.max_retries == 2, "max-retries comes from the remote base");
    backend.shutdown ();

    check_bad_input (square);
    return failures == 0 ? 0 : 1;
}
