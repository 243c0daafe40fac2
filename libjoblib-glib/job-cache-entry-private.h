/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "job-cache-entry.h"

G_BEGIN_DECLS

/* @last_access and @created are Unix times in microseconds; @duration is
 * negative when unknown (metadata not read or unreadable). */
JobCacheEntry *job_cache_entry_new                  (const char    *path,
                                                     const char    *function_name,
                                                     const char    *args_hash,
                                                     guint64        size,
                                                     gint64         last_access,
                                                     gint64         created,
                                                     double         duration,
                                                     const char    *input_args);
const char    *job_cache_entry_get_path             (JobCacheEntry *self);
gint64         job_cache_entry_get_last_access_usec (JobCacheEntry *self);

/* A GCompareFunc for a GPtrArray of entries: by function name, then by
 * argument hash. */
int job_cache_entry_compare (gconstpointer a,
                             gconstpointer b);

G_END_DECLS
