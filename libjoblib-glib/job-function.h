/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (JOBLIB_GLIB_INSIDE) && !defined (JOBLIB_GLIB_COMPILATION)
# error "Only <joblib-glib.h> can be included directly."
#endif

#include <gio/gio.h>

#include "job-version-macros.h"

G_BEGIN_DECLS

/**
 * JobFunc:
 * @args: (transfer none): the arguments, always a tuple
 * @cancellable: (nullable): cancelled when the run this call belongs to
 *   stops (first error elsewhere, cancellation, timeout); long tasks should
 *   check it
 * @user_data: (closure): the data given when the function was created
 * @error: return location for a #GError
 *
 * The body of a [class@Joblib.Function].
 *
 * It is called from a worker thread unless the function is
 * [property@Joblib.Function:main-thread-only], so it must be thread-safe:
 * several calls may run at the same time.
 *
 * Returns: (transfer full) (nullable): the result (a floating reference is
 *   sunk), or %NULL with @error set. Returning %NULL without setting @error
 *   is treated as a failure of the task ([error@Joblib.Error.TASK_FAILED]).
 */
typedef GVariant *(*JobFunc) (GVariant      *args,
                              GCancellable  *cancellable,
                              gpointer       user_data,
                              GError       **error);

#define JOB_TYPE_FUNCTION (job_function_get_type ())

JOB_AVAILABLE_IN_ALL
G_DECLARE_DERIVABLE_TYPE (JobFunction, job_function, JOB, FUNCTION, GObject)

/**
 * JobFunctionClass:
 * @parent_class: the parent class
 * @invoke: runs the function on a tuple of arguments; called from any
 *   thread unless the function is main-thread-only
 *
 * The class of [class@Joblib.Function]. Subclasses (such as memoized
 * functions) override @invoke.
 */
struct _JobFunctionClass
{
  GObjectClass parent_class;

  GVariant *(*invoke) (JobFunction   *self,
                       GVariant      *args,
                       GCancellable  *cancellable,
                       GError       **error);

  /*< private >*/
  gpointer _reserved[8];
};

JOB_AVAILABLE_IN_ALL
JobFunction  *job_function_new                   (const char     *name,
                                                  JobFunc         func,
                                                  gpointer        user_data,
                                                  GDestroyNotify  destroy);
JOB_AVAILABLE_IN_ALL
const char   *job_function_get_name              (JobFunction    *self);
JOB_AVAILABLE_IN_ALL
const char   *job_function_get_version           (JobFunction    *self);
JOB_AVAILABLE_IN_ALL
void          job_function_set_version           (JobFunction    *self,
                                                  const char     *version);
JOB_AVAILABLE_IN_ALL
gboolean      job_function_get_main_thread_only  (JobFunction    *self);
JOB_AVAILABLE_IN_ALL
void          job_function_set_main_thread_only  (JobFunction    *self,
                                                  gboolean        main_thread_only);
JOB_AVAILABLE_IN_ALL
GMainContext *job_function_get_owner_context     (JobFunction    *self);
JOB_AVAILABLE_IN_ALL
const char * const *
              job_function_get_parameter_names   (JobFunction    *self);
JOB_AVAILABLE_IN_ALL
void          job_function_set_parameter_names   (JobFunction    *self,
                                                  const char * const *names);
JOB_AVAILABLE_IN_ALL
GVariant     *job_function_invoke                (JobFunction    *self,
                                                  GVariant       *args,
                                                  GCancellable   *cancellable,
                                                  GError        **error);

/* References that other processes can resolve */

/**
 * JOB_FUNCTION_REFERENCE_NATIVE:
 *
 * The kind of references to a symbol of a shared object, resolved with
 * #GModule. Its fields are `module` (the path of the shared object) and
 * `symbol` (a [callback@Joblib.Func]).
 */
#define JOB_FUNCTION_REFERENCE_NATIVE "native"

JOB_AVAILABLE_IN_ALL
JobFunction  *job_function_new_for_symbol        (const char     *module_path,
                                                  const char     *symbol,
                                                  const char     *name);
JOB_AVAILABLE_IN_ALL
GVariant     *job_function_get_reference         (JobFunction    *self);
JOB_AVAILABLE_IN_ALL
void          job_function_set_reference         (JobFunction    *self,
                                                  GVariant       *reference);
JOB_AVAILABLE_IN_ALL
const char   *job_function_get_reference_kind    (JobFunction    *self);

G_END_DECLS
