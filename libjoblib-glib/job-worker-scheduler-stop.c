/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* JobWorkerScheduler: how work stops. Abort ends the calls of stopped
 * runs (their answers dropped, or their workers killed or all stopped);
 * shutdown ends every call and every worker and returns once the
 * launcher released them all. The queue, the workers and the launcher
 * reports are in job-worker-scheduler.c. Pool thread only. */
#include "config.h"

#include "job-error.h"
#include "job-i18n-private.h"
#include "job-worker-scheduler-state-private.h"

/* How long shutdown waits for workers asked to leave before killing them. */
#define GRACE_MSEC 3000

void
job_worker_scheduler_abort (JobWorkerScheduler *self,
                            JobWorkerAbort      how)
{
  g_autoptr(GError) cancelled =
    g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                         _("The task was stopped: its run was cancelled, timed out or failed"));
  GList *link = self->queue.head;
  JobWorkerRequest *request;

  while (link != NULL)
    {
      GList *next = link->next;

      request = link->data;
      if (job_worker_request_is_cancelled (request))
        {
          g_queue_delete_link (&self->queue, link);
          job_worker_request_finish (request, cancelled);
        }
      link = next;
    }

  for (guint i = self->workers->len; i > 0; i--)
    {
      JobScheduledWorker *worker = g_ptr_array_index (self->workers, i - 1);
      GQueue held = G_QUEUE_INIT;
      GQueue requeued = G_QUEUE_INIT;
      gboolean stopped = FALSE;
      gboolean busy = !g_queue_is_empty (&worker->requests);

      for (GList *l = worker->requests.head; l != NULL; l = l->next)
        {
          request = l->data;
          if (request->op != NULL && job_worker_request_is_cancelled (request))
            {
              stopped = TRUE;
              /* The worker goes on: the request (and its files) stays
               * with it until its DONE. */
              if (how == JOB_WORKER_ABORT_DROP_ANSWERS)
                job_worker_request_abandon (request, cancelled);
            }
        }
      if (how == JOB_WORKER_ABORT_DROP_ANSWERS ||
          (how == JOB_WORKER_ABORT_KILL_BUSY && !stopped))
        continue;

      /* Stopped first, so that the files are unused when they are
       * removed, before the batch completes. Calls of other runs go
       * elsewhere. */
      held = worker->requests;
      g_queue_init (&worker->requests);
      job_worker_scheduler_stop_worker (worker, busy);
      while ((request = g_queue_pop_head (&held)) != NULL)
        {
          if (job_worker_request_is_cancelled (request))
            job_worker_request_finish (request, cancelled);
          else
            g_queue_push_tail (&requeued, request);
        }
      job_worker_requests_requeue (&self->queue, &requeued);
    }

  job_worker_scheduler_pump (self);
}

static gboolean
on_grace_expired (gpointer data)
{
  JobWorkerScheduler *self = data;

  for (guint i = 0; i < self->all->len; i++)
    job_launched_worker_stop (((JobScheduledWorker *) g_ptr_array_index (self->all, i))->launched, TRUE);
  return G_SOURCE_REMOVE;
}

void
job_worker_scheduler_shutdown (JobWorkerScheduler *self)
{
  g_autoptr(GError) error =
    g_error_new (JOB_ERROR, JOB_ERROR_FAILED, _("The %s backend was shut down"),
                 self->launcher->klass->name);
  g_autoptr(GSource) grace = NULL;
  JobWorkerRequest *request;

  /* Reports that come meanwhile must not start anything. */
  self->shutting_down = TRUE;
  g_hash_table_remove_all (self->kept);
  if (self->launcher->klass->begin_shutdown != NULL)
    self->launcher->klass->begin_shutdown (self->launcher);

  job_worker_requests_fail (&self->queue, NULL, error);
  while (self->workers->len > 0)
    {
      JobScheduledWorker *worker = g_ptr_array_index (self->workers, 0);
      GQueue held = worker->requests;

      g_queue_init (&worker->requests);
      job_worker_scheduler_stop_worker (worker, !g_queue_is_empty (&held));
      while ((request = g_queue_pop_head (&held)) != NULL)
        job_worker_request_finish (request, error);
    }

  /* Returns only once every worker was released: no process, no job
   * left behind. Workers asked to leave get a grace period. */
  grace = g_timeout_source_new (GRACE_MSEC);
  g_source_set_static_name (grace, "[joblib-glib] worker shutdown grace");
  g_source_set_callback (grace, on_grace_expired, self, NULL);
  g_source_attach (grace, g_main_context_get_thread_default ());
  while (self->all->len > 0)
    g_main_context_iteration (g_main_context_get_thread_default (), TRUE);
  g_source_destroy (grace);

  if (self->launcher->klass->end_shutdown != NULL)
    self->launcher->klass->end_shutdown (self->launcher);
  g_hash_table_remove_all (self->start_failures);
  g_clear_pointer (&self->start_error, g_free);
  job_shm_pool_drop_free (self->shm_pool);
  self->shutting_down = FALSE;
}
