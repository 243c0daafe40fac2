/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The soak test ('slow' suite): 10 000 tasks on each backend (threads,
 * and processes with the native, the Python and the GJS worker), half of
 * them through a memorized function, in rounds of 1000. After each round
 * it reads the resident set size (VmRSS of /proc/PID/status) of this
 * process and of every worker, prints them, and fails when one of them
 * keeps growing once warmed up.
 *
 * The criterion: a process whose RSS keeps growing after the first third
 * of the rounds (warm-up: caches, pools, arenas fill up) fails it: the
 * least-squares slope over those rounds, and over each half of them,
 * exceeds MAX_SLOPE_KIB (1 MiB) per 1000 tasks (one step to a new
 * high-water mark of the allocator is not growth). A leak of the kind this
 * catches costs a few KiB a task (results of 8 KiB here): 1 MiB or more
 * per 1000 tasks and per worker, against a noise of tens of KiB (this
 * process trims glibc's free memory before it reads its own RSS).
 *
 * Each round: 500 plain tasks returning 16 KiB, 500 memorized ones
 * returning 8 KiB, half of them new keys (computed and written) and half
 * the keys of the round before (read from the cache).
 *
 * JOB_SOAK_TASKS changes the number of tasks per backend (a multiple of
 * 1000); JOB_SOAK_RSS_CHECK=0 prints the figures without judging them
 * (sanitizer builds, whose allocators hold freed memory back on purpose);
 * JOB_SOAK_BINDINGS=0 skips the Python and GJS workers. */
#include <malloc.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <joblib-glib.h>

#include "worker-deaths.h"

#define ROUND_TASKS   1000
#define PLAIN_BYTES   (16 * 1024)
#define CACHED_BYTES  (8 * 1024)
#define MAX_SLOPE_KIB 1024.0  /* the leaks this catches cost 2.5 MiB or more; Python RSS wanders by 1 MiB */

typedef enum
{
  SOAK_THREADS,
  SOAK_NATIVE,
  SOAK_PYTHON,
  SOAK_GJS,
} SoakKind;

static gboolean
env_flag (const char *name,
          gboolean    fallback)
{
  const char *value = g_getenv (name);

  return value == NULL || value[0] == '\0' ? fallback : strcmp (value, "0") != 0;
}

/* VmRSS of @pid in KiB, or -1 when the process is gone. */
static gint64
rss_kib (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", (int) pid);
  g_autofree char *text = NULL;
  const char *line;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return -1;
  line = strstr (text, "\nVmRSS:");
  if (line == NULL)
    return -1;
  return g_ascii_strtoll (line + strlen ("\nVmRSS:"), NULL, 10);
}

static GVariant *
not_in_this_process (GVariant      *args,
                     GCancellable  *cancellable,
                     gpointer       user_data,
                     GError       **error)
{
  g_set_error_literal (error, JOB_ERROR, JOB_ERROR_UNSUPPORTED,
                       "the soak test runs this function in workers only");
  return NULL;
}

static JobFunction *
payload_function (SoakKind    kind,
                  const char *name)
{
  GVariantDict fields;
  JobFunction *function;
  g_autofree char *script = NULL;

  if (kind == SOAK_THREADS || kind == SOAK_NATIVE)
    return job_function_new_for_symbol (g_getenv ("JOB_TEST_TASKS_MODULE"), "task_payload",
                                        "payload");

  function = job_function_new (name, not_in_this_process, NULL, NULL);
  g_variant_dict_init (&fields, NULL);
  if (kind == SOAK_PYTHON)
    {
      g_variant_dict_insert (&fields, "module", "s", "soak_tasks");
      g_variant_dict_insert (&fields, "qualname", "s", name);
    }
  else
    {
      script = g_test_build_filename (G_TEST_DIST, "soak-tasks.js", NULL);
      g_variant_dict_insert (&fields, "file", "s", script);
      g_variant_dict_insert (&fields, "export", "s", "payload");
    }
  job_function_set_reference (function,
                              g_variant_new ("(s@a{sv})",
                                             kind == SOAK_PYTHON ? "python" : "gjs",
                                             g_variant_dict_end (&fields)));
  return function;
}

/* The argument tuple of payload (x, size): the Python worker takes each
 * value boxed, and a last "opaque" flag (see joblib_glib.worker). */
static GVariant *
payload_args (SoakKind kind,
              gint64   x,
              guint32  size)
{
  if (kind == SOAK_PYTHON)
    return g_variant_new ("(vvb)", g_variant_new_int64 (x), g_variant_new_int64 (size), FALSE);
  return g_variant_new ("(xu)", x, size);
}

static JobBackend *
soak_backend (SoakKind kind)
{
  JobBackend *backend;

  if (kind == SOAK_THREADS)
    return job_thread_backend_new ();
  backend = job_process_backend_new ();
  /* the same workers from the first task to the last */
  job_process_backend_set_idle_timeout (JOB_PROCESS_BACKEND (backend), -1);
  return backend;
}

/* One process's RSS after each round. */
typedef struct
{
  char   *label;    /* (owned) */
  GPid    pid;
  GArray *samples;  /* (owned) gint64 KiB, one per round (-1: not running) */
} Series;

static void
series_free (Series *series)
{
  g_free (series->label);
  g_array_unref (series->samples);
  g_free (series);
}

static Series *
find_series (GPtrArray  *all,
             GPid        pid,
             const char *label,
             guint       round)
{
  Series *series;

  for (guint i = 0; i < all->len; i++)
    {
      series = g_ptr_array_index (all, i);
      if (series->pid == pid)
        return series;
    }
  series = g_new0 (Series, 1);
  series->label = g_strdup_printf ("%s %d", label, (int) pid);
  series->pid = pid;
  series->samples = g_array_new (FALSE, FALSE, sizeof (gint64));
  /* a worker that started late has no samples for the rounds before */
  for (guint i = 0; i < round; i++)
    {
      gint64 none = -1;

      g_array_append_val (series->samples, none);
    }
  g_ptr_array_add (all, series);
  return series;
}

/* Least-squares slope of the samples @first to @last (included), in KiB
 * per round (1000 tasks); FALSE when fewer than 3 of them are there. */
static gboolean
slope_between (GArray *samples,
               guint   first,
               guint   last,
               double *slope)
{
  double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;

  for (guint i = first; i <= last && i < samples->len; i++)
    {
      double y = (double) g_array_index (samples, gint64, i);

      if (y < 0)
        return FALSE;
      n++;
      sx += i;
      sy += y;
      sxx += (double) i * i;
      sxy += i * y;
    }
  if (n < 3)
    return FALSE;
  *slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  return TRUE;
}

/* Whether the RSS keeps growing from @first on: the slope over those
 * rounds, and over each half of them, exceeds the bound, and so does the
 * rise of the lowest sample from the first half to the second. A leak grows
 * all along; an allocator that reaches a new high-water mark once (a
 * step of some megabytes, then flat, as the GJS worker's JS heap and
 * glibc's arenas do) grows in one half only. */
static gboolean
keeps_growing (GArray *samples,
               guint   first,
               double *slope)
{
  guint last = samples->len - 1;
  guint middle = first + (last - first) / 2;
  double early, late;

  if (!slope_between (samples, first, last, slope))
    return FALSE;
  if (!slope_between (samples, first, middle, &early) ||
      !slope_between (samples, middle, last, &late))
    return *slope > MAX_SLOPE_KIB;
  if (!(*slope > MAX_SLOPE_KIB && early > MAX_SLOPE_KIB && late > MAX_SLOPE_KIB))
    return FALSE;

  /* A garbage-collected heap (the GJS worker's) swings by megabytes
   * between two samples, up and down: a leak also raises the lowest
   * sample of the later half above that of the earlier one. */
  {
    gint64 early_floor = G_MAXINT64, late_floor = G_MAXINT64;

    for (guint i = first; i <= last; i++)
      {
        gint64 kib = g_array_index (samples, gint64, i);

        if (kib < 0)
          continue;
        if (i < middle)
          early_floor = MIN (early_floor, kib);
        else
          late_floor = MIN (late_floor, kib);
      }
    return late_floor != G_MAXINT64 && late_floor > early_floor &&
           (double) (late_floor - early_floor) / (double) (middle - first) > MAX_SLOPE_KIB;
  }
}

/* The cache folder, whoever wrote in it (the Python worker's Memory has
 * a layout of its own). */
static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) &&
          !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static void
