/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (JOBLIB_GLIB_INSIDE) && !defined (JOBLIB_GLIB_COMPILATION)
# error "Only <joblib-glib.h> can be included directly."
#endif

#include "job-cluster-backend.h"

G_BEGIN_DECLS

#define JOB_TYPE_DASK_BACKEND (job_dask_backend_get_type ())

JOB_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (JobDaskBackend, job_dask_backend, JOB, DASK_BACKEND, JobClusterBackend)

JOB_AVAILABLE_IN_ALL
JobDaskBackend *job_dask_backend_new (const char *scheduler_address);

G_END_DECLS
