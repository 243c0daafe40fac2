/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* JobMemory under load: 8 threads here and 4 processes share one cache
 * for a minute (JOB_STRESS_SECONDS), calling overlapping keys. Every key
 * must be computed exactly once over the whole run, and every result read
 * back must be the right one. Suite 'slow'. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <joblib-glib.h>

#define N_KEYS    64
#define N_THREADS 8
#define N_PROCS   4
#define N_VALUES  2000

static char *count_file;
static double seconds = 60;

/* x → (x, [x + i / 7 for i < N_VALUES]); each computation is recorded
 * as one line in count_file (O_APPEND writes of a few bytes are atomic). */
static GVariant *
compute (GVariant      *args,
         GCancellable  *cancellable,
         gpointer       user_data,
         GError       **error)
{
  gint32 x;
  double *values = g_new (double, N_VALUES);
  g_autofree char *line = NULL;
  int fd;

  g_variant_get (args, "(i)", &x);
  for (int i = 0; i < N_VALUES; i++)
    values[i] = x + i / 7.0;
  line = g_strdup_printf ("%d\n", x);
  fd = g_open (count_file, O_WRONLY | O_APPEND | O_CREAT, 0644);
  g_assert_cmpint (write (fd, line, strlen (line)), ==, (gssize) strlen (line));
  close (fd);
  g_usleep (2000);

  return g_variant_new ("(i@ad)", x,
                        g_variant_new_from_data (G_VARIANT_TYPE ("ad"), values,
                                                 N_VALUES * sizeof (double), TRUE,
                                                 g_free, values));
}

static gboolean
check_result (GVariant *result,
              gint32    x)
{
  g_autoptr(GVariant) array = NULL;
  const double *values;
  gint32 got;
  gsize n;

  if (result == NULL || !g_variant_is_of_type (result, G_VARIANT_TYPE ("(iad)")))
    return FALSE;
  g_variant_get (result, "(i@ad)", &got, &array);
  values = g_variant_get_fixed_array (array, &n, sizeof (double));
  if (got != x || n != N_VALUES)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    if (values[i] != x + i / 7.0)
      return FALSE;

  return TRUE;
}

typedef struct
{
  const char *dir;
  guint32     seed;
  gint        calls;     /* (atomic) */
  gint        failures;  /* (atomic) */
} Worker;

static gpointer
worker_run (gpointer data)
{
  Worker *worker = data;
  g_autoptr(JobMemory) memory = job_memory_new_for_path (worker->dir);
  g_autoptr(JobFunction) function = job_function_new ("stress", compute, NULL, NULL);
  g_autoptr(JobMemorizedFunction) cached = job_memory_cache (memory, function, NULL);
  g_autoptr(GRand) rand = g_rand_new_with_seed (worker->seed);
  gint64 deadline = g_get_monotonic_time () + (gint64) (seconds * G_USEC_PER_SEC);

  while (g_get_monotonic_time () < deadline)
    {
      gint32 x = g_rand_int_range (rand, 0, N_KEYS);
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) result = job_memorized_function_call (cached, g_variant_new ("(i)", x),
                                                                NULL, &error);

      g_atomic_int_inc (&worker->calls);
      if (!check_result (result, x))
        g_atomic_int_inc (&worker->failures);
    }

  return NULL;
}

static void
test_threads_and_processes (void)
{
  g_autofree char *dir = g_dir_make_tmp ("joblib-stress-XXXXXX", NULL);
  g_autofree char *counts = NULL;
  g_autofree char *function_dir = NULL;
  g_auto(GStrv) lines = NULL;
  Worker workers[N_THREADS];
  GThread *threads[N_THREADS];
  pid_t pids[N_PROCS];
  int computed[N_KEYS] = { 0 };
  int total_calls = 0;
  g_autoptr(GDir) folder = NULL;
  const char *name;

  count_file = g_build_filename (dir, "computations", NULL);

  /* Fork before any thread exists in this process. */
  for (int p = 0; p < N_PROCS; p++)
    {
      pids[p] = fork ();
      g_assert_cmpint (pids[p], >=, 0);
      if (pids[p] == 0)
        {
          Worker worker = { dir, 1000 + p, 0, 0 };

          worker_run (&worker);
          _exit (worker.failures == 0 && worker.calls > 0 ? 0 : 1);
        }
    }

  for (int t = 0; t < N_THREADS; t++)
    {
      workers[t] = (Worker) { dir, t + 1, 0, 0 };
      threads[t] = g_thread_new ("stress", worker_run, &workers[t]);
    }
  for (int t = 0; t < N_THREADS; t++)
    {
      g_thread_join (threads[t]);
      g_assert_cmpint (workers[t].failures, ==, 0);
      total_calls += workers[t].calls;
    }
  for (int p = 0; p < N_PROCS; p++)
    {
      int status = 0;

      g_assert_cmpint (waitpid (pids[p], &status, 0), ==, pids[p]);
      g_assert_true (WIFEXITED (status));
      g_assert_cmpint (WEXITSTATUS (status), ==, 0);
    }
  g_test_message ("%d calls in this process", total_calls);

  /* Each key computed exactly once, across all threads and processes. */
  g_assert_true (g_file_get_contents (count_file, &counts, NULL, NULL));
  lines = g_strsplit (counts, "\n", -1);
  for (guint i = 0; lines[i] != NULL && lines[i][0] != '\0'; i++)
    computed[atoi (lines[i])]++;
  for (int x = 0; x < N_KEYS; x++)
    g_assert_cmpint (computed[x], ==, 1);

  /* Nothing left behind but the entries, the version and the function's
   * lock file (kept between calls; no lock file per key). */
  function_dir = g_build_filename (dir, "joblib-glib", "stress", NULL);
  folder = g_dir_open (function_dir, 0, NULL);
  g_assert_nonnull (folder);
  while ((name = g_dir_read_name (folder)) != NULL)
    g_assert_true (strcmp (name, "version") == 0 || strcmp (name, ".locks") == 0 ||
                   strlen (name) == 32);

  {
    g_autoptr(JobMemory) memory = job_memory_new_for_path (dir);
    g_autoptr(GError) error = NULL;

    g_assert_true (job_memory_clear (memory, &error));
    g_assert_no_error (error);
    job_memory_wait_reclaimed (memory);
  }
  g_unlink (count_file);
  g_rmdir (dir);
  g_clear_pointer (&count_file, g_free);
}

int
main (int   argc,
      char *argv[])
{
  const char *env = g_getenv ("JOB_STRESS_SECONDS");

  g_test_init (&argc, &argv, NULL);
  if (env != NULL)
    seconds = g_ascii_strtod (env, NULL);

  g_test_add_func ("/joblib/memory/stress/threads-and-processes", test_threads_and_processes);

  return g_test_run ();
}
