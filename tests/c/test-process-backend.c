/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <joblib-glib.h>

#include "process-tests.h"
#include "worker-deaths.h"

/* Every run here uses 2 workers (process-tests.h). A run of two batches
 * or more starts both: the second batch finds the first worker busy. */

static GVariant *
forever_arg (guint i)
{
  return g_variant_new ("(d)", 3600.0);
}

/* Processes are killed asynchronously when a run ends by force: wait for
 * the end, bounded so that a leak fails the test instead of hanging it. */
static void
assert_gone_soon (int pid)
{
  for (int i = 0; i < 2000 && !process_is_gone (pid); i++)
    g_usleep (5000);
  g_assert_true (process_is_gone (pid));
}

static gint64
run_pid (JobBackend *backend)
{
  g_autoptr(GVariant) pid = run_one (backend, "task_pid", g_variant_new ("()"));

  return g_variant_get_int64 (pid);
}

static void
test_ordered_results (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JobBackend) by_name = job_backend_new_for_name ("processes", &error);
  g_autoptr(JobBackend) loky = job_backend_new_for_name ("loky", &error);
  g_autoptr(JobBackend) backend = new_backend ();
  g_autoptr(GPtrArray) calls = calls_of ("task_square", 3000, index_arg);
  g_autoptr(GPtrArray) values = NULL;

  g_assert_no_error (error);
  g_assert_true (JOB_IS_PROCESS_BACKEND (by_name));
  g_assert_true (JOB_IS_PROCESS_BACKEND (loky));
  g_assert_cmpint (job_backend_get_flags (backend) &
                   (JOB_BACKEND_FLAGS_CAN_KILL | JOB_BACKEND_FLAGS_NEEDS_REFERENCE), ==,
                   JOB_BACKEND_FLAGS_CAN_KILL | JOB_BACKEND_FLAGS_NEEDS_REFERENCE);

  /* auto batching, then one task per batch */
  for (guint batch_size = 0; batch_size < 2; batch_size++)
    {
      values = run_calls (backend, 2, calls, batch_size, 0, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (values->len, ==, calls->len);
      for (guint i = 0; i < values->len; i++)
        g_assert_cmpint (g_variant_get_int64 (g_ptr_array_index (values, i)), ==,
                         (gint64) i * i);
      g_clear_pointer (&values, g_ptr_array_unref);
    }

  job_backend_shutdown (backend);
}

static void
test_in_process_reference (void)
{
  g_autoptr(JobFunction) function = task ("task_square");
  g_autoptr(JobFunction) missing = job_function_new_for_symbol (tasks_module (),
                                                                "no_such_task", NULL);
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) error = NULL;
  const char *kind, *module, *symbol;
  g_autoptr(GVariant) fields = NULL;

  g_variant_get (job_function_get_reference (function), "(&s@a{sv})", &kind, &fields);
  g_assert_cmpstr (kind, ==, "native");
  g_assert_cmpstr (job_function_get_reference_kind (function), ==, "native");
  g_assert_true (g_variant_lookup (fields, "module", "&s", &module));
  g_assert_true (g_variant_lookup (fields, "symbol", "&s", &symbol));
  g_assert_cmpstr (module, ==, tasks_module ());
  g_assert_cmpstr (symbol, ==, "task_square");
  g_assert_cmpstr (job_function_get_name (function), ==, "task_square");

  /* the same function runs in this process too */
  value = job_function_invoke (function, g_variant_new ("(x)", (gint64) 12), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int64 (value), ==, 144);

  g_assert_null (job_function_invoke (missing, g_variant_new ("()"), NULL, &error));
  g_assert_error (error, JOB_ERROR, JOB_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "no_such_task"));
}

static void
test_reuse_workers (void)
{
  g_autoptr(JobBackend) backend = new_backend ();
  g_autoptr(GArray) first = NULL;
  g_autoptr(GArray) second = NULL;

  for (int run = 0; run < 2; run++)
    {
      g_autoptr(GPtrArray) calls = calls_of ("task_pid", 50, no_args);
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) values = run_calls (backend, 2, calls, 1, 0, &error);
      GArray *pids;

      g_assert_no_error (error);
      pids = worker_pids (backend);
      g_assert_cmpuint (pids->len, >=, 1);
      g_assert_cmpuint (pids->len, <=, 2);
      for (guint i = 0; i < values->len; i++)
        g_assert_true (pids_contain (pids, g_variant_get_int64 (g_ptr_array_index (values, i))));
      if (run == 0)
        first = pids;
      else
        second = pids;
    }

  /* the second run used the workers of the first */
  for (guint i = 0; i < second->len; i++)
    g_assert_true (pids_contain (first, g_array_index (second, int, i)));

  job_backend_shutdown (backend);
}

static void
test_error_keeps_worker (void)
{
  g_autoptr(JobBackend) backend = new_backend ();
  g_autoptr(GPtrArray) calls = calls_of ("task_fail", 3, no_args);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) values = NULL;
  g_autoptr(GArray) before = warm_up (backend);
  g_autoptr(GArray) after = NULL;

  values = run_calls (backend, 2, calls, 1, 0, &error);
  g_assert_null (values);
  g_assert_error (error, g_quark_from_string ("test-tasks-error"), 7);
  g_assert_nonnull (strstr (error->message, "(task_fail)"));
  g_assert_nonnull (strstr (error->message, "failed on purpose"));

  /* unlike loky, no worker was lost, and the next run uses the same */
  after = worker_pids (backend);
  assert_same_pids (before, after);
  g_assert_true (pids_contain (before, run_pid (backend)));
  g_clear_pointer (&after, g_array_unref);
  after = worker_pids (backend);
  assert_same_pids (before, after);

  job_backend_shutdown (backend);
}

