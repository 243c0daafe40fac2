/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (JOBLIB_GLIB_INSIDE) && !defined (JOBLIB_GLIB_COMPILATION)
# error "Only <joblib-glib.h> can be included directly."
#endif

#include <glib-object.h>

#include "job-version-macros.h"

G_BEGIN_DECLS

#define JOB_TYPE_NATIVE_LIBRARY (job_native_library_get_type ())

typedef struct _JobNativeLibrary JobNativeLibrary;

JOB_AVAILABLE_IN_ALL
GType              job_native_library_get_type         (void) G_GNUC_CONST;
JOB_AVAILABLE_IN_ALL
JobNativeLibrary **job_native_library_list_loaded      (guint             *n_libraries);
JOB_AVAILABLE_IN_ALL
guint              job_native_library_limit_all        (const char        *user_api,
                                                        int                n_threads);
JOB_AVAILABLE_IN_ALL
JobNativeLibrary  *job_native_library_ref              (JobNativeLibrary  *self);
JOB_AVAILABLE_IN_ALL
void               job_native_library_unref            (JobNativeLibrary  *self);
JOB_AVAILABLE_IN_ALL
const char        *job_native_library_get_path         (JobNativeLibrary  *self);
JOB_AVAILABLE_IN_ALL
const char        *job_native_library_get_internal_api (JobNativeLibrary  *self);
JOB_AVAILABLE_IN_ALL
const char        *job_native_library_get_user_api     (JobNativeLibrary  *self);
JOB_AVAILABLE_IN_ALL
int                job_native_library_get_num_threads  (JobNativeLibrary  *self);
JOB_AVAILABLE_IN_ALL
gboolean           job_native_library_set_num_threads  (JobNativeLibrary  *self,
                                                        int                n_threads,
                                                        GError           **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobNativeLibrary, job_native_library_unref)

G_END_DECLS
