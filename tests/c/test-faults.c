/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fault injection. Each test injects one kind of fault at
 * random points, many times, and checks that nothing is lost: every run
 * ends with the right result or a clear error, never a hang, no process
 * is left behind, and no half-written file is ever read as valid.
 *
 *   worker-killed     SIGKILL to a random process worker at a random time
 *   cancel (threads)  cancellation at a random time, thread backend
 *   cancel (procs)    the same with process workers
 *   killed-writer     a process killed while it writes a dump or a cache
 *                     entry (this program re-run with --writer)
 *   disk-full         writes failing with EFBIG (RLIMIT_FSIZE) or ENOSPC
 *                     (a small tmpfs, when this process may mount one)
 *   read-only         a cache folder that cannot be written
 *
 * JOB_FAULT_RUNS scales the number of runs (default 200 for the worker
 * kills, a quarter of it for the others): the 'slow' suite runs the
 * defaults, the 'c' suite a few. Seeds are printed, and JOB_FAULT_SEED
 * replays one. The totals of faults injected go to the TAP log. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <joblib-glib.h>

#include "worker-deaths.h"

#define BIG_VALUES (4 * 1024 * 1024)  /* doubles: a 32 MiB value */
#define WATCHDOG_SECONDS 60

static guint n_runs = 200;
static GRand *rand_;
static char *self_path;

/* ---- helpers ---------------------------------------------------------- */

/* The children of this process, read from /proc (state in @zombies). */
static guint
count_children (guint *zombies)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc", 0, NULL);
  const char *name;
  guint n = 0;

  *zombies = 0;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = NULL;
      g_autofree char *stat = NULL;
      const char *end;
      char state;
      int ppid;

      if (!g_ascii_isdigit (name[0]))
        continue;
      path = g_build_filename ("/proc", name, "stat", NULL);
      if (!g_file_get_contents (path, &stat, NULL, NULL))
        continue;
      /* pid (comm) state ppid …; comm may hold spaces and parentheses */
      end = strrchr (stat, ')');
      if (end == NULL || sscanf (end + 1, " %c %d", &state, &ppid) != 2)
        continue;
      if (ppid == getpid ())
        {
          n++;
          if (state == 'Z')
            (*zombies)++;
        }
    }
  return n;
}

/* Waits (bounded) until this process has at most @max children and no
 * zombie: workers killed by force are reaped asynchronously. */
static void
assert_children_at_most (guint max)
{
  guint n = 0, zombies = 0;

  for (int i = 0; i < 2000; i++)
    {
      n = count_children (&zombies);
      if (n <= max && zombies == 0)
        return;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (5000);
    }
  g_error ("%u children (%u zombies) left, expected at most %u", n, zombies, max);
}

static JobFunction *
task (const char *symbol)
{
  const char *module = g_getenv ("JOB_TEST_TASKS_MODULE");

  g_assert_nonnull (module);
  return job_function_new_for_symbol (module, symbol, NULL);
}

static void
on_run_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

/* Runs @calls asynchronously, calling @fault once after @delay_ms;
 * fails the test instead of hanging when the run does not end. */
static GPtrArray *
run_with_fault (JobParallel   *parallel,
                GPtrArray     *calls,
                GCancellable  *cancellable,
                guint          delay_ms,
                GSourceFunc    fault,
                gpointer       fault_data,
                GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  GSource *timer = g_timeout_source_new (delay_ms);
  gint64 deadline = g_get_monotonic_time () + WATCHDOG_SECONDS * G_USEC_PER_SEC;

  g_source_set_callback (timer, fault, fault_data, NULL);
  g_source_attach (timer, NULL);
  job_parallel_run_async (parallel, (JobCall **) calls->pdata, calls->len, cancellable,
                          on_run_done, &result);
  while (result == NULL)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("a run did not end within %d s", WATCHDOG_SECONDS);
      g_main_context_iteration (NULL, TRUE);
    }
  g_source_destroy (timer);
  g_source_unref (timer);

  return job_parallel_run_finish (parallel, result, error);
}

static void
assert_squares (GPtrArray *values,
                guint      n)
{
  g_assert_cmpuint (values->len, ==, n);
  for (guint i = 0; i < n; i++)
    g_assert_cmpint (g_variant_get_int64 (values->pdata[i]), ==, (gint64) i * i);
}

