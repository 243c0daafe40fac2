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

  GMutex                version_lock;
  char                 *checked_version;   /* (owned) (nullable) guarded by version_lock */
  guint                 checked_generation; /* guarded by version_lock */
};


/* @positions: (element-type guint) the resolved ignore positions. */
/* @memory: only kept for [property@Joblib.MemorizedFunction:memory];
 * everything the cache needs comes from @settings. */
JobMemorizedFunction *job_memorized_function_new (JobMemory          *memory,
                                                  JobCacheSettings   *settings,
                                                  JobFunction        *function,
                                                  const char * const *ignore,
                                                  GArray             *positions);

G_END_DECLS
