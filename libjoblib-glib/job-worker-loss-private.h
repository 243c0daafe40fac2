/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "job-worker-request-private.h"

G_BEGIN_DECLS

/* What happens to the calls of a worker that is lost while it holds them:
 * the policy of the worker pool, apart from its scheduling. Pool thread
 * only. */

typedef enum
{
  /* Local processes: the task that was running when the worker died gets
   * the error (it most likely killed it); the tasks whose answers were
   * lost with it, and the calls not started, run again. */
  JOB_WORKER_LOSS_BLAME_RUNNING,
  /* Remote workers (a node lost, a job cancelled): every unanswered task
   * runs again elsewhere, up to max-retries times; then it fails with
   * JOB_ERROR_WORKER_DIED. */
  JOB_WORKER_LOSS_RETRY,
} JobWorkerLoss;

typedef struct
{
  JobWorkerLoss  loss;
  guint          max_retries;
  const char    *name;         /* "worker 4242" */
  const char    *description;  /* how it ended: "worker 4242 killed by signal 9" */
  const GError  *error;        /* (nullable) it broke the protocol */
  const GError  *init_error;   /* (nullable) its initializer failed */
  const char    *goodbye;      /* (nullable) the reason it gave for leaving */
  /* The task it was running, from its status page, if known. */
  gboolean       has_running;
  guint64        running_id;
  guint32        running;
} JobWorkerLossInfo;

/* Empties @in_flight, the lost worker's requests (oldest first): each
 * task without an outcome gets its error, or runs again. Appends to
 * @requeue the new requests for the tasks that run again (not built yet:
 * no frame; their ids come from @next_id), then the requests that never
 * started, in order. */
void job_worker_loss_apply (GQueue                  *in_flight,
                            const JobWorkerLossInfo *info,
                            guint64                 *next_id,
                            GQueue                  *requeue);

G_END_DECLS
