/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* JobSlurmBackend against a real Slurm: run through
 * tests/slurm/with-slurm.sh, which starts a private cluster of three
 * nodes (node1..node3) and sets SLURM_CONF and JOB_SLURM_TEST_DIR. */

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>
#include <joblib-glib.h>

#define WAIT_SECONDS 30

static const char *
test_dir (void)
{
  return g_getenv ("JOB_SLURM_TEST_DIR");
}

static char *
run_command (const char *command)
{
  g_autoptr(GError) error = NULL;
  char *out = NULL;
  int status;

  g_spawn_command_line_sync (command, &out, NULL, &status, &error);
  g_assert_no_error (error);
  return out;
}

/* Polls @func until it returns TRUE or WAIT_SECONDS pass. */
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
squeue_is_empty (gpointer data)
{
  g_autofree char *out = run_command ("squeue -h -o %i");

  return g_strstrip (out)[0] == '\0';
}

/* Every node can take a job: none is drained, down or still completing
 * the previous test's jobs (on a loaded machine that can lag behind). */
static gboolean
nodes_are_idle (gpointer data)
{
  g_autofree char *out = run_command ("sinfo -h -N -o %T");
  g_auto(GStrv) states = g_strsplit (g_strstrip (out), "\n", -1);

  if (states[0] == NULL || states[0][0] == '\0')
    return FALSE;
  for (guint i = 0; states[i] != NULL; i++)
    if (!g_str_equal (g_strstrip (states[i]), "idle"))
      return FALSE;
  return TRUE;
}

static JobFunction *
task (const char *symbol)
{
  return job_function_new_for_symbol (g_getenv ("JOB_SLURM_TASKS_MODULE"), symbol, NULL);
}

static JobSlurmBackend *
new_backend (void)
{
  JobSlurmBackend *backend = job_slurm_backend_new ();

  g_object_set (backend, "listen-address", "127.0.0.1", "poll-interval", 0.1,
                "shared-folder", test_dir (), NULL);
  return backend;
}

static GPtrArray *
where_calls (guint  n,
             double seconds)
{
  g_autoptr(JobFunction) where = task ("slurm_task_where");
  GPtrArray *calls = g_ptr_array_new_with_free_func ((GDestroyNotify) job_call_unref);

  for (guint i = 0; i < n; i++)
    g_ptr_array_add (calls, job_call_new (where, g_variant_new ("(xd)", (gint64) i, seconds)));
  return calls;
}

static JobParallel *
new_parallel (JobSlurmBackend *backend,
              int              n_jobs)
{
  JobParallel *parallel = job_parallel_new (n_jobs);

  job_parallel_set_backend (parallel, JOB_BACKEND (backend));
  job_parallel_set_batch_size (parallel, 1);
  return parallel;
}

/* Shuts @backend down and waits until Slurm runs none of its jobs. */
static void
shut_down (JobSlurmBackend *backend)
{
  job_backend_shutdown (JOB_BACKEND (backend));
  g_assert_true (wait_until (squeue_is_empty, NULL));
}

/* Runs @calls of where_calls(), which must all succeed with their
 * squares, and returns the results. */
static GPtrArray *
run_where (JobParallel *parallel,
           GPtrArray   *calls)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len,
                                         NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (results->len, ==, calls->len);
  for (guint i = 0; i < results->len; i++)
    {
      gint64 square;

      g_variant_get (g_ptr_array_index (results, i), "(x&s)", &square, NULL);
      g_assert_cmpint (square, ==, (gint64) i * i);
    }
  return results;
}

