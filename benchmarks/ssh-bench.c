/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ssh-bench: 1000 tasks of 10 ms on the SSH backend (workers started over
 * ssh on two Host aliases of a private sshd on this machine) against the
 * process backend with as many workers; then the latency of a Memory
 * cache hit in a local folder and on sftp:// through GVfs. Run it
 * through benchmarks/ssh-bench.sh, which provides the server and the
 * D-Bus session.
 *
 * Cold: a new backend, workers started by the run (the first result
 * waits for the logins and the connections back). Warm: the same backend
 * again, workers connected. Overhead per task = (wall × workers − work) /
 * tasks on the warm run; worker start = the time start_workers() takes
 * to see them all connected. */
#include <stdio.h>
#include <stdlib.h>

#include <glib/gstdio.h>
#include <joblib-glib.h>

#define TASK_SECONDS 0.010
#define MAX_REPEATS 9
#define N_HITS 200

/* ssh-bench [N_TASKS [REPEATS]]: 1000 and 3 unless told (benchmarks/run
 * --quick asks for fewer). */
static int N_TASKS = 1000;
static int REPEATS = 3;

typedef struct
{
  double first;   /* s from start to the first task's end */
  double wall;    /* s for the whole run */
} Timing;

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

static Timing
run_once (JobBackend *backend,
          int         n_workers)
{
  g_autoptr(JobParallel) parallel = job_parallel_new (MAX (n_workers, 2));
  g_autoptr(JobFunction) task = job_function_new_for_symbol (g_getenv ("JOB_BENCH_TASKS"),
                                                             "slurm_bench_sleep", NULL);
  g_autoptr(GPtrArray) calls = g_ptr_array_new_with_free_func ((GDestroyNotify) job_call_unref);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;
  gint64 start, first = G_MAXINT64;
  Timing timing;

  for (int i = 0; i < N_TASKS; i++)
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

static JobBackend *
new_ssh_backend (int n_workers)
{
  const char * const ssh[] = { "ssh", "-F", g_getenv ("JOB_SSH_TEST_CONFIG"), NULL };
  g_autofree char *a = g_strdup_printf ("joblib-a:%d", (n_workers + 1) / 2);
  g_autofree char *b = g_strdup_printf ("joblib-b:%d", n_workers / 2);
  const char *hosts[] = { a, n_workers > 1 ? b : NULL, NULL };
  JobSshBackend *backend = job_ssh_backend_new (hosts);

  g_object_set (backend, "ssh-command", ssh, "listen-address", "127.0.0.1", NULL);
  return JOB_BACKEND (backend);
}

static void
bench (const char *label,
       int         n_workers,
       gboolean    ssh)
{
  double first[MAX_REPEATS], cold[MAX_REPEATS], warm[MAX_REPEATS], start[MAX_REPEATS];

  for (int r = 0; r < REPEATS; r++)
    {
      g_autoptr(JobBackend) backend = NULL;
      Timing t;

      if (ssh)
        {
          g_autoptr(GError) error = NULL;
          g_autoptr(JobBackend) probe = new_ssh_backend (n_workers);
          gint64 t0 = g_get_monotonic_time ();

          /* Worker start: log in, start, connect back, authenticate. */
          if (!job_ssh_backend_start_workers (JOB_SSH_BACKEND (probe), "native", n_workers,
                                              60, &error))
            g_error ("%s", error->message);
          start[r] = (g_get_monotonic_time () - t0) / 1e6;
          job_backend_shutdown (probe);
          backend = new_ssh_backend (n_workers);
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
    g_autofree char *started = ssh ? g_strdup_printf ("%.2f", median (start, REPEATS))
                                   : g_strdup ("-");

    g_print ("| %-10s | %d | %6.3f | %6.2f | %6.2f | %7.0f | %6.2f | %s |\n",
             label, n_workers, median (first, REPEATS), median (cold, REPEATS), w,
             N_TASKS / w, overhead * 1e3, started);
  }
}

static GVariant *
make_value (GVariant      *args,
            GCancellable  *cancellable,
            gpointer       user_data,
            GError       **error)
{
  gint32 n;
  double *data;

  g_variant_get (args, "(i)", &n);
  data = g_new0 (double, MAX (n, 1));
  return g_variant_new_from_data (G_VARIANT_TYPE ("ad"), data, n * sizeof (double), TRUE,
                                  g_free, data);
}

/* Median time of one hit, after one call that stores the entry. */
static void
cache_hits (const char *label,
            GFile      *location,
            gint32      n_doubles)
{
  g_autoptr(JobMemory) memory = job_memory_new (location);
  g_autoptr(JobFunction) function = job_function_new ("bench_value", make_value, NULL, NULL);
  g_autoptr(JobMemorizedFunction) cached = job_memory_cache (memory, function, NULL);
  double hits[N_HITS];
  gint64 t0;
  double store;

  job_memory_clear (memory, NULL);
  t0 = g_get_monotonic_time ();
  g_variant_unref (job_memorized_function_call (cached, g_variant_new ("(i)", n_doubles),
                                                NULL, NULL));
  store = (g_get_monotonic_time () - t0) / 1e3;
  for (int i = 0; i < N_HITS; i++)
    {
      t0 = g_get_monotonic_time ();
      g_variant_unref (job_memorized_function_call (cached, g_variant_new ("(i)", n_doubles),
                                                    NULL, NULL));
      hits[i] = (g_get_monotonic_time () - t0) / 1e3;
    }
  g_print ("| %-7s | %8d | %8.3f | %8.3f |\n", label, n_doubles * 8, median (hits, N_HITS),
           store);
  job_memory_clear (memory, NULL);
}

int
main (int    argc,
      char **argv)
{
  double load[3] = { 0, };
  FILE *f = fopen ("/proc/loadavg", "r");
  g_autofree char *local_dir = g_dir_make_tmp ("ssh-bench-XXXXXX", NULL);
  g_autoptr(GFile) local = g_file_new_for_path (local_dir);
  g_autofree char *uri = g_strdup_printf ("%s/bench", g_getenv ("JOB_SSH_TEST_SFTP"));
  g_autoptr(GFile) remote = g_file_new_for_uri (uri);

  if (argc > 1)
    N_TASKS = CLAMP (atoi (argv[1]), 10, 1000000);
  if (argc > 2)
    REPEATS = CLAMP (atoi (argv[2]), 1, MAX_REPEATS);
  if (f != NULL)
    {
      if (fscanf (f, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3)
        load[0] = -1;
      fclose (f);
    }
  g_print ("%d tasks of 10 ms; medians of %d; load average at start %.2f\n\n",
           N_TASKS, REPEATS, load[0]);
  g_print ("| backend | workers | first result (s, cold) | wall cold (s) | wall warm (s) "
           "| tasks/s warm | overhead/task (ms) | worker start (s) |\n");
  g_print ("|---|---|---|---|---|---|---|---|\n");
  for (int n = 2; n <= 4; n += 2)
    {
      bench ("processes", n, FALSE);
      bench ("ssh", n, TRUE);
    }

  g_print ("\nMemory cache hit, median of %d (ms), and the first call that stores it\n\n",
           N_HITS);
  g_print ("| location | result bytes | hit (ms) | miss + store (ms) |\n|---|---|---|---|\n");
  cache_hits ("local", local, 1);
  cache_hits ("sftp://", remote, 1);
  cache_hits ("local", local, 128 * 1024);
  cache_hits ("sftp://", remote, 128 * 1024);
  g_rmdir (local_dir);
  return 0;
}
