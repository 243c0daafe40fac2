/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "job-cache-store-private.h"

G_BEGIN_DECLS

/*
 * What a JobMemory knows that its memorized functions and results need:
 * where the cache lives, how outputs are written and read, the limits
 * that writes enforce, and the generation that job_memory_clear() bumps.
 * JobMemory owns one and hands a reference down to every memorized
 * function and result, so that those never call back up into the memory.
 *
 * Threading: the plain fields are written by JobMemory's setters, which
 * are meant to run before the memory is shared (as its doc says); after
 * that they are only read, from any thread. The (atomic) fields and the
 * limits estimate (under limits_lock) may change at any time.
 */
typedef struct
{
  gatomicrefcount ref_count;
  char           *location_path;      /* (owned) (nullable) constant: a local
                                       * path, or a URI (job-cache-gio-store.c) */
  char           *root;               /* (owned) (nullable) constant: <location>/joblib-glib */
  char           *compression;        /* (owned) (nullable) */
  gboolean        mmap;
  int             verbose;
  guint64         bytes_limit;
  guint           items_limit;
  double          age_limit;
  guint           generation;         /* (atomic) */
  gint            warned;             /* (atomic) */

  /* Estimate of the cache's totals (see job_cache_settings_enforce_limits()). */
  GMutex          limits_lock;
  guint64         estimated_bytes;    /* guarded by limits_lock */
  guint           estimated_items;    /* guarded by limits_lock */
  gint64          last_scan;          /* guarded by limits_lock, monotonic µs */
  guint           scanned_generation; /* guarded by limits_lock */
} JobCacheSettings;

/* @location_path: (nullable): the cache's folder, a local path or a URI;
 * NULL caches nothing. */
JobCacheSettings *job_cache_settings_new             (const char            *location_path);
JobCacheSettings *job_cache_settings_ref             (JobCacheSettings      *settings);
void              job_cache_settings_unref           (JobCacheSettings      *settings);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobCacheSettings, job_cache_settings_unref)

void              job_cache_settings_set_compression (JobCacheSettings      *settings,
                                                      const char            *compression);
/* @options borrows from @settings. */
void              job_cache_settings_output_options  (JobCacheSettings      *settings,
                                                      JobCacheOutputOptions *options);
guint             job_cache_settings_get_generation  (JobCacheSettings      *settings);
void              job_cache_settings_next_generation (JobCacheSettings      *settings);
/* Warns once per settings that results are computed but not stored;
 * @error NULL means the location has no local path. */
void              job_cache_settings_warn_unwritable (JobCacheSettings      *settings,
                                                      const char            *function_name,
                                                      const GError          *error);
/* Applies the limits, if any, after a write of @size bytes. */
void              job_cache_settings_enforce_limits  (JobCacheSettings      *settings,
                                                      guint64                size);

G_END_DECLS