/* Results in input order, computed on all three nodes. */
static void
test_order_three_nodes (void)
{
  g_autoptr(JobSlurmBackend) backend = new_backend ();
  g_autoptr(JobParallel) parallel = new_parallel (backend, 3);
  g_autoptr(GPtrArray) calls = where_calls (30, 0.02);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GHashTable) nodes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GError) error = NULL;
  const char * const exclusive[] = { "--exclusive", NULL };

  /* One job per node; all connected before the run, so that each gets
   * work whatever the scheduling latency. */
  g_assert_true (wait_until (nodes_are_idle, NULL));
  g_object_set (backend, "sbatch-args", exclusive, NULL);
  job_slurm_backend_start_workers (backend, "native", 3, WAIT_SECONDS, &error);
  g_assert_no_error (error);

  results = run_where (parallel, calls);
  for (guint i = 0; i < results->len; i++)
    {
      const char *where;

      g_variant_get (g_ptr_array_index (results, i), "(x&s)", NULL, &where);
      g_hash_table_add (nodes, g_strndup (where, strcspn (where, ":")));
    }
  g_assert_cmpuint (g_hash_table_size (nodes), ==, 3);
  g_assert_true (g_hash_table_contains (nodes, "node1"));
  g_assert_true (g_hash_table_contains (nodes, "node2"));
  g_assert_true (g_hash_table_contains (nodes, "node3"));

  g_auto(GStrv) ids = job_slurm_backend_get_job_ids (backend);
  g_assert_cmpuint (g_strv_length (ids), ==, 3);
  shut_down (backend);
}

/* A run in a thread of its own while the test disturbs the cluster. */
typedef struct
{
  JobParallel *parallel;
  GPtrArray   *calls;
  GCancellable *cancellable;
  GPtrArray   *results;
  GError      *error;
} Run;

static gpointer
run_thread (gpointer data)
{
  Run *run = data;

  run->results = job_parallel_run (run->parallel, (JobCall **) run->calls->pdata,
                                   run->calls->len, run->cancellable, &run->error);
  return NULL;
}

static void
clear_markers (void)
{
  g_autoptr(GDir) dir = g_dir_open (test_dir (), 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_prefix (name, "started-") || g_str_has_prefix (name, "hold-") ||
        g_str_has_prefix (name, "held-"))
      {
        g_autofree char *path = g_build_filename (test_dir (), name, NULL);
        g_unlink (path);
      }
}

/* The first "started-X-NODE-PID" marker of a task on a node whose name
 * starts with @node, if any. */
typedef struct
{
  const char *node;
  char       *marker;   /* "X-NODE-PID" */
} Marker;

static gboolean
find_marker (gpointer data)
{
  Marker *marker = data;
  g_autoptr(GDir) dir = g_dir_open (test_dir (), 0, NULL);
  g_autofree char *infix = g_strdup_printf ("-%s", marker->node);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_prefix (name, "started-") && strstr (name, infix) != NULL)
      {
        marker->marker = g_strdup (name + strlen ("started-"));
        return TRUE;
      }
  return FALSE;
}

/* Checks the results, and that task @marker (which started on a worker
 * that was then lost) got its result from another worker process. */
static void
check_rerun (Run        *run,
             const char *marker)
{
  g_auto(GStrv) parts = g_strsplit (marker, "-", 3);
  guint64 lost_task = g_ascii_strtoull (parts[0], NULL, 10);
  g_autofree char *lost_where = g_strdup_printf ("%s:%s", parts[1], parts[2]);

  g_assert_no_error (run->error);
  g_assert_nonnull (run->results);
  for (guint i = 0; i < run->results->len; i++)
    {
      gint64 square;
      const char *where;

      g_variant_get (g_ptr_array_index (run->results, i), "(x&s)", &square, &where);
      g_assert_cmpint (square, ==, (gint64) i * i);
      if (i == lost_task)
        g_assert_cmpstr (where, !=, lost_where);
    }
}

static char *
job_on_node (const char *node)
{
  g_autofree char *command = g_strdup_printf ("squeue -h -t RUNNING -w %s -o %%i", node);
  g_autofree char *out = run_command (command);

  return g_strdup (g_strstrip (out));
}

