/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "job-call.h"
#include "job-run-options-private.h"

G_BEGIN_DECLS

/* Starts a run on the thread-default main context; @task is returned with a GPtrArray of GVariant, or
 * of JobOutcome when options->collect, or with the run's error. The run
 * takes the options' contents. Exactly one of @calls and @source is set. */
void     job_dispatcher_start               (JobRunOptions     *options,
                                             GPtrArray         *calls,
                                             JobCallIterateFunc source,
                                             gpointer           source_data,
                                             GDestroyNotify     source_destroy,
                                             GCancellable      *cancellable,
                                             GTask             *task);

G_END_DECLS
