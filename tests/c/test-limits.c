/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Durations given as doubles at the edges of their range: infinity and
 * values beyond gint64 microseconds mean "no limit", never "expired". */
#include <math.h>

#include <glib/gstdio.h>
#include <joblib-glib.h>

/* Sleeps args[0] ms, waking up early when cancelled; returns args[0]. */
static GVariant *
sleep_ms (GVariant      *args,
          GCancellable  *cancellable,
          gpointer       user_data,
          GError       **error)
{
  int ms;
  gint64 deadline;

  g_variant_get (args, "(i)", &ms);
  deadline = g_get_monotonic_time () + ms * (gint64) 1000;
  while (g_get_monotonic_time () < deadline && !g_cancellable_is_cancelled (cancellable))
    g_usleep (1000);
  return g_variant_new_int32 (ms);
}

/* Tasks long enough for the timeout watch to look at them while they run
 * (it looks every 100 ms at most) all complete under @timeout. */
static void
check_no_timeout (double timeout)
{
  g_autoptr(JobFunction) function = job_function_new ("nap", sleep_ms, NULL, NULL);
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;
  JobCall *calls[3];

  for (guint i = 0; i < G_N_ELEMENTS (calls); i++)
    calls[i] = job_call_new (function, g_variant_new ("(i)", 250));
  job_parallel_set_backend_name (parallel, "threading");
  job_parallel_set_timeout (parallel, timeout);
  g_assert_cmpfloat (job_parallel_get_timeout (parallel), ==, timeout);

  results = job_parallel_run (parallel, calls, G_N_ELEMENTS (calls), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (results->len, ==, 3);
  for (guint i = 0; i < results->len; i++)
    g_assert_cmpint (g_variant_get_int32 (g_ptr_array_index (results, i)), ==, 250);

  for (guint i = 0; i < G_N_ELEMENTS (calls); i++)
    job_call_unref (calls[i]);
}

static void
test_timeout_infinite (void)
{
  check_no_timeout (INFINITY);
}

static void
test_timeout_beyond_int64 (void)
{
  /* 9.2e12 s is where seconds × 10⁶ leaves gint64 */
  check_no_timeout (9.3e12);
  check_no_timeout (1e300);
  check_no_timeout (G_MAXDOUBLE);
}

static void
test_timeout_property_infinite (void)
{
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  double timeout = 0;

  /* the property takes infinity without a warning */
  g_object_set (parallel, "timeout", INFINITY, NULL);
  g_object_get (parallel, "timeout", &timeout, NULL);
  g_assert_true (isinf (timeout));
}

static void
test_timeout_nan_is_critical (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(JobParallel) parallel = job_parallel_new (2);

      job_parallel_set_timeout (parallel, NAN);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*timeout >= 0.0*");
}

/* A finite timeout still works next to the infinite ones. */
static void
test_timeout_finite_still_fires (void)
{
  g_autoptr(JobFunction) function = job_function_new ("nap", sleep_ms, NULL, NULL);
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  g_autoptr(JobCall) call = job_call_new (function, g_variant_new ("(i)", 60000));
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;

  job_parallel_set_backend_name (parallel, "threading");
  job_parallel_set_timeout (parallel, 0.1);
  results = job_parallel_run (parallel, &call, 1, NULL, &error);
  g_assert_error (error, JOB_ERROR, JOB_ERROR_TIMEOUT);
  g_assert_null (results);
}

static gint n_computed;  /* (atomic) */

static GVariant *
negate (GVariant      *args,
        GCancellable  *cancellable,
        gpointer       user_data,
        GError       **error)
{
  int x;

  g_variant_get (args, "(i)", &x);
  g_atomic_int_inc (&n_computed);
  return g_variant_new_int32 (-x);
}

/* An infinite age limit and expiry keep entries, as 0 does. */
static void
test_memory_infinite_ages (void)
{
  g_autofree char *dir = g_dir_make_tmp ("joblib-limits-XXXXXX", NULL);
  g_autoptr(JobMemory) memory = job_memory_new_for_path (dir);
  g_autoptr(JobFunction) function = job_function_new ("negate", negate, NULL, NULL);
  g_autoptr(JobMemorizedFunction) cached = NULL;
  g_autoptr(GError) error = NULL;
  double age = 0, expires = 0;

  g_object_set (memory, "age-limit", INFINITY, NULL);
  g_object_get (memory, "age-limit", &age, NULL);
  g_assert_true (isinf (age));
  cached = job_memory_cache (memory, function, NULL);
  g_object_set (cached, "expires-after", INFINITY, NULL);
  g_object_get (cached, "expires-after", &expires, NULL);
  g_assert_true (isinf (expires));

  g_atomic_int_set (&n_computed, 0);
  for (int round = 0; round < 3; round++)
    {
      g_autoptr(GVariant) value =
        job_memorized_function_call (cached, g_variant_new ("(i)", 7), NULL, &error);

      g_assert_no_error (error);
      g_assert_cmpint (g_variant_get_int32 (value), ==, -7);
    }
  g_assert_cmpint (g_atomic_int_get (&n_computed), ==, 1);

  g_assert_true (job_memory_clear (memory, &error));
  g_assert_no_error (error);
  job_memory_wait_reclaimed (memory);
  g_rmdir (dir);
}

/* Process workers with an infinite idle timeout stay until shutdown. */
static void
test_process_idle_infinite (void)
{
  g_autoptr(JobBackend) backend = job_process_backend_new ();
  double idle = 0;

  g_object_set (backend, "idle-timeout", INFINITY, NULL);
  g_object_get (backend, "idle-timeout", &idle, NULL);
  g_assert_true (isinf (idle));
  job_process_backend_set_idle_timeout (JOB_PROCESS_BACKEND (backend), 1e300);
  g_assert_cmpfloat (job_process_backend_get_idle_timeout (JOB_PROCESS_BACKEND (backend)), ==, 1e300);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/joblib/limits/timeout-infinite", test_timeout_infinite);
  g_test_add_func ("/joblib/limits/timeout-beyond-int64", test_timeout_beyond_int64);
  g_test_add_func ("/joblib/limits/timeout-property-infinite", test_timeout_property_infinite);
  g_test_add_func ("/joblib/limits/timeout-nan", test_timeout_nan_is_critical);
  g_test_add_func ("/joblib/limits/timeout-finite", test_timeout_finite_still_fires);
  g_test_add_func ("/joblib/limits/memory-infinite-ages", test_memory_infinite_ages);
  g_test_add_func ("/joblib/limits/process-idle-infinite", test_process_idle_infinite);

  return g_test_run ();
}
