/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <joblib-glib.h>

/* A backend that runs each batch in the caller and records its size: it
 * shows what the dispatcher hands to a third-party backend registered by
 * name. Batches complete from an idle, as a real asynchronous backend's
 * would. */
#define TEST_TYPE_RECORDING_BACKEND (test_recording_backend_get_type ())
G_DECLARE_FINAL_TYPE (TestRecordingBackend, test_recording_backend,
                      TEST, RECORDING_BACKEND, GObject)

struct _TestRecordingBackend
{
  GObject parent_instance;
  int     configured_n_jobs;
};

/* Sizes of the batches run by any recording backend, in submission order.
 * Backends are created by name inside JobParallel, so the record is global;
 * only touched on the main thread. */
static GArray *recorded_sizes;

static void test_recording_backend_iface_init (JobBackendInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TestRecordingBackend, test_recording_backend, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (JOB_TYPE_BACKEND,
                                                      test_recording_backend_iface_init))

static const char *
recording_get_display_name (JobBackend *backend)
{
  return "RecordingBackend";
}

static gboolean
recording_configure (JobBackend  *backend,
                     int          n_jobs,
                     GError     **error)
{
  TEST_RECORDING_BACKEND (backend)->configured_n_jobs = n_jobs;
  return TRUE;
}

static void
recording_run_batch_async (JobBackend          *backend,
                           JobBatch            *batch,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (backend, cancellable, callback, user_data);
  guint n_tasks = job_batch_get_n_tasks (batch);

  g_assert_nonnull (recorded_sizes);
  g_array_append_val (recorded_sizes, n_tasks);

  job_batch_execute (batch);
  g_task_return_boolean (task, TRUE);
}

