/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the tests of process workers share: the task module, a backend
 * whose workers stay, runs of calls, worker pids.
 *
 * The tests run uninstalled: meson sets JOB_WORKER_PATH to the built
 * worker and JOB_TEST_TASKS_MODULE to test-tasks-module.c, built as a
 * shared module. JobParallel runs n_jobs=1 in the caller whatever the
 * backend, as joblib does, so runs here use 2 workers. All of it runs in
 * the test's thread. */

#include <errno.h>
#include <signal.h>
#include <sys/types.h>

#include <joblib-glib.h>

static inline const char *
tasks_module (void)
{
  const char *path = g_getenv ("JOB_TEST_TASKS_MODULE");

  g_assert_nonnull (path);
  return path;
}

static inline JobFunction *
task (const char *symbol)
{
  return job_function_new_for_symbol (tasks_module (), symbol, NULL);
}

/* A process backend whose workers never leave for being idle. */
static inline JobBackend *
new_backend (void)
{
  JobBackend *backend = job_process_backend_new ();

  job_process_backend_set_idle_timeout (JOB_PROCESS_BACKEND (backend), -1);
  return backend;
}

/* @n calls of @symbol, with the arguments @make_args gives for each i. */
static inline GPtrArray *
calls_of (const char *symbol,
          guint       n,
          GVariant *(*make_args) (guint i))
{
  g_autoptr(JobFunction) function = task (symbol);
  GPtrArray *calls = g_ptr_array_new_with_free_func ((GDestroyNotify) job_call_unref);

  for (guint i = 0; i < n; i++)
    g_ptr_array_add (calls, job_call_new (function, make_args (i)));
  return calls;
}

static inline GVariant *
no_args (guint i)
{
  return g_variant_new ("()");
}

static inline GVariant *
index_arg (guint i)
{
  return g_variant_new ("(x)", (gint64) i);
}

static inline GPtrArray *
run_calls (JobBackend  *backend,
           int          n_jobs,
           GPtrArray   *calls,
           guint        batch_size,
           double       timeout,
           GError     **error)
{
  g_autoptr(JobParallel) parallel = job_parallel_new (n_jobs);

  job_parallel_set_backend (parallel, backend);
  job_parallel_set_batch_size (parallel, batch_size);
  job_parallel_set_timeout (parallel, timeout);
  return job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, error);
}

/* The value of one call of @symbol on @args (floating: consumed), which
 * must succeed. */
static inline GVariant *
run_one (JobBackend *backend,
         const char *symbol,
         GVariant   *args)
{
  g_autoptr(JobFunction) function = task (symbol);
  g_autoptr(JobCall) call = job_call_new (function, args);
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  g_autoptr(GPtrArray) values = NULL;
  g_autoptr(GError) error = NULL;

  job_parallel_set_backend (parallel, backend);
  values = job_parallel_run (parallel, &call, 1, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (values->len, ==, 1);
  return g_variant_ref (g_ptr_array_index (values, 0));
}

static inline GArray *
worker_pids (JobBackend *backend)
{
  guint n = 0;
  g_autofree int *pids = job_process_backend_get_worker_pids (JOB_PROCESS_BACKEND (backend), &n);
  GArray *array = g_array_new (FALSE, FALSE, sizeof (int));

  g_array_append_vals (array, pids, n);
  return array;
}

static inline gboolean
pids_contain (GArray *pids,
              gint64  pid)
{
  for (guint i = 0; i < pids->len; i++)
    if (g_array_index (pids, int, i) == pid)
      return TRUE;
  return FALSE;
}

/* The same pids, in any order. */
static inline void
assert_same_pids (GArray *a,
                  GArray *b)
{
  g_assert_cmpuint (a->len, ==, b->len);
  for (guint i = 0; i < a->len; i++)
    g_assert_true (pids_contain (b, g_array_index (a, int, i)));
}

/* How many entries @folder holds. */
static inline guint
count_files (const char *folder)
{
  g_autoptr(GDir) dir = g_dir_open (folder, 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

/* A reaped process is gone: kill() fails with ESRCH (a zombie would still
 * accept signal 0). */
static inline gboolean
process_is_gone (int pid)
{
  return kill (pid, 0) == -1 && errno == ESRCH;
}

static inline GVariant *
short_sleep_arg (guint i)
{
  return g_variant_new ("(d)", 0.02);
}

/* Starts both workers and returns their pids. The pool starts a second
 * worker when the first is busy: on a loaded machine the first one can
 * answer a whole run of trivial tasks alone, so after a few such runs the
 * tasks sleep 20 ms each, which keeps the first worker busy. */
static inline GArray *
warm_up (JobBackend *backend)
{
  g_autoptr(GPtrArray) calls = calls_of ("task_square", 8, index_arg);
  g_autoptr(GPtrArray) sleeps = calls_of ("task_sleep", 4, short_sleep_arg);
  GArray *pids = NULL;

  for (guint run = 0; run < 20 && (pids == NULL || pids->len < 2); run++)
    {
      g_autoptr(GError) error = NULL;
      gboolean trivial = run < 3;
      g_autoptr(GPtrArray) values = run_calls (backend, 2, trivial ? calls : sleeps, 1, 0, &error);

      g_assert_no_error (error);
      for (guint i = 0; trivial && i < values->len; i++)
        g_assert_cmpint (g_variant_get_int64 (g_ptr_array_index (values, i)), ==, (gint64) i * i);
      g_clear_pointer (&pids, g_array_unref);
      pids = worker_pids (backend);
    }
  g_assert_cmpuint (pids->len, ==, 2);
  return pids;
}