static GVariant *
fail_then_sleep_arg (guint i)
{
  return i == 0 ? g_variant_new ("()") : g_variant_new ("(d)", 0.5);
}

/* A task error that stops a run does not kill the workers still running
 * tasks of that run: they finish (outcomes dropped) and stay. */
static void
test_error_spares_running (void)
{
  g_autoptr(JobBackend) backend = new_backend ();
  g_autoptr(JobFunction) fail = task ("task_fail");
  g_autoptr(JobFunction) sleep = task ("task_sleep");
  g_autoptr(GPtrArray) calls = g_ptr_array_new_with_free_func ((GDestroyNotify) job_call_unref);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) values = NULL;
  g_autoptr(GArray) before = warm_up (backend);
  g_autoptr(GArray) after = NULL;

  for (guint i = 0; i < 6; i++)
    g_ptr_array_add (calls, job_call_new (i == 0 ? fail : sleep, fail_then_sleep_arg (i)));
  values = run_calls (backend, 2, calls, 1, 0, &error);
  g_assert_null (values);
  g_assert_error (error, g_quark_from_string ("test-tasks-error"), 7);

  /* the sleeping tasks were not killed: same workers, no respawn */
  g_assert_true (pids_contain (before, run_pid (backend)));
  after = worker_pids (backend);
  assert_same_pids (before, after);
  for (guint i = 0; i < before->len; i++)
    g_assert_false (process_is_gone (g_array_index (before, int, i)));

  job_backend_shutdown (backend);
}

static void
check_crash (const char *symbol,
             const char *expected)
{
  g_autoptr(JobBackend) backend = new_backend ();
  g_autoptr(JobFunction) square = task ("task_square");
  g_autoptr(JobFunction) crash = task (symbol);
  g_autoptr(GPtrArray) calls = g_ptr_array_new_with_free_func ((GDestroyNotify) job_call_unref);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) values = NULL;
  g_autoptr(GArray) before = warm_up (backend);
  g_autoptr(GArray) after = NULL;
  g_autofree char *task_name = g_strdup_printf ("task 2 (%s)", symbol);
  const char *worker;
  int dead_pid;

  g_ptr_array_add (calls, job_call_new (square, g_variant_new ("(x)", (gint64) 1)));
  g_ptr_array_add (calls, job_call_new (square, g_variant_new ("(x)", (gint64) 2)));
  g_ptr_array_add (calls, job_call_new (crash, g_variant_new ("()")));
  g_ptr_array_add (calls, job_call_new (square, g_variant_new ("(x)", (gint64) 3)));

  /* one batch: the results before the crash are still buffered in the
   * worker, and the message must still name the task that crashed */
  values = run_calls (backend, 2, calls, 4, 0, &error);
  g_assert_null (values);
  g_assert_error (error, JOB_ERROR, JOB_ERROR_WORKER_DIED);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, task_name));
  g_assert_nonnull (strstr (error->message, expected));
  worker = strstr (error->message, "worker ");
  g_assert_nonnull (worker);
  dead_pid = atoi (worker + strlen ("worker "));
  g_assert_true (pids_contain (before, dead_pid));

  /* the worker is reaped, the other one lives on, the pool works */
  assert_gone_soon (dead_pid);
  for (guint i = 0; i < before->len; i++)
    if (g_array_index (before, int, i) != dead_pid)
      g_assert_false (process_is_gone (g_array_index (before, int, i)));
  g_clear_pointer (&before, g_array_unref);
  before = warm_up (backend);
  g_assert_false (pids_contain (before, dead_pid));

  job_backend_shutdown (backend);
}

static void
test_crash_segv (void)
{
  check_crash ("task_crash", "killed by signal 11");
}

static void
test_crash_exit (void)
{
  check_crash ("task_exit", "exited with status 3");
}

static void
test_crash_kill (void)
{
  check_crash ("task_kill", "killed by signal 9");
}

/* Small calls are queued deep on each worker, which answers all those
 * waiting in its input with one write: a worker that crashes in one call
 * may hold the answers of earlier calls. Those tasks run again and get
 * their values; the crash is the crashing task's alone. */
static void
test_crash_behind_held_answers (void)
{
  g_autoptr(JobBackend) backend = new_backend ();
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  g_autoptr(JobFunction) square = task ("task_square");
  g_autoptr(JobFunction) crash = task ("task_crash");
  g_autoptr(GPtrArray) calls = g_ptr_array_new_with_free_func ((GDestroyNotify) job_call_unref);
  g_autoptr(GPtrArray) outcomes = NULL;
  g_autoptr(GArray) before = warm_up (backend);
  g_autoptr(GError) error = NULL;
  const guint n = 200, crashing = 150;

  for (guint i = 0; i < n; i++)
    g_ptr_array_add (calls, i == crashing ? job_call_new (crash, g_variant_new ("()"))
                                          : job_call_new (square, g_variant_new ("(x)", (gint64) i)));
  job_parallel_set_backend (parallel, backend);
  job_parallel_set_batch_size (parallel, 1);
  outcomes = job_parallel_run_outcomes (parallel, (JobCall **) calls->pdata, calls->len,
                                        NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (outcomes->len, ==, n);
  for (guint i = 0; i < n; i++)
    {
      JobOutcome *outcome = g_ptr_array_index (outcomes, i);

      g_assert_cmpuint (job_outcome_get_index (outcome), ==, i);
      if (i == crashing)
        {
          g_assert_false (job_outcome_is_success (outcome));
          g_assert_error (job_outcome_get_error (outcome), JOB_ERROR, JOB_ERROR_WORKER_DIED);
          g_assert_nonnull (strstr (job_outcome_get_error (outcome)->message, "signal 11"));
        }
      else
        {
          g_assert_true (job_outcome_is_success (outcome));
          g_assert_cmpint (g_variant_get_int64 (job_outcome_get_value (outcome)), ==,
                           (gint64) i * i);
        }
    }

  job_backend_shutdown (backend);
}

static void
on_run_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static void
test_cancel_kills (void)
{
  g_autoptr(JobBackend) backend = new_backend ();
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  g_autoptr(GPtrArray) calls = calls_of ("task_sleep", 4, forever_arg);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) values = NULL;
  g_autoptr(GArray) pids = NULL;

  job_parallel_set_backend (parallel, backend);
  job_parallel_run_async (parallel, (JobCall **) calls->pdata, calls->len, cancellable, on_run_done, &result);

  /* cancel once both workers run a task that would last an hour */
  while ((pids = worker_pids (backend))->len < 2)
    {
      g_clear_pointer (&pids, g_array_unref);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  g_cancellable_cancel (cancellable);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);

  values = job_parallel_run_finish (parallel, result, &error);
  g_assert_null (values);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  for (guint i = 0; i < pids->len; i++)
    assert_gone_soon (g_array_index (pids, int, i));
  g_assert_false (pids_contain (pids, run_pid (backend)));

  job_backend_shutdown (backend);
}

