/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Helpers shared by tutorial-bench.c and scaling-bench.c: a parsed list of
 * sizes, medians, one JSON line per measurement. */

#pragma once

#include <stdio.h>
#include <stdlib.h>

#include <joblib-glib.h>

/* "1,2,8" or "1e3,1e4" → a zero-terminated array of counts. */
static inline guint64 *
bench_parse_list (const char *text)
{
  g_auto(GStrv) parts = g_strsplit (text, ",", -1);
  guint n = g_strv_length (parts);
  guint64 *values = g_new0 (guint64, n + 1);

  for (guint i = 0; i < n; i++)
    {
      char *end = NULL;
      double v = g_ascii_strtod (parts[i], &end);

      if (end == parts[i] || *end != '\0' || v < 1 || v > 1e12)
        {
          g_printerr ("bad count '%s' in '%s'\n", parts[i], text);
          exit (2);
        }
      values[i] = (guint64) v;
    }
  return values;
}

static inline int
bench_compare_doubles (gconstpointer a,
                       gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

static inline double
bench_median (const double *runs,
              guint         n)
{
  g_autofree double *sorted = g_memdup2 (runs, n * sizeof (double));

  qsort (sorted, n, sizeof (double), bench_compare_doubles);
  return n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

/* Prints {"impl": "joblib-glib", <fields>, "seconds": median, "runs": [...]}
 * where @fields is a JSON fragment ("\"workload\": \"svd\", …"). */
static inline void
bench_report (const char   *fields,
              const double *runs,
              guint         n)
{
  g_autoptr(GString) line = g_string_new ("{\"impl\": \"joblib-glib\", ");

  g_string_append_printf (line, "%s, \"seconds\": %.9g, \"runs\": [",
                          fields, bench_median (runs, n));
  for (guint i = 0; i < n; i++)
    g_string_append_printf (line, "%s%.9g", i ? ", " : "", runs[i]);
  g_string_append (line, "]}");
  printf ("%s\n", line->str);
  fflush (stdout);
}

/* Runs @calls on @parallel and returns the wall time in seconds; aborts on
 * a task error (a benchmark that computes nothing would be meaningless). */
static inline double
bench_time_run (JobParallel *parallel,
                GPtrArray   *calls)
{
  g_autoptr(GPtrArray) values = NULL;
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();

  values = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, &error);
  if (values == NULL)
    g_error ("run failed: %s", error->message);
  return (g_get_monotonic_time () - start) / 1e6;
}
