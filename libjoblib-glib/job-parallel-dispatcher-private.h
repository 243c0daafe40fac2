/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "job-backend.h"
#include "job-call.h"
#include "job-nesting-private.h"

G_BEGIN_DECLS

/* How a run reports to the object that started it, on the run's context:
 * whether anyone wants each result, each result, and the progress after
 * each batch. The dispatcher never calls up into JobParallel otherwise. */
typedef gboolean (*JobRunWantsResultsFunc) (gpointer     user_data);
typedef void     (*JobRunResultFunc)       (guint        index,
                                            GVariant    *value,
                                            gpointer     user_data);
typedef void     (*JobRunProgressFunc)     (guint        done,
                                            int          total,
                                            gpointer     user_data);
/* FALSE when nobody takes the line: the dispatcher prints it itself. */
typedef gboolean (*JobRunVerboseLineFunc)  (const char  *line,
                                            gpointer     user_data);

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
  JobNesting *nesting;           /* (owned): where the run's tasks stand */

  JobRunWantsResultsFunc  wants_results;  /* (nullable) */
  JobRunResultFunc        result;         /* (nullable) */
  JobRunProgressFunc      progress;       /* (nullable) */
  JobRunVerboseLineFunc   verbose_line;   /* (nullable) */
  gpointer                callback_data;  /* (owned) by callback_destroy */
  GDestroyNotify          callback_destroy;
} JobRunOptions;

void     job_run_options_clear              (JobRunOptions  *options);
/* "all", "n_jobs", "k*n_jobs" or "k" → batches in flight at most */
gboolean job_run_options_parse_pre_dispatch (const char     *text,
                                             int             n_workers,
                                             guint          *out,
                                             GError        **error);

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
