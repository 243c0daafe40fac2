/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* How the cost per task grows with the number of tasks and with the size of
 * the argument, on threads and on processes, n_jobs=2, auto batching.
 *
 *   scaling-bench TASKS_MODULE count BACKEND N_LIST REPS
 *   scaling-bench TASKS_MODULE size  BACKEND SIZE_LIST TASKS_LIST REPS
 *
 * BACKEND is "threading" or "processes". count: N trivial tasks (x + 1)
 * for each N of N_LIST ("1e3,1e4"). size: TASKS_LIST[i] tasks, each with
 * its own SIZE_LIST[i]-byte argument, reading one byte per page. The time
 * covers building the calls, the run and freeing calls and results, as
 * `Parallel(n_jobs=2)(delayed(f)(a) for a in args)` does; the arguments'
 * data is made before. Prints one JSON object per line (bench-util.h). */

#include <string.h>

#include "bench-util.h"

static const char *module_path;

static JobBackend *
backend_for_name (const char *name)
{
  if (strcmp (name, "threading") == 0)
    return job_thread_backend_new ();
  if (strcmp (name, "processes") == 0)
    return job_process_backend_new ();
  g_printerr ("unknown backend '%s' (threading or processes)\n", name);
  exit (2);
}

/* Seconds to build @n calls of @function with make_arg (i), run and free. */
static double
time_end_to_end (JobParallel  *parallel,
                 JobFunction  *function,
                 guint64       n,
                 GVariant   *(*make_arg) (guint64 i, gpointer data),
                 gpointer      data)
{
  gint64 start = g_get_monotonic_time ();
  GPtrArray *calls = g_ptr_array_new_full (n, (GDestroyNotify) job_call_unref);
  GPtrArray *values;
  g_autoptr(GError) error = NULL;

  for (guint64 i = 0; i < n; i++)
    g_ptr_array_add (calls, job_call_new (function, make_arg (i, data)));
  values = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, &error);
  if (values == NULL || values->len != n)
    g_error ("run failed: %s", error ? error->message : "wrong number of results");
  g_ptr_array_unref (values);
  g_ptr_array_unref (calls);
  return (g_get_monotonic_time () - start) / 1e6;
}

static GVariant *
index_arg (guint64  i,
           gpointer data)
{
  return g_variant_new ("(x)", (gint64) i);
}

static GVariant *
bytes_arg (guint64  i,
           gpointer data)
{
  GBytes **buffers = data;

  return g_variant_new ("(@ay)", g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING,
                                                           buffers[i], TRUE));
}

static void
run_count (JobParallel   *parallel,
           const char    *backend,
           const guint64 *counts,
           guint          reps)
{
  g_autoptr(JobFunction) add_one = job_function_new_for_symbol (module_path, "bench_add_one",
                                                                NULL);

  time_end_to_end (parallel, add_one, 1000, index_arg, NULL);  /* warm up */
  for (const guint64 *n = counts; *n != 0; n++)
    {
      g_autofree double *runs = g_new0 (double, reps);
      g_autofree char *fields = NULL;

      for (guint r = 0; r < reps; r++)
        runs[r] = time_end_to_end (parallel, add_one, *n, index_arg, NULL);
      fields = g_strdup_printf ("\"sweep\": \"count\", \"backend\": \"%s\", "
                                "\"tasks\": %" G_GUINT64_FORMAT ", \"bytes\": 8, "
                                "\"us_per_task\": %.6g",
                                backend, *n, bench_median (runs, reps) / *n * 1e6);
      bench_report (fields, runs, reps);
    }
}

static void
run_size (JobParallel   *parallel,
          const char    *backend,
          const guint64 *sizes,
          const guint64 *tasks,
          guint          reps)
{
  g_autoptr(JobFunction) sum_pages = job_function_new_for_symbol (module_path,
                                                                  "bench_sum_pages", NULL);

  for (guint s = 0; sizes[s] != 0; s++)
    {
      guint64 n = tasks[s];
      g_autofree GBytes **buffers = g_new0 (GBytes *, n);
      g_autofree double *runs = g_new0 (double, reps);
      g_autofree char *fields = NULL;

      for (guint64 i = 0; i < n; i++)
        {
          guint8 *data = g_malloc (sizes[s]);

          memset (data, (int) (i % 255) + 1, sizes[s]);
          buffers[i] = g_bytes_new_take (data, sizes[s]);
        }
      if (s == 0)  /* warm up: start the workers */
        time_end_to_end (parallel, sum_pages, n, bytes_arg, buffers);
      for (guint r = 0; r < reps; r++)
        runs[r] = time_end_to_end (parallel, sum_pages, n, bytes_arg, buffers);
      for (guint64 i = 0; i < n; i++)
        g_bytes_unref (buffers[i]);
      fields = g_strdup_printf ("\"sweep\": \"size\", \"backend\": \"%s\", "
                                "\"tasks\": %" G_GUINT64_FORMAT ", "
                                "\"bytes\": %" G_GUINT64_FORMAT ", \"us_per_task\": %.6g",
                                backend, n, sizes[s], bench_median (runs, reps) / n * 1e6);
      bench_report (fields, runs, reps);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(JobBackend) backend = NULL;
  g_autoptr(JobParallel) parallel = NULL;
  gboolean count = argc == 6 && strcmp (argv[2], "count") == 0;
  gboolean size = argc == 7 && strcmp (argv[2], "size") == 0;

  if (!count && !size)
    {
      g_printerr ("usage: %s TASKS_MODULE count BACKEND N_LIST REPS\n"
                  "       %s TASKS_MODULE size BACKEND SIZE_LIST TASKS_LIST REPS\n",
                  argv[0], argv[0]);
      return 2;
    }
  module_path = argv[1];
  backend = backend_for_name (argv[3]);
  parallel = job_parallel_new (2);
  job_parallel_set_backend (parallel, backend);

  if (count)
    {
      g_autofree guint64 *counts = bench_parse_list (argv[4]);

      run_count (parallel, argv[3], counts, MAX (atoi (argv[5]), 1));
    }
  else
    {
      g_autofree guint64 *sizes = bench_parse_list (argv[4]);
      g_autofree guint64 *tasks = bench_parse_list (argv[5]);

      guint n_sizes = 0, n_tasks = 0;

      while (sizes[n_sizes] != 0)
        n_sizes++;
      while (tasks[n_tasks] != 0)
        n_tasks++;
      if (n_sizes != n_tasks)
        {
          g_printerr ("SIZE_LIST and TASKS_LIST must have the same length\n");
          return 2;
        }
      run_size (parallel, argv[3], sizes, tasks, MAX (atoi (argv[6]), 1));
    }
  job_backend_shutdown (backend);
  return 0;
}
