/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* JobDaskBackend and JobIpyparallelBackend against a real cluster on
 * 127.0.0.1: run by tests/cluster/cluster.py (from the Python tests of
 * each cluster), which starts a Dask scheduler and two Dask workers, or
 * an ipcontroller and two engines, and says where in the environment
 * (JOB_TEST_DASK_SCHEDULER and JOB_TEST_DASK_WORKER_PIDS, or
 * JOB_TEST_IPP_URL_FILE and JOB_TEST_IPP_ENGINE_PIDS). The last test
 * kills one of the cluster's workers. */

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>
#include <joblib-glib.h>

#define WAIT_SECONDS 120

static gboolean
is_dask (void)
{
  return g_getenv ("JOB_TEST_DASK_SCHEDULER") != NULL;
}

/* The pids of the cluster's Dask workers or engines. */
static GStrv
cluster_pids (void)
{
  const char *pids = g_getenv (is_dask () ? "JOB_TEST_DASK_WORKER_PIDS"
                                          : "JOB_TEST_IPP_ENGINE_PIDS");

  return g_strsplit (pids != NULL ? pids : "", " ", -1);
}

/* One worker per thread of the cluster: two Dask workers of two threads,
 * or two single-task engines. */
static int
cluster_threads (void)
{
  return is_dask () ? 4 : 2;
}

static JobClusterBackend *
new_backend (void)
{
  JobClusterBackend *backend =
    is_dask () ? JOB_CLUSTER_BACKEND (job_dask_backend_new (g_getenv ("JOB_TEST_DASK_SCHEDULER")))
               : JOB_CLUSTER_BACKEND (job_ipyparallel_backend_new (g_getenv ("JOB_TEST_IPP_URL_FILE")));

  g_object_set (backend, "listen-address", "127.0.0.1", NULL);
  return backend;
}

static const char *
test_dir (void)
{
  return g_getenv ("JOB_CLUSTER_TEST_DIR");
}

static GPtrArray *
where_calls (guint  n,
             double seconds)
{
  g_autoptr(JobFunction) where =
    job_function_new_for_symbol (g_getenv ("JOB_CLUSTER_TASKS_MODULE"), "cluster_task_where", NULL);
  GPtrArray *calls = g_ptr_array_new_with_free_func ((GDestroyNotify) job_call_unref);

  for (guint i = 0; i < n; i++)
    g_ptr_array_add (calls, job_call_new (where, g_variant_new ("(xd)", (gint64) i, seconds)));
  return calls;
}

static JobParallel *
new_parallel (JobClusterBackend *backend,
              int                n_jobs)
{
  JobParallel *parallel = job_parallel_new (n_jobs);

  job_parallel_set_backend (parallel, JOB_BACKEND (backend));
  job_parallel_set_batch_size (parallel, 1);
  return parallel;
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

/* The "X-NODEPID-PID" part of the task start markers, and removing them. */
static GPtrArray *
list_markers (gboolean remove)
{
  g_autoptr(GDir) dir = g_dir_open (test_dir (), 0, NULL);
  GPtrArray *markers = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_prefix (name, "started-"))
      {
        g_autofree char *path = g_build_filename (test_dir (), name, NULL);

        g_ptr_array_add (markers, g_strdup (name + strlen ("started-")));
        if (remove)
          g_unlink (path);
      }
  return markers;
}

static void
clear_markers (void)
{
  g_ptr_array_unref (list_markers (TRUE));
}

/* Bad input: a clear GError, never a hang. */
static void
test_bad_input (void)
{
  g_autoptr(JobDaskBackend) nowhere = job_dask_backend_new (NULL);
  g_autoptr(JobClusterBackend) backend = new_backend ();
  g_autoptr(GError) error = NULL;
  const char * const missing[] = { "/nonexistent/python3", "helper.py", NULL };

  /* No scheduler anywhere (main() unset DASK_SCHEDULER_ADDRESS). */
  g_assert_false (job_backend_configure (JOB_BACKEND (nowhere), 2, &error));
  g_assert_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "scheduler-address"));
  g_clear_error (&error);

  g_assert_false (job_backend_configure (JOB_BACKEND (backend), 0, &error));
  g_assert_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_assert_false (job_cluster_backend_start_workers (backend, "native", 0, 1, &error));
  g_assert_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* A helper that cannot run. */
  g_object_set (backend, "helper-command", missing, NULL);
  g_assert_false (job_cluster_backend_connect (backend, 30, &error));
  g_assert_error (error, G_SPAWN_ERROR, G_SPAWN_ERROR_NOENT);
  g_assert_nonnull (strstr (error->message, "submission helper"));
  g_clear_error (&error);
  job_backend_shutdown (JOB_BACKEND (backend));

  if (g_test_subprocess ())
    return;
  g_test_trap_subprocess ("/joblib/cluster/bad-input/subprocess/null", 0,
                          G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*JOB_IS_CLUSTER_BACKEND*");
}

