/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (JOBLIB_GLIB_INSIDE) && !defined (JOBLIB_GLIB_COMPILATION)
# error "Only <joblib-glib.h> can be included directly."
#endif

#include <glib-object.h>

#include "job-version-macros.h"

G_BEGIN_DECLS

#define JOB_TYPE_CACHE_ENTRY (job_cache_entry_get_type ())

JOB_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (JobCacheEntry, job_cache_entry, JOB, CACHE_ENTRY, GObject)

JOB_AVAILABLE_IN_ALL
const char *job_cache_entry_get_function_name (JobCacheEntry *self);
JOB_AVAILABLE_IN_ALL
const char *job_cache_entry_get_args_hash     (JobCacheEntry *self);
JOB_AVAILABLE_IN_ALL
guint64     job_cache_entry_get_size          (JobCacheEntry *self);
JOB_AVAILABLE_IN_ALL
GDateTime  *job_cache_entry_get_last_access   (JobCacheEntry *self);
JOB_AVAILABLE_IN_ALL
GDateTime  *job_cache_entry_get_created       (JobCacheEntry *self);
JOB_AVAILABLE_IN_ALL
double      job_cache_entry_get_duration      (JobCacheEntry *self);
JOB_AVAILABLE_IN_ALL
const char *job_cache_entry_get_input_args    (JobCacheEntry *self);

G_END_DECLS
