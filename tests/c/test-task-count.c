/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Calls that stand for several tasks (job_call_new_with_task_count): the
 * Python bindings group tasks this way. Each call still has one result
 * and one index; progress, verbose lines and batch sizes count tasks. */
#include <joblib-glib.h>

/* (ax) → the sum of the numbers: a group of "add" tasks in one call */
static GVariant *
sum_group (GVariant      *args,
           GCancellable  *cancellable,
           gpointer       user_data,
           GError       **error)
{
  g_autoptr(GVariant) numbers = g_variant_get_child_value (args, 0);
  gsize n = 0;
  const gint64 *values = g_variant_get_fixed_array (numbers, &n, sizeof (gint64));
  gint64 sum = 0;

  for (gsize i = 0; i < n; i++)
    sum += values[i];
  return g_variant_new_int64 (sum);
}

/* group i holds i + 1 numbers: i, i, …, i */
static JobCall *
group_call (JobFunction *function,
            guint        i)
{
  g_autofree gint64 *numbers = g_new (gint64, i + 1);

  for (guint j = 0; j <= i; j++)
    numbers[j] = i;
  return job_call_new_with_task_count (function,
                                       g_variant_new ("(@ax)",
                                                      g_variant_new_fixed_array (G_VARIANT_TYPE_INT64,
                                                                                 numbers, i + 1,
                                                                                 sizeof (gint64))),
                                       i + 1);
}

typedef struct
{
  guint last_done;
  int   last_total;
} Progress;

static void
on_progress (JobParallel *parallel,
             guint        done,
             int          total,
             Progress    *progress)
{
  g_assert_cmpuint (done, >=, progress->last_done);
  progress->last_done = done;
  progress->last_total = total;
}

typedef struct
{
  JobFunction *function;
  guint        next;
  guint        n;
} Source;

static JobCall *
next_group (gpointer   user_data,
            GError   **error)
{
  Source *source = user_data;

  if (source->next == source->n)
    return NULL;
  return group_call (source->function, source->next++);
}

static void
check_results (GPtrArray *results,
               guint      n)
{
  g_assert_cmpuint (results->len, ==, n);
  for (guint i = 0; i < n; i++)
    g_assert_cmpint (g_variant_get_int64 (g_ptr_array_index (results, i)), ==,
                     (gint64) i * (i + 1));
}

static void
test_counts_tasks (void)
{
  g_autoptr(JobFunction) function = job_function_new ("sum_group", sum_group, NULL, NULL);
  g_autoptr(GPtrArray) calls = g_ptr_array_new_with_free_func ((GDestroyNotify) job_call_unref);
  const guint n = 40;
  const guint n_tasks = n * (n + 1) / 2;

  for (guint i = 0; i < n; i++)
    g_ptr_array_add (calls, group_call (function, i));
  g_assert_cmpuint (job_call_get_task_count (g_ptr_array_index (calls, 3)), ==, 4);

  /* array input, on threads, automatic and fixed batch sizes */
  for (guint batch_size = 0; batch_size <= 3; batch_size += 3)
    {
      g_autoptr(JobParallel) parallel = job_parallel_new (2);
      g_autoptr(GPtrArray) results = NULL;
      g_autoptr(GError) error = NULL;
      Progress progress = { 0, 0 };

      job_parallel_set_batch_size (parallel, batch_size);
      g_signal_connect (parallel, "progress", G_CALLBACK (on_progress), &progress);
      results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, &error);
      g_assert_no_error (error);
      check_results (results, n);
      g_assert_cmpuint (progress.last_done, ==, n_tasks);
      g_assert_cmpint (progress.last_total, ==, n_tasks);
    }

  /* lazy input: the total is known once the source is exhausted */
  {
    g_autoptr(JobParallel) parallel = job_parallel_new (2);
    g_autoptr(GPtrArray) results = NULL;
    g_autoptr(GError) error = NULL;
    Progress progress = { 0, 0 };
    Source source = { function, 0, n };

    g_signal_connect (parallel, "progress", G_CALLBACK (on_progress), &progress);
    results = job_parallel_run_source (parallel, next_group, &source, NULL, NULL, &error);
    g_assert_no_error (error);
    check_results (results, n);
    g_assert_cmpuint (progress.last_done, ==, n_tasks);
    g_assert_cmpint (progress.last_total, ==, n_tasks);
  }

  /* per-task outcomes still come per call */
  {
    g_autoptr(JobParallel) parallel = job_parallel_new (2);
    g_autoptr(GPtrArray) outcomes = NULL;
    g_autoptr(GError) error = NULL;

    outcomes = job_parallel_run_outcomes (parallel, (JobCall **) calls->pdata, calls->len,
                                          NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (outcomes->len, ==, n);
  }
}

/* joblib's verbose lines count the tasks of a grouped call */
static void
test_verbose_counts_tasks (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(JobFunction) function = job_function_new ("sum_group", sum_group, NULL, NULL);
      g_autoptr(JobParallel) parallel = job_parallel_new (2);
      g_autoptr(GPtrArray) results = NULL;
      JobCall *calls[3];

      for (guint i = 0; i < 3; i++)
        calls[i] = group_call (function, i + 1);   /* 2 + 3 + 4 tasks */
      job_parallel_set_verbose (parallel, 10);
      results = job_parallel_run (parallel, calls, 3, NULL, NULL);
      g_assert_nonnull (results);
      for (guint i = 0; i < 3; i++)
        job_call_unref (calls[i]);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*[Parallel(n_jobs=2)]: Done   9 out of   9 | elapsed:*finished\n*");
}

static void
test_zero_tasks_is_critical (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(JobFunction) function = job_function_new ("sum_group", sum_group, NULL, NULL);

      g_assert_null (job_call_new_with_task_count (function, NULL, 0));
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*task_count >= 1*");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/joblib/task-count/counts-tasks", test_counts_tasks);
  g_test_add_func ("/joblib/task-count/verbose", test_verbose_counts_tasks);
  g_test_add_func ("/joblib/task-count/zero-is-critical", test_zero_tasks_is_critical);

  return g_test_run ();
}
