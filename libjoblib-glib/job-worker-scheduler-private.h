/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "job-worker-launcher-private.h"
#include "job-worker-loss-private.h"
#include "job-worker-request-private.h"
#include "job-worker-settings-private.h"

G_BEGIN_DECLS

/* The state of JobWorkerPool on its thread: the queue of requests, the
 * workers its launcher started and the calls in flight on each, and what
 * the launcher reports. Only on the pool's thread, whose thread-default
 * main context is the one the launcher uses (but _new and _free). */

typedef struct _JobWorkerScheduler JobWorkerScheduler;

/* How job_worker_scheduler_abort() ends the calls of stopped runs. */
typedef enum
{
  /* The workers finish the calls they have; the answers are dropped. */
  JOB_WORKER_ABORT_DROP_ANSWERS,
  /* The workers running them are killed, and replaced when there is work. */
  JOB_WORKER_ABORT_KILL_BUSY,
  /* Every worker goes, busy or not, ready or starting (cluster jobs:
   * nothing of a cancelled run stays in the cluster's queue); the calls
   * of other runs wait for new workers. */
  JOB_WORKER_ABORT_STOP_ALL,
} JobWorkerAbort;

/* Takes @launcher. */
JobWorkerScheduler *job_worker_scheduler_new             (JobWorkerLauncher   *launcher,
                                                          JobWorkerLoss        loss);
/* After job_worker_scheduler_shutdown(). */
void                job_worker_scheduler_free            (JobWorkerScheduler  *self);

/* The pool's thread only. */
/* Copies @settings for the workers and calls from now on. */
void                job_worker_scheduler_set_settings    (JobWorkerScheduler      *self,
                                                          const JobWorkerSettings *settings);
/* Splits @op into requests, queues them, and releases @op; one _pump
 * after several batches places their requests on workers. */
void                job_worker_scheduler_enqueue         (JobWorkerScheduler  *self,
                                                          JobWorkerBatch      *op);
/* Hands queued requests to workers. */
void                job_worker_scheduler_pump            (JobWorkerScheduler  *self);
void                job_worker_scheduler_abort           (JobWorkerScheduler  *self,
                                                          JobWorkerAbort       how);
/* Ends every request and every worker; returns once the launcher
 * released them all (it iterates the thread-default context). */
void                job_worker_scheduler_shutdown        (JobWorkerScheduler  *self);
/* Keeps n-workers workers of @kind even without work, until shutdown. */
void                job_worker_scheduler_keep            (JobWorkerScheduler  *self,
                                                          const char          *kind);
/* Workers ready now; @start_error: why a kind could not start, if so. */
guint               job_worker_scheduler_count_ready     (JobWorkerScheduler  *self,
                                                          char               **start_error);
void                job_worker_scheduler_append_pids     (JobWorkerScheduler  *self,
                                                          GArray              *pids);

G_END_DECLS