static void
run_and_lose_a_worker (gboolean drain)
{
  g_autoptr(JobSlurmBackend) backend = new_backend ();
  g_autoptr(JobParallel) parallel = new_parallel (backend, 3);
  g_autoptr(GPtrArray) calls = where_calls (9, 1.0);
  g_autoptr(GError) error = NULL;
  g_autoptr(GThread) thread = NULL;
  g_autofree char *job = NULL;
  g_autofree char *command = NULL;
  g_autofree char *out = NULL;
  Marker marker = { "node2", NULL };
  Run run = { parallel, calls, NULL, NULL, NULL };
  const char * const exclusive[] = { "--exclusive", NULL };

  clear_markers ();
  g_assert_true (wait_until (nodes_are_idle, NULL));
  /* The first task on node2 waits until its worker is lost: under load,
   * a 1 s task could otherwise answer before the scancel lands. */
  {
    g_autofree char *hold = g_build_filename (test_dir (), "hold-node2", NULL);

    g_assert_true (g_file_set_contents (hold, "", 0, NULL));
  }
  g_object_set (backend, "sbatch-args", exclusive, NULL);
  job_slurm_backend_start_workers (backend, "native", 3, WAIT_SECONDS, &error);
  g_assert_no_error (error);
  thread = g_thread_new ("run", run_thread, &run);

  /* Once a task runs on node2, its worker goes away. */
  g_assert_true (wait_until (find_marker, &marker));
  job = job_on_node ("node2");
  g_assert_cmpstr (job, !=, "");
  if (drain)
    command = g_strdup ("scontrol update NodeName=node2 State=DRAIN Reason=joblib-test");
  else
    command = g_strdup_printf ("scancel %s", job);
  g_free (run_command (command));

  g_thread_join (g_steal_pointer (&thread));
  check_rerun (&run, marker.marker);

  /* The lost job is no longer running, and not the backend's any more. */
  {
    g_auto(GStrv) ids = job_slurm_backend_get_job_ids (backend);
    g_assert_false (g_strv_contains ((const char * const *) ids, job));
  }
  if (drain)
    {
      g_autofree char *state = NULL;

      state = run_command ("sinfo -h -n node2 -o %T");
      g_assert_true (g_str_has_prefix (g_strstrip (state), "drain"));
      g_free (run_command ("scontrol update NodeName=node2 State=RESUME"));
    }
  shut_down (backend);
  g_assert_true (wait_until (nodes_are_idle, NULL));
  g_clear_pointer (&run.results, g_ptr_array_unref);
  g_free (marker.marker);
}

static void
test_drain_redispatches (void)
{
  run_and_lose_a_worker (TRUE);
}

static void
test_scancel_redispatches (void)
{
  run_and_lose_a_worker (FALSE);
}

/* Cancelling the run cancels every job it submitted. */
static void
test_cancel_empties_squeue (void)
{
  g_autoptr(JobSlurmBackend) backend = new_backend ();
  g_autoptr(JobParallel) parallel = new_parallel (backend, 3);
  g_autoptr(GPtrArray) calls = where_calls (6, 30.0);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GThread) thread = NULL;
  Marker marker = { "node", NULL };
  Run run = { parallel, calls, cancellable, NULL, NULL };

  clear_markers ();
  thread = g_thread_new ("run", run_thread, &run);
  g_assert_true (wait_until (find_marker, &marker));
  g_assert_false (squeue_is_empty (NULL));
  g_cancellable_cancel (cancellable);
  g_thread_join (g_steal_pointer (&thread));

  g_assert_error (run.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (run.results);
  g_assert_true (wait_until (squeue_is_empty, NULL));
  g_clear_error (&run.error);
  g_free (marker.marker);
}

/* A task that kills its worker each time fails once the retries are
 * spent; the others succeed. */
static void
test_retry_limit (void)
{
  g_autoptr(JobSlurmBackend) backend = new_backend ();
  g_autoptr(JobParallel) parallel = new_parallel (backend, 2);
  g_autoptr(JobFunction) crash = task ("slurm_task_crash");
  g_autoptr(JobCall) call = job_call_new (crash, g_variant_new ("()"));
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;

  g_object_set (backend, "max-retries", 1, NULL);
  results = job_parallel_run (parallel, &call, 1, NULL, &error);
  g_assert_error (error, JOB_ERROR, JOB_ERROR_WORKER_DIED);
  g_assert_nonnull (strstr (error->message, "retry limit"));
  g_assert_null (results);
  shut_down (backend);
}

