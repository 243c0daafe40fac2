/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "job-auto-batch-private.h"
#include "job-batch-inbox-private.h"
#include "job-batch-private.h"
#include "job-cancel-watch-private.h"
#include "job-parallel-dispatcher-private.h"
#include "job-progress-printer-private.h"
#include "job-worker-pool-private.h"

G_BEGIN_DECLS

/* The inside of a run, for the two files that implement it:
 * job-parallel-dispatcher-feed.c (the start, the input cut into batches
 * and handed to the backend, its worker pool or the owner context, and the
 * batches that come back) above job-parallel-dispatcher.c (the run made
 * ready, results, errors, cancellation, timeouts, completion). Nothing
 * else includes this. */

/* One run of a JobParallel: the dispatcher.
 *
 * All of the run's state lives on one main context (the caller's
 * thread-default context when the run started) and is only touched there:
 * batches come back through GAsyncReadyCallbacks on that context, the
 * cancellable and the timeout watch are GSources attached to it. Worker
 * threads only ever see a JobBatch. So no lock guards this struct, and the
 * reference count is not atomic. */
typedef struct _JobDispatcher JobDispatcher;

struct _JobDispatcher
{
  grefcount           ref_count;
  GTask              *task;              /* (owned) (nullable): NULL once completed */
  GMainContext       *context;           /* (owned) */
  JobRunOptions       options;
  JobAutoBatch       sizer;

  /* input */
  GPtrArray          *calls;             /* (owned) (nullable) (element-type JobCall) */
  JobCallIterateFunc  source;
  gpointer            source_data;
  GDestroyNotify      source_destroy;
  JobCall            *pending_call;      /* (owned) (nullable): pulled, not dispatched */
  guint               n_dispatched_calls;
  /* Tasks count the calls' task counts (job_call_get_task_count): what
   * progress, verbose lines and batch sizes are in. */
  guint               n_dispatched_tasks;
  guint               total_tasks;       /* of the array input */
  guint               n_dispatched_batches;
  gboolean            exhausted;

  /* output */
  GPtrArray          *values;            /* (owned) (element-type GVariant) (nullable items) */
  GPtrArray          *errors;            /* (owned) (nullable) (element-type GError) */
  guint               n_completed;
  guint               n_progress;      /* n_completed when progress was last reported */
  GPtrArray          *in_flight;         /* (owned) (element-type JobBatch) */
  /* Backends over a worker pool take batches without a GTask each, and
   * give them back through the inbox, several per wake-up. */
  JobWorkerPool      *pool;              /* (nullable) the backend's */
  JobBatchInbox      *inbox;             /* (owned) (nullable) */

  /* stopping */
  GError             *error;             /* (owned) (nullable) */
  gboolean            stopping;
  gboolean            dispatching;
  GCancellable       *tasks_cancellable; /* (owned): what the tasks see */
  GCancellable       *cancellable;       /* (owned) (nullable): the caller's */
  JobCancelWatch     *cancel_watch;      /* (owned) (nullable): on cancellable */
  GSource            *timeout_source;    /* (owned) (nullable) */
  JobProgressPrinter *printer;           /* (owned) */
};

JobDispatcher *job_dispatcher_ref                (JobDispatcher *run);
void           job_dispatcher_unref              (JobDispatcher *run);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobDispatcher, job_dispatcher_unref)

/* @tasks plus the tasks of @call, saturated */
guint          job_dispatcher_add_tasks          (guint          tasks,
                                                  JobCall       *call);

/* job-parallel-dispatcher.c: the core, below the feed; it never calls
 * the feed. */
/* A run made ready on the thread-default main context, nothing dispatched
 * yet; a run whose @cancellable was already cancelled comes back completed
 * (its task returned). Takes the options' contents. */
JobDispatcher *job_dispatcher_new                (JobRunOptions      *options,
                                                  GPtrArray          *calls,
                                                  JobCallIterateFunc  source,
                                                  gpointer            source_data,
                                                  GDestroyNotify      source_destroy,
                                                  GCancellable       *cancellable,
                                                  GTask              *task);
/* Records the outcomes of @batch (taking @batch_error), its progress and
 * verbose line; the feed then dispatches more. */
void           job_dispatcher_batch_done         (JobDispatcher *run,
                                                  JobBatch      *batch,
                                                  GError        *batch_error);
/* Stops dispatching (the first @reason, taken, wins); with @now the run
 * completes before its batches came back. */
void           job_dispatcher_stop               (JobDispatcher *run,
                                                  GError        *reason,
                                                  gboolean       now);
void           job_dispatcher_maybe_complete     (JobDispatcher *run);

/* job-parallel-dispatcher-feed.c, above the core, defines
 * job_dispatcher_start() (job-parallel-dispatcher-private.h). */

G_END_DECLS
