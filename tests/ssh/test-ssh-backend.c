/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* JobSshBackend against a real sshd: run through tests/ssh/with-sshd.sh,
 * which starts a private server on 127.0.0.1 and describes it in
 * JOB_SSH_TEST_* (two Host aliases of it, joblib-a and joblib-b, and an
 * alias whose port nobody listens on). The "remote" workers are
 * processes of this machine, so the test can look at them by pid. */

#include <errno.h>
#include <signal.h>
#include <string.h>

#include <glib/gstdio.h>
#include <joblib-glib.h>

#define WAIT_SECONDS 30

static JobFunction *
task (const char *symbol)
{
  return job_function_new_for_symbol (g_getenv ("JOB_TEST_TASKS_MODULE"), symbol, NULL);
}

static JobSshBackend *
new_backend (const char * const *hosts)
{
  const char * const ssh[] = { "ssh", "-F", g_getenv ("JOB_SSH_TEST_CONFIG"), NULL };
  JobSshBackend *backend = job_ssh_backend_new (hosts);

  g_object_set (backend, "ssh-command", ssh, "listen-address", "127.0.0.1", NULL);
  return backend;
}

static JobParallel *
new_parallel (JobSshBackend *backend)
{
  JobParallel *parallel = job_parallel_new (-1);

  job_parallel_set_backend (parallel, JOB_BACKEND (backend));
  job_parallel_set_batch_size (parallel, 1);
  return parallel;
}

static GPtrArray *
calls_of (JobFunction *function,
          guint        n,
          GVariant  *(*args_of) (guint))
{
  GPtrArray *calls = g_ptr_array_new_with_free_func ((GDestroyNotify) job_call_unref);

  for (guint i = 0; i < n; i++)
    g_ptr_array_add (calls, job_call_new (function, args_of (i)));
  return calls;
}

static GVariant *
square_args (guint i)
{
  return g_variant_new ("(x)", (gint64) i);
}

static GVariant *
node_args (guint i)
{
  return g_variant_new ("(s)", "JOB_WORKER_NODE");
}

static gboolean
pid_exists (int pid)
{
  g_assert_cmpint (pid, >, 1);
  return kill (pid, 0) == 0 || errno != ESRCH;
}

/* Processes of this machine whose command line holds @needle. */
static guint
count_processes_with (const char *needle)
{
  g_autoptr(GDir) proc = g_dir_open ("/proc", 0, NULL);
  const char *name;
  guint n = 0;

  while ((name = g_dir_read_name (proc)) != NULL)
    {
      g_autofree char *path = NULL;
      g_autofree char *cmdline = NULL;
      gsize length;

      if (!g_ascii_isdigit (name[0]) || atoi (name) == getpid ())
        continue;
      path = g_build_filename ("/proc", name, "cmdline", NULL);
      if (!g_file_get_contents (path, &cmdline, &length, NULL))
        continue;
      for (gsize i = 0; i + 1 < length; i++)
        if (cmdline[i] == '\0')
          cmdline[i] = ' ';
      n += strstr (cmdline, needle) != NULL;
    }
  return n;
}

