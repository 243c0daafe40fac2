/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "job-cache-settings-private.h"
#include "job-memorized-function.h"

G_BEGIN_DECLS

struct _JobMemorizedFunction
{
  JobFunction           parent_instance;
  JobMemory            *memory;            /* (owned) only for the property */
  JobCacheSettings     *settings;          /* (owned) the memory's */
  JobFunction          *function;          /* (owned) */
  char                **ignore;            /* (owned) (nullable) */
  GArray               *positions;         /* (owned) (element-type guint) */
  char                 *function_dir;      /* (owned) (nullable) */
  double                expires_after;
  JobCacheValidateFunc  validate;
  gpointer              validate_data;
  GDestroyNotify        validate_destroy;

  /* (owned) (nullable) (atomic) set once: a value of the first key type
   * given to lookup_serialized, which keeps GLib's information on that
   * type from being freed and built again at every call */
  GVariant             *key_type_holder;

  GMutex                version_lock;
  char                 *checked_version;   /* (owned) (nullable) guarded by version_lock */
  guint                 checked_generation; /* guarded by version_lock */
  /* (atomic) the function folder's version file was seen or written
   * since the last version check: a miss need not look for it */
  gint                  version_stored;
};


/* @positions: (element-type guint) the resolved ignore positions. */
/* @memory: only kept for [property@Joblib.MemorizedFunction:memory];
 * everything the cache needs comes from @settings. */
JobMemorizedFunction *job_memorized_function_new (JobMemory          *memory,
                                                  JobCacheSettings   *settings,
                                                  JobFunction        *function,
                                                  const char * const *ignore,
                                                  GArray             *positions);
/* The positions of the arguments named in @ignore (parameter names of
 * @function, or positions in decimal), in order; NULL with
 * JOB_ERROR_INVALID_ARGUMENT naming the first that is neither. */
GArray               *job_memorized_ignore_positions (JobFunction        *function,
                                                      const char * const *ignore,
                                                      GError            **error);

G_END_DECLS