static gboolean
recording_run_batch_finish (JobBackend    *backend,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_assert_true (g_task_is_valid (result, backend));
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
test_recording_backend_iface_init (JobBackendInterface *iface)
{
  iface->get_display_name = recording_get_display_name;
  iface->configure = recording_configure;
  iface->run_batch_async = recording_run_batch_async;
  iface->run_batch_finish = recording_run_batch_finish;
}

static void
test_recording_backend_class_init (TestRecordingBackendClass *klass)
{
}

static void
test_recording_backend_init (TestRecordingBackend *self)
{
}

static GVariant *
add_one (GVariant      *args,
         GCancellable  *cancellable,
         gpointer       user_data,
         GError       **error)
{
  gint32 x;

  g_variant_get (args, "(i)", &x);
  return g_variant_new_int32 (x + 1);
}

static GPtrArray *
make_calls (guint n)
{
  g_autoptr(JobFunction) function = job_function_new ("add_one", add_one, NULL, NULL);
  GPtrArray *calls = g_ptr_array_new_full (n, (GDestroyNotify) job_call_unref);

  for (guint i = 0; i < n; i++)
    g_ptr_array_add (calls, job_call_new (function, g_variant_new ("(i)", (gint32) i)));
  return calls;
}

static void
assert_results (GPtrArray *results,
                guint      n)
{
  g_assert_nonnull (results);
  g_assert_cmpuint (results->len, ==, n);
  for (guint i = 0; i < n; i++)
    g_assert_cmpint (g_variant_get_int32 (g_ptr_array_index (results, i)), ==, (gint32) i + 1);
}

static void
test_list_names (void)
{
  g_auto(GStrv) names = job_backend_list_names ();

  g_assert_true (g_strv_contains ((const char * const *) names, "sequential"));
  g_assert_true (g_strv_contains ((const char * const *) names, "threading"));
  for (guint i = 1; names[i] != NULL; i++)
    g_assert_cmpint (strcmp (names[i - 1], names[i]), <, 0);
}

static void
test_new_for_name (void)
{
  g_autoptr(JobBackend) sequential = NULL;
  g_autoptr(JobBackend) threading = NULL;
  g_autoptr(JobBackend) unknown = NULL;
  g_autoptr(GError) error = NULL;

  sequential = job_backend_new_for_name ("sequential", &error);
  g_assert_no_error (error);
  g_assert_true (JOB_IS_SEQUENTIAL_BACKEND (sequential));
  g_assert_true (job_backend_get_flags (sequential) & JOB_BACKEND_FLAGS_IN_CALLER);

  threading = job_backend_new_for_name ("threading", &error);
  g_assert_no_error (error);
  g_assert_true (JOB_IS_THREAD_BACKEND (threading));
  g_assert_true (job_backend_get_flags (threading) & JOB_BACKEND_FLAGS_SHARED_MEMORY);

  unknown = job_backend_new_for_name ("no-such-backend", &error);
  g_assert_null (unknown);
  g_assert_error (error, JOB_ERROR, JOB_ERROR_UNKNOWN_BACKEND);
  g_assert_nonnull (strstr (error->message, "no-such-backend"));
}

static void
test_custom_backend_by_name (void)
{
  g_autoptr(JobBackend) backend = NULL;
  g_auto(GStrv) names = NULL;
  g_autoptr(GError) error = NULL;

  job_backend_register ("test-recording", TEST_TYPE_RECORDING_BACKEND);
  names = job_backend_list_names ();
  g_assert_true (g_strv_contains ((const char * const *) names, "test-recording"));

  backend = job_backend_new_for_name ("test-recording", &error);
  g_assert_no_error (error);
  g_assert_true (TEST_IS_RECORDING_BACKEND (backend));
  g_assert_cmpstr (job_backend_get_display_name (backend), ==, "RecordingBackend");
}

static void
test_fixed_batch_size (void)
{
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  g_autoptr(GPtrArray) calls = make_calls (50);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;
  guint total = 0;

  job_backend_register ("test-recording", TEST_TYPE_RECORDING_BACKEND);
  recorded_sizes = g_array_new (FALSE, FALSE, sizeof (guint));
  job_parallel_set_backend_name (parallel, "test-recording");
  job_parallel_set_batch_size (parallel, 7);

  results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, &error);
  g_assert_no_error (error);
  assert_results (results, 50);

  /* 50 = 7 * 7 + 1 */
  g_assert_cmpuint (recorded_sizes->len, ==, 8);
  for (guint i = 0; i < recorded_sizes->len; i++)
    {
      guint size = g_array_index (recorded_sizes, guint, i);

      if (i + 1 < recorded_sizes->len)
        g_assert_cmpuint (size, ==, 7);
      total += size;
    }
  g_assert_cmpuint (g_array_index (recorded_sizes, guint, recorded_sizes->len - 1), ==, 1);
  g_assert_cmpuint (total, ==, 50);

  g_clear_pointer (&recorded_sizes, g_array_unref);
}

static void
test_auto_batch_growth (void)
{
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  g_autoptr(GPtrArray) calls = make_calls (20000);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;
  guint largest = 0;
  guint total = 0;

  job_backend_register ("test-recording", TEST_TYPE_RECORDING_BACKEND);
  recorded_sizes = g_array_new (FALSE, FALSE, sizeof (guint));
  job_parallel_set_backend_name (parallel, "test-recording");
  g_assert_cmpuint (job_parallel_get_batch_size (parallel), ==, 0);

  results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, &error);
  g_assert_no_error (error);
  assert_results (results, 20000);

  g_assert_cmpuint (recorded_sizes->len, >, 0);
  g_assert_cmpuint (g_array_index (recorded_sizes, guint, 0), ==, 1);
  for (guint i = 0; i < recorded_sizes->len; i++)
    {
      guint size = g_array_index (recorded_sizes, guint, i);

      g_assert_cmpuint (size, >=, 1);
      if (i > 0)
        g_assert_cmpuint (size, <=, 2 * largest);
      largest = MAX (largest, size);
      total += size;
    }
  g_assert_cmpuint (total, ==, 20000);
  /* trivial tasks: batching must have grown well past one task */
  g_assert_cmpuint (largest, >=, 64);

  g_clear_pointer (&recorded_sizes, g_array_unref);
}