static GPtrArray *
square_calls (guint n)
{
  g_autoptr(JobFunction) square = task ("task_square");
  GPtrArray *calls = g_ptr_array_new_with_free_func ((GDestroyNotify) job_call_unref);

  for (guint i = 0; i < n; i++)
    g_ptr_array_add (calls, job_call_new (square, g_variant_new ("(x)", (gint64) i)));
  return calls;
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      remove_tree (child);
    }
  g_remove (path);
}

/* ---- a worker killed at random points --------------------------------- */

typedef struct
{
  JobBackend *backend;
  guint       kills;
} KillFault;

static gboolean
kill_a_worker (gpointer data)
{
  KillFault *fault = data;
  guint n = 0;
  g_autofree int *pids = job_process_backend_get_worker_pids (JOB_PROCESS_BACKEND (fault->backend), &n);

  if (n > 0 && kill (pids[g_rand_int_range (rand_, 0, n)], SIGKILL) == 0)
    fault->kills++;
  return G_SOURCE_REMOVE;
}

static void
test_worker_killed (void)
{
  g_autoptr(JobBackend) backend = NULL;
  guint n_ok = 0, n_died = 0, kills = 0;

  /* an idle worker killed has no task to fail: the pool warns */
  worker_deaths_tolerate ("worker * killed by signal 9 (*)");
  for (guint run = 0; run < n_runs; run++)
    {
      /* 1000 to 4000 tasks in batches of 1 to 8 (a few ms to tens of ms);
       * a fresh pool now and then, so that kills also land while workers
       * start */
      guint n = g_rand_int_range (rand_, 1000, 4000);
      g_autoptr(GPtrArray) calls = square_calls (n);
      g_autoptr(JobParallel) parallel = job_parallel_new (2);
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) values = NULL;
      KillFault fault;

      if (backend == NULL || g_rand_int_range (rand_, 0, 4) == 0)
        {
          if (backend != NULL)
            job_backend_shutdown (backend);
          g_clear_object (&backend);
          backend = job_process_backend_new ();
        }
      fault = (KillFault) { backend, 0 };
      job_parallel_set_backend (parallel, backend);
      job_parallel_set_batch_size (parallel, g_rand_int_range (rand_, 1, 9));

      values = run_with_fault (parallel, calls, NULL, g_rand_int_range (rand_, 0, 15),
                               kill_a_worker, &fault, &error);
      kills += fault.kills;
      if (values != NULL)
        {
          g_assert_no_error (error);
          assert_squares (values, n);
          n_ok++;
        }
      else
        {
          /* the only acceptable failure: a worker died, said clearly */
          g_assert_error (error, JOB_ERROR, JOB_ERROR_WORKER_DIED);
          g_assert_nonnull (strstr (error->message, "killed by signal 9"));
          g_assert_true (fault.kills > 0);
          n_died++;
        }
      /* the dead worker is reaped; at most the 2 live ones remain */
      assert_children_at_most (2);
    }

  job_backend_shutdown (backend);
  assert_children_at_most (0);
  worker_deaths_tolerate (NULL);
  g_test_message ("FIGURES worker-killed: %u runs, %u kills, %u results, %u worker-died errors",
                  n_runs, kills, n_ok, n_died);
  g_assert_cmpuint (n_ok + n_died, ==, n_runs);
}

/* ---- cancellation at random points ------------------------------------ */

static GVariant *
spin_square (GVariant      *args,
             GCancellable  *cancellable,
             gpointer       user_data,
             GError       **error)
{
  gint64 x;

  g_variant_get (args, "(x)", &x);
  g_usleep (g_random_int_range (0, 300));
  return g_variant_new_int64 (x * x);
}

