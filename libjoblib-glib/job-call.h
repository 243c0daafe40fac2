/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (JOBLIB_GLIB_INSIDE) && !defined (JOBLIB_GLIB_COMPILATION)
# error "Only <joblib-glib.h> can be included directly."
#endif

#include "job-function.h"

G_BEGIN_DECLS

#define JOB_TYPE_CALL (job_call_get_type ())

typedef struct _JobCall JobCall;

JOB_AVAILABLE_IN_ALL
GType        job_call_get_type     (void) G_GNUC_CONST;
JOB_AVAILABLE_IN_ALL
JobCall     *job_call_new          (JobFunction *function,
                                    GVariant    *args);
JOB_AVAILABLE_IN_ALL
JobCall     *job_call_new_with_task_count (JobFunction *function,
                                           GVariant    *args,
                                           guint        task_count);
JOB_AVAILABLE_IN_ALL
JobCall     *job_call_ref          (JobCall     *self);
JOB_AVAILABLE_IN_ALL
void         job_call_unref        (JobCall     *self);
JOB_AVAILABLE_IN_ALL
JobFunction *job_call_get_function (JobCall     *self);
JOB_AVAILABLE_IN_ALL
GVariant    *job_call_get_args     (JobCall     *self);
JOB_AVAILABLE_IN_ALL
guint        job_call_get_task_count (JobCall   *self);
JOB_AVAILABLE_IN_ALL
GVariant    *job_call_invoke       (JobCall       *self,
                                    GCancellable  *cancellable,
                                    GError       **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobCall, job_call_unref)

/**
 * JobCallSourceFunc:
 * @user_data: (closure): the data given with the source
 * @error: return location for a #GError
 *
 * A lazy input of [class@Joblib.Parallel]: returns the next call each time
 * it is called, %NULL at the end. It is called on the run's context, only
 * as workers free up (see [property@Joblib.Parallel:pre-dispatch]), so the
 * input is never materialized all at once.
 *
 * Returns: (transfer full) (nullable): the next call, or %NULL at the end
 *   or with @error set to fail the run
 */
typedef JobCall *(*JobCallSourceFunc) (gpointer   user_data,
                                       GError   **error);

G_END_DECLS
