/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (JOBLIB_GLIB_INSIDE) && !defined (JOBLIB_GLIB_COMPILATION)
# error "Only <joblib-glib.h> can be included directly."
#endif

#include <glib-object.h>

#include "job-version-macros.h"

G_BEGIN_DECLS

#define JOB_TYPE_MEMORIZED_RESULT (job_memorized_result_get_type ())

JOB_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (JobMemorizedResult, job_memorized_result, JOB, MEMORIZED_RESULT, GObject)

JOB_AVAILABLE_IN_ALL
const char *job_memorized_result_get_function_name (JobMemorizedResult  *self);
JOB_AVAILABLE_IN_ALL
const char *job_memorized_result_get_args_hash     (JobMemorizedResult  *self);
JOB_AVAILABLE_IN_ALL
double      job_memorized_result_get_duration      (JobMemorizedResult  *self);
JOB_AVAILABLE_IN_ALL
GVariant   *job_memorized_result_get               (JobMemorizedResult  *self,
                                                    GError             **error);
JOB_AVAILABLE_IN_ALL
gboolean    job_memorized_result_clear             (JobMemorizedResult  *self,
                                                    GError             **error);

G_END_DECLS