static gboolean
cancel_now (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

static void
check_cancel_runs (gboolean processes)
{
  g_autoptr(JobBackend) backend = processes ? job_process_backend_new () : job_thread_backend_new ();
  g_autoptr(JobFunction) spin = job_function_new ("spin_square", spin_square, NULL, NULL);
  guint runs = MAX (n_runs / 4, 5), n_ok = 0, n_cancelled = 0;

  for (guint run = 0; run < runs; run++)
    {
      guint n = g_rand_int_range (rand_, 50, 500);
      g_autoptr(GPtrArray) calls = NULL;
      g_autoptr(JobParallel) parallel = job_parallel_new (2);
      g_autoptr(GCancellable) cancellable = g_cancellable_new ();
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) values = NULL;

      if (processes)
        calls = square_calls (n);
      else
        {
          calls = g_ptr_array_new_with_free_func ((GDestroyNotify) job_call_unref);
          for (guint i = 0; i < n; i++)
            g_ptr_array_add (calls, job_call_new (spin, g_variant_new ("(x)", (gint64) i)));
        }
      job_parallel_set_backend (parallel, backend);
      job_parallel_set_batch_size (parallel, g_rand_int_range (rand_, 0, 5));
      values = run_with_fault (parallel, calls, cancellable, g_rand_int_range (rand_, 0, 30),
                               cancel_now, cancellable, &error);
      if (values != NULL)
        {
          assert_squares (values, n);
          n_ok++;
        }
      else
        {
          g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
          n_cancelled++;
        }
      assert_children_at_most (2);

      /* the backend still works after a cancelled run */
      if (run % 8 == 7)
        {
          g_autoptr(GPtrArray) again = square_calls (processes ? 20 : 0);
          g_autoptr(JobParallel) check = job_parallel_new (2);

          if (processes)
            {
              g_autoptr(GPtrArray) squares = NULL;
              g_autoptr(GError) check_error = NULL;

              job_parallel_set_backend (check, backend);
              squares = job_parallel_run (check, (JobCall **) again->pdata, again->len, NULL,
                                          &check_error);
              g_assert_no_error (check_error);
              assert_squares (squares, 20);
            }
        }
    }

  job_backend_shutdown (backend);
  assert_children_at_most (0);
  g_test_message ("FIGURES cancel-%s: %u runs, %u cancels, %u results, %u cancelled errors",
                  processes ? "processes" : "threads", runs, runs, n_ok, n_cancelled);
}

static void
test_cancel_threads (void)
{
  check_cancel_runs (FALSE);
}

static void
test_cancel_processes (void)
{
  check_cancel_runs (TRUE);
}

/* ---- a process killed while it writes ---------------------------------- */

/* x → 32 MiB of doubles x + i / 3 (the cache writes it, then the dump) */
static GVariant *
big_value (gint32 x)
{
  double *values = g_new (double, BIG_VALUES);

  for (gsize i = 0; i < BIG_VALUES; i++)
    values[i] = x + i / 3.0;
  return g_variant_new_from_data (G_VARIANT_TYPE ("ad"), values, BIG_VALUES * sizeof (double),
                                  TRUE, g_free, values);
}

static gboolean
is_big_value (GVariant *value,
              gint32    x)
{
  const double *values;
  gsize n = 0;

  if (value == NULL || !g_variant_is_of_type (value, G_VARIANT_TYPE ("ad")))
    return FALSE;
  values = g_variant_get_fixed_array (value, &n, sizeof (double));
  if (n != BIG_VALUES)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    if (values[i] != x + i / 3.0)
      return FALSE;
  return TRUE;
}

/* Counts computations in a file next to the cache: the writer is another
 * process. */
static GVariant *
compute_big (GVariant      *args,
             GCancellable  *cancellable,
             gpointer       user_data,
             GError       **error)
{
  const char *count_file = user_data;
  gint32 x;
  int fd;

  g_variant_get (args, "(i)", &x);
  fd = g_open (count_file, O_WRONLY | O_APPEND | O_CREAT, 0644);
  g_assert_cmpint (write (fd, "x", 1), ==, 1);
  close (fd);
  return big_value (x);
}

static JobMemorizedFunction *
big_cached (JobMemory  *memory,
            const char *count_file)
{
  g_autoptr(JobFunction) function = job_function_new ("big", compute_big,
                                                      g_strdup (count_file), g_free);

  return job_memory_cache (memory, function, NULL);
}

/* --writer dump PATH | --writer cache LOCATION: writes one big value and
 * exits; the parent kills it at a random point. */