static void
test_configure_zero_workers (void)
{
  g_autoptr(JobBackend) threading = job_thread_backend_new ();
  g_autoptr(JobBackend) sequential = job_sequential_backend_new ();
  g_autoptr(GError) error = NULL;

  g_assert_false (job_backend_configure (threading, 0, &error));
  g_assert_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_assert_false (job_backend_configure (sequential, -3, &error));
  g_assert_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_assert_true (job_backend_configure (threading, 2, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (job_thread_backend_get_max_threads (JOB_THREAD_BACKEND (threading)), ==, 2);

  /* the run's variant checks the same way, and by default configures */
  g_assert_false (job_backend_configure_for_run (threading, 0, 0, &error));
  g_assert_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (job_backend_configure_for_run (threading, 2, -1, &error));
  g_assert_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_true (job_backend_configure_for_run (threading, 3, 4, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (job_thread_backend_get_max_threads (JOB_THREAD_BACKEND (threading)), ==, 3);
}

static void
test_thread_shutdown_then_reuse (void)
{
  g_autoptr(JobBackend) backend = job_thread_backend_new ();
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  g_autoptr(GPtrArray) calls = make_calls (100);
  g_autoptr(GError) error = NULL;

  job_parallel_set_backend (parallel, backend);

  for (int round = 0; round < 3; round++)
    {
      g_autoptr(GPtrArray) results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, &error);

      g_assert_no_error (error);
      assert_results (results, 100);
      g_assert_cmpuint (job_thread_backend_get_max_threads (JOB_THREAD_BACKEND (backend)), ==, 2);

      job_backend_shutdown (backend);
      /* the pool is gone until the next run configures a new one */
      g_assert_cmpuint (job_thread_backend_get_max_threads (JOB_THREAD_BACKEND (backend)), ==, 0);
    }

  /* shutting down twice is harmless */
  job_backend_shutdown (backend);
}

static void
test_cpu_count_env (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(GError) error = NULL;

      /* the count is cached on first use: set the limit before it */
      g_setenv ("JOB_MAX_CPU_COUNT", "1", TRUE);
      g_assert_cmpint (job_cpu_count (), ==, 1);
      g_assert_cmpint (job_effective_n_jobs (-1, &error), ==, 1);
      g_assert_no_error (error);
      g_assert_cmpint (job_effective_n_jobs (-2, &error), ==, 1);
      g_assert_no_error (error);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

static void
test_cpu_count (void)
{
  g_autoptr(GError) error = NULL;
  int cpus = job_cpu_count ();

  g_assert_cmpint (cpus, >=, 1);
  g_assert_cmpint (job_cpu_count (), ==, cpus);
  g_assert_cmpint (job_effective_n_jobs (-1, &error), ==, cpus);
  g_assert_cmpint (job_effective_n_jobs (-2, &error), ==, MAX (cpus - 1, 1));
  g_assert_cmpint (job_effective_n_jobs (3, &error), ==, 3);
  g_assert_no_error (error);

  g_assert_cmpint (job_effective_n_jobs (0, &error), ==, 0);
  g_assert_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT);
}

int
main (int   argc,
      char *argv[])
{
  /* The subprocess sets its own limit; the parent must not inherit one. */
  g_unsetenv ("JOB_MAX_CPU_COUNT");
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/joblib/backend/list-names", test_list_names);
  g_test_add_func ("/joblib/backend/new-for-name", test_new_for_name);
  g_test_add_func ("/joblib/backend/custom-by-name", test_custom_backend_by_name);
  g_test_add_func ("/joblib/backend/fixed-batch-size", test_fixed_batch_size);
  g_test_add_func ("/joblib/backend/auto-batch-growth", test_auto_batch_growth);
  g_test_add_func ("/joblib/backend/configure-zero-workers", test_configure_zero_workers);
  g_test_add_func ("/joblib/backend/thread-shutdown-reuse", test_thread_shutdown_then_reuse);
  g_test_add_func ("/joblib/cpu/count", test_cpu_count);
  g_test_add_func ("/joblib/cpu/max-cpu-count-env", test_cpu_count_env);

  return g_test_run ();
}
