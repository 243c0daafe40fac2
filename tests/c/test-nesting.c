/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Parallel runs started from tasks: bounded threads and descriptors
 * whatever the depth, correct results, and a clean error past
 * JOB_PARALLEL_MAX_NESTING_DEPTH instead of an abort. */
#include <joblib-glib.h>

static gint max_level;    /* (atomic) deepest task level that ran */
static gint max_threads;  /* (atomic) most threads seen by a task */
static gint max_fds;      /* (atomic) most descriptors seen by a task */

/* The task functions start runs of themselves. */
static JobFunction *recurse_function;
static JobFunction *fan_out_function;

static int
count_entries (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  int n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

static void
raise_to (gint *max,
          int   value)
{
  int seen = g_atomic_int_get (max);

  while (value > seen && !g_atomic_int_compare_and_exchange (max, seen, value))
    seen = g_atomic_int_get (max);
}

static JobParallel *
new_parallel (const char *backend,
              int         n_jobs)
{
  JobParallel *parallel = job_parallel_new (n_jobs);

  job_parallel_set_backend_name (parallel, backend);
  return parallel;
}

/* args (level, backend, n_jobs): records what it sees, then runs itself one
 * level deeper through a new JobParallel, for ever; returns the error that
 * ends it. */
static GVariant *
recurse (GVariant      *args,
         GCancellable  *cancellable,
         gpointer       user_data,
         GError       **error)
{
  g_autoptr(JobParallel) parallel = NULL;
  g_autoptr(JobCall) call = NULL;
  g_autoptr(GPtrArray) results = NULL;
  const char *backend;
  int level, n_jobs;

  g_variant_get (args, "(i&si)", &level, &backend, &n_jobs);
  raise_to (&max_level, level);
  raise_to (&max_threads, count_entries ("/proc/self/task"));
  raise_to (&max_fds, count_entries ("/proc/self/fd"));

  parallel = new_parallel (backend, n_jobs);
  call = job_call_new (recurse_function, g_variant_new ("(isi)", level + 1, backend, n_jobs));
  results = job_parallel_run (parallel, &call, 1, NULL, error);
  if (results == NULL)
    return NULL;
  return g_variant_ref (g_ptr_array_index (results, 0));
}

static void
check_unbounded_recursion (const char *backend,
                           int         n_jobs)
{
  g_autoptr(JobParallel) parallel = new_parallel (backend, n_jobs);
  g_autoptr(JobCall) call = job_call_new (recurse_function,
                                          g_variant_new ("(isi)", 1, backend, n_jobs));
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;
  int threads_before = count_entries ("/proc/self/task");
  int fds_before = count_entries ("/proc/self/fd");

  g_atomic_int_set (&max_level, 0);
  g_atomic_int_set (&max_threads, 0);
  g_atomic_int_set (&max_fds, 0);
  /* each level starts the next one, for ever: it ends at the limit */
  results = job_parallel_run (parallel, &call, 1, NULL, &error);
  g_assert_error (error, JOB_ERROR, JOB_ERROR_NESTING_TOO_DEEP);
  g_assert_null (results);
  g_test_message ("%s, n_jobs=%d: deepest level %d, threads %d -> %d, fds %d -> %d: %s",
                  backend, n_jobs, g_atomic_int_get (&max_level),
                  threads_before, g_atomic_int_get (&max_threads),
                  fds_before, g_atomic_int_get (&max_fds), error->message);

  /* every level up to the limit ran its task, none beyond */
  g_assert_cmpint (g_atomic_int_get (&max_level), ==, JOB_PARALLEL_MAX_NESTING_DEPTH);
  /* levels below the first two run in the calling thread: a handful of
   * pool threads, not one per level */
  g_assert_cmpint (g_atomic_int_get (&max_threads), <=, threads_before + 2 * n_jobs + 4);
  /* one wake-up descriptor per waiting level at most */
  g_assert_cmpint (g_atomic_int_get (&max_fds), <=,
                   fds_before + JOB_PARALLEL_MAX_NESTING_DEPTH + 16);
  /* and they are all given back */
  g_assert_cmpint (count_entries ("/proc/self/fd"), <=, fds_before + 2);
}

static void
test_recursion_threads (void)
{
  check_unbounded_recursion ("threading", 2);
}

static void
test_recursion_threads_all_cpus (void)
{
  check_unbounded_recursion ("threading", -1);
}

static void
test_recursion_sequential (void)
{
  check_unbounded_recursion ("sequential", 1);
}

/* Runs @calls on @parallel and sums their int64 values; NULL if the run
 * fails. */
static GVariant *
run_and_sum (JobParallel  *parallel,
             GPtrArray    *calls,
             GError      **error)
{
  g_autoptr(GPtrArray) results = job_parallel_run (parallel, (JobCall **) calls->pdata,
                                                   calls->len, NULL, error);
  gint64 sum = 0;

  if (results == NULL)
    return NULL;
  for (guint i = 0; i < results->len; i++)
    sum += g_variant_get_int64 (g_ptr_array_index (results, i));
  return g_variant_new_int64 (sum);
}

/* args (level, x, parent thread): three levels of fan-out 3 on the thread
 * backend; a leaf returns x, others the sum of their children. Leaves say
 * whether they ran on their parent's thread. */
static gint leaves_on_parent_thread;  /* (atomic) */
static gint leaves;                    /* (atomic) */

static GVariant *
fan_out (GVariant      *args,
         GCancellable  *cancellable,
         gpointer       user_data,
         GError       **error)
{
  g_autoptr(JobParallel) parallel = NULL;
  g_autoptr(GPtrArray) calls = NULL;
  guint64 parent_thread;
  gint64 x;
  int level;

  g_variant_get (args, "(ixt)", &level, &x, &parent_thread);
  if (level == 3)
    {
      g_atomic_int_inc (&leaves);
      if (parent_thread == (guint64) (guintptr) g_thread_self ())
        g_atomic_int_inc (&leaves_on_parent_thread);
      return g_variant_new_int64 (x);
    }

  calls = g_ptr_array_new_with_free_func ((GDestroyNotify) job_call_unref);
  for (int i = 0; i < 3; i++)
    g_ptr_array_add (calls, job_call_new (fan_out_function,
                                          g_variant_new ("(ixt)", level + 1, x * 3 + i,
                                                         (guint64) (guintptr) g_thread_self ())));
  parallel = new_parallel ("threading", -1);
  return run_and_sum (parallel, calls, error);
}

static void
test_depth_three_results (void)
{
  g_autoptr(JobParallel) parallel = new_parallel ("threading", 2);
  g_autoptr(GPtrArray) calls = g_ptr_array_new_with_free_func ((GDestroyNotify) job_call_unref);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;

  g_atomic_int_set (&leaves, 0);
  g_atomic_int_set (&leaves_on_parent_thread, 0);
  for (int i = 0; i < 3; i++)
    g_ptr_array_add (calls, job_call_new (fan_out_function,
                                          g_variant_new ("(ixt)", 1, (gint64) i, (guint64) 0)));
  results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (results->len, ==, 3);

  /* subtree i holds the leaves 9i .. 9i+8: their sum is 81i + 36 */
  for (guint i = 0; i < 3; i++)
    g_assert_cmpint (g_variant_get_int64 (g_ptr_array_index (results, i)), ==, 81 * i + 36);
  g_assert_cmpint (g_atomic_int_get (&leaves), ==, 27);
  /* the third level is inside two parallel levels or in a CPU share of
   * one: it runs in the thread of the task that started it */
  g_assert_cmpint (g_atomic_int_get (&leaves_on_parent_thread), ==, 27);
}

/* A run nested in a run on the same thread pool would queue behind the
 * tasks that wait for it: it runs in the caller instead of hanging. */
static GVariant *
run_on_shared_pool (GVariant      *args,
                    GCancellable  *cancellable,
                    gpointer       user_data,
                    GError       **error)
{
  JobBackend *backend = user_data;
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  g_autoptr(JobFunction) leaf = NULL;
  g_autoptr(GPtrArray) calls = g_ptr_array_new_with_free_func ((GDestroyNotify) job_call_unref);
  gint64 x;

  g_variant_get (args, "(x)", &x);
  if (x >= 100)
    return g_variant_new_int64 (x);

  job_parallel_set_backend (parallel, backend);
  leaf = job_function_new ("leaf", run_on_shared_pool, backend, NULL);
  for (int i = 0; i < 4; i++)
    g_ptr_array_add (calls, job_call_new (leaf, g_variant_new ("(x)", (gint64) (100 + x * 4 + i))));
  return run_and_sum (parallel, calls, error);
}

static void
test_shared_pool_no_deadlock (void)
{
  g_autoptr(JobBackend) backend = job_thread_backend_new ();
  g_autoptr(JobFunction) function = job_function_new ("outer", run_on_shared_pool, backend, NULL);
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  g_autoptr(GPtrArray) calls = g_ptr_array_new_with_free_func ((GDestroyNotify) job_call_unref);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;

  job_parallel_set_backend (parallel, backend);
  job_parallel_set_batch_size (parallel, 1);
  for (int i = 0; i < 2; i++)
    g_ptr_array_add (calls, job_call_new (function, g_variant_new ("(x)", (gint64) i)));
  results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, &error);
  g_assert_no_error (error);
  /* outer i: leaves 100+4i .. 103+4i */
  g_assert_cmpint (g_variant_get_int64 (g_ptr_array_index (results, 0)), ==, 406);
  g_assert_cmpint (g_variant_get_int64 (g_ptr_array_index (results, 1)), ==, 422);
}