/* How many buffers of sleep_big_arg() were freed: a run, even cancelled,
 * must not keep its arguments once it is over. */
static gint big_args_freed;  /* (atomic) */

static void
free_big_arg (gpointer data)
{
  g_free (data);
  g_atomic_int_inc (&big_args_freed);
}

static GVariant *
sleep_big_arg (guint i)
{
  gsize size = 2 * 1024 * 1024;
  guint8 *data = g_malloc0 (size);

  return g_variant_new ("(d@ay)", 3600.0,
                        g_variant_new_from_data (G_VARIANT_TYPE_BYTESTRING,
                                                 data, size, TRUE,
                                                 free_big_arg, data));
}

/* Cancelling a run whose tasks hold shared-memory arguments kills the
 * busy workers and removes the files: nothing is left busy or on disk. */
static void
test_cancel_removes_files (void)
{
  g_autoptr(JobBackend) backend = new_backend ();
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  g_autofree char *folder = g_dir_make_tmp ("joblib-cancel-test-XXXXXX", NULL);
  g_autoptr(GPtrArray) calls = calls_of ("task_sleep", 4, sleep_big_arg);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) values = NULL;
  g_autoptr(GArray) pids = NULL;
  gint64 pid;

  g_atomic_int_set (&big_args_freed, 0);
  job_process_backend_set_temp_folder (JOB_PROCESS_BACKEND (backend), folder);
  job_parallel_set_backend (parallel, backend);
  job_parallel_set_batch_size (parallel, 1);
  job_parallel_run_async (parallel, (JobCall **) calls->pdata, calls->len,
                          cancellable, on_run_done, &result);
  /* the run holds the only references to the arguments from now on */
  g_clear_pointer (&calls, g_ptr_array_unref);

  /* both workers run a task; the files of the arguments exist meanwhile */
  while ((pids = worker_pids (backend))->len < 2 || count_files (folder) < 2)
    {
      g_clear_pointer (&pids, g_array_unref);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  g_cancellable_cancel (cancellable);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);

  values = job_parallel_run_finish (parallel, result, &error);
  g_assert_null (values);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (count_files (folder), ==, 0);
  for (guint i = 0; i < pids->len; i++)
    assert_gone_soon (g_array_index (pids, int, i));

  /* the run is over: nothing holds the 4 arguments of 2 MiB any more
   * (a batch still finishing is given the time to come back) */
  g_clear_object (&result);
  for (int i = 0; i < 2000 && g_atomic_int_get (&big_args_freed) < 4; i++)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (5000);
    }
  g_assert_cmpint (g_atomic_int_get (&big_args_freed), ==, 4);

  /* no worker is left busy: a new run is served at once by a new one */
  pid = run_pid (backend);
  g_assert_false (pids_contain (pids, pid));
  g_assert_cmpuint (count_files (folder), ==, 0);
  g_rmdir (folder);

  job_backend_shutdown (backend);
}

static void
test_timeout_kills (void)
{
  g_autoptr(JobBackend) backend = new_backend ();
  g_autoptr(GPtrArray) calls = calls_of ("task_sleep", 2, forever_arg);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) values = NULL;
  g_autoptr(GArray) before = warm_up (backend);

  /* tasks of an hour: a timeout that does not kill would hang the test */
  values = run_calls (backend, 2, calls, 1, 0.3, &error);
  g_assert_null (values);
  g_assert_error (error, JOB_ERROR, JOB_ERROR_TIMEOUT);
  g_assert_nonnull (strstr (error->message, "(task_sleep)"));
  for (guint i = 0; i < before->len; i++)
    assert_gone_soon (g_array_index (before, int, i));
  g_assert_false (pids_contain (before, run_pid (backend)));

  job_backend_shutdown (backend);
}

