/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "job-cache-settings-private.h"
#include "job-memorized-result.h"

G_BEGIN_DECLS

/* @value is set when the result could not be stored: get() returns it. */
JobMemorizedResult *job_memorized_result_new (JobCacheSettings *settings,
                                              const char       *function_name,
                                              const char       *args_hash,
                                              const char       *entry_dir,
                                              double            duration,
                                              GVariant         *value);

G_END_DECLS
