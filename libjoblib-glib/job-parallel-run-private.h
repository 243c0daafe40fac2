/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "job-backend.h"
#include "job-parallel.h"

G_BEGIN_DECLS

/* Everything a run needs, resolved by JobParallel from its properties and
 * the active JobParallelConfig when the run starts. */
typedef struct
{
  JobBackend *backend;           /* (owned) */
  int         n_jobs_requested;  /* as the user wrote it, for verbose lines */
  int         n_workers;
  guint       pre_dispatch;      /* batches in flight at most */
  guint       batch_size;        /* 0 means auto */
  double      timeout;           /* seconds, 0 means none */
  int         verbose;
  gboolean    collect;           /* per-task outcomes instead of first error */
} JobRunOptions;

void job_run_options_clear (JobRunOptions *options);

/* Starts a run on the thread-default main context; @task (whose source
 * object is the JobParallel) is returned with a GPtrArray of GVariant, or
 * of JobOutcome when options->collect, or with the run's error. The run
 * takes the options' contents. Exactly one of @calls and @source is set. */
void job_parallel_run_start (JobRunOptions     *options,
                             GPtrArray         *calls,
                             JobCallSourceFunc  source,
                             gpointer           source_data,
                             GDestroyNotify     source_destroy,
                             GCancellable      *cancellable,
                             GTask             *task);

G_END_DECLS
