/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (JOBLIB_GLIB_INSIDE) && !defined (JOBLIB_GLIB_COMPILATION)
# error "Only <joblib-glib.h> can be included directly."
#endif

#include <gio/gio.h>

#include "job-remote-backend.h"
#include "job-version-macros.h"

G_BEGIN_DECLS

#define JOB_TYPE_CLUSTER_BACKEND (job_cluster_backend_get_type ())

JOB_AVAILABLE_IN_ALL
G_DECLARE_DERIVABLE_TYPE (JobClusterBackend, job_cluster_backend, JOB, CLUSTER_BACKEND, JobRemoteBackend)

/**
 * JobClusterBackendClass:
 * @parent_class: the parent class
 * @cluster_name: the cluster's name in messages (`"Dask"`)
 * @dup_helper_arguments: returns the arguments of the submission helper
 *   after its program (`"dask" "tcp://host:8786"`), or %NULL with an
 *   error when the cluster is not set; called from any thread
 *
 * The class of cluster backends whose workers are long-lived tasks of a
 * task scheduler.
 */
struct _JobClusterBackendClass
{
  JobRemoteBackendClass parent_class;

  const char *cluster_name;

  char **(*dup_helper_arguments) (JobClusterBackend  *self,
                                  GError            **error);

  /*< private >*/
  gpointer _reserved[8];
};

JOB_AVAILABLE_IN_ALL
void      job_cluster_backend_set_worker_command (JobClusterBackend  *self,
                                                  const char         *kind,
                                                  const char * const *argv);
JOB_AVAILABLE_IN_ALL
gboolean  job_cluster_backend_connect            (JobClusterBackend  *self,
                                                  double              timeout,
                                                  GError            **error);
JOB_AVAILABLE_IN_ALL
guint     job_cluster_backend_get_cluster_threads (JobClusterBackend *self);
JOB_AVAILABLE_IN_ALL
gboolean  job_cluster_backend_start_workers      (JobClusterBackend  *self,
                                                  const char         *kind,
                                                  int                 n_workers,
                                                  double              timeout,
                                                  GError            **error);
JOB_AVAILABLE_IN_ALL
guint     job_cluster_backend_get_n_refused      (JobClusterBackend  *self);

G_END_DECLS
