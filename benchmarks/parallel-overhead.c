/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Per-task overhead of JobParallel on the thread backend: trivial native
 * tasks (x + 1), n_jobs=2, auto batching, for N = 1 000, 10 000, 100 000.
 *
 *   parallel-overhead [REPETITIONS]
 *
 * Prints one JSON object per line:
 *   {"impl": "joblib-glib", "mode": "dispatch"|"end-to-end", "n": N,
 *    "us_per_task": median, "runs": [...]}
 * "dispatch" times job_parallel_run over prebuilt calls; "end-to-end" also
 * builds the N JobCalls and frees the calls and the results, as a caller
 * of `Parallel(n_jobs=2)(delayed(f)(x) for x in range(N))` would pay.
 * "bulk-array" and "bulk-variant" run the same task through the thread
 * backend's bulk maps, end to end: build the N inputs (a JobArray of int32,
 * an `ai` GVariant), map, read every result, free. */
#include <stdlib.h>

#include <joblib-glib.h>

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
build_calls (JobFunction *function,
             guint        n)
{
  GPtrArray *calls = g_ptr_array_new_full (n, (GDestroyNotify) job_call_unref);

  for (guint i = 0; i < n; i++)
    g_ptr_array_add (calls, job_call_new (function, g_variant_new ("(i)", (gint32) i)));
  return calls;
}

static void
check_results (GPtrArray *results,
               guint      n)
{
  if (results == NULL || results->len != n ||
      g_variant_get_int32 (g_ptr_array_index (results, n - 1)) != (gint32) n)
    g_error ("wrong results");
}

static gboolean
add_one_element (gconstpointer   input,
                 gpointer        output,
                 gsize           index,
                 gpointer        user_data,
                 GError        **error)
{
  *(gint32 *) output = *(const gint32 *) input + 1;
  return TRUE;
}

static double
run_bulk_array (JobThreadBackend *backend,
                guint             n)
{
  gint64 start = g_get_monotonic_time ();
  gint32 *values = g_new (gint32, n);
  gsize shape[] = { n };
  g_autoptr(JobArray) input = NULL;
  g_autoptr(JobArray) output = NULL;
  const gint32 *results;
  gint64 sum = 0;

  for (guint i = 0; i < n; i++)
    values[i] = (gint32) i;
  input = job_array_new ("<i4", shape, 1, g_bytes_new_take (values, n * sizeof (gint32)),
                         NULL);
  output = job_thread_backend_map_array (backend, 2, input, "<i4", NULL, 0,
                                         add_one_element, NULL, NULL, NULL);
  results = g_bytes_get_data (job_array_get_data (output), NULL);
  for (guint i = 0; i < n; i++)
    sum += results[i];
  if (sum != (gint64) n * (n + 1) / 2)
    g_error ("wrong bulk results");
  g_clear_pointer (&input, job_array_unref);
  g_clear_pointer (&output, job_array_unref);
  return (double) (g_get_monotonic_time () - start) / n;
}

static double
run_bulk_variant (JobThreadBackend *backend,
                  guint             n)
{
  gint64 start = g_get_monotonic_time ();
  gint32 *values = g_new (gint32, n);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GVariant) input = NULL;
  g_autoptr(GVariant) output = NULL;
  const gint32 *results;
  gsize n_results;
  gint64 sum = 0;

  for (guint i = 0; i < n; i++)
    values[i] = (gint32) i;
  bytes = g_bytes_new_take (values, n * sizeof (gint32));
  input = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE ("ai"), bytes, TRUE));
  output = job_thread_backend_map_variant (backend, 2, input, G_VARIANT_TYPE_INT32,
                                           add_one_element, NULL, NULL, NULL);
  results = g_variant_get_fixed_array (output, &n_results, sizeof (gint32));
  for (gsize i = 0; i < n_results; i++)
    sum += results[i];
  if (n_results != n || sum != (gint64) n * (n + 1) / 2)
    g_error ("wrong bulk results");
  g_clear_pointer (&input, g_variant_unref);
  g_clear_pointer (&output, g_variant_unref);
  return (double) (g_get_monotonic_time () - start) / n;
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

