/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (JOBLIB_GLIB_INSIDE) && !defined (JOBLIB_GLIB_COMPILATION)
# error "Only <joblib-glib.h> can be included directly."
#endif

#include <gio/gio.h>

#include "job-remote-backend.h"
#include "job-version-macros.h"

G_BEGIN_DECLS

#define JOB_TYPE_SLURM_BACKEND (job_slurm_backend_get_type ())

JOB_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (JobSlurmBackend, job_slurm_backend, JOB, SLURM_BACKEND, JobRemoteBackend)

JOB_AVAILABLE_IN_ALL
JobSlurmBackend *job_slurm_backend_new                (void);
JOB_AVAILABLE_IN_ALL
void             job_slurm_backend_set_worker_command (JobSlurmBackend    *self,
                                                       const char         *kind,
                                                       const char * const *argv);
JOB_AVAILABLE_IN_ALL
gboolean         job_slurm_backend_start_workers      (JobSlurmBackend    *self,
                                                       const char         *kind,
                                                       int                 n_workers,
                                                       double              timeout,
                                                       GError            **error);
JOB_AVAILABLE_IN_ALL
char            *job_slurm_backend_listen             (JobSlurmBackend    *self,
                                                       GError            **error);
JOB_AVAILABLE_IN_ALL
char           **job_slurm_backend_get_job_ids        (JobSlurmBackend    *self);
JOB_AVAILABLE_IN_ALL
guint            job_slurm_backend_get_n_refused      (JobSlurmBackend    *self);

G_END_DECLS
