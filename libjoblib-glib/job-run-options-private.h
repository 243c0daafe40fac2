/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "job-backend.h"
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

/* Everything a run needs, resolved from JobParallel's properties and the
 * active JobParallelConfig when the run starts (job_run_options_resolve). */
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

/* What a JobParallel asks of a run (its properties), and the backends it
 * keeps across runs: created here on first use, owned by the caller. */
typedef struct
{
  int          n_jobs;         /* JOB_N_JOBS_DEFAULT: the config's */
  JobBackend  *backend;        /* (nullable) */
  const char  *backend_name;   /* (nullable) */
  const char  *pre_dispatch;
  guint        batch_size;
  double       timeout;
  int          verbose;        /* < 0: the config's */
  JobBackend **sequential;     /* (inout) (not nullable): for one worker */
  JobBackend **named_backend;  /* (inout) (not nullable): by name */
} JobRunRequest;

/* Fills @options from @request, the active JobParallelConfig and the
 * run that encloses this one (nesting), and configures the backend for
 * the run; the callbacks and @collect are left to the caller. On error
 * @options may be half filled: clear it. Runs on the starting thread. */
gboolean job_run_options_resolve            (JobRunOptions        *options,
                                             const JobRunRequest  *request,
                                             GError              **error);
void     job_run_options_clear              (JobRunOptions  *options);
/* "all", "n_jobs", "k*n_jobs" or "k" → batches in flight at most */
gboolean job_run_options_parse_pre_dispatch (const char     *text,
                                             int             n_workers,
                                             guint          *out,
                                             GError        **error);

G_END_DECLS