static void
test_bad_input_null (void)
{
  job_cluster_backend_start_workers (NULL, "native", 1, 1, NULL);
}

/* Results in input order, computed by workers on both of the cluster's
 * Dask workers (engines); the helper reports the cluster's size. */
static void
test_order (void)
{
  g_autoptr(JobClusterBackend) backend = new_backend ();
  g_autoptr(JobParallel) parallel = new_parallel (backend, cluster_threads ());
  g_autoptr(GPtrArray) calls = where_calls (40, 0.02);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GHashTable) nodes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) pids = cluster_pids ();

  job_cluster_backend_connect (backend, WAIT_SECONDS, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (job_cluster_backend_get_cluster_threads (backend), ==, cluster_threads ());
  /* Every worker connected before the run: each gets work. */
  job_cluster_backend_start_workers (backend, "native", cluster_threads (), WAIT_SECONDS, &error);
  g_assert_no_error (error);

  results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (results->len, ==, 40);
  for (guint i = 0; i < results->len; i++)
    {
      gint64 square;
      const char *where;

      g_variant_get (g_ptr_array_index (results, i), "(x&s)", &square, &where);
      g_assert_cmpint (square, ==, (gint64) i * i);
      g_hash_table_add (nodes, g_strndup (where, strcspn (where, "/")));
    }
  /* The workers ran in the cluster's own processes. */
  g_assert_cmpuint (g_hash_table_size (nodes), ==, 2);
  g_assert_true (g_hash_table_contains (nodes, pids[0]));
  g_assert_true (g_hash_table_contains (nodes, pids[1]));
  g_assert_cmpuint (job_cluster_backend_get_n_refused (backend), ==, 0);
  job_backend_shutdown (JOB_BACKEND (backend));
  clear_markers ();
}

/* n_jobs=-1 is the cluster's size (its Dask threads or engines), not
 * this machine's CPUs, and the calls go one to a worker: as many calls
 * as the cluster has threads, each returning only once all of them run
 * at the same time, finish in as many worker processes. */
static void
test_n_jobs_all (void)
{
  g_autoptr(JobClusterBackend) backend = new_backend ();
  g_autoptr(JobParallel) parallel = new_parallel (backend, -1);
  g_autoptr(JobFunction) barrier =
    job_function_new_for_symbol (g_getenv ("JOB_TEST_TASKS_MODULE"), "task_barrier", NULL);
  g_autoptr(GPtrArray) calls = g_ptr_array_new_with_free_func ((GDestroyNotify) job_call_unref);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GHashTable) pids = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_autofree char *folder = g_build_filename (test_dir (), "barrier", NULL);
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GError) error = NULL;
  const char *name;

  g_assert_cmpint (g_mkdir_with_parents (folder, 0700), ==, 0);
  for (int i = 0; i < cluster_threads (); i++)
    g_ptr_array_add (calls, job_call_new (barrier, g_variant_new ("(si)", folder,
                                                                  cluster_threads ())));
  results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < results->len; i++)
    g_hash_table_add (pids, GINT_TO_POINTER ((int) g_variant_get_int64 (g_ptr_array_index (results, i))));
  g_assert_cmpuint (g_hash_table_size (pids), ==, (guint) cluster_threads ());
  job_backend_shutdown (JOB_BACKEND (backend));

  dir = g_dir_open (folder, 0, &error);
  g_assert_no_error (error);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (folder, name, NULL);

      g_assert_cmpint (g_unlink (path), ==, 0);
    }
  g_assert_cmpint (g_rmdir (folder), ==, 0);
}

/* A run in a thread of its own while the test disturbs the cluster. */
typedef struct
{
  JobParallel  *parallel;
  GPtrArray    *calls;
  GCancellable *cancellable;
  GPtrArray    *results;
  GError       *error;
} Run;

static gpointer
run_thread (gpointer data)
{
  Run *run = data;

  run->results = job_parallel_run (run->parallel, (JobCall **) run->calls->pdata,
                                   run->calls->len, run->cancellable, &run->error);
  return NULL;
}

static gboolean
n_markers_at_least (gpointer data)
{
  g_autoptr(GPtrArray) markers = list_markers (FALSE);

  return markers->len >= GPOINTER_TO_UINT (data);
}

static gboolean
processes_gone (gpointer data)
{
  GArray *pids = data;

  for (guint i = 0; i < pids->len; i++)
    if (kill (g_array_index (pids, int, i), 0) == 0 || errno != ESRCH)
      return FALSE;
  return TRUE;
}

/* Cancelling a run of long tasks stops every worker it started at once,
 * in the middle of its task: no process is left on the cluster. */