static void
report (const char *mode,
        guint       n,
        double     *runs,
        guint       n_runs)
{
  g_autoptr(GString) line = g_string_new (NULL);
  g_autofree double *sorted = g_memdup2 (runs, n_runs * sizeof (double));
  double median;

  qsort (sorted, n_runs, sizeof (double), compare_doubles);
  median = n_runs % 2 ? sorted[n_runs / 2]
                      : (sorted[n_runs / 2 - 1] + sorted[n_runs / 2]) / 2;

  g_string_append_printf (line,
                          "{\"impl\": \"joblib-glib\", \"backend\": \"threading\", "
                          "\"mode\": \"%s\", \"n\": %u, \"us_per_task\": %.4f, \"runs\": [",
                          mode, n, median);
  for (guint i = 0; i < n_runs; i++)
    g_string_append_printf (line, "%s%.4f", i ? ", " : "", runs[i]);
  g_string_append (line, "]}");
  g_print ("%s\n", line->str);
}

int
main (int   argc,
      char *argv[])
{
  const guint sizes[] = { 1000, 10000, 100000 };
  guint repetitions = argc > 1 ? (guint) atoi (argv[1]) : 9;
  g_autoptr(JobFunction) function = job_function_new ("add_one", add_one, NULL, NULL);
  g_autoptr(JobParallel) parallel = NULL;
  g_autoptr(JobBackend) backend = job_thread_backend_new ();

  if (repetitions == 0)
    repetitions = 1;

  parallel = job_parallel_new (2);
  job_parallel_set_backend (parallel, backend);  /* one warm pool, as joblib's */

  /* warm up the pool and the allocator */
  {
    g_autoptr(GPtrArray) calls = build_calls (function, 10000);
    g_autoptr(GPtrArray) results = job_parallel_run (parallel, (JobCall **) calls->pdata,
                                                     calls->len, NULL, NULL);
    check_results (results, 10000);
  }

  for (gsize s = 0; s < G_N_ELEMENTS (sizes); s++)
    {
      guint n = sizes[s];
      g_autofree double *dispatch = g_new0 (double, repetitions);
      g_autofree double *end_to_end = g_new0 (double, repetitions);
      g_autofree double *bulk_array = g_new0 (double, repetitions);
      g_autofree double *bulk_variant = g_new0 (double, repetitions);

      for (guint r = 0; r < repetitions; r++)
        {
          gint64 start, built, ran, freed;
          GPtrArray *calls;
          GPtrArray *results;

          start = g_get_monotonic_time ();
          calls = build_calls (function, n);
          built = g_get_monotonic_time ();
          results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len,
                                      NULL, NULL);
          ran = g_get_monotonic_time ();
          check_results (results, n);
          g_ptr_array_unref (results);
          g_ptr_array_unref (calls);
          freed = g_get_monotonic_time ();

          dispatch[r] = (double) (ran - built) / n;
          end_to_end[r] = (double) (freed - start) / n;
        }

      /* The per-call runs leave hundreds of thousands of small freed
       * blocks that glibc consolidates in the next large allocation
       * (10-100 ms at N = 100 000): one untimed bulk run pays that, so
       * that the bulk figures are the bulk path's own. */
      run_bulk_array (JOB_THREAD_BACKEND (backend), n);
      for (guint r = 0; r < repetitions; r++)
        {
          bulk_array[r] = run_bulk_array (JOB_THREAD_BACKEND (backend), n);
          bulk_variant[r] = run_bulk_variant (JOB_THREAD_BACKEND (backend), n);
        }

      report ("dispatch", n, dispatch, repetitions);
      report ("end-to-end", n, end_to_end, repetitions);
      report ("bulk-array", n, bulk_array, repetitions);
      report ("bulk-variant", n, bulk_variant, repetitions);
    }

  return EXIT_SUCCESS;
}