/* Results in input order, computed on both hosts. */
static void
test_order_two_hosts (void)
{
  const char * const hosts[] = { "joblib-a:2", "joblib-b:2", NULL };
  g_autoptr(JobSshBackend) backend = new_backend (hosts);
  g_autoptr(JobParallel) parallel = new_parallel (backend);
  g_autoptr(JobFunction) square = task ("task_square");
  g_autoptr(JobFunction) node = task ("task_getenv");
  g_autoptr(GPtrArray) calls = calls_of (square, 40, square_args);
  g_autoptr(GPtrArray) node_calls = calls_of (node, 4, node_args);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GPtrArray) nodes = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree int *pids = NULL;
  guint n_pids = 0;

  g_assert_cmpint (job_backend_effective_n_jobs (JOB_BACKEND (backend), 1), ==, 4);
  g_assert_true (job_ssh_backend_start_workers (backend, "native", 4, WAIT_SECONDS, &error));
  g_assert_no_error (error);

  results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (results->len, ==, 40);
  for (guint i = 0; i < results->len; i++)
    g_assert_cmpint (g_variant_get_int64 (g_ptr_array_index (results, i)), ==, (gint64) i * i);
  /* The workers said hello: their pids, on their host (this machine). */
  pids = job_ssh_backend_get_worker_pids (backend, &n_pids);
  g_assert_cmpuint (n_pids, ==, 4);
  for (guint i = 0; i < n_pids; i++)
    g_assert_true (pid_exists (pids[i]));

  /* Four calls on four idle workers: one each, two per host. */
  nodes = job_parallel_run (parallel, (JobCall **) node_calls->pdata, node_calls->len, NULL,
                            &error);
  g_assert_no_error (error);
  for (guint i = 0; i < nodes->len; i++)
    g_hash_table_add (seen, (gpointer) g_variant_get_string (g_ptr_array_index (nodes, i), NULL));
  g_assert_cmpuint (g_hash_table_size (seen), ==, 2);
  g_assert_true (g_hash_table_contains (seen, "joblib-a"));
  g_assert_true (g_hash_table_contains (seen, "joblib-b"));

  job_backend_shutdown (JOB_BACKEND (backend));
  for (guint i = 0; i < n_pids; i++)
    g_assert_false (pid_exists (pids[i]));
}

typedef struct
{
  JobSshBackend *backend;
  GMainLoop     *loop;
  GPtrArray     *results;
  GError        *error;
  int            killed;
} Run;

static void
on_run_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Run *run = user_data;

  run->results = job_parallel_run_finish (JOB_PARALLEL (source), result, &run->error);
  g_main_loop_quit (run->loop);
}

/* The first result: a worker is killed while the others are busy. */
static void
on_result (JobParallel *parallel,
           guint        index,
           GVariant    *value,
           gpointer     user_data)
{
  Run *run = user_data;
  g_autofree int *pids = NULL;
  guint n_pids = 0;

  if (run->killed != 0)
    return;
  pids = job_ssh_backend_get_worker_pids (run->backend, &n_pids);
  g_assert_cmpuint (n_pids, >, 0);
  g_assert_cmpint (pids[0], >, 1);
  run->killed = pids[0];
  g_assert_cmpint (kill (pids[0], SIGKILL), ==, 0);
}

/* A worker killed in the middle of a run: its tasks run again on the
 * others (or on its replacement), and the run succeeds. */
static void
test_worker_killed (void)
{
  const char * const hosts[] = { "joblib-a", "joblib-b", NULL };
  g_autoptr(JobSshBackend) backend = new_backend (hosts);
  g_autoptr(JobParallel) parallel = new_parallel (backend);
  g_autoptr(JobFunction) sleeper = task ("task_sleep");
  g_autoptr(GPtrArray) calls = g_ptr_array_new_with_free_func ((GDestroyNotify) job_call_unref);
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GError) error = NULL;
  g_autofree int *pids = NULL;
  Run run = { backend, loop, NULL, NULL, 0 };
  guint n_pids = 0;

  for (guint i = 0; i < 8; i++)
    g_ptr_array_add (calls, job_call_new (sleeper, g_variant_new ("(d)", 0.3)));
  g_assert_true (job_ssh_backend_start_workers (backend, "native", 2, WAIT_SECONDS, &error));
  g_assert_no_error (error);

  g_signal_connect (parallel, "result", G_CALLBACK (on_result), &run);
  job_parallel_run_async (parallel, (JobCall **) calls->pdata, calls->len, NULL,
                          on_run_done, &run);
  g_main_loop_run (loop);
  g_assert_no_error (run.error);
  g_assert_cmpuint (run.results->len, ==, 8);
  g_assert_cmpint (run.killed, >, 0);
  g_assert_false (pid_exists (run.killed));
  /* Every task has a worker's pid, and the killed worker answered none
   * of the tasks that were still running when it died. */
  for (guint i = 0; i < run.results->len; i++)
    g_assert_cmpint (g_variant_get_int64 (g_ptr_array_index (run.results, i)), >, 0);
  pids = job_ssh_backend_get_worker_pids (backend, &n_pids);
  for (guint i = 0; i < n_pids; i++)
    g_assert_cmpint (pids[i], !=, run.killed);
  g_ptr_array_unref (run.results);
  job_backend_shutdown (JOB_BACKEND (backend));
}