/* Arguments over max-nbytes go through the shared folder, and are gone
 * from it afterwards. */
static void
test_large_arguments (void)
{
  g_autoptr(JobSlurmBackend) backend = new_backend ();
  g_autoptr(JobParallel) parallel = new_parallel (backend, 2);
  g_autoptr(JobFunction) sum = task ("slurm_task_sum_bytes");
  g_autoptr(GPtrArray) calls = g_ptr_array_new_with_free_func ((GDestroyNotify) job_call_unref);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree guint8 *data = g_malloc (100000);
  g_autoptr(GDir) dir = NULL;
  const char *name;

  for (gsize i = 0; i < 100000; i++)
    data[i] = i % 7;
  g_object_set (backend, "max-nbytes", (guint64) 1000, NULL);
  for (guint i = 0; i < 4; i++)
    g_ptr_array_add (calls, job_call_new (sum, g_variant_new ("(@ay)",
      g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, data, 100000 - i, 1))));
  results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < 4; i++)
    {
      guint64 expected = 0;

      for (gsize j = 0; j < 100000 - i; j++)
        expected += j % 7;
      g_assert_cmpuint (g_variant_get_uint64 (g_ptr_array_index (results, i)), ==, expected);
    }
  job_backend_shutdown (JOB_BACKEND (backend));

  dir = g_dir_open (test_dir (), 0, &error);
  g_assert_no_error (error);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      /* logging-bin and squeue.log: log_squeue_runs() */
      g_test_message ("left in the shared folder: %s", name);
      g_assert_true (g_str_has_prefix (name, "started-") ||
                     g_str_has_prefix (name, "joblib-glib-worker-") ||
                     g_str_equal (name, "logging-bin") || g_str_equal (name, "squeue.log"));
    }
}

/* A connection that sends a token in clear (as joblib-glib-worker-connect
 * did before workers and driver proved themselves to each other) is
 * closed and logged; so is one that does not authenticate at all.
 * tests/c/test-worker-listener.c tries the other attacks. */
static void
send_and_expect_close (const char   *address,
                       const guint8 *bytes,
                       gsize         size)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  guint8 buffer[64];
  gssize n;

  connection = g_socket_client_connect_to_host (client, address, 0, NULL, &error);
  g_assert_no_error (error);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                             bytes, size, NULL, NULL, &error);
  g_assert_no_error (error);
  g_socket_set_timeout (g_socket_connection_get_socket (connection), WAIT_SECONDS);
  n = g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (connection)),
                           buffer, sizeof buffer, NULL, &error);
  /* Closed without a word: end of stream (or a reset). */
  g_assert_true (n == 0 || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED));
}

static GBytes *
hello_frame (const char *token)
{
  g_autoptr(GVariant) body = NULL;
  GVariantBuilder extra;
  GByteArray *frame = g_byte_array_new ();
  guint8 header[8] = { 0, };
  guint32 length;

  g_variant_builder_init (&extra, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&extra, "{sv}", "token", g_variant_new_string (token));
  g_variant_builder_add (&extra, "{sv}", "kind", g_variant_new_string ("native"));
  body = g_variant_ref_sink (g_variant_new ("(sxa{sv})", "connect", (gint64) 1, &extra));
  length = GUINT32_TO_LE ((guint32) g_variant_get_size (body));
  memcpy (header, &length, 4);
  header[4] = 2;   /* protocol version: the listener checks it */
  header[5] = 1;   /* HELLO */
  g_byte_array_append (frame, header, 8);
  g_byte_array_append (frame, g_variant_get_data (body), g_variant_get_size (body));
  return g_byte_array_free_to_bytes (frame);
}

static gboolean
refused_once (gpointer data)
{
  return job_slurm_backend_get_n_refused (data) >= 1;
}