static void
test_shutdown_reaps (void)
{
  g_autoptr(GArray) pids = NULL;
  g_autoptr(GArray) finalized_pids = NULL;
  g_autoptr(GError) error = NULL;
  JobBackend *backend = new_backend ();

  for (int round = 0; round < 2; round++)
    {
      g_autoptr(GPtrArray) calls = calls_of ("task_square", 40, index_arg);
      g_autoptr(GPtrArray) values = NULL;

      values = run_calls (backend, 2, calls, 1, 0, &error);
      g_assert_no_error (error);
      pids = worker_pids (backend);
      g_assert_cmpuint (pids->len, >, 0);

      if (round == 0)
        {
          /* shutdown returns once every worker was reaped */
          job_backend_shutdown (backend);
          for (guint i = 0; i < pids->len; i++)
            g_assert_true (process_is_gone (g_array_index (pids, int, i)));
          g_clear_pointer (&pids, g_array_unref);
        }
    }

  /* so does finalization */
  g_object_unref (backend);
  for (guint i = 0; i < pids->len; i++)
    g_assert_true (process_is_gone (g_array_index (pids, int, i)));
}

static GVariant *
big_bytes_arg (guint i)
{
  gsize size = 4 * 1024 * 1024 + i;
  guint8 *data = g_malloc (size);

  for (gsize j = 0; j < size; j++)
    data[j] = (guint8) (j * 7 + i);
  return g_variant_new ("(@ay)",
                        g_variant_new_from_data (G_VARIANT_TYPE_BYTESTRING, data, size,
                                                 TRUE, g_free, data));
}

static guint64
expected_sum (guint i)
{
  gsize size = 4 * 1024 * 1024 + i;
  guint64 sum = 0;

  for (gsize j = 0; j < size; j++)
    sum += (guint8) (j * 7 + i);
  return sum;
}

static GVariant *
small_bytes_arg (guint i)
{
  static const guint8 data[] = { 1, 2, 3, 250 };

  return g_variant_new ("(@ay)", g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, data,
                                                            sizeof data, 1));
}

static void
test_shared_memory (void)
{
  g_autoptr(JobBackend) backend = new_backend ();
  g_autofree char *folder = g_dir_make_tmp ("joblib-shm-test-XXXXXX", NULL);
  g_autoptr(GPtrArray) calls = calls_of ("task_sum_bytes", 3, big_bytes_arg);
  g_autoptr(GPtrArray) small = calls_of ("task_sum_bytes", 1, small_bytes_arg);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) values = NULL;
  g_autoptr(GDir) dir = NULL;

  g_assert_nonnull (folder);
  job_process_backend_set_temp_folder (JOB_PROCESS_BACKEND (backend), folder);

  values = run_calls (backend, 2, calls, 1, 0, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < values->len; i++)
    {
      guint64 sum;
      g_autoptr(GVariant) paths = NULL;
      const char *path;

      g_variant_get (g_ptr_array_index (values, i), "(t@as)", &sum, &paths);
      g_assert_cmpuint (sum, ==, expected_sum (i));
      /* the argument was mapped from a file of the folder, during the task */
      g_assert_cmpuint (g_variant_n_children (paths), ==, 1);
      g_variant_get_child (paths, 0, "&s", &path);
      g_assert_true (g_str_has_prefix (path, folder));
      /* and the file is gone now */
      g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
    }
  g_clear_pointer (&values, g_ptr_array_unref);

  /* small arguments use the pipe */
  values = run_calls (backend, 2, small, 1, 0, &error);
  g_assert_no_error (error);
  {
    guint64 sum;
    g_autoptr(GVariant) paths = NULL;

    g_variant_get (g_ptr_array_index (values, 0), "(t@as)", &sum, &paths);
    g_assert_cmpuint (sum, ==, 256);
    g_assert_cmpuint (g_variant_n_children (paths), ==, 0);
  }
  g_clear_pointer (&values, g_ptr_array_unref);

  /* a crash while the worker maps the file leaves no file either */
  {
    g_autoptr(JobFunction) crash = task ("task_crash");
    g_autoptr(GPtrArray) crashing = g_ptr_array_new_with_free_func ((GDestroyNotify) job_call_unref);

    g_ptr_array_add (crashing, job_call_new (crash, big_bytes_arg (0)));
    values = run_calls (backend, 2, crashing, 1, 0, &error);
    g_assert_error (error, JOB_ERROR, JOB_ERROR_WORKER_DIED);
    g_clear_error (&error);
  }

  dir = g_dir_open (folder, 0, &error);
  g_assert_no_error (error);
  g_assert_null (g_dir_read_name (dir));
  g_rmdir (folder);

  job_backend_shutdown (backend);
}

/* The pid of a process that ran and was reaped: free, as a parent's that
 * was killed. */
static int
dead_pid (void)
{
  const char *argv[] = { "/bin/true", NULL };
  g_autoptr(GError) error = NULL;
  GPid pid;

  g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid,
                 &error);
  g_assert_no_error (error);
  g_assert_cmpint (waitpid (pid, NULL, 0), ==, pid);
  g_assert_true (process_is_gone (pid));
  return pid;
}

static char *
plant (const char *folder,
       int         pid,
       const char *suffix,
       int         mode)
{
  g_autofree char *name = g_strdup_printf ("joblib-glib-%d-%s", pid, suffix);
  char *path = g_build_filename (folder, name, NULL);

  g_assert_true (g_file_set_contents (path, "left over", -1, NULL));
  g_assert_cmpint (g_chmod (path, mode), ==, 0);
  return path;
}

/* Files of shared-memory arguments whose parent died (killed before it
 * could remove them) are removed by the next process that writes into
 * the folder; nothing else is: not a live process's files, not a link
 * (nor what it points to), not a file we would not have made. */
