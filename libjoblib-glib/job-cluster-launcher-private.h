/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "job-worker-launcher-private.h"

G_BEGIN_DECLS

/*
 * The launcher of JobDaskBackend and JobIpyparallelBackend: each worker
 * is one long-lived task of a Dask or IPython Parallel cluster, asked
 * for through the submission helper (job-cluster-helper-private.h),
 * that runs `joblib-glib-worker-connect --exit-with-driver ADDRESS KIND
 * -- WORKER…` and dials back to this launcher's JobWorkerListener. The
 * run's token and the worker's name (JOB_WORKER_ID) travel in the task's
 * environment; the listener admits the connection only with a proof of
 * the token, and the launcher matches it to the worker it started by
 * name (a stranger holding the token, or a task the cluster ran again
 * after it was given up, is closed).
 *
 * The worker is ready once it has connected; it is gone when its
 * connection ends (the task's Dask worker or engine died: the worker
 * dies with it) or, before that, when its task ends. Stopping a worker
 * closes its connection (the connector then kills it) or cancels its
 * task when it has not connected. Elastic: tasks wait in the cluster's
 * queue until it has a free thread or engine, so workers join as the
 * cluster grows.
 *
 * Settings come from the backend, from any thread (under the launcher's
 * mutex); everything else runs on the pool's thread.
 */

typedef struct
{
  char            **helper_argv;    /* (owned) the helper and its arguments */
  char             *listen_address; /* (owned) (nullable) */
  guint16           port;
  GTlsCertificate  *certificate;    /* (owned) (nullable) */
  gboolean          tls;
  GHashTable       *commands;       /* (owned) (nullable) kind → GStrv */
} JobClusterSettings;

void               job_cluster_settings_clear      (JobClusterSettings       *settings);

/* @cluster names the cluster in messages ("Dask"). */
JobWorkerLauncher *job_cluster_launcher_new        (const char               *cluster);
/* Copies @settings; workers started from now on use them, a new helper
 * when the helper command changed. */
void               job_cluster_launcher_configure  (JobWorkerLauncher        *launcher,
                                                    const JobClusterSettings *settings);
/* The next worker started gets a new token: each run's own. */
void               job_cluster_launcher_new_run    (JobWorkerLauncher        *launcher);
/* The cluster's threads (Dask) or engines as last seen, 0 before the
 * helper connected. Thread-safe. */
guint              job_cluster_launcher_get_threads (JobWorkerLauncher       *launcher);
/* Pool thread: starts the helper if needed and waits up to @timeout
 * seconds for it to connect. */
gboolean           job_cluster_launcher_connect    (JobWorkerLauncher        *launcher,
                                                    double                    timeout,
                                                    GError                  **error);
guint              job_cluster_launcher_get_n_refused (JobWorkerLauncher     *launcher);

G_END_DECLS