static gboolean
refused_twice (gpointer data)
{
  return job_slurm_backend_get_n_refused (data) == 2;
}

static void
test_wrong_token (void)
{
  g_autoptr(JobSlurmBackend) backend = new_backend ();
  g_autoptr(GError) error = NULL;
  g_autofree char *address = job_slurm_backend_listen (backend, &error);
  g_autoptr(GBytes) frame = hello_frame ("0123456789abcdef");
  const guint8 garbage[] = "GET / HTTP/1.0\r\n\r\n";

  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (address, "127.0.0.1:"));

  g_test_expect_message ("Joblib", G_LOG_LEVEL_WARNING, "Refused a worker connection from 127.0.0.1:*token in clear*");
  send_and_expect_close (address, g_bytes_get_data (frame, NULL), g_bytes_get_size (frame));
  g_test_expect_message ("Joblib", G_LOG_LEVEL_WARNING, "Refused a worker connection from 127.0.0.1:*");
  send_and_expect_close (address, garbage, sizeof garbage - 1);
  g_assert_true (wait_until (refused_twice, backend));
  g_test_assert_expected_messages ();
}

/* Workers connect with TLS when a certificate is set. */
static void
test_tls (void)
{
  g_autoptr(JobSlurmBackend) backend = NULL;
  g_autoptr(JobParallel) parallel = NULL;
  g_autoptr(GPtrArray) calls = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GTlsCertificate) certificate = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *pem = g_build_filename (test_dir (), "tls.pem", NULL);
  g_autofree char *command = NULL;
  int status;

  if (!g_tls_backend_supports_tls (g_tls_backend_get_default ()))
    {
      g_test_skip ("no GIO TLS backend (install glib-networking)");
      return;
    }
  command = g_strdup_printf ("openssl req -x509 -newkey rsa:2048 -nodes -days 1 "
                             "-subj /CN=joblib-test -keyout %s -out %s", pem, pem);
  g_spawn_command_line_sync (command, NULL, NULL, &status, &error);
  g_assert_no_error (error);
  certificate = g_tls_certificate_new_from_file (pem, &error);
  g_assert_no_error (error);

  backend = new_backend ();
  parallel = new_parallel (backend, 2);
  calls = where_calls (8, 0.0);
  g_object_set (backend, "tls-certificate", certificate, NULL);
  results = run_where (parallel, calls);
  g_assert_cmpuint (job_slurm_backend_get_n_refused (backend), ==, 0);
  shut_down (backend);
}

/* TLS is the default off loopback: listening on every interface, the
 * backend makes a certificate for itself and workers pin it. */
static void
test_tls_by_default (void)
{
  g_autoptr(JobSlurmBackend) backend = new_backend ();
  g_autoptr(JobParallel) parallel = new_parallel (backend, 2);
  g_autoptr(GPtrArray) calls = where_calls (4, 0.0);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;

  if (!g_tls_backend_supports_tls (g_tls_backend_get_default ()))
    {
      g_test_skip ("no GIO TLS backend (install glib-networking)");
      return;
    }
  g_object_set (backend, "listen-address", NULL, NULL);
  results = run_where (parallel, calls);
  g_assert_cmpuint (job_slurm_backend_get_n_refused (backend), ==, 0);
  shut_down (backend);
}

/* The connector every test's jobs run, through a wrapper that writes the
 * token each job got to a file beside the shared folder (set in main(),
 * before any thread). */
static char *tokens_log;

static void
log_connect_tokens (void)
{
  g_autofree char *base = g_path_get_dirname (test_dir ());
  g_autofree char *wrapper = g_build_filename (base, "connect-logging-token", NULL);
  g_autofree char *script = NULL;

  tokens_log = g_build_filename (base, "tokens.log", NULL);
  script = g_strdup_printf ("#!/bin/sh\nprintf '%%s\\n' \"$JOB_WORKER_TOKEN\" >> '%s'\n"
                            "exec '%s' \"$@\"\n", tokens_log, g_getenv ("JOB_WORKER_CONNECT_PATH"));
  g_assert_true (g_file_set_contents (wrapper, script, -1, NULL));
  g_assert_cmpint (g_chmod (wrapper, 0755), ==, 0);
  g_setenv ("JOB_WORKER_CONNECT_PATH", wrapper, TRUE);
}

