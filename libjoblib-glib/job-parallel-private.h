/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "job-parallel.h"

G_BEGIN_DECLS

/* Called by a run on the run's context. */
gboolean job_parallel_has_result_handlers (JobParallel *self);
void     job_parallel_emit_result         (JobParallel *self,
                                           guint        index,
                                           GVariant    *value);
void     job_parallel_emit_progress       (JobParallel *self,
                                           guint        done,
                                           int          total);

G_END_DECLS
