/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (JOBLIB_GLIB_INSIDE) && !defined (JOBLIB_GLIB_COMPILATION)
# error "Only <joblib-glib.h> can be included directly."
#endif

#include <gio/gio.h>

#include "job-backend.h"
#include "job-version-macros.h"

G_BEGIN_DECLS

#define JOB_TYPE_REMOTE_BACKEND (job_remote_backend_get_type ())

JOB_AVAILABLE_IN_ALL
G_DECLARE_DERIVABLE_TYPE (JobRemoteBackend, job_remote_backend, JOB, REMOTE_BACKEND, GObject)

/**
 * JobRemoteBackendClass:
 * @parent_class: the parent class
 * @prepare: hands the subclass's settings and the shared ones to its
 *   launcher and sizes the worker pool for a run on @n_jobs workers
 *   (at least 1); @inner_max_num_threads is the run's thread limit of
 *   nested libraries (0: none set) and @new_run says whether a run
 *   starts (rather than workers being started ahead of one). Called on
 *   the caller's thread, any thread
 * @get_n_workers: maps `n_jobs` to the number of workers the run uses
 *   (a fixed count, the hosts' slots); %NULL: `n_jobs`. A negative
 *   `n_jobs` is joblib's "all" (-1) or "all but one" (-2) of the
 *   cluster: the answer counts the cluster's size, or is 0 when it is
 *   not known. Called from any thread; it may block to ask the cluster
 *
 * The class of backends whose workers run on other machines and dial
 * back to this process. The library's own backends implement it; the
 * worker pool they drive is internal, so it is not meant for
 * subclassing outside joblib-glib.
 */
struct _JobRemoteBackendClass
{
  GObjectClass parent_class;

  gboolean (*prepare)       (JobRemoteBackend  *self,
                             int                n_jobs,
                             int                inner_max_num_threads,
                             gboolean           new_run,
                             GError           **error);
  int      (*get_n_workers) (JobRemoteBackend  *self,
                             int                n_jobs);

  /*< private >*/
  gpointer _reserved[8];
};

G_END_DECLS