static char **
logged_tokens (void)
{
  g_autofree char *text = NULL;

  if (!g_file_get_contents (tokens_log, &text, NULL, NULL))
    return g_new0 (char *, 1);
  return g_strsplit (g_strstrip (text), "\n", -1);
}

/* Each run's jobs get a token of their own, and a token taken from an
 * earlier run's job admits no one once that run's jobs have connected. */
static void
test_token_per_run (void)
{
  g_autoptr(JobSlurmBackend) backend = new_backend ();
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) tokens = NULL;
  g_autofree char *address = NULL;
  g_autofree char *err = NULL;
  g_autofree char *first = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;

  g_object_set (backend, "n-workers", 1, NULL);
  g_unlink (tokens_log);
  for (guint run = 0; run < 2; run++)
    {
      /* n_jobs 1 would run in the caller */
      g_autoptr(JobParallel) parallel = new_parallel (backend, 2);
      g_autoptr(GPtrArray) calls = where_calls (2, 0.0);
      g_autoptr(GPtrArray) results = NULL;

      results = run_where (parallel, calls);
      /* the next run submits a new job */
      shut_down (backend);
    }
  tokens = logged_tokens ();
  g_assert_cmpuint (g_strv_length (tokens), >=, 2);
  first = g_strdup (tokens[0]);
  g_assert_nonnull (strchr (first, '.'));
  g_assert_cmpstr (tokens[0], !=, tokens[g_strv_length (tokens) - 1]);
  /* the key part differs too: not the same secret under a new name */
  g_assert_true (strncmp (tokens[0], tokens[g_strv_length (tokens) - 1],
                          strchr (first, '.') - first) != 0);

  /* The first run's token, replayed by hand against the listener. */
  address = job_slurm_backend_listen (backend, &error);
  g_assert_no_error (error);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_setenv (launcher, "JOB_WORKER_TOKEN", first, TRUE);
  g_test_expect_message ("Joblib", G_LOG_LEVEL_WARNING,
                         "Refused a worker connection from 127.0.0.1:*wrong token");
  process = g_subprocess_launcher_spawn (launcher, &error,
                                         g_getenv ("JOB_WORKER_CONNECT_PATH"), address, "native",
                                         "--", "/bin/true", NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, NULL, &err, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 3);
  g_assert_true (wait_until (refused_once, backend));
  g_test_assert_expected_messages ();
  job_backend_shutdown (JOB_BACKEND (backend));
}

/* Bad settings give clear errors, not hangs. */
static void
test_bad_input (void)
{
  g_autoptr(JobSlurmBackend) backend = new_backend ();
  g_autoptr(JobParallel) parallel = new_parallel (backend, 2);
  g_autoptr(GPtrArray) calls = where_calls (2, 0.0);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *address = NULL;

  g_object_set (backend, "partition", "no-such-partition", NULL);
  results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, &error);
  g_assert_error (error, JOB_ERROR, JOB_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "sbatch"));
  g_clear_error (&error);

  g_assert_false (job_backend_configure (JOB_BACKEND (backend), 0, &error));
  g_assert_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_assert_false (job_slurm_backend_start_workers (backend, "native", 0, 1, &error));
  g_assert_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* The listener of the failed run stays until shutdown. */
  job_backend_shutdown (JOB_BACKEND (backend));
  g_object_set (backend, "listen-address", "not-an-address", NULL);
  address = job_slurm_backend_listen (backend, &error);
  g_assert_null (address);
  g_assert_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT);
  g_assert_true (wait_until (squeue_is_empty, NULL));
}

/* A squeue that logs each run, first on the PATH of every test (set in
 * main(), before any thread: setenv() is not thread-safe). */
static char *squeue_log;

