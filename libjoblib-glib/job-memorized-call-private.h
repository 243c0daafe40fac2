/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "job-memorized-function-private.h"

G_BEGIN_DECLS

/* One call's key: the hash of the kept arguments and where it lives. */
typedef struct
{
  char *hash;        /* (owned) tagged */
  char *entry_dir;   /* (owned) (nullable) NULL when nothing is cached */
} JobCacheKey;

void      job_cache_key_init           (JobMemorizedFunction  *self,
                                        GVariant              *args,
                                        JobCacheKey           *key);
/* The key of @kept, arguments without the ignored ones (a floating
 * reference is consumed, as by job_hash_variant()). */
void      job_cache_key_init_kept      (JobMemorizedFunction  *self,
                                        GVariant              *kept,
                                        JobCacheKey           *key);
/* The key of the tagged @hash (taken). */
void      job_cache_key_init_hash      (JobMemorizedFunction  *self,
                                        char                  *hash,
                                        JobCacheKey           *key);
void      job_cache_key_clear          (JobCacheKey           *key);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (JobCacheKey, job_cache_key_clear)

/* @args without the ignored arguments. */
GVariant *job_memorized_kept_args      (JobMemorizedFunction  *self,
                                        GVariant              *args);
/* Checks the function's version once per version and memory clear. */
void      job_memorized_ensure_version (JobMemorizedFunction  *self);
/* With @load, the stored value; without, a placeholder if a valid entry
 * exists. With @warn, says why an entry that is there is unusable. */
GVariant *job_memorized_lookup         (JobMemorizedFunction  *self,
                                        const JobCacheKey     *key,
                                        gboolean               load,
                                        gboolean               warn);
/* Like job_memorized_lookup() without @warn, for a lookup that a cached
 * call of the same key follows in the same thread (the one-call read path
 * of bindings): when the output is not there, the thread remembers the
 * key, and that call skips its own first lookup (it looks again under
 * the key's lock before computing, as always). */
GVariant *job_memorized_lookup_before_call (JobMemorizedFunction *self,
                                            const JobCacheKey    *key);
/* The whole cached call; see job-memorized-call.c. */
GVariant *job_memorized_cached_call    (JobMemorizedFunction  *self,
                                        GVariant              *args,
                                        gboolean               load,
                                        GCancellable          *cancellable,
                                        JobCacheKey           *key,
                                        gboolean              *stored,
                                        double                *duration,
                                        GError               **error);

G_END_DECLS
