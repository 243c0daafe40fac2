/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Failures of process workers that a run alone does not show: a worker
 * that crashes after it answered, a worker that leaks the results it
 * sent, a worker that dies while the pool had nothing for it, a worker
 * that exits before its spawn returned. Each test
 * asserts on what a user can see (outcomes, worker pids, released
 * results, a warning), not on timing.
 *
 * The set-up (task module, backend, pids) is process-tests.h's. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <joblib-glib.h>

#include "crash-report.h"
#include "process-tests.h"
#include "worker-deaths.h"

static GPtrArray *
run_outcomes (JobBackend *backend,
              GPtrArray  *calls,
              guint       batch_size)
{
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  g_autoptr(GError) error = NULL;
  GPtrArray *outcomes;

  job_parallel_set_backend (parallel, backend);
  job_parallel_set_batch_size (parallel, batch_size);
  outcomes = job_parallel_run_outcomes (parallel, (JobCall **) calls->pdata, calls->len,
                                        NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (outcomes->len, ==, calls->len);
  return outcomes;
}

/* A function reference that no worker resolves fails its own tasks with
 * NOT_FOUND; the workers live on, and the good tasks queued behind it on
 * the same workers (one task per call, several calls in flight) succeed. */
static void
test_resolution_error_keeps_workers (void)
{
  g_autoptr(JobBackend) backend = new_backend ();
  g_autoptr(JobFunction) square = task ("task_square");
  g_autoptr(JobFunction) missing = task ("no_such_task");
  g_autoptr(GArray) before = warm_up (backend);
  g_autoptr(GArray) after = NULL;

  for (int round = 0; round < 2; round++)
    {
      g_autoptr(GPtrArray) calls = g_ptr_array_new_with_free_func ((GDestroyNotify) job_call_unref);
      g_autoptr(GPtrArray) outcomes = NULL;

      for (gint64 i = 0; i < 24; i++)
        g_ptr_array_add (calls, job_call_new (i % 3 == 1 ? missing : square,
                                              g_variant_new ("(x)", i)));
      outcomes = run_outcomes (backend, calls, 1);
      for (guint i = 0; i < outcomes->len; i++)
        {
          JobOutcome *outcome = g_ptr_array_index (outcomes, i);

          if (i % 3 == 1)
            {
              const GError *error = job_outcome_get_error (outcome);

              g_assert_false (job_outcome_is_success (outcome));
              g_assert_error (error, JOB_ERROR, JOB_ERROR_NOT_FOUND);
              g_assert_nonnull (strstr (error->message, "no_such_task"));
            }
          else
            {
              g_assert_true (job_outcome_is_success (outcome));
              g_assert_cmpint (g_variant_get_int64 (job_outcome_get_value (outcome)), ==,
                               (gint64) i * i);
            }
        }

      after = worker_pids (backend);
      assert_same_pids (before, after);
      g_clear_pointer (&after, g_array_unref);
    }

  job_backend_shutdown (backend);
}

/* Runs task_counted_result (or a memorized @function of it) once per
 * call and checks, for every result, that the worker had released each
 * result it made before: a worker that keeps a reference to what a
 * function returned leaks every result. */
static void
check_results_released (JobFunction *function)
{
  g_autoptr(JobBackend) backend = new_backend ();
  g_autoptr(GPtrArray) calls = g_ptr_array_new_with_free_func ((GDestroyNotify) job_call_unref);
  g_autoptr(GPtrArray) outcomes = NULL;
  int n_reused = 0;

  for (gint64 i = 0; i < 40; i++)
    g_ptr_array_add (calls, job_call_new (function, g_variant_new ("(x)", i)));
  outcomes = run_outcomes (backend, calls, 1);
  for (guint i = 0; i < outcomes->len; i++)
    {
      JobOutcome *outcome = g_ptr_array_index (outcomes, i);
      gint64 x;
      gint32 made, freed;

      g_assert_true (job_outcome_is_success (outcome));
      g_variant_get (job_outcome_get_value (outcome), "(xii)", &x, &made, &freed);
      g_assert_cmpint (x, ==, i);
      /* one call at a time per worker: all earlier results are gone */
      g_assert_cmpint (freed, ==, made);
      n_reused += made > 0;
    }
  /* two workers at most: most results came from a worker's later calls */
  g_assert_cmpint (n_reused, >=, 38);

  job_backend_shutdown (backend);
}

static void
test_results_released (void)
{
  g_autoptr(JobFunction) counted = task ("task_counted_result");

  check_results_released (counted);
}

static void
test_memorized_results_released (void)
{
  static const char * const names[] = { "x", NULL };
  g_autoptr(JobFunction) counted = task ("task_counted_result");
  g_autoptr(GError) error = NULL;
  g_autofree char *location = g_dir_make_tmp ("test-worker-health-XXXXXX", &error);
  g_autoptr(JobMemory) memory = NULL;
  g_autoptr(JobMemorizedFunction) cached = NULL;

  g_assert_no_error (error);
  memory = job_memory_new_for_path (location);
  job_function_set_parameter_names (counted, names);
  cached = job_memory_cache (memory, counted, NULL);

  check_results_released (JOB_FUNCTION (cached));

  g_assert_true (job_memory_clear (memory, &error));
  g_assert_no_error (error);
  job_memory_wait_reclaimed (memory);
  g_rmdir (location);
}

/* A worker that dies while the pool had nothing for it has no task to
 * fail: the pool says so with a warning (fatal in tests unless
 * tolerated), and replaces it when work comes. */
static void
test_idle_death_warns (void)
{
  g_autoptr(JobBackend) backend = new_backend ();
  g_autoptr(GArray) before = warm_up (backend);
  g_autoptr(GArray) after = NULL;
  int seen = worker_deaths_get_seen ();
  int victim = g_array_index (before, int, 0);
  g_autofree char *pattern = g_strdup_printf ("worker %d killed by signal 9 (*)", victim);

  worker_deaths_tolerate (pattern);
  g_assert_cmpint (kill (victim, SIGKILL), ==, 0);
  /* bounded by the test's timeout */
  while (worker_deaths_get_seen () == seen)
    g_usleep (2000);
  worker_deaths_tolerate (NULL);
  g_assert_cmpint (worker_deaths_get_seen (), ==, seen + 1);

  /* the pool forgot the worker, and starts a new one for work */
  after = warm_up (backend);
  for (guint i = 0; i < after->len; i++)
    g_assert_cmpint (g_array_index (after, int, i), !=, victim);

  job_backend_shutdown (backend);
}

/* The worker of test_gone_at_once(): leaves its pid in @folder and
 * exits with status 3 before reading anything. */
static int
exit_at_once (const char *folder)
{
  g_autofree char *name = g_strdup_printf ("%s/%d", folder, (int) getpid ());

  return g_file_set_contents (name, "", 0, NULL) ? 3 : 4;
}

/* A worker that exits at once can be reaped by GLib before its spawn
 * returns, and GSubprocess then no longer knows its pid: the pool read
 * it from there and crashed (SIGSEGV, seen in a loaded CI run and, in
 * about one run of thirty, under an address-space limit that slows the
 * spawning thread). Timing decides when that happens, so each round
 * asserts what the user gets in every case: a clean error that names the
 * pid of a worker that really ran, never a crash. */
static void
test_gone_at_once (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(GError) tmp_error = NULL;
      g_autofree char *folder = g_dir_make_tmp ("joblib-gone-XXXXXX", &tmp_error);
      g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
      const char * const argv_gone[] = { self, "--exit-at-once", folder, NULL };
      g_autoptr(JobFunction) square = task ("task_square");

      crash_report_install ();
      g_assert_no_error (tmp_error);
      job_process_backend_set_worker_command ("native", argv_gone);
      for (int round = 0; round < 8; round++)
        {
          g_autoptr(JobBackend) backend = new_backend ();
          g_autoptr(JobParallel) parallel = job_parallel_new (2);
          g_autoptr(JobCall) call = job_call_new (square, g_variant_new ("(x)", (gint64) 3));
          g_autoptr(GPtrArray) results = NULL;
          g_autoptr(GError) error = NULL;
          g_autoptr(GDir) dir = NULL;
          const char *name;
          gboolean named = FALSE;

          job_parallel_set_backend (parallel, backend);
          results = job_parallel_run (parallel, &call, 1, NULL, &error);
          g_assert_null (results);
          g_assert_nonnull (error);
          g_test_message ("round %d: %s", round, error->message);
          g_assert_null (strstr (error->message, "unknown pid"));
          g_assert_null (strstr (error->message, "worker 0 "));
          job_backend_shutdown (backend);

          /* the pid in the message is one of the workers that ran */
          dir = g_dir_open (folder, 0, &tmp_error);
          g_assert_no_error (tmp_error);
          while ((name = g_dir_read_name (dir)) != NULL)
            {
              g_autofree char *path = g_build_filename (folder, name, NULL);
              g_autofree char *said = g_strdup_printf ("worker %s exited with status 3", name);

              named = named || strstr (error->message, said) != NULL;
              g_assert_cmpint (g_unlink (path), ==, 0);
            }
          g_assert_true (named);
        }
      job_process_backend_set_worker_command ("native", NULL);
      g_assert_cmpint (g_rmdir (folder), ==, 0);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

int
main (int    argc,
      char **argv)
{
  if (argc == 3 && g_str_equal (argv[1], "--exit-at-once"))
    return exit_at_once (argv[2]);

  g_test_init (&argc, &argv, NULL);
  worker_deaths_install ();

  g_test_add_func ("/joblib/worker-health/resolution-error-keeps-workers",
                   test_resolution_error_keeps_workers);
  g_test_add_func ("/joblib/worker-health/results-released", test_results_released);
  g_test_add_func ("/joblib/worker-health/memorized-results-released",
                   test_memorized_results_released);
  g_test_add_func ("/joblib/worker-health/idle-death-warns", test_idle_death_warns);
  g_test_add_func ("/joblib/worker-health/gone-at-once", test_gone_at_once);

  return g_test_run ();
}