static void
test_shared_memory_sweep (void)
{
  g_autoptr(JobBackend) backend = new_backend ();
  g_autofree char *folder = g_dir_make_tmp ("joblib-shm-sweep-XXXXXX", NULL);
  g_autofree char *outside = g_dir_make_tmp ("joblib-shm-target-XXXXXX", NULL);
  g_autofree char *target = g_build_filename (outside, "target", NULL);
  g_autoptr(GPtrArray) calls = calls_of ("task_sum_bytes", 1, big_bytes_arg);
  g_autoptr(GPtrArray) values = NULL;
  g_autoptr(GError) error = NULL;
  /* our parent (meson, a shell) lives as long as this test */
  int live = getppid ();
  int dead = dead_pid ();
  g_autofree char *of_dead = NULL, *of_live = NULL, *readable = NULL, *of_other = NULL;
  g_autofree char *link = NULL, *odd_name = NULL, *contents = NULL;

  g_assert_false (process_is_gone (live));
  of_dead = plant (folder, dead, "AbC123", 0600);
  of_live = plant (folder, live, "AbC123", 0600);
  readable = plant (folder, dead, "Rd0644", 0644);
  odd_name = plant (folder, dead, "toolong", 0600);
  g_assert_true (g_file_set_contents (target, "not yours", -1, NULL));
  g_assert_cmpint (g_chmod (target, 0600), ==, 0);
  link = g_strdup_printf ("%s/joblib-glib-%d-Lnk123", folder, dead);
  g_assert_cmpint (symlink (target, link), ==, 0);
  if (geteuid () == 0)
    {
      /* another user's file (65534: nobody) */
      of_other = plant (folder, dead, "Othr12", 0600);
      g_assert_cmpint (chown (of_other, 65534, 65534), ==, 0);
    }

  job_process_backend_set_temp_folder (JOB_PROCESS_BACKEND (backend), folder);
  values = run_calls (backend, 2, calls, 1, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (values->len, ==, 1);

  g_assert_false (g_file_test (of_dead, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (of_live, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_test (readable, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_test (odd_name, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_test (link, G_FILE_TEST_IS_SYMLINK));
  g_assert_true (g_file_get_contents (target, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "not yours");
  if (of_other != NULL)
    g_assert_true (g_file_test (of_other, G_FILE_TEST_IS_REGULAR));

  job_backend_shutdown (backend);
  for (const char *path, **paths = (const char *[]) { of_live, readable, odd_name, link,
                                                      target, of_other, NULL };
       (path = *paths) != NULL; paths++)
    g_unlink (path);
  g_assert_cmpint (g_rmdir (folder), ==, 0);
  g_assert_cmpint (g_rmdir (outside), ==, 0);
}

static char *
worker_getenv (JobBackend *backend,
               const char *name)
{
  g_autoptr(GVariant) value = run_one (backend, "task_getenv", g_variant_new ("(s)", name));

  return g_variant_dup_string (value, NULL);
}

static void
test_thread_limits (void)
{
  g_autoptr(JobBackend) backend = new_backend ();
  g_autofree char *expected = g_strdup_printf ("%d", MAX (job_cpu_count () / 2, 1));
  g_autoptr(JobParallelConfig) config = job_parallel_config_new ();
  char *value;

  /* main() set OMP_NUM_THREADS=7 and unset the others */
  value = worker_getenv (backend, "OPENBLAS_NUM_THREADS");
  g_assert_cmpstr (value, ==, expected);
  g_free (value);
  /* the caller's own setting wins over the default */
  value = worker_getenv (backend, "OMP_NUM_THREADS");
  g_assert_cmpstr (value, ==, "7");
  g_free (value);

  /* an explicit limit wins over both; workers are replaced for it */
  job_parallel_config_set_inner_max_num_threads (config, 5);
  job_parallel_config_push (config);
  value = worker_getenv (backend, "OMP_NUM_THREADS");
  g_assert_cmpstr (value, ==, "5");
  g_free (value);
  job_parallel_config_pop (config);

  job_process_backend_set_inner_max_num_threads (JOB_PROCESS_BACKEND (backend), 3);
  value = worker_getenv (backend, "MKL_NUM_THREADS");
  g_assert_cmpstr (value, ==, "3");
  g_free (value);

  job_backend_shutdown (backend);
}

static GVariant *
local_body (GVariant      *args,
            GCancellable  *cancellable,
            gpointer       user_data,
            GError       **error)
{
  return g_variant_ref (args);
}

static int
worker_blas_threads (JobBackend *backend)
{
  g_autoptr(GVariant) threads = run_one (backend, "task_blas_threads", g_variant_new ("()"));

  return g_variant_get_int32 (threads);
}

/* The limit reaches the BLAS library itself, as the worker's task sees it
 * through JobNativeLibrary; a new limit gives new workers. */
static void
test_blas_limit_in_worker (void)
{
  g_autoptr(JobBackend) backend = new_backend ();
  JobProcessBackend *process = JOB_PROCESS_BACKEND (backend);

  job_process_backend_set_inner_max_num_threads (process, 1);
  if (worker_blas_threads (backend) == -1)
    {
      g_test_skip ("OpenBLAS is not installed");
      job_backend_shutdown (backend);
      return;
    }
  g_assert_cmpint (worker_blas_threads (backend), ==, 1);
  job_process_backend_set_inner_max_num_threads (process, 2);
  g_assert_cmpint (worker_blas_threads (backend), ==, 2);

  job_backend_shutdown (backend);
}

/* Writes @frame to a fresh worker after its HELLO and checks that it
 * exits with status 2, says why on stderr and, for a frame it could
 * read, leaves with a GOODBYE giving the same reason. */
static void
check_worker_rejects (const guint8 *frame,
                      gsize         size,
                      const char   *message)
{
  const char *path = g_getenv ("JOB_WORKER_PATH");
  g_autoptr(GSubprocess) worker = NULL;
  g_autoptr(GBytes) input = g_bytes_new (frame, size);
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GBytes) err = NULL;
  g_autoptr(GError) error = NULL;
  const guint8 *data;
  gsize n;
  guint32 hello_length;

  g_assert_nonnull (path);
  worker = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                             G_SUBPROCESS_FLAGS_STDERR_PIPE, &error, path, NULL);
  g_assert_no_error (error);
  g_subprocess_communicate (worker, input, NULL, &out, &err, &error);
  g_assert_no_error (error);

  if (!g_subprocess_get_if_exited (worker))
    g_error ("worker killed by signal %d for “%s”", g_subprocess_get_term_sig (worker), message);
  g_assert_cmpint (g_subprocess_get_exit_status (worker), ==, 2);
  g_assert_nonnull (g_strstr_len (g_bytes_get_data (err, NULL), g_bytes_get_size (err), message));

  /* HELLO (version 2, type 1), then GOODBYE (type 6) */
  data = g_bytes_get_data (out, &n);
  g_assert_cmpuint (n, >=, 8);
  g_assert_cmpuint (data[4], ==, 2);
  g_assert_cmpuint (data[5], ==, 1);
  memcpy (&hello_length, data, 4);
  hello_length = GUINT32_FROM_LE (hello_length);
  g_assert_cmpuint (n, >, 8 + hello_length + 8);
  g_assert_cmpuint (data[8 + hello_length + 5], ==, 6);
}

static void
test_worker_frame_reader (void)
{
  /* a payload that is no (tba(sa{sv})auava(uusst)) in normal form */
  static const guint8 bad_payload[] = { 4, 0, 0, 0, 2, 2, 0, 0, 'a', 'b', 'c', 'd' };
  /* a length above the 1 GiB limit */
  static const guint8 too_long[] = { 0, 0, 0, 0x50, 2, 2, 0, 0 };
  /* a frame cut short by the end of the stream */
  static const guint8 truncated[] = { 100, 0, 0, 0, 2, 2, 0, 0, 1, 2, 3 };
  /* an unknown message type, another version, reserved bytes */
  static const guint8 bad_type[] = { 0, 0, 0, 0, 2, 42, 0, 0 };
  static const guint8 bad_version[] = { 0, 0, 0, 0, 1, 2, 0, 0 };
  static const guint8 reserved[] = { 0, 0, 0, 0, 2, 6, 1, 0 };
  /* a well-formed RESULTS frame (call 0, task 0, no value): not for workers */
  static const guint8 wrong_way[8 + 16] = { 16, 0, 0, 0, 2, 3, 0, 0 };
  /* an empty payload, which no message type has */
  static const guint8 empty[] = { 0, 0, 0, 0, 2, 2, 0, 0 };

  check_worker_rejects (bad_payload, sizeof bad_payload, "Malformed");
  check_worker_rejects (too_long, sizeof too_long, "larger than the limit");
  check_worker_rejects (truncated, sizeof truncated, "ended inside");
  check_worker_rejects (bad_type, sizeof bad_type, "unknown message type");
  check_worker_rejects (bad_version, sizeof bad_version, "protocol version 1");
  check_worker_rejects (reserved, sizeof reserved, "unknown message type");
  check_worker_rejects (wrong_way, sizeof wrong_way, "unexpected “results” frame");
  check_worker_rejects (empty, sizeof empty, "Malformed “call” frame (0 bytes)");
}

static GPtrArray *
run_strings (JobBackend *backend,
             const char *symbol,
             guint       n,
             GVariant *(*make_args) (guint i),
             GError    **error)
{
  g_autoptr(GPtrArray) calls = calls_of (symbol, n, make_args);

  return run_calls (backend, 2, calls, 1, 0, error);
}

/* Every worker runs the initializer once before its tasks; a new one
 * applies to new workers; a failing one fails the tasks, with its error. */
static void
test_initializer (void)
{
  g_autoptr(JobBackend) backend = new_backend ();
  JobProcessBackend *process = JOB_PROCESS_BACKEND (backend);
  g_autoptr(JobFunction) init = task ("task_init");
  g_autoptr(JobFunction) fail = task ("task_fail");
  g_autoptr(GPtrArray) values = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) first = NULL;

  job_process_backend_set_initializer (process, init, g_variant_new ("(s)", "model-1"));
  values = run_strings (backend, "task_read_init", 8, no_args, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < values->len; i++)
    g_assert_cmpstr (g_variant_get_string (g_ptr_array_index (values, i), NULL), ==, "model-1");
  g_clear_pointer (&values, g_ptr_array_unref);
  first = worker_pids (backend);
  g_assert_cmpuint (first->len, ==, 2);

  /* another initializer: the next run gets new workers that ran it */
  job_process_backend_set_initializer (process, init, g_variant_new ("(s)", "model-2"));
  values = run_strings (backend, "task_read_init", 8, no_args, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < values->len; i++)
    g_assert_cmpstr (g_variant_get_string (g_ptr_array_index (values, i), NULL), ==, "model-2");
  g_clear_pointer (&values, g_ptr_array_unref);
  for (guint i = 0; i < first->len; i++)
    assert_gone_soon (g_array_index (first, int, i));

  /* a failing initializer: its error, named as such, for the tasks */
  job_process_backend_set_initializer (process, fail, NULL);
  values = run_strings (backend, "task_square", 4, index_arg, &error);
  g_assert_null (values);
  g_assert_error (error, g_quark_from_string ("test-tasks-error"), 7);
  g_assert_nonnull (strstr (error->message, "initializer"));
  g_clear_error (&error);

  /* none: plain workers again */
  job_process_backend_set_initializer (process, NULL, NULL);
  values = run_strings (backend, "task_read_init", 2, no_args, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_string (g_ptr_array_index (values, 0), NULL), ==, "");

  job_backend_shutdown (backend);
}

static GVariant *
env_name_arg (guint i)
{
  return g_variant_new ("(s)", i % 2 ? "OMP_NUM_THREADS" : "JOB_TEST_RUN");
}

/* A run's environment reaches its workers, over the thread limits. */
static void
test_environment (void)
{
  g_autoptr(JobBackend) backend = new_backend ();
  JobProcessBackend *process = JOB_PROCESS_BACKEND (backend);
  const char * const first[] = { "JOB_TEST_RUN=first", NULL };
  const char * const second[] = { "JOB_TEST_RUN=second", "OMP_NUM_THREADS=7", NULL };
  g_autoptr(GPtrArray) values = NULL;
  g_autoptr(GError) error = NULL;

  job_process_backend_set_environment (process, first);
  values = run_strings (backend, "task_getenv", 4, env_name_arg, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_string (g_ptr_array_index (values, 0), NULL), ==, "first");
  g_assert_cmpstr (g_variant_get_string (g_ptr_array_index (values, 2), NULL), ==, "first");
  g_clear_pointer (&values, g_ptr_array_unref);

  job_process_backend_set_environment (process, second);
  values = run_strings (backend, "task_getenv", 4, env_name_arg, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < values->len; i++)
    g_assert_cmpstr (g_variant_get_string (g_ptr_array_index (values, i), NULL), ==,
                     i % 2 ? "7" : "second");
  g_clear_pointer (&values, g_ptr_array_unref);

  job_process_backend_set_environment (process, NULL);
  values = run_strings (backend, "task_getenv", 2, env_name_arg, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_string (g_ptr_array_index (values, 0), NULL), ==, "");

  job_backend_shutdown (backend);
}

static GVariant *
dummy_func (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  return g_variant_new ("()");
}

/* Programmer errors are criticals and change nothing. */
static void
test_setup_bad_input (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(JobBackend) backend = new_backend ();
      g_autoptr(JobFunction) local = job_function_new ("local", dummy_func, NULL, NULL);

      /* a function no worker can resolve */
      job_process_backend_set_initializer (JOB_PROCESS_BACKEND (backend), local, NULL);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*job_function_get_reference*");
}

static void
test_environment_bad_input (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(JobBackend) backend = new_backend ();
      const char * const bad[] = { "GOOD=1", "NO_EQUAL_SIGN", NULL };

      job_process_backend_set_environment (JOB_PROCESS_BACKEND (backend), bad);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*strchr*");
}

static void
test_no_reference (void)
{
  g_autoptr(JobBackend) backend = new_backend ();
  g_autoptr(JobFunction) local = job_function_new ("local_only",
                                                   local_body, NULL, NULL);
  g_autoptr(GPtrArray) calls = g_ptr_array_new_with_free_func ((GDestroyNotify) job_call_unref);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) values = NULL;

  g_assert_null (job_function_get_reference (local));
  g_ptr_array_add (calls, job_call_new (local, g_variant_new ("()")));
  values = run_calls (backend, 2, calls, 0, 0, &error);
  g_assert_null (values);
  g_assert_error (error, JOB_ERROR, JOB_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "local_only"));

  job_backend_shutdown (backend);
}

static void
check_worker_failure (const char * const *argv,
                      GQuark              domain,
                      int                 code,
                      const char         *expected)
{
  g_autoptr(JobBackend) backend = new_backend ();
  g_autoptr(GPtrArray) calls = calls_of ("task_square", 5, index_arg);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) values = NULL;

  /* the broken worker not given the failing task may warn */
  worker_deaths_tolerate ("*protocol*");
  job_process_backend_set_worker_command ("native", argv);
  values = run_calls (backend, 2, calls, 0, 0, &error);
  job_process_backend_set_worker_command ("native", NULL);

  g_assert_null (values);
  g_assert_error (error, domain, code);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, expected));

  /* the default worker works again */
  g_clear_error (&error);
  g_clear_pointer (&calls, g_ptr_array_unref);
  calls = calls_of ("task_square", 5, index_arg);
  values = run_calls (backend, 2, calls, 0, 0, &error);
  g_assert_no_error (error);
  job_backend_shutdown (backend);
  worker_deaths_tolerate (NULL);
}

