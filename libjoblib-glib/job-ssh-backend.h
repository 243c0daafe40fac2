/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (JOBLIB_GLIB_INSIDE) && !defined (JOBLIB_GLIB_COMPILATION)
# error "Only <joblib-glib.h> can be included directly."
#endif

#include <gio/gio.h>

#include "job-remote-backend.h"
#include "job-version-macros.h"

G_BEGIN_DECLS

#define JOB_TYPE_SSH_BACKEND (job_ssh_backend_get_type ())

JOB_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (JobSshBackend, job_ssh_backend, JOB, SSH_BACKEND, JobRemoteBackend)

JOB_AVAILABLE_IN_ALL
JobSshBackend *job_ssh_backend_new                (const char * const *hosts);
JOB_AVAILABLE_IN_ALL
void           job_ssh_backend_set_worker_command (JobSshBackend      *self,
                                                   const char         *kind,
                                                   const char * const *argv);
JOB_AVAILABLE_IN_ALL
void           job_ssh_backend_set_host_program   (JobSshBackend      *self,
                                                   const char         *host,
                                                   const char         *program);
JOB_AVAILABLE_IN_ALL
gboolean       job_ssh_backend_start_workers      (JobSshBackend      *self,
                                                   const char         *kind,
                                                   int                 n_workers,
                                                   double              timeout,
                                                   GError            **error);
JOB_AVAILABLE_IN_ALL
char          *job_ssh_backend_listen             (JobSshBackend      *self,
                                                   GError            **error);
JOB_AVAILABLE_IN_ALL
int           *job_ssh_backend_get_worker_pids    (JobSshBackend      *self,
                                                   guint              *n_pids);
JOB_AVAILABLE_IN_ALL
char         **job_ssh_backend_get_down_hosts     (JobSshBackend      *self);
JOB_AVAILABLE_IN_ALL
guint          job_ssh_backend_get_n_refused      (JobSshBackend      *self);

G_END_DECLS