static char *barrier_folder;
static int barrier_n;

static void
remove_pid_file (gpointer key,
                 gpointer value,
                 gpointer user_data)
{
  g_autofree char *name = g_strdup_printf ("%d", GPOINTER_TO_INT (key));
  g_autofree char *path = g_build_filename (barrier_folder, name, NULL);

  g_assert_cmpint (g_unlink (path), ==, 0);
}

static GVariant *
barrier_args (guint i)
{
  return g_variant_new ("(si)", barrier_folder, barrier_n);
}

/* Workers connect one by one: calls wait for the workers still coming
 * instead of piling onto the first one connected. Four calls that only
 * return once all four run at the same time finish on four workers (a
 * worker holding two would wait for itself). */
static void
test_spread_over_workers (void)
{
  const char * const hosts[] = { "joblib-a:2", "joblib-b:2", NULL };
  g_autoptr(JobSshBackend) backend = new_backend (hosts);
  g_autoptr(JobParallel) parallel = new_parallel (backend);
  g_autoptr(JobFunction) barrier = task ("task_barrier");
  g_autoptr(GPtrArray) calls = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GHashTable) pids = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_autoptr(GError) error = NULL;

  barrier_n = 4;
  barrier_folder = g_dir_make_tmp ("joblib-barrier-XXXXXX", &error);
  g_assert_no_error (error);
  calls = calls_of (barrier, 4, barrier_args);
  results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < results->len; i++)
    g_hash_table_add (pids, GINT_TO_POINTER ((int) g_variant_get_int64 (g_ptr_array_index (results, i))));
  g_assert_cmpuint (g_hash_table_size (pids), ==, 4);
  job_backend_shutdown (JOB_BACKEND (backend));

  g_hash_table_foreach (pids, remove_pid_file, NULL);
  g_assert_cmpint (g_rmdir (barrier_folder), ==, 0);
  g_clear_pointer (&barrier_folder, g_free);
}

static gboolean
wait_until (gboolean (*func) (gpointer),
            gpointer   data)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_SECONDS * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      if (func (data))
        return TRUE;
      g_usleep (20 * 1000);
    }
  return func (data);
}

static gboolean
no_worker_left (gpointer data)
{
  guint n_pids = 0;
  g_autofree int *pids = job_ssh_backend_get_worker_pids (data, &n_pids);

  return n_pids == 0;
}

/* Runs two barrier calls (both must run at the same time, so two
 * workers must be up) and checks that two processes answered. */
static void
run_two_at_once (JobParallel *parallel)
{
  g_autoptr(JobFunction) barrier = task ("task_barrier");
  g_autoptr(GPtrArray) calls = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GHashTable) pids = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_autoptr(GError) error = NULL;

  barrier_n = 2;
  barrier_folder = g_dir_make_tmp ("joblib-barrier-XXXXXX", &error);
  g_assert_no_error (error);
  calls = calls_of (barrier, 2, barrier_args);
  results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < results->len; i++)
    g_hash_table_add (pids, GINT_TO_POINTER ((int) g_variant_get_int64 (g_ptr_array_index (results, i))));
  g_assert_cmpuint (g_hash_table_size (pids), ==, 2);
  g_hash_table_foreach (pids, remove_pid_file, NULL);
  g_assert_cmpint (g_rmdir (barrier_folder), ==, 0);
  g_clear_pointer (&barrier_folder, g_free);
}