static void
test_missing_worker (void)
{
  const char * const argv[] = { "/nonexistent/joblib-glib-worker", NULL };

  check_worker_failure (argv, JOB_ERROR, JOB_ERROR_NOT_FOUND,
                        "/nonexistent/joblib-glib-worker");
}

static void
test_protocol_garbage (void)
{
  g_autofree char *script = g_test_build_filename (G_TEST_DIST, "fake-worker-garbage.sh", NULL);
  const char * const argv[] = { script, NULL };

  check_worker_failure (argv, JOB_ERROR, JOB_ERROR_PROTOCOL, "protocol");
}

static void
test_idle_timeout (void)
{
  g_autoptr(JobBackend) backend = new_backend ();
  g_autoptr(GArray) pids = NULL;
  gint64 pid;

  job_process_backend_set_idle_timeout (JOB_PROCESS_BACKEND (backend), 0.05);
  pid = run_pid (backend);
  for (int i = 0; i < 2000; i++)
    {
      g_clear_pointer (&pids, g_array_unref);
      pids = worker_pids (backend);
      if (pids->len == 0)
        break;
      g_usleep (5000);
    }
  g_assert_cmpuint (pids->len, ==, 0);
  assert_gone_soon ((int) pid);
  job_backend_shutdown (backend);
}

