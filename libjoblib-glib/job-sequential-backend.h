/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (JOBLIB_GLIB_INSIDE) && !defined (JOBLIB_GLIB_COMPILATION)
# error "Only <joblib-glib.h> can be included directly."
#endif

#include "job-backend.h"

G_BEGIN_DECLS

#define JOB_TYPE_SEQUENTIAL_BACKEND (job_sequential_backend_get_type ())

JOB_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (JobSequentialBackend, job_sequential_backend, JOB, SEQUENTIAL_BACKEND, GObject)

JOB_AVAILABLE_IN_ALL
JobBackend *job_sequential_backend_new (void);

G_END_DECLS
