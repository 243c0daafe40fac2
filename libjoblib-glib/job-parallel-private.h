/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "job-parallel.h"
#include "job-parallel-run-private.h"

G_BEGIN_DECLS

/* Called by a run on the run's context. */
gboolean job_parallel_has_result_handlers (JobParallel *self);
void     job_parallel_emit_result         (JobParallel *self,
                                           guint        index,
                                           GVariant    *value);
void     job_parallel_emit_progress       (JobParallel *self,
                                           guint        done,
                                           int          total);

/* Resolves the run's options (properties, the parallel config in force,
 * the backend) and starts a run on the thread-default main context; the
 * GTask made from @callback returns what job_parallel_run_start() says.
 * Takes @calls (transfer full, nullable); exactly one of @calls and
 * @source is set. */
void     job_parallel_start               (JobParallel         *self,
                                           GPtrArray           *calls,
                                           JobCallSourceFunc    source,
                                           gpointer             source_data,
                                           GDestroyNotify       source_destroy,
                                           gboolean             collect,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data,
                                           gpointer             source_tag);

G_END_DECLS