/* The idle timeout applies per worker: while one worker runs a long task,
 * the idle one leaves and the pool shrinks to one. */
static void
test_idle_timeout_shrinks (void)
{
  g_autoptr(JobBackend) backend = new_backend ();
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  g_autoptr(GPtrArray) calls = calls_of ("task_sleep", 1, forever_arg);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GArray) before = warm_up (backend);
  g_autoptr(GArray) pids = NULL;

  job_process_backend_set_idle_timeout (JOB_PROCESS_BACKEND (backend), 0.1);
  job_parallel_set_backend (parallel, backend);
  job_parallel_run_async (parallel, (JobCall **) calls->pdata, calls->len,
                          cancellable, on_run_done, &result);

  /* the task takes an hour: bounded wait for the idle worker to leave */
  for (int i = 0; i < 2000; i++)
    {
      g_clear_pointer (&pids, g_array_unref);
      g_main_context_iteration (NULL, FALSE);
      pids = worker_pids (backend);
      if (pids->len == 1)
        break;
      g_usleep (5000);
    }
  g_assert_null (result);
  g_assert_cmpuint (pids->len, ==, 1);
  g_assert_true (pids_contain (before, g_array_index (pids, int, 0)));
  for (guint i = 0; i < before->len; i++)
    if (g_array_index (before, int, i) != g_array_index (pids, int, 0))
      assert_gone_soon (g_array_index (before, int, i));

  g_cancellable_cancel (cancellable);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  job_backend_shutdown (backend);
}

