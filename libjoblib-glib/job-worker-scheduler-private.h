/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "job-worker-launcher-private.h"
#include "job-worker-loss-private.h"
#include "job-worker-request-private.h"

G_BEGIN_DECLS

/* The state of JobWorkerPool on its thread: the queue of requests, the
 * workers its launcher started and the calls in flight on each, and what
 * the launcher reports. The settings functions may be called from any
 * thread; the others only on the pool's thread, whose thread-default
 * main context is the one the launcher uses. */

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

/* Settings: any thread (see job-worker-pool-private.h). */
void                job_worker_scheduler_configure       (JobWorkerScheduler  *self,
                                                          int                  n_workers,
                                                          int                  inner_threads,
                                                          gboolean             inner_explicit);
void                job_worker_scheduler_set_limits      (JobWorkerScheduler  *self,
                                                          guint64              max_nbytes,
                                                          double               idle_timeout,
                                                          const char          *temp_folder);
void                job_worker_scheduler_set_max_retries (JobWorkerScheduler  *self,
                                                          guint                max_retries);
void                job_worker_scheduler_set_setup       (JobWorkerScheduler  *self,
                                                          GVariant            *init_reference,
                                                          GVariant            *init_args,
                                                          const char * const  *environment);

/* The pool's thread only. */
void                job_worker_scheduler_rearm_idle      (JobWorkerScheduler  *self);
/* Splits @op into requests, queues them, and releases @op. */
void                job_worker_scheduler_submit          (JobWorkerScheduler  *self,
                                                          JobWorkerBatch      *op);
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
