/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (JOBLIB_GLIB_INSIDE) && !defined (JOBLIB_GLIB_COMPILATION)
# error "Only <joblib-glib.h> can be included directly."
#endif

#include "job-backend.h"

G_BEGIN_DECLS

/**
 * JOB_N_JOBS_DEFAULT:
 *
 * The value of [property@Joblib.Parallel:n-jobs] that means "not set":
 * the active [class@Joblib.ParallelConfig] decides, else 1 (joblib's
 * `n_jobs=None`).
 */
#define JOB_N_JOBS_DEFAULT (-2147483647 - 1)

#define JOB_TYPE_PARALLEL_CONFIG (job_parallel_config_get_type ())

JOB_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (JobParallelConfig, job_parallel_config, JOB, PARALLEL_CONFIG, GObject)

JOB_AVAILABLE_IN_ALL
JobParallelConfig *job_parallel_config_new                       (void);
JOB_AVAILABLE_IN_ALL
void               job_parallel_config_push                      (JobParallelConfig *self);
JOB_AVAILABLE_IN_ALL
void               job_parallel_config_pop                       (JobParallelConfig *self);
JOB_AVAILABLE_IN_ALL
JobParallelConfig *job_parallel_config_get_current               (void);
JOB_AVAILABLE_IN_ALL
const char        *job_parallel_config_get_backend_name          (JobParallelConfig *self);
JOB_AVAILABLE_IN_ALL
void               job_parallel_config_set_backend_name          (JobParallelConfig *self,
                                                                  const char        *backend_name);
JOB_AVAILABLE_IN_ALL
JobBackend        *job_parallel_config_get_backend               (JobParallelConfig *self);
JOB_AVAILABLE_IN_ALL
void               job_parallel_config_set_backend               (JobParallelConfig *self,
                                                                  JobBackend        *backend);
JOB_AVAILABLE_IN_ALL
int                job_parallel_config_get_n_jobs                (JobParallelConfig *self);
JOB_AVAILABLE_IN_ALL
void               job_parallel_config_set_n_jobs                (JobParallelConfig *self,
                                                                  int                n_jobs);
JOB_AVAILABLE_IN_ALL
int                job_parallel_config_get_verbose               (JobParallelConfig *self);
JOB_AVAILABLE_IN_ALL
void               job_parallel_config_set_verbose               (JobParallelConfig *self,
                                                                  int                verbose);
JOB_AVAILABLE_IN_ALL
int                job_parallel_config_get_inner_max_num_threads (JobParallelConfig *self);
JOB_AVAILABLE_IN_ALL
void               job_parallel_config_set_inner_max_num_threads (JobParallelConfig *self,
                                                                  int                n_threads);


G_END_DECLS