static void
test_cancel (void)
{
  g_autoptr(JobClusterBackend) backend = new_backend ();
  g_autoptr(GPtrArray) calls = where_calls (cluster_threads (), 600);
  g_autoptr(GPtrArray) markers = NULL;
  g_autoptr(GArray) worker_pids = g_array_new (FALSE, FALSE, sizeof (int));
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  Run run = { new_parallel (backend, cluster_threads ()), calls, cancellable, NULL, NULL };
  GThread *thread;

  clear_markers ();
  /* One task per worker: all connected first (a worker takes up to four
   * calls in flight, the first one to connect would hold them all). */
  job_cluster_backend_start_workers (backend, "native", cluster_threads (), WAIT_SECONDS, &error);
  g_assert_no_error (error);
  thread = g_thread_new ("run", run_thread, &run);
  g_assert_true (wait_until (n_markers_at_least, GUINT_TO_POINTER (cluster_threads ())));
  markers = list_markers (TRUE);
  for (guint i = 0; i < markers->len; i++)
    {
      const char *pid = strrchr (g_ptr_array_index (markers, i), '-') + 1;
      int value = atoi (pid);

      g_assert_cmpint (kill (value, 0), ==, 0);
      g_array_append_val (worker_pids, value);
    }

  g_cancellable_cancel (cancellable);
  g_thread_join (thread);
  g_assert_error (run.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (run.results);
  g_assert_true (wait_until (processes_gone, worker_pids));

  g_clear_error (&run.error);
  g_object_unref (run.parallel);
  job_backend_shutdown (JOB_BACKEND (backend));
}

/* The first "X-NODEPID-PID" marker of a task on cluster process @node. */
typedef struct
{
  const char *node;
  char       *marker;
} Marker;

static gboolean
find_marker (gpointer data)
{
  Marker *marker = data;
  g_autoptr(GPtrArray) markers = list_markers (FALSE);
  g_autofree char *infix = g_strdup_printf ("-%s-", marker->node);

  for (guint i = 0; i < markers->len; i++)
    if (strstr (g_ptr_array_index (markers, i), infix) != NULL)
      {
        marker->marker = g_strdup (g_ptr_array_index (markers, i));
        return TRUE;
      }
  return FALSE;
}

/* A Dask worker (engine) killed in the middle of the run: the workers
 * it ran die with it, and the tasks they held run again on the other
 * one; every result arrives, in order. Runs last: the cluster has one
 * worker fewer afterwards. */
static void
test_worker_killed (void)
{
  g_autoptr(JobClusterBackend) backend = new_backend ();
  g_autoptr(GPtrArray) calls = where_calls (24, 1.0);
  g_autoptr(GPtrArray) markers = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) pids = cluster_pids ();
  Run run = { new_parallel (backend, cluster_threads ()), calls, NULL, NULL, NULL };
  Marker marker = { pids[0], NULL };
  g_autofree char *victim = g_strdup_printf ("-%s-", pids[0]);
  guint n_rerun = 0;
  GThread *thread;

  clear_markers ();
  job_cluster_backend_start_workers (backend, "native", cluster_threads (), WAIT_SECONDS, &error);
  g_assert_no_error (error);
  thread = g_thread_new ("run", run_thread, &run);
  g_assert_true (wait_until (find_marker, &marker));
  g_assert_cmpint (kill (atoi (pids[0]), SIGKILL), ==, 0);
  g_thread_join (thread);

  g_assert_no_error (run.error);
  g_assert_cmpuint (run.results->len, ==, 24);
  markers = list_markers (TRUE);
  for (guint i = 0; i < run.results->len; i++)
    {
      g_autofree char *prefix = g_strdup_printf ("%u-", i);
      gint64 square;
      const char *where;
      gboolean started_on_victim = FALSE;

      g_variant_get (g_ptr_array_index (run.results, i), "(x&s)", &square, &where);
      g_assert_cmpint (square, ==, (gint64) i * i);
      for (guint j = 0; j < markers->len; j++)
        {
          const char *name = g_ptr_array_index (markers, j);

          started_on_victim |= g_str_has_prefix (name, prefix) && strstr (name, victim) != NULL;
        }
      /* Lost with the victim, answered from the surviving process. */
      if (started_on_victim && g_str_has_prefix (where, pids[1]) && where[strlen (pids[1])] == '/')
        n_rerun++;
    }
  g_assert_cmpuint (n_rerun, >=, 1);
  g_free (marker.marker);
  g_ptr_array_unref (run.results);
  g_object_unref (run.parallel);
  job_backend_shutdown (JOB_BACKEND (backend));
}

int
main (int    argc,
      char **argv)
{
  g_unsetenv ("DASK_SCHEDULER_ADDRESS");
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/joblib/cluster/bad-input", test_bad_input);
  g_test_add_func ("/joblib/cluster/bad-input/subprocess/null", test_bad_input_null);
  g_test_add_func ("/joblib/cluster/order", test_order);
  g_test_add_func ("/joblib/cluster/n-jobs-all", test_n_jobs_all);
  g_test_add_func ("/joblib/cluster/cancel", test_cancel);
  g_test_add_func ("/joblib/cluster/worker-killed", test_worker_killed);
  return g_test_run ();
}
