/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "job-cache-settings-private.h"
#include "job-function.h"

G_BEGIN_DECLS

/*
 * The "memory" field of a memorized function's reference: everything a
 * worker process needs to look up and store results in the same cache
 * as the parent (docs/worker-protocol.md lists the fields). Written by
 * JobMemorizedFunction, read by job_memory_cache_for_reference(), the one
 * call every worker (native, Python, GJS) makes: the format lives here
 * only.
 */

/* What a "memory" field holds, decoded. */
typedef struct
{
  JobCacheSettings  *settings;        /* (owned) */
  char              *name;            /* (owned) */
  char              *version;         /* (owned) (nullable) */
  char             **parameter_names; /* (owned) (nullable) */
  char             **ignore;          /* (owned) (nullable) positions, as text */
  double             expires_after;
} JobCacheReference;

/* Returns the field (floating), or NULL when @settings has no location:
 * a cache that stores nothing needs no field. @positions: (element-type
 * guint) the ignored arguments. */
GVariant *job_cache_reference_encode (JobCacheSettings   *settings,
                                      JobFunction        *function,
                                      GArray             *positions,
                                      double              expires_after);
/* @fallback_name names the function in errors and when the field has
 * no name. */
gboolean  job_cache_reference_decode (GVariant           *field,
                                      const char         *fallback_name,
                                      JobCacheReference  *decoded,
                                      GError            **error);
void      job_cache_reference_clear  (JobCacheReference  *decoded);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (JobCacheReference, job_cache_reference_clear)

G_END_DECLS