check_values (SoakKind   kind,
              GPtrArray *values,
              GPtrArray *calls)
{
  for (guint i = 0; i < values->len; i++)
    {
      GVariant *value = g_ptr_array_index (values, i);
      gsize expected = i % 2 == 0 ? PLAIN_BYTES : CACHED_BYTES;

      /* bytes: "ay" from C, a numpy array or a typed array (the array
       * form "(ssatay)": tag, typestr, shape, data) from Python and GJS */
      if (kind == SOAK_PYTHON || kind == SOAK_GJS)
        {
          g_autoptr(GVariant) data = NULL;

          g_assert_cmpstr (g_variant_get_type_string (value), ==, "(ssatay)");
          data = g_variant_get_child_value (value, 3);
          g_assert_cmpuint (g_variant_get_size (data), ==, expected);
        }
      else
        {
          g_assert_cmpstr (g_variant_get_type_string (value), ==, "ay");
          g_assert_cmpuint (g_variant_get_size (value), ==, expected);
        }
    }
}

static void
run_soak (SoakKind    kind,
          const char *name)
{
  g_autoptr(JobBackend) backend = soak_backend (kind);
  g_autoptr(JobFunction) plain = payload_function (kind, "payload");
  g_autoptr(GError) error = NULL;
  g_autofree char *location = g_dir_make_tmp ("test-soak-XXXXXX", &error);
  g_autoptr(JobMemory) memory = NULL;
  g_autoptr(JobMemorizedFunction) memorized = NULL;
  g_autoptr(JobFunction) cached_python = NULL;
  JobFunction *cached;
  g_autoptr(GPtrArray) all = g_ptr_array_new_with_free_func ((GDestroyNotify) series_free);
  guint64 n_tasks = g_ascii_strtoull (g_getenv ("JOB_SOAK_TASKS") ? g_getenv ("JOB_SOAK_TASKS")
                                      : "10000", NULL, 10);
  guint n_rounds = MAX (n_tasks / ROUND_TASKS, 1);
  gboolean judge = env_flag ("JOB_SOAK_RSS_CHECK", TRUE);
  guint first_judged = (n_rounds + 2) / 3;
  gint64 start = g_get_monotonic_time ();
  guint n_growing = 0;

  g_assert_no_error (error);
  memory = job_memory_new_for_path (location);
  if (kind == SOAK_PYTHON)
    {
      /* Python callers memorize on the Python side (joblib_glib.Memory),
       * whose calls the Python worker runs as Python objects: the task
       * does it, in the worker, against the same folder. */
      cached_python = payload_function (kind, "cached_payload");
      cached = cached_python;
    }
  else
    {
      memorized = job_memory_cache (memory, plain, NULL);
      cached = JOB_FUNCTION (memorized);
    }

  for (guint round = 0; round < n_rounds; round++)
    {
      g_autoptr(JobParallel) parallel = job_parallel_new (2);
      g_autoptr(GPtrArray) calls = g_ptr_array_new_with_free_func ((GDestroyNotify) job_call_unref);
      g_autoptr(GPtrArray) values = NULL;
      g_autofree int *pids = NULL;
      guint n_pids = 0;

      for (guint i = 0; i < ROUND_TASKS; i++)
        {
          guint j = i / 2;
          gint64 key;

          if (i % 2 == 0)
            {
              g_ptr_array_add (calls, job_call_new (plain,
                                                    payload_args (kind, round * ROUND_TASKS + i,
                                                                  PLAIN_BYTES)));
              continue;
            }
          /* half new keys, half the new keys of the round before */
          key = (gint64) (j < ROUND_TASKS / 4 || round == 0 ? round : round - 1) *
                (ROUND_TASKS / 4) + j % (ROUND_TASKS / 4);
          g_ptr_array_add (calls, job_call_new (cached,
                                                kind == SOAK_PYTHON
                                                ? g_variant_new ("(vvvb)",
                                                                 g_variant_new_string (location),
                                                                 g_variant_new_int64 (key),
                                                                 g_variant_new_int64 (CACHED_BYTES),
                                                                 FALSE)
                                                : payload_args (kind, key, CACHED_BYTES)));
        }

      job_parallel_set_backend (parallel, backend);
      values = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (values->len, ==, ROUND_TASKS);
      check_values (kind, values, calls);
      g_clear_pointer (&values, g_ptr_array_unref);

      {
        Series *parent = find_series (all, getpid (), "parent", round);
        gint64 kib;

        /* Free memory that glibc keeps in its arenas is not a leak, but
         * moves this process's RSS by megabytes from round to round (a
         * round allocates and frees 16 MiB of results on two threads):
         * return it first, so that what is measured is what is held. */
        malloc_trim (0);
        kib = rss_kib (getpid ());

        g_array_append_val (parent->samples, kib);
      }
      if (kind != SOAK_THREADS)
        pids = job_process_backend_get_worker_pids (JOB_PROCESS_BACKEND (backend), &n_pids);
      for (guint i = 0; i < n_pids; i++)
        {
          Series *worker = find_series (all, pids[i], "worker", round);
          gint64 kib = rss_kib (pids[i]);

          g_array_append_val (worker->samples, kib);
        }
      /* workers gone since: no sample this round */
      for (guint i = 0; i < all->len; i++)
        {
          Series *series = g_ptr_array_index (all, i);

          if (series->samples->len == round)
            {
              gint64 none = -1;

              g_array_append_val (series->samples, none);
            }
        }
    }

  g_test_message ("FIGURES soak %s: %" G_GUINT64_FORMAT " tasks in %.1f s, RSS in KiB after "
                  "each 1000 tasks; slope over rounds %u-%u in KiB per 1000 tasks (bound %.0f)",
                  name, (guint64) n_rounds * ROUND_TASKS,
                  (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC,
                  first_judged + 1, n_rounds, MAX_SLOPE_KIB);
  for (guint i = 0; i < all->len; i++)
    {
      Series *series = g_ptr_array_index (all, i);
      g_autoptr(GString) line = g_string_new (NULL);
      double slope = 0;
      gboolean growing = keeps_growing (series->samples, first_judged, &slope);
      gboolean measured = slope_between (series->samples, first_judged,
                                         series->samples->len - 1, &slope);

      for (guint j = 0; j < series->samples->len; j++)
        g_string_append_printf (line, " %" G_GINT64_FORMAT,
                                g_array_index (series->samples, gint64, j));
      if (measured)
        g_string_append_printf (line, " | slope %+.0f%s", slope,
                                growing ? " (keeps growing)" : "");
      else
        g_string_append (line, " | slope not measured (too few rounds, or a new process)");
      g_test_message ("FIGURES soak %s %s:%s", name, series->label, line->str);
      n_growing += growing;
    }

  job_backend_shutdown (backend);
  g_assert_true (job_memory_clear (memory, &error));
  g_assert_no_error (error);
  job_memory_wait_reclaimed (memory);
  remove_tree (location);
  g_assert_false (g_file_test (location, G_FILE_TEST_EXISTS));

  if (judge)
    g_assert_cmpuint (n_growing, ==, 0);
}

static void
test_threads (void)
{
  run_soak (SOAK_THREADS, "threads");
}

static void
test_native (void)
{
  run_soak (SOAK_NATIVE, "native-worker");
}

static void
test_python (void)
{
  if (!env_flag ("JOB_SOAK_BINDINGS", TRUE))
    {
      g_test_skip ("no Python worker in this build");
      return;
    }
  run_soak (SOAK_PYTHON, "python-worker");
}

static void
test_gjs (void)
{
  if (!env_flag ("JOB_SOAK_BINDINGS", TRUE))
    {
      g_test_skip ("no GJS worker in this build");
      return;
    }
  run_soak (SOAK_GJS, "gjs-worker");
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  worker_deaths_install ();

  g_test_add_func ("/joblib/soak/threads", test_threads);
  g_test_add_func ("/joblib/soak/native-worker", test_native);
  g_test_add_func ("/joblib/soak/python-worker", test_python);
  g_test_add_func ("/joblib/soak/gjs-worker", test_gjs);

  return g_test_run ();
}
