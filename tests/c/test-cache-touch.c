/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The LRU touch of a hit: the entry folder's mtime moves forward on a hit,
 * once per interval for a hot entry, and eviction follows it. */
#include "config.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "job-cache-touch-private.h"
#include "joblib-glib.h"

static gint n_calls;  /* (atomic) */

static GVariant *
square (GVariant      *args,
        GCancellable  *cancellable,
        gpointer       user_data,
        GError       **error)
{
  g_autoptr(GVariant) first = g_variant_get_child_value (args, 0);
  gint32 x = g_variant_get_int32 (first);

  g_atomic_int_inc (&n_calls);
  return g_variant_new_int32 (x * x);
}

typedef struct
{
  char                 *dir;
  JobMemory            *memory;
  JobFunction          *function;
  JobMemorizedFunction *cached;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->dir = g_dir_make_tmp ("joblib-touch-XXXXXX", &error);
  g_assert_no_error (error);
  f->memory = job_memory_new_for_path (f->dir);
  f->function = job_function_new ("square", square, NULL, NULL);
  f->cached = job_memory_cache (f->memory, f->function, NULL);
  g_atomic_int_set (&n_calls, 0);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  job_cache_touch_set_interval (JOB_CACHE_TOUCH_INTERVAL);
  g_assert_true (job_memory_clear (f->memory, &error));
  g_assert_no_error (error);
  job_memory_wait_reclaimed (f->memory);
  g_clear_object (&f->cached);
  g_clear_object (&f->function);
  g_clear_object (&f->memory);
  g_rmdir (f->dir);
  g_free (f->dir);
}

static char *
entry_path (Fixture *f,
            gint32   x)
{
  g_autofree char *hash = job_memorized_function_get_args_hash (f->cached,
                                                               g_variant_new ("(i)", x));

  return g_build_filename (f->dir, "joblib-glib", "square",
                           hash + strlen (JOB_HASH_ALGORITHM ":"), NULL);
}

static gint32
call_int (Fixture *f,
          gint32   x)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) r = job_memorized_function_call (f->cached, g_variant_new ("(i)", x),
                                                        NULL, &error);

  g_assert_no_error (error);
  return g_variant_get_int32 (r);
}

/* Sets @dir's mtime @seconds_ago in the past; returns that time. */
static gint64
age (const char *dir,
     int         seconds_ago)
{
  struct timespec times[2];

  clock_gettime (CLOCK_REALTIME, &times[0]);
  times[0].tv_sec -= seconds_ago;
  times[0].tv_nsec = 0;
  times[1] = times[0];
  g_assert_cmpint (utimensat (AT_FDCWD, dir, times, 0), ==, 0);
  return times[0].tv_sec;
}

static gint64
mtime_of (const char *dir)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (dir, &st), ==, 0);
  return st.st_mtime;
}

static void
test_hot_entry_touched_once (Fixture       *f,
                             gconstpointer  data)
{
  g_autofree char *dir = entry_path (f, 3);
  gint64 old;

  /* An interval no run outlasts: only the first hit touches. */
  job_cache_touch_set_interval (G_MAXINT64 / 2);
  g_assert_cmpint (call_int (f, 3), ==, 9);
  old = age (dir, 100);
  g_assert_cmpint (call_int (f, 3), ==, 9);
  g_assert_cmpint (mtime_of (dir), >, old + 50);

  old = age (dir, 100);
  g_assert_cmpint (call_int (f, 3), ==, 9);
  g_assert_cmpint (call_int (f, 3), ==, 9);
  g_assert_cmpint (mtime_of (dir), ==, old);
  g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 1);

  /* Setting the interval forgets the touches so far. */
  job_cache_touch_set_interval (G_MAXINT64 / 2);
  g_assert_cmpint (call_int (f, 3), ==, 9);
  g_assert_cmpint (mtime_of (dir), >, old + 50);
}

static void
test_every_hit_touches (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *dir = entry_path (f, 4);

  job_cache_touch_set_interval (0);
  g_assert_cmpint (call_int (f, 4), ==, 16);
  for (int i = 0; i < 3; i++)
    {
      gint64 old = age (dir, 100);

      g_assert_cmpint (call_int (f, 4), ==, 16);
      g_assert_cmpint (mtime_of (dir), >, old + 50);
    }
  g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 1);
}

/* Eviction goes by the touched mtime: the oldest entry, hit, stays. */
static void
test_eviction_follows_touch (Fixture       *f,
                             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  guint removed = 0;

  job_cache_touch_set_interval (G_MAXINT64 / 2);
  for (int x = 0; x < 3; x++)
    {
      g_autofree char *dir = entry_path (f, x);

      call_int (f, x);
      age (dir, 100 - 10 * x);
    }
  call_int (f, 0);
  g_assert_true (job_memory_reduce_size (f->memory, 0, 2, 0, &removed, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (removed, ==, 1);
  g_assert_true (job_memorized_function_check_call_in_cache (f->cached, g_variant_new ("(i)", 0)));
  g_assert_false (job_memorized_function_check_call_in_cache (f->cached, g_variant_new ("(i)", 1)));
  g_assert_true (job_memorized_function_check_call_in_cache (f->cached, g_variant_new ("(i)", 2)));
}

/* Past the table's bound it starts over: the first path is due again. */
static void
test_table_bound (void)
{
  job_cache_touch_set_interval (G_MAXINT64 / 2);
  g_assert_true (job_cache_touch_is_due ("/entry-0"));
  g_assert_false (job_cache_touch_is_due ("/entry-0"));
  for (int i = 1; i <= 5000; i++)
    {
      g_autofree char *path = g_strdup_printf ("/entry-%d", i);

      g_assert_true (job_cache_touch_is_due (path));
    }
  g_assert_true (job_cache_touch_is_due ("/entry-0"));
  job_cache_touch_set_interval (JOB_CACHE_TOUCH_INTERVAL);
}

static void
test_null_path (void)
{
  if (g_test_subprocess ())
    {
      job_cache_touch_is_due (NULL);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*job_cache_touch_is_due*");
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/joblib/cache-touch/hot-entry-once", Fixture, NULL,
              fixture_set_up, test_hot_entry_touched_once, fixture_tear_down);
  g_test_add ("/joblib/cache-touch/every-hit", Fixture, NULL,
              fixture_set_up, test_every_hit_touches, fixture_tear_down);
  g_test_add ("/joblib/cache-touch/eviction", Fixture, NULL,
              fixture_set_up, test_eviction_follows_touch, fixture_tear_down);
  g_test_add_func ("/joblib/cache-touch/table-bound", test_table_bound);
  g_test_add_func ("/joblib/cache-touch/null-path", test_null_path);

  return g_test_run ();
}