/* Outside any task, nothing is limited: the top level keeps its workers. */
static void
test_top_level_unchanged (void)
{
  g_autoptr(JobBackend) backend = job_thread_backend_new ();
  g_autoptr(JobFunction) function = job_function_new ("leaf", run_on_shared_pool, backend, NULL);
  g_autoptr(JobParallel) parallel = job_parallel_new (3);
  g_autoptr(JobCall) call = job_call_new (function, g_variant_new ("(x)", (gint64) 100));
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;

  job_parallel_set_backend (parallel, backend);
  results = job_parallel_run (parallel, &call, 1, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (job_thread_backend_get_max_threads (JOB_THREAD_BACKEND (backend)), ==, 3);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  recurse_function = job_function_new ("recurse", recurse, NULL, NULL);
  fan_out_function = job_function_new ("fan_out", fan_out, NULL, NULL);

  g_test_add_func ("/joblib/nesting/recursion-threads", test_recursion_threads);
  g_test_add_func ("/joblib/nesting/recursion-threads-all-cpus", test_recursion_threads_all_cpus);
  g_test_add_func ("/joblib/nesting/recursion-sequential", test_recursion_sequential);
  g_test_add_func ("/joblib/nesting/depth-three", test_depth_three_results);
  g_test_add_func ("/joblib/nesting/shared-pool", test_shared_pool_no_deadlock);
  g_test_add_func ("/joblib/nesting/top-level-unchanged", test_top_level_unchanged);

  return g_test_run ();
}
