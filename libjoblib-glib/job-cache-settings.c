/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-cache-evict-private.h"
#include "job-cache-settings-private.h"
#include "job-i18n-private.h"
#include "job-time-private.h"

JobCacheSettings *
job_cache_settings_new (const char *location_path)
{
  JobCacheSettings *settings = g_new0 (JobCacheSettings, 1);

  g_atomic_ref_count_init (&settings->ref_count);
  g_mutex_init (&settings->limits_lock);
  settings->location_path = g_strdup (location_path);
  if (location_path != NULL)
    settings->root = g_build_filename (location_path, "joblib-glib", NULL);

  return settings;
}

JobCacheSettings *
job_cache_settings_ref (JobCacheSettings *settings)
{
  g_atomic_ref_count_inc (&settings->ref_count);
  return settings;
}

void
job_cache_settings_unref (JobCacheSettings *settings)
{
  if (!g_atomic_ref_count_dec (&settings->ref_count))
    return;

  g_free (settings->location_path);
  g_free (settings->root);
  g_free (settings->compression);
  g_mutex_clear (&settings->limits_lock);
  g_free (settings);
}

void
job_cache_settings_set_compression (JobCacheSettings *settings,
                                    const char       *compression)
{
  g_free (settings->compression);
  settings->compression = g_strdup (compression);
}

void
job_cache_settings_output_options (JobCacheSettings      *settings,
                                   JobCacheOutputOptions *options)
{
  options->use_mmap = settings->mmap;
  options->compression = settings->compression;
}

guint
job_cache_settings_get_generation (JobCacheSettings *settings)
{
  return (guint) g_atomic_int_get (&settings->generation);
}

void
job_cache_settings_next_generation (JobCacheSettings *settings)
{
  g_atomic_int_inc (&settings->generation);
}

void
job_cache_settings_warn_unwritable (JobCacheSettings *settings,
                                    const char       *function_name,
                                    const GError     *error)
{
  if (g_atomic_int_compare_and_exchange (&settings->warned, 0, 1))
    g_warning (_("Cannot store results of %s in the cache (%s): "
                 "computing them without caching"),
               function_name, error != NULL ? error->message : _("no location"));
}

/* Checking the limits means listing the whole cache (a few stats per
 * entry: milliseconds for a thousand entries), too slow to do on every
 * write. So a full pass evicts down to a tenth below the limits
 * (LOW_WATER_DIVISOR) and records the totals; later writes add their
 * size to that estimate and trigger the next pass only when it crosses a
 * limit. A pass also runs every RESCAN_USEC, to count the writes of other
 * processes, and often enough for the age limit. */
#define LOW_WATER_DIVISOR 10
#define RESCAN_USEC (30 * G_USEC_PER_SEC)

void
job_cache_settings_enforce_limits (JobCacheSettings *settings,
                                   guint64           size)
{
  gint64 now = g_get_monotonic_time ();
  gint64 rescan = RESCAN_USEC;
  guint generation = job_cache_settings_get_generation (settings);
  gboolean over;

  if (settings->root == NULL ||
      (settings->bytes_limit == 0 && settings->items_limit == 0 && settings->age_limit == 0))
    return;

  if (settings->age_limit > 0)
    rescan = MIN (rescan, job_seconds_to_usec (settings->age_limit) / 4);

  g_mutex_lock (&settings->limits_lock);
  settings->estimated_bytes += size;
  settings->estimated_items++;
  over = (settings->bytes_limit > 0 && settings->estimated_bytes > settings->bytes_limit) ||
         (settings->items_limit > 0 && settings->estimated_items > settings->items_limit);
  if (over || settings->last_scan == 0 || now - settings->last_scan >= rescan ||
      settings->scanned_generation != generation)
    {
      /* Rounded so that small limits stay exact (and never become 0,
       * which means no limit). */
      guint64 bytes = over ? settings->bytes_limit - settings->bytes_limit / LOW_WATER_DIVISOR
                           : settings->bytes_limit;
      guint items = over ? settings->items_limit - settings->items_limit / LOW_WATER_DIVISOR
                         : settings->items_limit;

      job_cache_evict (settings->root, bytes, items, settings->age_limit,
                             &settings->estimated_bytes, &settings->estimated_items, NULL);
      settings->last_scan = now;
      settings->scanned_generation = generation;
    }
  g_mutex_unlock (&settings->limits_lock);
}
