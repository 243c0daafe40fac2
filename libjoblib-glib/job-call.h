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
 * A %NULL without an error ends the input: a binding whose callback fails
 * without a #GError (a Python exception other than `GLib.Error`) would end
 * the run early but successfully. Bindings and new code use
 * [callback@Joblib.CallIterateFunc], where the end and a failure differ.
 *
 * Returns: (transfer full) (nullable): the next call, or %NULL at the end
 *   or with @error set to fail the run
 */
typedef JobCall *(*JobCallSourceFunc) (gpointer   user_data,
                                       GError   **error);

/**
 * JobCallIterateFunc:
 * @user_data: (closure): the data given with the input
 * @call: (out) (transfer full) (nullable): the next call, or %NULL at the
 *   end of the input
 * @error: return location for a #GError
 *
 * A lazy input of [class@Joblib.Parallel] that tells its end apart from a
 * failure, as g_file_enumerator_iterate() does: it returns %TRUE with the
 * next call in @call, %TRUE with %NULL in @call at the end, or %FALSE with
 * @error set when the input failed, which fails the run with that error.
 * A %FALSE without an error (what a binding returns when its callback
 * raised an exception it could not turn into a #GError) fails the run too.
 *
 * It is called on the run's context (the thread-default main context of
 * the thread that started the run), only as workers free up (see
 * [property@Joblib.Parallel:pre-dispatch]), never after it returned the
 * end or a failure.
 *
 * Returns: %TRUE on success (a call or the end), %FALSE on failure
 */
typedef gboolean (*JobCallIterateFunc) (gpointer   user_data,
                                        JobCall  **call,
                                        GError   **error);

G_END_DECLS