/* A host left out of a run is tried again by the next run that starts
 * workers: here its worker program is missing at first (its slot goes
 * to the other host), then set right once the first run's workers have
 * left (idle-timeout). */
static void
test_down_host_retried (void)
{
  const char * const hosts[] = { "joblib-a", "joblib-b", NULL };
  g_autoptr(JobSshBackend) backend = new_backend (hosts);
  g_autoptr(JobParallel) parallel = new_parallel (backend);
  g_auto(GStrv) down = NULL;

  g_object_set (backend, "idle-timeout", 0.1, NULL);
  job_ssh_backend_set_host_program (backend, "joblib-b", "/nonexistent/joblib-glib-worker-connect");
  g_test_expect_message ("Joblib", G_LOG_LEVEL_WARNING,
                         "*SSH host joblib-b cannot run workers*nonexistent*");
  run_two_at_once (parallel);
  g_test_assert_expected_messages ();
  down = job_ssh_backend_get_down_hosts (backend);
  g_assert_cmpuint (g_strv_length (down), ==, 1);
  g_assert_true (g_str_has_prefix (down[0], "joblib-b: "));
  g_clear_pointer (&down, g_strfreev);
  g_assert_true (wait_until (no_worker_left, backend));

  /* Fixed: the next run has both hosts again (a failure there would be
   * a warning, fatal in this test). */
  job_ssh_backend_set_host_program (backend, "joblib-b", NULL);
  run_two_at_once (parallel);
  down = job_ssh_backend_get_down_hosts (backend);
  g_assert_cmpuint (g_strv_length (down), ==, 0);
  job_backend_shutdown (JOB_BACKEND (backend));
}

/* One host down: the run goes on with the other, and says which and why. */
static void
test_unreachable_host (void)
{
  const char * const hosts[] = { "joblib-down", "joblib-a", NULL };
  g_autoptr(JobSshBackend) backend = new_backend (hosts);
  g_autoptr(JobParallel) parallel = new_parallel (backend);
  g_autoptr(JobFunction) square = task ("task_square");
  g_autoptr(GPtrArray) calls = calls_of (square, 6, square_args);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) down = NULL;

  g_test_expect_message ("Joblib", G_LOG_LEVEL_WARNING,
                         "*SSH host joblib-down cannot run workers*refused*");
  results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, &error);
  g_test_assert_expected_messages ();
  g_assert_no_error (error);
  for (guint i = 0; i < results->len; i++)
    g_assert_cmpint (g_variant_get_int64 (g_ptr_array_index (results, i)), ==, (gint64) i * i);
  down = job_ssh_backend_get_down_hosts (backend);
  g_assert_cmpuint (g_strv_length (down), ==, 1);
  g_assert_true (g_str_has_prefix (down[0], "joblib-down: "));
  job_backend_shutdown (JOB_BACKEND (backend));
}

/* No host left: the run fails with an error naming each host and why;
 * a host without the worker program counts as down too. */
static void
test_no_host_left (void)
{
  const char * const hosts[] = { "joblib-down", "joblib-b", NULL };
  g_autoptr(JobSshBackend) backend = new_backend (hosts);
  g_autoptr(JobParallel) parallel = new_parallel (backend);
  g_autoptr(JobFunction) square = task ("task_square");
  g_autoptr(GPtrArray) calls = calls_of (square, 3, square_args);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;

  job_ssh_backend_set_host_program (backend, "joblib-b", "/nonexistent/joblib-glib-worker-connect");
  g_test_expect_message ("Joblib", G_LOG_LEVEL_WARNING, "*SSH host joblib-down cannot*");
  g_test_expect_message ("Joblib", G_LOG_LEVEL_WARNING,
                         "*SSH host joblib-b cannot run workers*nonexistent*");
  results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, &error);
  g_test_assert_expected_messages ();
  g_assert_null (results);
  g_assert_error (error, JOB_ERROR, JOB_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "joblib-down: "));
  g_assert_nonnull (strstr (error->message, "joblib-b: "));
  job_backend_shutdown (JOB_BACKEND (backend));
}

