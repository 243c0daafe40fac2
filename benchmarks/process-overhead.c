/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Per-task overhead of the process backend next to Python joblib's loky,
 * same workloads, same run:
 *
 *   process-overhead TASKS_MODULE [benchmarks/process-overhead.py]
 *
 * (meson sets JOB_WORKER_PATH for `meson test --benchmark`). Prints
 * markdown rows: workload, joblib-glib, and joblib when the script is
 * given. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <joblib-glib.h>

static const char *module_path;

static double
run (JobBackend *backend,
     const char *symbol,
     guint       n,
     guint       batch_size,
     GVariant *(*make_args) (guint i))
{
  g_autoptr(JobFunction) function = job_function_new_for_symbol (module_path, symbol, NULL);
  g_autoptr(GPtrArray) calls = g_ptr_array_new_with_free_func ((GDestroyNotify) job_call_unref);
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  g_autoptr(GPtrArray) values = NULL;
  g_autoptr(GError) error = NULL;
  gint64 start;

  for (guint i = 0; i < n; i++)
    g_ptr_array_add (calls, job_call_new (function, make_args (i)));

  job_parallel_set_backend (parallel, backend);
  job_parallel_set_batch_size (parallel, batch_size);
  start = g_get_monotonic_time ();
  values = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, &error);
  if (values == NULL)
    g_error ("%s", error->message);
  return (g_get_monotonic_time () - start) / 1e6;
}

static GVariant *
index_arg (guint i)
{
  return g_variant_new ("(x)", (gint64) i);
}

static GVariant *
big_arg (guint i)
{
  gsize size = 100 * 1000 * 1000;
  guint8 *data = g_malloc (size);

  memset (data, (int) i + 1, size);
  return g_variant_new ("(@ay)", g_variant_new_from_data (G_VARIANT_TYPE_BYTESTRING, data,
                                                          size, TRUE, g_free, data));
}

static double
best_of (int          repeats,
         JobBackend  *backend,
         const char  *symbol,
         guint        n,
         guint        batch_size)
{
  double best = G_MAXDOUBLE;

  for (int r = 0; r < repeats; r++)
    best = MIN (best, run (backend, symbol, n, batch_size, index_arg));
  return best;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(JobBackend) backend = NULL;
  g_autoptr(GHashTable) python = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  static const guint sizes[] = { 1000, 10000, 100000 };
  double seconds;

  if (argc < 2)
    {
      g_printerr ("usage: %s TASKS_MODULE [process-overhead.py]\n", argv[0]);
      return 2;
    }
  module_path = argv[1];

  /* Python joblib first, so that the two never compete for the CPUs. */
  if (argc > 2)
    {
      const char *py_argv[] = { "/usr/bin/python3", argv[2], NULL };
      g_autofree char *out = NULL;
      g_auto(GStrv) lines = NULL;
      g_autoptr(GError) error = NULL;

      if (!g_spawn_sync (NULL, (char **) py_argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                         &out, NULL, NULL, &error))
        g_error ("%s", error->message);
      lines = g_strsplit (out, "\n", -1);
      for (gsize i = 0; lines[i] != NULL; i++)
        {
          char *tab = strchr (lines[i], '\t');

          if (tab != NULL)
            {
              *tab = '\0';
              g_hash_table_insert (python, g_strdup (lines[i]), g_strdup (tab + 1));
            }
        }
    }

#define ROW(key, fmt, value) \
  printf ("| %-38s | " fmt " | %s |\n", key, value, \
          g_hash_table_contains (python, key) ? (char *) g_hash_table_lookup (python, key) : "–")

  printf ("| workload (n_jobs=2) | joblib-glib processes | joblib %s |\n|---|---|---|\n",
          g_hash_table_contains (python, "version") ?
          (char *) g_hash_table_lookup (python, "version") : "");

  backend = job_process_backend_new ();
  seconds = run (backend, "bench_square", 1000, 0, index_arg);
  ROW ("cold start: first run of 1000 tasks (ms)", "%.1f", seconds * 1e3);
  seconds = run (backend, "bench_square", 1000, 0, index_arg);
  ROW ("warm: same run again (ms)", "%.1f", seconds * 1e3);

  for (gsize s = 0; s < G_N_ELEMENTS (sizes); s++)
    {
      char key[64];

      g_snprintf (key, sizeof key, "µs per task, N=%u, auto batching", sizes[s]);
      ROW (key, "%.2f", best_of (3, backend, "bench_square", sizes[s], 0) * 1e6 / sizes[s]);
    }
  for (gsize s = 0; s < 2; s++)
    {
      char key[64];

      g_snprintf (key, sizeof key, "µs per task, N=%u, batch_size=1", sizes[s]);
      ROW (key, "%.2f", best_of (3, backend, "bench_square", sizes[s], 1) * 1e6 / sizes[s]);
    }

  seconds = G_MAXDOUBLE;
  for (int r = 0; r < 3; r++)
    seconds = MIN (seconds, run (backend, "bench_sum_bytes", 2, 1, big_arg));
  ROW ("2 tasks × 100 MB argument (ms, incl. building it)", "%.0f", seconds * 1e3);

  job_backend_shutdown (backend);
  return 0;
}
