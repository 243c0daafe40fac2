/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "job-batch.h"
#include "job-batch-inbox-private.h"
#include "job-shm-pool-private.h"

G_BEGIN_DECLS

/* What the worker pool sends to workers: a batch handed to the pool
 * (JobWorkerBatch) is split into one request per function-reference kind
 * (usually one); a request is one CALL frame for one worker, whatever
 * launched it. Used on the pool's thread only. */

typedef struct
{
  /* Where the batch goes when every request is done: a GTask, or an
   * inbox (with @inbox_data) */
  GTask         *task;        /* (owned) (nullable) */
  JobBatchInbox *inbox;       /* (owned) (nullable) */
  gpointer       inbox_data;
  JobBatch      *batch;       /* (owned) */
  guint     n_requests;
  double    duration;    /* seconds, as reported by the workers */
} JobWorkerBatch;

typedef struct
{
  JobWorkerBatch *op;         /* (nullable): NULL once abandoned */
  char           *kind;       /* (owned) */
  GArray         *positions;  /* (owned) (element-type guint) batch positions */
  guint64         id;
  GBytes         *frame;      /* (owned) (nullable) the CALL frame */
  GPtrArray      *shm_files;  /* (owned) (nullable) (element-type JobShmFile)
                               * released to shm_pool when freed */
  JobShmPool     *shm_pool;   /* (owned) (nullable) */
  guint           n_reported; /* tasks answered so far, in order */
  guint           attempt;    /* workers its tasks were lost with so far */
  double          seconds;    /* the call's time, as its DONE reported it */
} JobWorkerRequest;

JobWorkerBatch *job_worker_batch_new              (GTask             *task,
                                                   JobBatch          *batch);
JobWorkerBatch *job_worker_batch_new_for_inbox    (JobBatchInbox     *inbox,
                                                   gpointer           inbox_data,
                                                   JobBatch          *batch);
GPtrArray      *job_worker_batch_split            (JobWorkerBatch    *op,
                                                   guint64           *next_id);
void            job_worker_batch_release          (JobWorkerBatch    *op);

/* Arguments larger than @max_nbytes go to files of @folder from @pool. */
gboolean        job_worker_request_build          (JobWorkerRequest  *request,
                                                   guint64            max_nbytes,
                                                   const char        *folder,
                                                   JobShmPool        *pool,
                                                   GError           **error);
/* A new request for the tasks of @request from @first on (@skip, when
 * below the end, excluded), built; NULL when no task is left. */
JobWorkerRequest *job_worker_request_new_rerun    (JobWorkerRequest  *request,
                                                   guint              first,
                                                   guint              end,
                                                   guint              skip,
                                                   guint64            id);
gboolean        job_worker_request_is_cancelled   (JobWorkerRequest  *request);
void            job_worker_request_abandon        (JobWorkerRequest  *request,
                                                   const GError      *error);
void            job_worker_request_finish         (JobWorkerRequest  *request,
                                                   const GError      *error);
/* _finish() for a call its worker answered to the end (DONE): its
 * shared-memory files may carry the next arguments. */
void            job_worker_request_finish_answered (JobWorkerRequest *request);
void            job_worker_request_free           (JobWorkerRequest  *request);

/* Queues of requests. */
/* Ends every request of @kind (any kind when NULL) in @queue with @error. */
void            job_worker_requests_fail          (GQueue            *queue,
                                                   const char        *kind,
                                                   const GError      *error);
/* Moves @requests to the head of @queue, in their order; abandoned ones
 * are freed. */
void            job_worker_requests_requeue       (GQueue            *queue,
                                                   GQueue            *requests);

G_END_DECLS