static void
test_stdout_is_not_the_pipe (void)
{
  g_autoptr(JobBackend) backend = new_backend ();
  g_autoptr(GPtrArray) calls = calls_of ("task_print", 3, no_args);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) values = run_calls (backend, 2, calls, 0, 0, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (values->len, ==, 3);
  g_assert_cmpint (g_variant_get_int32 (g_ptr_array_index (values, 2)), ==, 1);
  job_backend_shutdown (backend);
}

/* A backend chosen by name belongs to its JobParallel: dropping the
 * Parallel right after a run must free the backend and its pool cleanly,
 * whichever thread lets go of it last, and leave no worker behind. */
static void
test_backend_by_name_per_run (void)
{
  for (guint run = 0; run < 20; run++)
    {
      g_autoptr(GPtrArray) calls = calls_of ("task_square", 50, index_arg);
      g_autoptr(JobParallel) parallel = job_parallel_new (2);
      g_autoptr(GPtrArray) values = NULL;
      g_autoptr(GError) error = NULL;

      job_parallel_set_backend_name (parallel, "processes");
      job_parallel_set_batch_size (parallel, run % 3);
      values = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (values->len, ==, 50);
      for (guint i = 0; i < values->len; i++)
        g_assert_cmpint (g_variant_get_int64 (g_ptr_array_index (values, i)), ==, (gint64) i * i);
    }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  worker_deaths_install ();

  /* before any thread starts: what /joblib/process/thread-limits expects
   * from the caller's environment */
  g_setenv ("OMP_NUM_THREADS", "7", TRUE);
  g_unsetenv ("OPENBLAS_NUM_THREADS");
  g_unsetenv ("MKL_NUM_THREADS");

  g_test_add_func ("/joblib/process/ordered-results", test_ordered_results);
  g_test_add_func ("/joblib/process/backend-by-name-per-run", test_backend_by_name_per_run);
  g_test_add_func ("/joblib/process/in-process-reference", test_in_process_reference);
  g_test_add_func ("/joblib/process/reuse-workers", test_reuse_workers);
  g_test_add_func ("/joblib/process/error-keeps-worker", test_error_keeps_worker);
  g_test_add_func ("/joblib/process/error-spares-running", test_error_spares_running);
  g_test_add_func ("/joblib/process/crash/segv", test_crash_segv);
  g_test_add_func ("/joblib/process/crash/exit", test_crash_exit);
  g_test_add_func ("/joblib/process/crash/kill", test_crash_kill);
  g_test_add_func ("/joblib/process/crash/behind-held-answers", test_crash_behind_held_answers);
  g_test_add_func ("/joblib/process/cancel-kills", test_cancel_kills);
  g_test_add_func ("/joblib/process/cancel-removes-files", test_cancel_removes_files);
  g_test_add_func ("/joblib/process/timeout-kills", test_timeout_kills);
  g_test_add_func ("/joblib/process/shutdown-reaps", test_shutdown_reaps);
  g_test_add_func ("/joblib/process/shared-memory", test_shared_memory);
  g_test_add_func ("/joblib/process/shared-memory-sweep", test_shared_memory_sweep);
  g_test_add_func ("/joblib/process/thread-limits", test_thread_limits);
  g_test_add_func ("/joblib/process/blas-limit-in-worker", test_blas_limit_in_worker);
  g_test_add_func ("/joblib/process/worker-frame-reader", test_worker_frame_reader);
  g_test_add_func ("/joblib/process/initializer", test_initializer);
  g_test_add_func ("/joblib/process/environment", test_environment);
  g_test_add_func ("/joblib/process/initializer-bad-input", test_setup_bad_input);
  g_test_add_func ("/joblib/process/environment-bad-input", test_environment_bad_input);
  g_test_add_func ("/joblib/process/no-reference", test_no_reference);
  g_test_add_func ("/joblib/process/missing-worker", test_missing_worker);
  g_test_add_func ("/joblib/process/protocol-garbage", test_protocol_garbage);
  g_test_add_func ("/joblib/process/idle-timeout", test_idle_timeout);
  g_test_add_func ("/joblib/process/idle-timeout-shrinks", test_idle_timeout_shrinks);
  g_test_add_func ("/joblib/process/stdout-is-not-the-pipe", test_stdout_is_not_the_pipe);

  return g_test_run ();
}
