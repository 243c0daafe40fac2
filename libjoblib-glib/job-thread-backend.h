/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (JOBLIB_GLIB_INSIDE) && !defined (JOBLIB_GLIB_COMPILATION)
# error "Only <joblib-glib.h> can be included directly."
#endif

#include "job-backend.h"

G_BEGIN_DECLS

#define JOB_TYPE_THREAD_BACKEND (job_thread_backend_get_type ())

JOB_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (JobThreadBackend, job_thread_backend, JOB, THREAD_BACKEND, GObject)

JOB_AVAILABLE_IN_ALL
JobBackend *job_thread_backend_new             (void);
JOB_AVAILABLE_IN_ALL
guint       job_thread_backend_get_max_threads (JobThreadBackend *self);

G_END_DECLS
