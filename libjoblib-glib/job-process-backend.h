/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (JOBLIB_GLIB_INSIDE) && !defined (JOBLIB_GLIB_COMPILATION)
# error "Only <joblib-glib.h> can be included directly."
#endif

#include "job-backend.h"
#include "job-function.h"

G_BEGIN_DECLS

#define JOB_TYPE_PROCESS_BACKEND (job_process_backend_get_type ())

JOB_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (JobProcessBackend, job_process_backend, JOB, PROCESS_BACKEND, GObject)

JOB_AVAILABLE_IN_ALL
JobBackend  *job_process_backend_new                       (void);
JOB_AVAILABLE_IN_ALL
guint64      job_process_backend_get_max_nbytes            (JobProcessBackend  *self);
JOB_AVAILABLE_IN_ALL
void         job_process_backend_set_max_nbytes            (JobProcessBackend  *self,
                                                            guint64             max_nbytes);
JOB_AVAILABLE_IN_ALL
double       job_process_backend_get_idle_timeout          (JobProcessBackend  *self);
JOB_AVAILABLE_IN_ALL
void         job_process_backend_set_idle_timeout          (JobProcessBackend  *self,
                                                            double              seconds);
JOB_AVAILABLE_IN_ALL
int          job_process_backend_get_inner_max_num_threads (JobProcessBackend  *self);
JOB_AVAILABLE_IN_ALL
void         job_process_backend_set_inner_max_num_threads (JobProcessBackend  *self,
                                                            int                 n_threads);
JOB_AVAILABLE_IN_ALL
const char  *job_process_backend_get_temp_folder           (JobProcessBackend  *self);
JOB_AVAILABLE_IN_ALL
void         job_process_backend_set_temp_folder           (JobProcessBackend  *self,
                                                            const char         *folder);
JOB_AVAILABLE_IN_ALL
void         job_process_backend_set_initializer           (JobProcessBackend  *self,
                                                            JobFunction        *initializer,
                                                            GVariant           *args);
JOB_AVAILABLE_IN_ALL
void         job_process_backend_set_environment           (JobProcessBackend  *self,
                                                            const char * const *environment);
JOB_AVAILABLE_IN_ALL
int         *job_process_backend_get_worker_pids           (JobProcessBackend  *self,
                                                            guint              *n_pids);
JOB_AVAILABLE_IN_ALL
void         job_process_backend_set_worker_command        (const char         *kind,
                                                            const char * const *argv);

G_END_DECLS