/* A connection that cannot prove it holds a token is refused, and the
 * worker program behind it never starts. */
static void
test_wrong_token (void)
{
  const char * const hosts[] = { "joblib-a", NULL };
  g_autoptr(JobSshBackend) backend = new_backend (hosts);
  g_autoptr(GError) error = NULL;
  g_autofree char *address = job_ssh_backend_listen (backend, &error);
  g_autofree char *marker = g_build_filename (g_getenv ("JOB_SSH_TEST_DIR"), "started", NULL);
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GSubprocess) connect = NULL;
  g_autoptr(GBytes) settings = g_bytes_new_static ("JOB_WORKER_TOKEN=0123.4567\n\n", 28);
  g_autofree char *err = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (address);
  connect = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("JOB_WORKER_CONNECT_PATH"),
                                         "--stdin", address, "native", "--", "touch", marker,
                                         NULL);
  g_assert_no_error (error);
  g_test_expect_message ("Joblib", G_LOG_LEVEL_WARNING, "*Refused a worker connection*");
  g_subprocess_communicate (connect, settings, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_subprocess_get_exit_status (connect), ==, 3);
  g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (job_ssh_backend_get_n_refused (backend), ==, 1);
  g_test_assert_expected_messages ();
  job_backend_shutdown (JOB_BACKEND (backend));
}

static gboolean
cancel_when_running (gpointer user_data)
{
  gpointer *data = user_data;
  g_autofree int *pids = NULL;
  guint n_pids = 0;

  pids = job_ssh_backend_get_worker_pids (data[0], &n_pids);
  if (n_pids < 2)
    return G_SOURCE_CONTINUE;
  g_array_append_vals (data[2], pids, n_pids);
  g_cancellable_cancel (data[1]);
  return G_SOURCE_REMOVE;
}

static gboolean
all_gone (GArray *pids)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_SECONDS * G_USEC_PER_SEC;

  do
    {
      gboolean any = FALSE;

      for (guint i = 0; i < pids->len; i++)
        any |= pid_exists (g_array_index (pids, int, i));
      if (!any)
        return TRUE;
      g_usleep (20 * 1000);
    }
  while (g_get_monotonic_time () < deadline);
  return FALSE;
}

/* Cancelling a run stops the remote workers running its tasks (idle ones
 * stay for the next run); shutdown leaves no process of the backend on
 * the host. */
static void
test_cancel (void)
{
  const char * const hosts[] = { "joblib-a:2", NULL };
  g_autoptr(JobSshBackend) backend = new_backend (hosts);
  g_autoptr(JobParallel) parallel = new_parallel (backend);
  g_autoptr(JobFunction) sleeper = task ("task_sleep");
  g_autoptr(GPtrArray) calls = g_ptr_array_new_with_free_func ((GDestroyNotify) job_call_unref);
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GArray) pids = g_array_new (FALSE, FALSE, sizeof (int));
  g_autoptr(GError) error = NULL;
  g_autofree char *address = NULL;
  gpointer data[3] = { backend, cancellable, pids };
  Run run = { backend, loop, NULL, NULL, 0 };

  /* Both workers connected first: each takes one of the two tasks. */
  for (guint i = 0; i < 2; i++)
    g_ptr_array_add (calls, job_call_new (sleeper, g_variant_new ("(d)", 600.0)));
  g_assert_true (job_ssh_backend_start_workers (backend, "native", 2, WAIT_SECONDS, &error));
  g_assert_no_error (error);
  g_timeout_add (20, cancel_when_running, data);
  job_parallel_run_async (parallel, (JobCall **) calls->pdata, calls->len, cancellable,
                          on_run_done, &run);
  g_main_loop_run (loop);
  g_assert_error (run.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&run.error);
  g_assert_cmpuint (pids->len, ==, 2);
  g_assert_true (all_gone (pids));

  address = job_ssh_backend_listen (backend, &error);
  g_assert_no_error (error);
  job_backend_shutdown (JOB_BACKEND (backend));
  /* Shutdown waited for every ssh: no connector dials this address. */
  g_assert_cmpuint (count_processes_with (address), ==, 0);
}