static int
writer_main (const char *what,
             const char *path)
{
  g_autoptr(GError) error = NULL;

  if (strcmp (what, "dump") == 0)
    {
      g_autoptr(GFile) file = g_file_new_for_path (path);

      job_dump (big_value (7), file, JOB_COMPRESSION_NONE, 0, NULL, &error);
    }
  else
    {
      g_autoptr(JobMemory) memory = job_memory_new_for_path (path);
      g_autofree char *count_file = g_build_filename (path, "computations", NULL);
      g_autoptr(JobMemorizedFunction) cached = big_cached (memory, count_file);
      g_autoptr(GVariant) value = job_memorized_function_call (cached, g_variant_new ("(i)", 7),
                                                               NULL, &error);
    }
  return error == NULL ? 0 : 1;
}

static GPid
spawn_writer (const char *what,
              const char *path)
{
  const char *argv[] = { self_path, "--writer", what, path, NULL };
  g_autoptr(GError) error = NULL;
  GPid pid = 0;

  g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid, &error);
  g_assert_no_error (error);
  return pid;
}

/* Runs a writer to completion and returns how long it took, in ms. */
static guint
time_writer (const char *what,
             const char *path)
{
  gint64 start = g_get_monotonic_time ();
  int status;
  GPid pid = spawn_writer (what, path);

  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  return (g_get_monotonic_time () - start) / 1000;
}

/* Kills a writer after a random share of @full_ms; returns whether it
 * was still running (the fault landed). */
static gboolean
kill_writer (const char *what,
             const char *path,
             guint       full_ms)
{
  GPid pid = spawn_writer (what, path);
  int status;

  g_usleep (g_rand_int_range (rand_, 0, full_ms + 1) * 1000);
  kill (pid, SIGKILL);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  return WIFSIGNALED (status);
}

static guint
count_prefixed (const char *dir,
                const char *prefix)
{
  g_autoptr(GDir) folder = g_dir_open (dir, 0, NULL);
  const char *name;
  guint n = 0;

  while (folder != NULL && (name = g_dir_read_name (folder)) != NULL)
    n += g_str_has_prefix (name, prefix);
  return n;
}

/* Moves the modification time of the entries named @prefix* of @dir
 * @seconds into the past. */
static void
backdate_prefixed (const char *dir,
                   const char *prefix,
                   int         seconds)
{
  g_autoptr(GDir) folder = g_dir_open (dir, 0, NULL);
  const char *name;

  while (folder != NULL && (name = g_dir_read_name (folder)) != NULL)
    if (g_str_has_prefix (name, prefix))
      {
        g_autofree char *path = g_build_filename (dir, name, NULL);
        struct timespec times[2];

        clock_gettime (CLOCK_REALTIME, &times[0]);
        times[0].tv_sec -= seconds;
        times[1] = times[0];
        g_assert_cmpint (utimensat (AT_FDCWD, path, times, 0), ==, 0);
      }
}

