/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-cache-touch-private.h"

/* Past this many entries the table starts over: a process hitting more
 * distinct entries than that within a second pays the touches again. */
#define TOUCHED_MAX 4096

static GMutex      touch_lock;
static GHashTable *touched;  /* (owned) entry folder path → gint64 µs, monotonic */
static gint64      touch_interval = JOB_CACHE_TOUCH_INTERVAL;

/**
 * job_cache_touch_is_due:
 * @entry_dir: an entry folder's path
 *
 * Whether a hit on @entry_dir should set its mtime now; when it returns
 * %TRUE the touch counts as done. Any thread.
 *
 * Returns: %TRUE when this process has not touched @entry_dir within the
 *   interval
 */
gboolean
job_cache_touch_is_due (const char *entry_dir)
{
  gint64 now = g_get_monotonic_time ();
  gint64 *last;
  gboolean due;

  g_return_val_if_fail (entry_dir != NULL, TRUE);

  g_mutex_lock (&touch_lock);
  if (touched == NULL)
    touched = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  last = g_hash_table_lookup (touched, entry_dir);
  due = last == NULL || touch_interval <= 0 || now - *last >= touch_interval;
  if (due && last != NULL)
    *last = now;
  else if (due)
    {
      if (g_hash_table_size (touched) >= TOUCHED_MAX)
        g_hash_table_remove_all (touched);
      last = g_new (gint64, 1);
      *last = now;
      g_hash_table_insert (touched, g_strdup (entry_dir), last);
    }
  g_mutex_unlock (&touch_lock);

  return due;
}

/**
 * job_cache_touch_set_interval:
 * @interval_usec: the new interval in microseconds, 0 to touch on every hit
 *
 * Sets the interval and forgets every touch so far. Any thread.
 *
 * Returns: the previous interval
 */
gint64
job_cache_touch_set_interval (gint64 interval_usec)
{
  gint64 previous;

  g_mutex_lock (&touch_lock);
  previous = touch_interval;
  touch_interval = MAX (interval_usec, 0);
  if (touched != NULL)
    g_hash_table_remove_all (touched);
  g_mutex_unlock (&touch_lock);

  return previous;
}
