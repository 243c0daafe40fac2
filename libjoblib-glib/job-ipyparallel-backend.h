/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (JOBLIB_GLIB_INSIDE) && !defined (JOBLIB_GLIB_COMPILATION)
# error "Only <joblib-glib.h> can be included directly."
#endif

#include "job-cluster-backend.h"

G_BEGIN_DECLS

#define JOB_TYPE_IPYPARALLEL_BACKEND (job_ipyparallel_backend_get_type ())

JOB_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (JobIpyparallelBackend, job_ipyparallel_backend, JOB, IPYPARALLEL_BACKEND,
                      JobClusterBackend)

JOB_AVAILABLE_IN_ALL
JobIpyparallelBackend *job_ipyparallel_backend_new (const char *url_file);

G_END_DECLS