static void
test_killed_dump_writer (void)
{
  g_autofree char *dir = g_dir_make_tmp ("joblib-faults-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "value.job", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  guint full_ms = time_writer ("dump", path);
  guint runs = MAX (n_runs / 4, 5), killed = 0, valid = 0, refused = 0;

  for (guint run = 0; run < runs; run++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) value = NULL;

      g_unlink (path);
      killed += kill_writer ("dump", path, full_ms);
      value = job_load (file, run % 2 ? JOB_LOAD_MMAP : JOB_LOAD_NONE, 0, NULL, &error);
      if (value != NULL)
        {
          /* only ever the whole value */
          g_assert_true (is_big_value (value, 7));
          valid++;
        }
      else
        {
          g_assert_true (error->domain == JOB_ERROR ||
                         g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND));
          refused++;
        }
    }

  g_test_message ("FIGURES killed-dump-writer: %u runs, %u kills mid-write, "
                  "%u whole values, %u refused files, 0 partial values read",
                  runs, killed, valid, refused);
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_killed_cache_writer (void)
{
  g_autofree char *dir = g_dir_make_tmp ("joblib-faults-XXXXXX", NULL);
  g_autofree char *count_file = g_build_filename (dir, "computations", NULL);
  g_autofree char *function_dir = g_build_filename (dir, "joblib-glib", "big", NULL);
  g_autoptr(JobMemory) memory = job_memory_new_for_path (dir);
  g_autoptr(JobMemorizedFunction) cached = big_cached (memory, count_file);
  guint full_ms = time_writer ("cache", dir);
  guint runs = MAX (n_runs / 4, 5), killed = 0, hits = 0, recomputed = 0, swept = 0;

  for (guint run = 0; run < runs; run++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) value = NULL;
      g_autoptr(GListModel) entries = NULL;
      g_autofree char *counts = NULL;
      gboolean listed;

      g_assert_true (job_memory_clear (memory, &error));
      g_unlink (count_file);
      killed += kill_writer ("cache", dir, full_ms);

      /* an entry is listed only when it is whole ... */
      entries = job_memory_list_entries (memory);
      listed = g_list_model_get_n_items (entries) > 0;
      /* ... and a call reads it back whole, or computes again */
      value = job_memorized_function_call (cached, g_variant_new ("(i)", 7), NULL, &error);
      g_assert_no_error (error);
      g_assert_true (is_big_value (value, 7));
      g_file_get_contents (count_file, &counts, NULL, NULL);
      if (listed)
        {
          /* the killed writer computed it (1), this call did not */
          g_assert_cmpstr (counts, ==, "x");
          hits++;
        }
      else
        {
          g_assert_true (g_strcmp0 (counts, "x") == 0 || g_strcmp0 (counts, "xx") == 0);
          recomputed++;
        }
      /* what a killed writer leaves is hidden: a temporary folder, which
       * eviction removes once it is an hour old */
      g_assert_cmpuint (count_prefixed (function_dir, ".tmp-"), <=, 1);
      if (count_prefixed (function_dir, ".tmp-") == 1)
        {
          backdate_prefixed (function_dir, ".tmp-", 2 * 3600);
          g_assert_true (job_memory_reduce_size (memory, 0, 0, 0, NULL, &error));
          g_assert_cmpuint (count_prefixed (function_dir, ".tmp-"), ==, 0);
          swept++;
        }
      /* and the entry is still there */
      g_assert_true (job_memorized_function_check_call_in_cache (cached, g_variant_new ("(i)", 7)));
    }

  g_test_message ("FIGURES killed-cache-writer: %u runs, %u kills mid-write, "
                  "%u whole entries read, %u recomputed, 0 partial entries read, "
                  "%u leftover folders swept",
                  runs, killed, hits, recomputed, swept);
  {
    g_autoptr(GError) error = NULL;

    g_assert_true (job_memory_clear (memory, &error));
    job_memory_wait_reclaimed (memory);
  }
  g_unlink (count_file);
  remove_tree (dir);
}

/* ---- disk full and read-only cache folders ----------------------------- */

static int n_computed;

/* (i) → 1 MiB of bytes, x everywhere */
static GVariant *
compute_mib (GVariant      *args,
             GCancellable  *cancellable,
             gpointer       user_data,
             GError       **error)
{
  gint32 x;
  gsize size = GPOINTER_TO_SIZE (user_data);
  guint8 *data = g_malloc (size);

  g_variant_get (args, "(i)", &x);
  memset (data, x, size);
  g_atomic_int_inc (&n_computed);
  return g_variant_new_from_data (G_VARIANT_TYPE_BYTESTRING, data, size, TRUE, g_free, data);
}

static void
assert_filled (GVariant *value,
               gint32    x,
               gsize     size)
{
  gsize n = 0;
  const guint8 *data = g_variant_get_fixed_array (value, &n, 1);

  g_assert_cmpuint (n, ==, size);
  for (gsize i = 0; i < n; i++)
    g_assert_cmpint (data[i], ==, (guint8) x);
}

static gboolean
count_warnings (const char     *log_domain,
                GLogLevelFlags  log_level,
                const char     *message,
                gpointer        user_data)
{
  /* the one expected warning: results cannot be stored */
  if ((log_level & G_LOG_LEVEL_WARNING) && strstr (message, "Cannot store results") != NULL)
    {
      (*(guint *) user_data)++;
      return FALSE;
    }
  return TRUE;
}

/* Calls keys 0..@n_keys-1 of a @size-byte function twice each on a cache
 * at @location where some writes fail, @n_before of them already stored.
 * Every call must return the right value; every entry listed must be
 * whole; no temporary folder remains. Returns how many keys are stored. */
