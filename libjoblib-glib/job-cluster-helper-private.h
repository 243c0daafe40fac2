/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * JobClusterHelper: the submission helper of the Dask and IPython
 * Parallel launchers (cluster_submit.py, installed as
 * joblib-glib-cluster-submit), as a subprocess. It connects to the
 * cluster once, then starts and forgets long-lived cluster tasks that
 * each run one worker command; the workers dial the driver back on their
 * own, so the helper never carries work. Requests and events are JSON
 * lines on its standard input and output (see cluster_submit.py).
 *
 * Callbacks run on the thread-default main context of the thread that
 * called job_cluster_helper_new(), which must keep calling into the
 * helper from that thread: nothing here is thread-safe.
 */

typedef struct _JobClusterHelper JobClusterHelper;

typedef struct
{
  /* Connected (the first time), or the cluster changed size. */
  void (*shape)  (guint         threads,
                  guint         workers,
                  gpointer      user_data);
  /* The task of worker @id finished: the worker command's exit status
   * and the end of its error output, or -1 and why the cluster lost it. */
  void (*ended)  (const char   *id,
                  int           status,
                  const char   *message,
                  gpointer      user_data);
  /* The helper cannot connect or has gone: no more events. Tasks it
   * started and that have connected carry on (their connections are the
   * driver's). */
  void (*failed) (const GError *error,
                  gpointer      user_data);
} JobClusterHelperCallbacks;

/* Starts @argv (the helper program and its arguments). Fails only when
 * it cannot be run; a cluster that cannot be reached comes as failed(). */
JobClusterHelper *job_cluster_helper_new    (const char * const              *argv,
                                             const JobClusterHelperCallbacks *callbacks,
                                             gpointer                         user_data,
                                             GError                         **error);
/* Asks for one cluster task running @argv with @environment (NAME=VALUE
 * strings) added. */
void              job_cluster_helper_start  (JobClusterHelper                *helper,
                                             const char                      *id,
                                             const char * const              *argv,
                                             const char * const              *environment);
/* Cancels the task of @id if it has not started (a running task ends with
 * its worker's connection). */
void              job_cluster_helper_stop   (JobClusterHelper                *helper,
                                             const char                      *id);
gboolean          job_cluster_helper_is_up  (JobClusterHelper                *helper);
/* Asks the helper to cancel what it started and leave, gives it a few
 * seconds, then kills it; no callback runs any more. */
void              job_cluster_helper_free   (JobClusterHelper                *helper);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobClusterHelper, job_cluster_helper_free)

G_END_DECLS