static void
test_bad_input (void)
{
  const char * const bad_hosts[][2] = {
    { "lab1:0", NULL }, { "lab1:x", NULL }, { "two words", NULL }, { "-oProxyCommand=x", NULL },
    { ":3", NULL },
  };
  g_autoptr(GError) error = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (bad_hosts); i++)
    {
      g_autoptr(JobSshBackend) backend = new_backend (bad_hosts[i]);

      g_assert_false (job_backend_configure (JOB_BACKEND (backend), 1, &error));
      g_assert_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (error->message, bad_hosts[i][0]));
      g_clear_error (&error);
    }

  {
    g_autoptr(JobSshBackend) backend = new_backend (NULL);
    g_autofree char *path = g_build_filename (g_getenv ("JOB_SSH_TEST_DIR"), "hosts", NULL);

    g_assert_false (job_backend_configure (JOB_BACKEND (backend), 1, &error));
    g_assert_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);

    g_object_set (backend, "hosts-file", "/nonexistent/hosts", NULL);
    g_assert_false (job_backend_configure (JOB_BACKEND (backend), 1, &error));
    g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
    g_clear_error (&error);

    g_assert_true (g_file_set_contents (path, "# lab\njoblib-a:3 # first\n\njoblib-b\nbad:0\n",
                                        -1, NULL));
    g_object_set (backend, "hosts-file", path, NULL);
    g_assert_false (job_backend_configure (JOB_BACKEND (backend), 1, &error));
    g_assert_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT);
    g_assert_nonnull (strstr (error->message, ":5:"));
    g_clear_error (&error);

    g_assert_true (g_file_set_contents (path, "# lab\njoblib-a:3 # first\n\njoblib-b\n", -1, NULL));
    g_assert_true (job_backend_configure (JOB_BACKEND (backend), 1, &error));
    g_assert_no_error (error);
    g_assert_cmpint (job_backend_effective_n_jobs (JOB_BACKEND (backend), 1), ==, 4);
  }

  if (g_test_subprocess ())
    {
      g_autoptr(JobSshBackend) backend = new_backend (NULL);

      job_ssh_backend_set_worker_command (backend, NULL, NULL);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*kind != NULL*");
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (g_getenv ("JOB_SSH_TEST_CONFIG") == NULL)
    {
      g_test_skip ("run through tests/ssh/with-sshd.sh");
      return g_test_run ();
    }

  g_test_add_func ("/joblib/ssh/order-two-hosts", test_order_two_hosts);
  g_test_add_func ("/joblib/ssh/worker-killed", test_worker_killed);
  g_test_add_func ("/joblib/ssh/unreachable-host", test_unreachable_host);
  g_test_add_func ("/joblib/ssh/no-host-left", test_no_host_left);
  g_test_add_func ("/joblib/ssh/spread-over-workers", test_spread_over_workers);
  g_test_add_func ("/joblib/ssh/down-host-retried", test_down_host_retried);
  g_test_add_func ("/joblib/ssh/wrong-token", test_wrong_token);
  g_test_add_func ("/joblib/ssh/cancel", test_cancel);
  g_test_add_func ("/joblib/ssh/bad-input", test_bad_input);
  return g_test_run ();
}
