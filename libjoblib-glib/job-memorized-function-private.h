/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "job-memorized-function.h"

G_BEGIN_DECLS

/* @positions: (element-type guint) the resolved ignore positions. */
JobMemorizedFunction *job_memorized_function_new (JobMemory          *memory,
                                                  JobFunction        *function,
                                                  const char * const *ignore,
                                                  GArray             *positions);

G_END_DECLS
