/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "job-cache-settings-private.h"
#include "job-memory.h"

G_BEGIN_DECLS

/* A memory on @location whose settings (location included) are
 * @settings, shared (a reference is taken). */
JobMemory        *job_memory_new_with_settings (GFile            *location,
                                                JobCacheSettings *settings);
/* (transfer none) the settings handed down to memorized functions. */
JobCacheSettings *job_memory_get_settings      (JobMemory        *self);

G_END_DECLS