static void
log_squeue_runs (void)
{
  g_autofree char *bin = g_build_filename (test_dir (), "logging-bin", NULL);
  g_autofree char *wrapper = g_build_filename (bin, "squeue", NULL);
  g_autofree char *script = NULL;
  g_autofree char *path = g_strdup_printf ("%s:%s", bin, g_getenv ("PATH"));

  squeue_log = g_build_filename (test_dir (), "squeue.log", NULL);
  script = g_strdup_printf ("#!/bin/sh\necho run >> '%s'\nexec /usr/bin/squeue \"$@\"\n",
                            squeue_log);
  g_assert_cmpint (g_mkdir_with_parents (bin, 0755), ==, 0);
  g_assert_true (g_file_set_contents (wrapper, script, -1, NULL));
  g_assert_cmpint (g_chmod (wrapper, 0755), ==, 0);
  g_setenv ("PATH", path, TRUE);
}

/* Durations at the edge of a double's range mean "no limit": a start
 * timeout of infinity waits for the workers instead of giving up at once,
 * and a poll interval of 1e300 s does not become a 0 ms timer that runs
 * squeue back to back. */
static void
test_unlimited_numbers (void)
{
  g_autoptr(JobSlurmBackend) backend = new_backend ();
  g_autoptr(JobParallel) parallel = new_parallel (backend, 1);
  g_autoptr(GPtrArray) calls = where_calls (4, 0.2);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *logged = NULL;
  guint n_runs = 0;

  g_assert_true (wait_until (nodes_are_idle, NULL));
  g_unlink (squeue_log);

  g_object_set (backend, "poll-interval", 1e300, "idle-timeout", INFINITY, NULL);
  g_assert_true (job_slurm_backend_start_workers (backend, "native", 1, INFINITY, &error));
  g_assert_no_error (error);
  results = run_where (parallel, calls);
  job_backend_shutdown (JOB_BACKEND (backend));

  if (g_file_get_contents (squeue_log, &logged, NULL, NULL))
    for (const char *p = logged; (p = strstr (p, "run")) != NULL; p++)
      n_runs++;
  /* the first poll is 49 days away: none, or one on start */
  g_assert_cmpuint (n_runs, <=, 1);
  g_assert_true (wait_until (squeue_is_empty, NULL));
}

static void
test_registered (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JobBackend) backend = job_backend_new_for_name ("slurm", &error);

  g_assert_no_error (error);
  g_assert_true (JOB_IS_SLURM_BACKEND (backend));
  g_assert_true (job_backend_get_flags (backend) & JOB_BACKEND_FLAGS_NEEDS_REFERENCE);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  if (test_dir () == NULL || g_getenv ("SLURM_CONF") == NULL)
    {
      g_printerr ("run through tests/slurm/with-slurm.sh\n");
      return 77;
    }
  log_squeue_runs ();
  log_connect_tokens ();

  g_test_add_func ("/joblib/slurm/registered", test_registered);
  g_test_add_func ("/joblib/slurm/bad-input", test_bad_input);
  g_test_add_func ("/joblib/slurm/wrong-token", test_wrong_token);
  g_test_add_func ("/joblib/slurm/order-three-nodes", test_order_three_nodes);
  g_test_add_func ("/joblib/slurm/drain-redispatches", test_drain_redispatches);
  g_test_add_func ("/joblib/slurm/scancel-redispatches", test_scancel_redispatches);
  g_test_add_func ("/joblib/slurm/cancel-empties-squeue", test_cancel_empties_squeue);
  g_test_add_func ("/joblib/slurm/retry-limit", test_retry_limit);
  g_test_add_func ("/joblib/slurm/large-arguments", test_large_arguments);
  g_test_add_func ("/joblib/slurm/tls", test_tls);
  g_test_add_func ("/joblib/slurm/tls-by-default", test_tls_by_default);
  g_test_add_func ("/joblib/slurm/token-per-run", test_token_per_run);
  g_test_add_func ("/joblib/slurm/unlimited-numbers", test_unlimited_numbers);
  return g_test_run ();
}
