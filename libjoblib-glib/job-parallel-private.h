/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "job-call.h"
#include "job-parallel.h"

G_BEGIN_DECLS

/* Starts a run of @self on the caller's thread-default main context:
 * resolves its backend and options from the properties and the active
 * config, then hands the run to the dispatcher. @calls (transfer full,
 * nullable) or @source (whose @source_destroy runs in any case) is the
 * input; @collect asks for per-task outcomes. @callback gets a GTask
 * tagged @source_tag whose pointer is the results (or outcomes). Used by
 * the run entry points in job-parallel-run.c. */
void job_parallel_start (JobParallel         *self,
                         GPtrArray           *calls,
                         JobCallIterateFunc   source,
                         gpointer             source_data,
                         GDestroyNotify       source_destroy,
                         gboolean             collect,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data,
                         gpointer             source_tag);

G_END_DECLS
