/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* slurm-bench: 1000 tasks of 10 ms on 1, 2 and 3 Slurm nodes (one worker
 * per node) against the process backend with as many workers. Run it
 * through benchmarks/slurm-bench.sh, which provides the cluster.
 *
 * Cold: a new backend, workers started by the run (time to the first
 * result includes sbatch, scheduling and the connection). Warm: the same
 * backend again, workers connected. Overhead per task = (wall × workers
 * − work) / tasks on the warm run; per worker start = the time
 * start_workers() takes to see them all connected. */
#include <stdio.h>
#include <stdlib.h>

#include <joblib-glib.h>

#define N_TASKS 1000
#define TASK_SECONDS 0.010
#define REPEATS 3

typedef struct
{
  double first;   /* s from start to the first task's end */
  double wall;    /* s for the whole run */
} Timing;

static Timing
run_once (JobBackend *backend,
          int         n_workers)
{
  /* n_jobs=1 runs in the caller whatever the backend (joblib's rule):
   * one Slurm worker is asked for with n-workers instead. */
  g_autoptr(JobParallel) parallel = job_parallel_new (JOB_IS_SLURM_BACKEND (backend)
                                                      ? MAX (n_workers, 2) : n_workers);
  g_autoptr(JobFunction) task = job_function_new_for_symbol (g_getenv ("JOB_BENCH_TASKS"),
                                                             "slurm_bench_sleep", NULL);
  g_autoptr(GPtrArray) calls = g_ptr_array_new_with_free_func ((GDestroyNotify) job_call_unref);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;
  gint64 start, first = G_MAXINT64;
  Timing timing;

  for (guint i = 0; i < N_TASKS; i++)
    g_ptr_array_add (calls, job_call_new (task, g_variant_new ("(d)", TASK_SECONDS)));
  job_parallel_set_backend (parallel, backend);
  start = g_get_real_time ();
  results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, &error);
  timing.wall = (g_get_real_time () - start) / 1e6;
  if (results == NULL)
    g_error ("run failed: %s", error->message);
  for (guint i = 0; i < results->len; i++)
    first = MIN (first, g_variant_get_int64 (g_ptr_array_index (results, i)));
  timing.first = (first - start) / 1e6;
  return timing;
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

static double
median (double *values,
        int     n)
{
  qsort (values, n, sizeof (double), compare_doubles);
  return values[n / 2];
}

static void
bench (const char *label,
       int         n_workers,
       gboolean    slurm)
{
  double first[REPEATS], cold[REPEATS], warm[REPEATS], start[REPEATS];

  for (int r = 0; r < REPEATS; r++)
    {
      g_autoptr(JobBackend) backend = NULL;
      Timing t;

      if (slurm)
        {
          const char * const exclusive[] = { "--exclusive", NULL };
          g_autoptr(GError) error = NULL;
          g_autoptr(JobSlurmBackend) probe = job_slurm_backend_new ();
          gint64 t0;

          /* Worker start: submit, schedule, connect. */
          g_object_set (probe, "listen-address", "127.0.0.1", "poll-interval", 0.2,
                        "sbatch-args", exclusive, NULL);
          t0 = g_get_monotonic_time ();
          if (!job_slurm_backend_start_workers (probe, "native", n_workers, 60, &error))
            g_error ("%s", error->message);
          start[r] = (g_get_monotonic_time () - t0) / 1e6;
          job_backend_shutdown (JOB_BACKEND (probe));

          backend = JOB_BACKEND (job_slurm_backend_new ());
          g_object_set (backend, "listen-address", "127.0.0.1", "poll-interval", 0.2,
                        "sbatch-args", exclusive, "n-workers", n_workers, NULL);
        }
      else
        {
          backend = JOB_BACKEND (job_process_backend_new ());
          start[r] = 0;
        }
      t = run_once (backend, n_workers);
      first[r] = t.first;
      cold[r] = t.wall;
      warm[r] = run_once (backend, n_workers).wall;
      job_backend_shutdown (backend);
    }

  {
    double w = median (warm, REPEATS);
    double overhead = (w * n_workers - N_TASKS * TASK_SECONDS) / N_TASKS;

    g_autofree char *started = slurm ? g_strdup_printf ("%.2f", median (start, REPEATS))
                                     : g_strdup ("-");

    g_print ("| %-29s | %d | %6.3f | %6.2f | %6.2f | %7.0f | %6.2f | %s |\n",
             label, n_workers, median (first, REPEATS), median (cold, REPEATS), w,
             N_TASKS / w, overhead * 1e3, started);
  }
}

int
main (int    argc,
      char **argv)
{
  double load[3] = { 0, };
  FILE *f = fopen ("/proc/loadavg", "r");

  if (f != NULL)
    {
      if (fscanf (f, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3)
        load[0] = -1;
      fclose (f);
    }
  g_print ("1000 tasks of 10 ms; medians of %d; load average at start %.2f\n\n",
           REPEATS, load[0]);
  g_print ("| backend | workers | first result (s, cold) | wall cold (s) | wall warm (s) "
           "| tasks/s warm | overhead/task (ms) | worker start (s) |\n");
  g_print ("|---|---|---|---|---|---|---|---|\n");
  for (int n = 1; n <= 3; n++)
    {
      bench (n == 1 ? "processes (n_jobs=1: caller)" : "processes", n, FALSE);
      bench ("slurm (1 worker/node)", n, TRUE);
    }
  return 0;
}
