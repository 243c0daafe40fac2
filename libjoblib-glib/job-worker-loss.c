/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-batch-private.h"
#include "job-error.h"
#include "job-i18n-private.h"
#include "job-worker-loss-private.h"

/* JOB_WORKER_LOSS_BLAME_RUNNING. The tasks of the head request that
 * completed before the crashed one lost their results with the worker:
 * their answers were still in its buffer. They run again, as in
 * schedulers that lose a worker (Dask, Spark), so that the crash is
 * reported for the task that crashed; the tasks after it run too unless
 * the batch stops at its first error. */
static void
blame_running_task (JobWorkerRequest        *head,
                    const JobWorkerLossInfo *info,
                    guint64                 *next_id,
                    GQueue                  *requeue)
{
  g_autoptr(GError) crashed = NULL;
  JobBatch *batch = head->op->batch;
  JobWorkerRequest *rerun;
  guint32 running = head->n_reported;
  guint end;

  /* The status page names the task even when the results of the tasks
   * before it were still in the worker's buffer. */
  if (info->has_running && info->running_id == head->id &&
      info->running < head->positions->len)
    running = info->running;
  running = MIN (running, head->positions->len - 1);

  if (info->error != NULL)
    crashed = g_error_new (JOB_ERROR, JOB_ERROR_PROTOCOL,
                           _("%s broke the worker protocol: %s"),
                           info->name, info->error->message);
  else if (info->goodbye != NULL && info->goodbye[0] != '\0')
    crashed = g_error_new (JOB_ERROR, JOB_ERROR_PROTOCOL,
                           _("%s after leaving: %s"), info->description, info->goodbye);
  else
    crashed = g_error_new_literal (JOB_ERROR, JOB_ERROR_WORKER_DIED, info->description);
  job_batch_set_error (batch, g_array_index (head->positions, guint, running), crashed);

  end = job_batch_get_stop_on_error (batch) ? running : head->positions->len;
  rerun = job_worker_request_new_rerun (head, head->n_reported, end, running, ++*next_id);
  if (rerun != NULL)
    g_queue_push_tail (requeue, rerun);
  job_worker_request_finish (head, NULL);
}

static gboolean
running_is_later (GQueue  *in_flight,
                  guint64  running_id)
{
  for (GList *l = in_flight->head; l != NULL; l = l->next)
    if (((JobWorkerRequest *) l->data)->id == running_id)
      return TRUE;
  return FALSE;
}

/* The unanswered tasks of @request, which ran but whose answers were
 * lost, run again; not a retry: the worker did not die in them. */
static void
rerun_whole (JobWorkerRequest *request,
             guint64          *next_id,
             GQueue           *requeue)
{
  JobWorkerRequest *rerun = job_worker_request_new_rerun (request, request->n_reported,
                                                          request->positions->len,
                                                          G_MAXUINT, ++*next_id);

  if (rerun != NULL)
    g_queue_push_tail (requeue, rerun);
  job_worker_request_finish (request, NULL);
}

/* JOB_WORKER_LOSS_RETRY: the unanswered tasks of @request run again
 * elsewhere, unless they were lost too often. */
static void
retry_lost_tasks (JobWorkerRequest        *request,
                  const JobWorkerLossInfo *info,
                  guint64                 *next_id,
                  GQueue                  *requeue)
{
  JobWorkerRequest *rerun;

  if (request->attempt >= info->max_retries && request->n_reported < request->positions->len)
    {
      g_autoptr(GError) error =
        g_error_new (JOB_ERROR, JOB_ERROR_WORKER_DIED,
                     _("%s; the task was lost with %u workers, the retry limit"),
                     info->error != NULL ? info->error->message : info->description,
                     request->attempt + 1);

      job_worker_request_finish (request, error);
      return;
    }
  rerun = job_worker_request_new_rerun (request, request->n_reported, request->positions->len,
                                        G_MAXUINT, ++*next_id);
  if (rerun != NULL)
    {
      rerun->attempt = request->attempt + 1;
      g_queue_push_tail (requeue, rerun);
    }
  job_worker_request_finish (request, NULL);
}

void
job_worker_loss_apply (GQueue                  *in_flight,
                       const JobWorkerLossInfo *info,
                       guint64                 *next_id,
                       GQueue                  *requeue)
{
  JobWorkerRequest *head = g_queue_pop_head (in_flight);
  JobWorkerRequest *request;

  if (head == NULL)
    return;
  if (head->op == NULL)
    job_worker_request_free (head);
  else if (info->init_error != NULL)
    {
      /* No worker of this setup can run the call: every task of it gets
       * the initializer's error, none runs again. */
      for (guint i = head->n_reported; i < head->positions->len; i++)
        job_batch_set_error (head->op->batch, g_array_index (head->positions, guint, i),
                             info->init_error);
      job_worker_request_finish (head, NULL);
    }
  else if (info->loss == JOB_WORKER_LOSS_BLAME_RUNNING)
    {
      /* A worker holds the answers of several calls while more are
       * queued in its input: when it died in a later call, the calls
       * before it ran to the end but their answers died in its buffer.
       * They run again, and the crash is the running call's. */
      while (info->has_running && head->id != info->running_id &&
             running_is_later (in_flight, info->running_id))
        {
          if (head->op == NULL)
            job_worker_request_free (head);
          else
            rerun_whole (head, next_id, requeue);
          head = g_queue_pop_head (in_flight);
        }
      if (head->op == NULL)
        job_worker_request_free (head);
      else
        blame_running_task (head, info, next_id, requeue);
    }
  else
    {
      retry_lost_tasks (head, info, next_id, requeue);
      /* The others were sent too: lost with the worker as well. */
      while ((request = g_queue_pop_head (in_flight)) != NULL)
        {
          if (request->op == NULL)
            job_worker_request_free (request);
          else
            retry_lost_tasks (request, info, next_id, requeue);
        }
    }

  /* Calls that never started run elsewhere. */
  while ((request = g_queue_pop_head (in_flight)) != NULL)
    g_queue_push_tail (requeue, request);
}