static guint
hammer_failing_cache (const char *location,
                      guint       n_keys,
                      gsize       size,
                      guint       n_before)
{
  g_autoptr(JobMemory) memory = job_memory_new_for_path (location);
  g_autoptr(JobFunction) function = job_function_new ("mib", compute_mib,
                                                      GSIZE_TO_POINTER (size), NULL);
  g_autoptr(JobMemorizedFunction) cached = job_memory_cache (memory, function, NULL);
  g_autofree char *function_dir = g_build_filename (location, "joblib-glib", "mib", NULL);
  g_autoptr(GListModel) entries = NULL;
  guint warnings = 0, stored = 0;

  g_test_log_set_fatal_handler (count_warnings, &warnings);
  n_computed = 0;
  for (guint round = 0; round < 2; round++)
    for (guint x = 0; x < n_keys; x++)
      {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) value = job_memorized_function_call (cached, g_variant_new ("(i)", x),
                                                                 NULL, &error);

        g_assert_no_error (error);
        assert_filled (value, x, size);
      }

  entries = job_memory_list_entries (memory);
  stored = g_list_model_get_n_items (entries);
  for (guint x = 0; x < n_keys; x++)
    {
      /* a key is on disk exactly when a check finds it, and then whole */
      g_autoptr(GError) error = NULL;
      g_autoptr(JobMemorizedResult) shelved = NULL;
      g_autoptr(GVariant) value = NULL;

      if (!job_memorized_function_check_call_in_cache (cached, g_variant_new ("(i)", x)))
        continue;
      shelved = job_memorized_function_call_and_shelve (cached, g_variant_new ("(i)", x), NULL, &error);
      g_assert_no_error (error);
      value = job_memorized_result_get (shelved, &error);
      g_assert_no_error (error);
      assert_filled (value, x, size);
    }
  /* computed once when stored now, twice (one per round) when not */
  g_assert_cmpint (n_computed, ==, (stored - n_before) + 2 * (n_keys - stored));
  g_assert_cmpuint (warnings, <=, 1);
  g_assert_cmpuint (count_prefixed (function_dir, ".tmp-"), ==, 0);
  g_test_log_set_fatal_handler (NULL, NULL);
  /* a subprocess's messages do not reach the TAP log: stderr does */
  g_printerr ("# FIGURES cache on %s: %u keys, %u stored, %u failed writes degraded to compute\n",
              location, n_keys, stored, n_keys - stored);
  return stored;
}

/* RLIMIT_FSIZE: writes past 256 KiB fail with EFBIG, as on a full disk;
 * no privilege needed. In a subprocess, so the limit stays there. */
static void
test_disk_full_fsize (void)
{
  if (g_test_subprocess ())
    {
      g_autofree char *dir = g_dir_make_tmp ("joblib-faults-XXXXXX", NULL);
      struct rlimit limit = { 256 * 1024, 256 * 1024 };
      guint stored;

      signal (SIGXFSZ, SIG_IGN);
      g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &limit), ==, 0);
      /* 1 MiB values never fit */
      stored = hammer_failing_cache (dir, 6, 1024 * 1024, 0);
      g_assert_cmpuint (stored, ==, 0);
      remove_tree (dir);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDOUT | G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

/* In a private mount namespace (when this process may make one: root in
 * most containers), mounts a tmpfs of @options on a fresh folder. */
