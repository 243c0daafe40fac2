/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Per-task overhead of the process backend next to Python joblib's loky,
 * same workloads, same run:
 *
 *   process-overhead TASKS_MODULE [benchmarks/process-overhead.py]
 *
 * (meson sets JOB_WORKER_PATH for `meson test --benchmark`). Prints
 * markdown rows: workload, joblib-glib, joblib on loky and on
 * multiprocessing when the script is given, and the ratios. Medians of 5
 * runs except the cold start; the load average before and after.
 * JOB_BENCH_DRY_RUN=1 (benchmarks/run --dry-run, a smoke test) makes every
 * size tiny and runs each once, here and in the script. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <joblib-glib.h>

static const char *module_path;

#define REPEATS 5

static gboolean dry_run;

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
  if (values == NULL && strcmp (symbol, "bench_fail") != 0)
    g_error ("%s", error->message);
  return (g_get_monotonic_time () - start) / 1e6;
}

static GVariant *
index_arg (guint i)
{
  return g_variant_new ("(x)", (gint64) i);
}

/* 16 MB, like numpy.full(16e6, i % 256, dtype=uint8); built before the
 * clock starts, as the Python side builds its arrays first. */
static GVariant *
array_arg (guint i)
{
  gsize size = dry_run ? 1000 : 16 * 1000 * 1000;
  guint8 *data = g_malloc (size);

  memset (data, (int) (i % 256), size);
  return g_variant_new ("(@ay)", g_variant_new_from_data (G_VARIANT_TYPE_BYTESTRING, data,
                                                          size, TRUE, g_free, data));
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

static double
median_of (JobBackend  *backend,
           const char  *symbol,
           guint        n,
           guint        batch_size,
           GVariant  *(*make_args) (guint i))
{
  double times[REPEATS];
  int repeats = dry_run ? 1 : REPEATS;

  for (int r = 0; r < repeats; r++)
    times[r] = run (backend, symbol, n, batch_size, make_args);
  qsort (times, repeats, sizeof (double), compare_doubles);
  return times[repeats / 2];
}

static double
after_error (JobBackend *backend)
{
  double times[REPEATS];
  int repeats = dry_run ? 1 : REPEATS;

  for (int r = 0; r < repeats; r++)
    {
      run (backend, "bench_fail", 2, 1, index_arg);
      times[r] = run (backend, "bench_square", 1000, 0, index_arg);
    }
  qsort (times, repeats, sizeof (double), compare_doubles);
  return times[repeats / 2];
}

#define PYTHON_TIMEOUT "240"

static GHashTable *
run_python (const char *script,
            const char *backend)
{
  /* joblib's multiprocessing backend sometimes hangs for good after a
   * task error (its pool's terminate() races, leaving a defunct worker):
   * timeout(1) ends the whole process group after PYTHON_TIMEOUT, and
   * the rows printed until then are kept ("–" for the others). */
  const char *py_argv[] = { "timeout", "--kill-after=10", PYTHON_TIMEOUT,
                            "/usr/bin/python3", script, backend, NULL };
  GHashTable *table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autofree char *out = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GError) error = NULL;

  int status = 0;

  if (!g_spawn_sync (NULL, (char **) py_argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                     &out, NULL, &status, &error))
    g_error ("%s", error->message);
  if (!g_spawn_check_wait_status (status, NULL))
    g_printerr ("joblib %s: the Python run ended early (hung and killed after %s s, or "
                "failed); its missing rows are left empty\n", backend, PYTHON_TIMEOUT);
  lines = g_strsplit (out, "\n", -1);
  for (gsize i = 0; lines[i] != NULL; i++)
    {
      char *tab = strchr (lines[i], '\t');

      if (tab != NULL)
        {
          *tab = '\0';
          g_hash_table_insert (table, g_strdup (lines[i]), g_strdup (tab + 1));
        }
    }
  return table;
}

static GHashTable *loky;
static GHashTable *mp;

static void
row (const char *key,
     double      ours)
{
  const char *l = loky ? g_hash_table_lookup (loky, key) : NULL;
  const char *m = mp ? g_hash_table_lookup (mp, key) : NULL;
  g_autofree char *lr = l ? g_strdup_printf ("%.1f×", g_ascii_strtod (l, NULL) / ours) : NULL;
  g_autofree char *mr = m ? g_strdup_printf ("%.1f×", g_ascii_strtod (m, NULL) / ours) : NULL;

  printf ("| %s | %.2f | %s | %s | %s | %s |\n", key, ours,
          l ? l : "–", m ? m : "–", lr ? lr : "–", mr ? mr : "–");
  fflush (stdout);
}

static void
print_load (const char *when)
{
  g_autofree char *load = NULL;

  if (g_file_get_contents ("/proc/loadavg", &load, NULL, NULL))
    printf ("load average %s: %s", when, load);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(JobBackend) backend = NULL;
  static const guint full_sizes[] = { 1000, 10000, 100000 };
  static const guint dry_sizes[] = { 10, 100, 1000 };
  const guint *sizes;
  char key[96];

  dry_run = g_strcmp0 (g_getenv ("JOB_BENCH_DRY_RUN"), "1") == 0;
  sizes = dry_run ? dry_sizes : full_sizes;

  if (argc < 2)
    {
      g_printerr ("usage: %s TASKS_MODULE [process-overhead.py]\n", argv[0]);
      return 2;
    }
  module_path = argv[1];

  print_load ("before");
  /* Python joblib first, so that the runs never compete for the CPUs. */
  if (argc > 2)
    {
      loky = run_python (argv[2], "loky");
      mp = run_python (argv[2], "multiprocessing");
    }

  printf ("| workload (n_jobs=2) | joblib-glib processes | joblib %s loky | "
          "joblib multiprocessing | loky / ours | multiprocessing / ours |\n"
          "|---|---:|---:|---:|---:|---:|\n",
          loky && g_hash_table_contains (loky, "version")
            ? (char *) g_hash_table_lookup (loky, "version") : "");

  backend = job_process_backend_new ();
  row ("cold start: 2 workers, first run of 1000 tasks (ms)",
       run (backend, "bench_square", 1000, 0, index_arg) * 1e3);
  row ("warm: same run again (ms)",
       median_of (backend, "bench_square", 1000, 0, index_arg) * 1e3);

  for (gsize s = 0; s < G_N_ELEMENTS (full_sizes); s++)
    {
      g_snprintf (key, sizeof key, "µs per task, N=%u, auto batching", sizes[s]);
      row (key, median_of (backend, "bench_square", sizes[s], 0, index_arg) * 1e6 / sizes[s]);
    }
  for (gsize s = 0; s < 2; s++)
    {
      g_snprintf (key, sizeof key, "µs per task, N=%u, batch_size=1", sizes[s]);
      row (key, median_of (backend, "bench_square", sizes[s], 1, index_arg) * 1e6 / sizes[s]);
    }

  row ("first run of 1000 tasks after a task error (ms)", after_error (backend) * 1e3);
  row ("20 tasks × 16 MB array (ms)",
       median_of (backend, "bench_sum_bytes", 20, 1, array_arg) * 1e3);

  job_backend_shutdown (backend);
  print_load ("after");
  return 0;
}
