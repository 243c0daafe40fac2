/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "job-cache-store-private.h"
#include "job-memory.h"

G_BEGIN_DECLS

/* The cache root (<location>/joblib-glib), or NULL when the location has
 * no local path (then nothing is cached). */
const char *job_memory_get_root             (JobMemory             *self);
void        job_memory_get_output_options   (JobMemory             *self,
                                             JobCacheOutputOptions *options);
/* Bumped by every job_memory_clear(): functions re-check their version. */
guint       job_memory_get_generation       (JobMemory             *self);
/* Warns once per memory that results are computed but not stored. */
void        job_memory_warn_unwritable      (JobMemory             *self,
                                             const char            *function_name,
                                             const GError          *error);
/* Applies the memory's limits, if any, after a write of @size bytes. */
void        job_memory_enforce_limits       (JobMemory             *self,
                                             guint64                size);

G_END_DECLS
