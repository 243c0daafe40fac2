/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (JOBLIB_GLIB_INSIDE) && !defined (JOBLIB_GLIB_COMPILATION)
# error "Only <joblib-glib.h> can be included directly."
#endif

#include "job-backend.h"
#include "job-call.h"
#include "job-parallel-config.h"

G_BEGIN_DECLS

/**
 * JOB_PARALLEL_MAX_NESTING_DEPTH:
 *
 * How many runs may enclose a task that starts a run of its own: a run
 * started from a task nested inside this many runs fails with
 * [error@Joblib.Error.NESTING_TOO_DEEP] before it starts anything. Nested
 * runs get fewer workers and soon run sequentially (see the threading
 * rules), so threads and file descriptors stay bounded up to this depth.
 */
#define JOB_PARALLEL_MAX_NESTING_DEPTH 64

#define JOB_TYPE_PARALLEL (job_parallel_get_type ())

JOB_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (JobParallel, job_parallel, JOB, PARALLEL, GObject)

JOB_AVAILABLE_IN_ALL
JobParallel *job_parallel_new                 (int                   n_jobs);
JOB_AVAILABLE_IN_ALL
int          job_parallel_get_n_jobs          (JobParallel          *self);
JOB_AVAILABLE_IN_ALL
void         job_parallel_set_n_jobs          (JobParallel          *self,
                                               int                   n_jobs);
JOB_AVAILABLE_IN_ALL
JobBackend  *job_parallel_get_backend         (JobParallel          *self);
JOB_AVAILABLE_IN_ALL
void         job_parallel_set_backend         (JobParallel          *self,
                                               JobBackend           *backend);
JOB_AVAILABLE_IN_ALL
const char  *job_parallel_get_backend_name    (JobParallel          *self);
JOB_AVAILABLE_IN_ALL
void         job_parallel_set_backend_name    (JobParallel          *self,
                                               const char           *backend_name);
JOB_AVAILABLE_IN_ALL
const char  *job_parallel_get_pre_dispatch    (JobParallel          *self);
JOB_AVAILABLE_IN_ALL
void         job_parallel_set_pre_dispatch    (JobParallel          *self,
                                               const char           *pre_dispatch);
JOB_AVAILABLE_IN_ALL
guint        job_parallel_get_batch_size      (JobParallel          *self);
JOB_AVAILABLE_IN_ALL
void         job_parallel_set_batch_size      (JobParallel          *self,
                                               guint                 batch_size);
JOB_AVAILABLE_IN_ALL
double       job_parallel_get_timeout         (JobParallel          *self);
JOB_AVAILABLE_IN_ALL
void         job_parallel_set_timeout         (JobParallel          *self,
                                               double                timeout);
JOB_AVAILABLE_IN_ALL
int          job_parallel_get_verbose         (JobParallel          *self);
JOB_AVAILABLE_IN_ALL
void         job_parallel_set_verbose         (JobParallel          *self,
                                               int                   verbose);

JOB_AVAILABLE_IN_ALL
GPtrArray   *job_parallel_run                 (JobParallel          *self,
                                               JobCall             **calls,
                                               guint                 n_calls,
                                               GCancellable         *cancellable,
                                               GError              **error);
JOB_AVAILABLE_IN_ALL
void         job_parallel_run_async           (JobParallel          *self,
                                               JobCall             **calls,
                                               guint                 n_calls,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
JOB_AVAILABLE_IN_ALL
GPtrArray   *job_parallel_run_finish          (JobParallel          *self,
                                               GAsyncResult         *result,
                                               GError              **error);

JOB_AVAILABLE_IN_ALL
GPtrArray   *job_parallel_run_source          (JobParallel          *self,
                                               JobCallSourceFunc     source,
                                               gpointer              source_data,
                                               GDestroyNotify        source_destroy,
                                               GCancellable         *cancellable,
                                               GError              **error);
JOB_AVAILABLE_IN_ALL
void         job_parallel_run_source_async    (JobParallel          *self,
                                               JobCallSourceFunc     source,
                                               gpointer              source_data,
                                               GDestroyNotify        source_destroy,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
JOB_AVAILABLE_IN_ALL
GPtrArray   *job_parallel_run_source_finish   (JobParallel          *self,
                                               GAsyncResult         *result,
                                               GError              **error);

JOB_AVAILABLE_IN_ALL
GPtrArray   *job_parallel_run_iterate         (JobParallel          *self,
                                               JobCallIterateFunc    iterate,
                                               gpointer              iterate_data,
                                               GDestroyNotify        iterate_destroy,
                                               GCancellable         *cancellable,
                                               GError              **error);
JOB_AVAILABLE_IN_ALL
void         job_parallel_run_iterate_async   (JobParallel          *self,
                                               JobCallIterateFunc    iterate,
                                               gpointer              iterate_data,
                                               GDestroyNotify        iterate_destroy,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
JOB_AVAILABLE_IN_ALL
GPtrArray   *job_parallel_run_iterate_finish  (JobParallel          *self,
                                               GAsyncResult         *result,
                                               GError              **error);

JOB_AVAILABLE_IN_ALL
GPtrArray   *job_parallel_run_outcomes        (JobParallel          *self,
                                               JobCall             **calls,
                                               guint                 n_calls,
                                               GCancellable         *cancellable,
                                               GError              **error);
JOB_AVAILABLE_IN_ALL
void         job_parallel_run_outcomes_async  (JobParallel          *self,
                                               JobCall             **calls,
                                               guint                 n_calls,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
JOB_AVAILABLE_IN_ALL
GPtrArray   *job_parallel_run_outcomes_finish (JobParallel          *self,
                                               GAsyncResult         *result,
                                               GError              **error);

G_END_DECLS
