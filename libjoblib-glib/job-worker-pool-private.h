/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "job-backend.h"
#include "job-batch.h"
#include "job-batch-inbox-private.h"
#include "job-worker-launcher-private.h"
#include "job-worker-scheduler-private.h"

G_BEGIN_DECLS

/*
 * JobWorkerPool: the one worker pool of the process, Slurm and other
 * remote backends. It owns the scheduling (a queue of requests, each
 * sent to the least busy worker of its kind that may take
 * one more: up to 16 calls while its calls are short, see
 * job-scheduled-worker.c), the calls in flight and their answers, what
 * happens to the calls of a lost worker, idle timeouts, the initializer,
 * cancel and shutdown. Workers come from a JobWorkerLauncher
 * (job-worker-launcher-private.h), which only starts them and reports
 * them ready, their frames, and their end.
 *
 * All of the pool's state lives on a thread of its own running the
 * pool's main context (JobPoolThread), in a JobWorkerScheduler
 * (job-worker-scheduler.c); the launcher runs there too; what it does
 * with the calls of a lost worker is in job-worker-loss.c. The functions
 * below may be called from any thread: they hand their work to that
 * thread, in the order they were called, several per wake-up of that
 * thread. A batch's GTask returns on the context of whoever submitted
 * it; batches submitted to an inbox go back through it. JobWorkerLoss and JobWorkerAbort are in the headers of those
 * files.
 */

typedef struct _JobWorkerPool JobWorkerPool;

/* Takes @launcher (freed with the pool). @thread_name names the pool's
 * thread ("joblib-processes"). */
JobWorkerPool *job_worker_pool_new            (const char          *thread_name,
                                               JobWorkerLauncher   *launcher,
                                               JobWorkerLoss        loss);
/* Shuts the pool down (see _shutdown), then frees it; from any thread,
 * also the pool's own (a batch's last reference dropped in a callback). */
void           job_worker_pool_free           (JobWorkerPool       *pool);

/* Settings, read when workers start and calls are built. @n_workers is
 * the most workers of one kind. */
void           job_worker_pool_configure      (JobWorkerPool       *pool,
                                               int                  n_workers,
                                               int                  inner_threads,
                                               gboolean             inner_explicit);
/* @temp_folder (nullable): where arguments larger than @max_nbytes go
 * (it must be shared with remote workers). A negative @idle_timeout
 * keeps idle workers. */
void           job_worker_pool_set_limits     (JobWorkerPool       *pool,
                                               guint64              max_nbytes,
                                               double               idle_timeout,
                                               const char          *temp_folder);
/* For JOB_WORKER_LOSS_RETRY: how many lost workers a task survives. */
void           job_worker_pool_set_max_retries (JobWorkerPool      *pool,
                                                guint               max_retries);
/* The setup of workers started from now on: an initializer (a reference
 * `(sa{sv})` and its argument tuple, both floating or owned; NULL for
 * none) run once by each new worker of the reference's kind, and
 * NAME=VALUE variables for their environment. Workers of an older setup
 * leave once idle. */
void           job_worker_pool_set_setup      (JobWorkerPool       *pool,
                                               GVariant            *init_reference,
                                               GVariant            *init_args,
                                               const char * const  *environment);

/* Runs @batch; @task (on the caller's context) returns TRUE once every
 * task of the batch has an outcome. */
void           job_worker_pool_submit         (JobWorkerPool       *pool,
                                               JobBatch            *batch,
                                               GTask               *task);
/* For backends whose @run_batch_async only hands batches to @pool (the
 * process and remote backends): lets job_worker_pool_for_backend() find
 * the pool, as long as the backend's run_batch_async is still that one
 * (a subclass may replace it). */
void           job_worker_pool_attach         (JobWorkerPool       *pool,
                                               JobBackend          *backend,
                                               gpointer             run_batch_async);
/* The pool that batches of @backend may be submitted to directly, with
 * job_worker_pool_submit_to_inbox(), or NULL. */
JobWorkerPool *job_worker_pool_for_backend    (JobBackend          *backend);

/* Runs @batch; once every task of it has an outcome, it is posted to
 * @inbox with @inbox_data. Batches submitted in a row from one thread
 * reach the pool's thread in one wake-up. */
void           job_worker_pool_submit_to_inbox (JobWorkerPool      *pool,
                                                JobBatch           *batch,
                                                JobBatchInbox      *inbox,
                                                gpointer            inbox_data);
/* Ends the batches whose cancellable is cancelled, at once; other
 * batches continue. */
void           job_worker_pool_abort          (JobWorkerPool       *pool,
                                               JobWorkerAbort       how);
/* Ends every batch (JOB_ERROR_FAILED, "The NAME backend was shut down")
 * and every worker; returns once the launcher released them all. */
void           job_worker_pool_shutdown       (JobWorkerPool       *pool);

/* Keeps @n_workers workers of @kind even without work (until shutdown)
 * and waits until that many are ready, or until @timeout seconds. */
gboolean       job_worker_pool_start_workers  (JobWorkerPool       *pool,
                                               const char          *kind,
                                               guint                n_workers,
                                               double               timeout,
                                               GError             **error);
/* The process ids of the live workers (klass->get_pid). */
GArray        *job_worker_pool_get_pids       (JobWorkerPool       *pool);
/* Runs @func on the pool's thread and waits for it: for a backend that
 * asks its launcher something. */
void           job_worker_pool_invoke_sync    (JobWorkerPool       *pool,
                                               GSourceFunc          func,
                                               gpointer             data);

G_END_DECLS