static char *
mount_private_tmpfs (const char *options,
                     gboolean    read_only)
{
  g_autofree char *dir = g_dir_make_tmp ("joblib-faults-mnt-XXXXXX", NULL);

  if (unshare (CLONE_NEWNS) != 0 ||
      mount ("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
      mount ("tmpfs", dir, "tmpfs", read_only ? MS_RDONLY : 0, options) != 0)
    {
      g_rmdir (dir);
      return NULL;
    }
  return g_steal_pointer (&dir);
}

/* The child answers through a pipe, not its exit status: under valgrind
 * a forked child of this multi-threaded program exits with valgrind's
 * error code (it counts the parent's memory held by the threads it does
 * not have as leaked), which would skip the test. */
static gboolean
can_mount (void)
{
  char answer = 0;
  int fds[2];
  pid_t pid;

  g_assert_cmpint (pipe (fds), ==, 0);
  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      char dir[] = "/tmp/joblib-faults-probe-XXXXXX";
      char ok = mkdtemp (dir) != NULL && unshare (CLONE_NEWNS) == 0 &&
                mount ("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
                mount ("tmpfs", dir, "tmpfs", 0, "size=64k") == 0;

      if (ok)
        umount (dir);
      rmdir (dir);
      _exit (write (fds[1], &ok, 1) == 1 ? 0 : 1);
    }
  close (fds[1]);
  if (read (fds[0], &answer, 1) != 1)
    answer = 0;
  close (fds[0]);
  waitpid (pid, NULL, 0);
  return answer == 1;
}

/* A 1 MiB tmpfs: the first entries fit, the next fail with ENOSPC. */
static void
test_disk_full_tmpfs (void)
{
  if (g_test_subprocess ())
    {
      g_autofree char *dir = mount_private_tmpfs ("size=1m", FALSE);
      guint stored;

      g_assert_nonnull (dir);
      stored = hammer_failing_cache (dir, 12, 200 * 1024, 0);
      g_assert_cmpuint (stored, >, 0);
      g_assert_cmpuint (stored, <, 12);
      umount (dir);
      g_rmdir (dir);
      return;
    }
  if (!can_mount ())
    {
      g_test_skip ("cannot mount a tmpfs in a private namespace here");
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDOUT | G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

/* A read-only cache folder holding 3 entries: they are still read, the
 * others computed on every call. Read-only by a mount when this process
 * may mount (permission bits do not stop root), else by permissions. */
static void
test_read_only (void)
{
  if (g_test_subprocess ())
    {
      g_autofree char *dir = g_dir_make_tmp ("joblib-faults-XXXXXX", NULL);
      g_autoptr(JobMemory) memory = job_memory_new_for_path (dir);
      g_autoptr(JobFunction) function = job_function_new ("mib", compute_mib,
                                                          GSIZE_TO_POINTER (4096), NULL);
      g_autoptr(JobMemorizedFunction) cached = job_memory_cache (memory, function, NULL);
      g_autofree char *function_dir = g_build_filename (dir, "joblib-glib", "mib", NULL);
      gboolean mounted = FALSE;

      for (int x = 0; x < 3; x++)
        {
          g_autoptr(GVariant) value = job_memorized_function_call (cached, g_variant_new ("(i)", x),
                                                                   NULL, NULL);
        }
      if (unshare (CLONE_NEWNS) == 0 &&
          mount ("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
          mount (dir, dir, NULL, MS_BIND | MS_REC, NULL) == 0)
        mounted = mount (NULL, dir, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) == 0;
      if (!mounted)
        {
          g_assert_cmpint (geteuid (), !=, 0);
          g_assert_cmpint (g_chmod (function_dir, 0555), ==, 0);
        }

      /* keys 0-2 come from the cache, 3-7 are computed twice */
      g_assert_cmpuint (hammer_failing_cache (dir, 8, 4096, 3), ==, 3);

      if (mounted)
        umount (dir);
      g_chmod (function_dir, 0755);
      remove_tree (dir);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDOUT | G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

int
main (int   argc,
      char *argv[])
{
  const char *runs = g_getenv ("JOB_FAULT_RUNS");
  const char *seed = g_getenv ("JOB_FAULT_SEED");
  guint32 seed_value;

  if (argc == 4 && strcmp (argv[1], "--writer") == 0)
    return writer_main (argv[2], argv[3]);

  self_path = g_canonicalize_filename (argv[0], NULL);
  g_test_init (&argc, &argv, NULL);
  worker_deaths_install ();
  if (runs != NULL)
    n_runs = MAX (atoi (runs), 4);
  seed_value = seed != NULL ? (guint32) atol (seed) : g_random_int ();
  g_test_message ("JOB_FAULT_SEED=%u JOB_FAULT_RUNS=%u", seed_value, n_runs);
  rand_ = g_rand_new_with_seed (seed_value);

  g_test_add_func ("/joblib/faults/worker-killed", test_worker_killed);
  g_test_add_func ("/joblib/faults/cancel/threads", test_cancel_threads);
  g_test_add_func ("/joblib/faults/cancel/processes", test_cancel_processes);
  g_test_add_func ("/joblib/faults/killed-writer/dump", test_killed_dump_writer);
  g_test_add_func ("/joblib/faults/killed-writer/cache", test_killed_cache_writer);
  g_test_add_func ("/joblib/faults/disk-full/fsize", test_disk_full_fsize);
  g_test_add_func ("/joblib/faults/disk-full/tmpfs", test_disk_full_tmpfs);
  g_test_add_func ("/joblib/faults/read-only", test_read_only);

  return g_test_run ();
}
