/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-batch-private.h"
#include "job-i18n-private.h"
#include "job-scheduled-worker-private.h"
#include "job-time-private.h"
#include "job-worker-answers-private.h"
#include "job-worker-protocol-private.h"

/* Calls queued on one worker at most. A pipe round trip costs ~39 µs
 * here, and waking a sleeping process on the other CPU ~25 µs each way,
 * while 32 small messages in flight on a pipe cost 2 µs each: a worker
 * that always has its next calls waiting in its pipe never idles between
 * calls, reads them in one go and answers them in one write. That holds
 * for short calls only: behind a long one, queued calls wait while other
 * workers may idle. So a worker gets MAX_IN_FLIGHT calls while its calls
 * are short (their mean, as the worker reports them, under SHORT_CALL_SEC,
 * and the one running now started less than SHORT_HEAD_USEC ago: the
 * worker may hold answers 10 ms, see the protocol), and SHALLOW_IN_FLIGHT
 * (one running, one waiting) before its first call ended or once its
 * calls are long. A worker lost with its calls has them run again
 * (job-worker-loss.c), whatever the depth. */
#define MAX_IN_FLIGHT     16
#define SHALLOW_IN_FLIGHT 2
#define SHORT_CALL_SEC    1e-3
#define SHORT_HEAD_USEC   (20 * 1000)

JobScheduledWorker *
job_scheduled_worker_new (struct _JobWorkerScheduler *scheduler,
                          int                         inner_threads,
                          guint                       setup)
{
  JobScheduledWorker *worker = g_new0 (JobScheduledWorker, 1);

  worker->scheduler = scheduler;
  worker->inner_threads = inner_threads;
  worker->setup = setup;
  worker->in_use = TRUE;
  worker->call_sec = -1;
  g_queue_init (&worker->requests);
  return worker;
}

void
job_scheduled_worker_free (JobScheduledWorker *worker)
{
  job_scheduled_worker_disarm_idle (worker);
  g_clear_error (&worker->init_error);
  g_free (worker->goodbye);
  g_free (worker);
}

void
job_scheduled_worker_disarm_idle (JobScheduledWorker *worker)
{
  if (worker->idle_source != NULL)
    {
      g_source_destroy (worker->idle_source);
      g_clear_pointer (&worker->idle_source, g_source_unref);
    }
}

static gboolean
on_idle (gpointer data)
{
  JobScheduledWorker *worker = data;

  g_clear_pointer (&worker->idle_source, g_source_unref);
  return worker->on_idle (worker);
}

void
job_scheduled_worker_arm_idle (JobScheduledWorker *worker,
                               double              seconds,
                               GSourceFunc         on_timeout)
{
  job_scheduled_worker_disarm_idle (worker);
  if (!g_queue_is_empty (&worker->requests) || !worker->ready || !worker->in_use ||
      seconds < 0 || job_seconds_unlimited (seconds))
    return;

  worker->on_idle = on_timeout;
  worker->idle_source = g_timeout_source_new (job_seconds_to_msec (seconds));
  g_source_set_static_name (worker->idle_source, "[joblib-glib] worker idle timeout");
  g_source_set_callback (worker->idle_source, on_idle, worker, NULL);
  g_source_attach (worker->idle_source, g_main_context_get_thread_default ());
}

guint
job_scheduled_worker_get_depth (JobScheduledWorker *worker,
                                gint64             *now)
{
  if (worker->call_sec < 0 || worker->call_sec >= SHORT_CALL_SEC)
    return SHALLOW_IN_FLIGHT;
  if (worker->requests.length < SHALLOW_IN_FLIGHT)
    return SHALLOW_IN_FLIGHT;
  if (*now == 0)
    *now = g_get_monotonic_time ();
  return *now - worker->head_since < SHORT_HEAD_USEC ? MAX_IN_FLIGHT : SHALLOW_IN_FLIGHT;
}

void
job_scheduled_worker_sent (JobScheduledWorker *worker,
                           JobWorkerRequest   *request,
                           gint64              now)
{
  g_queue_push_tail (&worker->requests, request);
  job_scheduled_worker_disarm_idle (worker);
  if (worker->requests.length == 1)
    {
      worker->head_since = now != 0 ? now : g_get_monotonic_time ();
      job_worker_answer_mark_running (request);
    }
}

JobWorkerRequest *
job_scheduled_worker_call_done (JobScheduledWorker *worker)
{
  JobWorkerRequest *head = g_queue_pop_head (&worker->requests);

  /* Smoothed as the dispatcher's batch sizer does (0.8 / 0.2). */
  worker->call_sec = worker->call_sec < 0 ? head->seconds
                                          : 0.8 * worker->call_sec + 0.2 * head->seconds;
  worker->head_since = g_get_monotonic_time ();
  if (head->op != NULL)
    job_batch_set_running (head->op->batch, 0, 0);
  job_worker_answer_mark_running (g_queue_peek_head (&worker->requests));
  return head;
}

void
job_scheduled_worker_take_goodbye (JobScheduledWorker *worker,
                                   GVariant           *goodbye_body)
{
  g_free (worker->goodbye);
  g_variant_get (goodbye_body, "(s)", &worker->goodbye);
}

gboolean
job_scheduled_worker_is_current (JobScheduledWorker *worker,
                                 int                 inner_threads,
                                 guint               setup)
{
  return worker->inner_threads == inner_threads && worker->setup == setup;
}

void
job_scheduled_worker_send_init (JobScheduledWorker *worker,
                                GVariant           *reference,
                                GVariant           *args)
{
  g_autoptr(GByteArray) frame = NULL;
  g_autoptr(GBytes) bytes = NULL;
  const char *kind = NULL;
  GVariant *fields[2];

  if (reference == NULL)
    return;
  g_variant_get_child (reference, 0, "&s", &kind);
  if (!g_str_equal (kind, job_launched_worker_get_kind (worker->launched)))
    return;

  frame = g_byte_array_new ();
  fields[0] = reference;
  fields[1] = g_variant_new_variant (args);
  job_worker_frame_append (frame, JOB_WORKER_MESSAGE_INIT, g_variant_new_tuple (fields, 2));
  bytes = g_byte_array_free_to_bytes (g_steal_pointer (&frame));
  job_launched_worker_send (worker->launched, bytes);
}

char *
job_scheduled_worker_describe (JobScheduledWorker *worker)
{
  JobWorkerLauncher *launcher = job_launched_worker_get_launcher (worker->launched);

  if (launcher->klass->describe != NULL)
    return launcher->klass->describe (launcher, worker->launched);
  return g_strdup_printf (_("a %s worker"), job_launched_worker_get_kind (worker->launched));
}

gboolean
job_scheduled_worker_take_init_error (JobScheduledWorker *worker,
                                      GVariant           *error_body)
{
  g_autofree char *name = NULL;
  const char *domain;
  const char *text;
  guint64 id;
  int code;

  if (worker->init_error != NULL)
    return FALSE;
  g_variant_get (error_body, "(tu&si&s)", &id, NULL, &domain, &code, &text);
  if (id != 0)
    return FALSE;
  name = job_scheduled_worker_describe (worker);
  worker->init_error = g_error_new (g_quark_from_string (domain), code,
                                    _("the initializer of %s failed: %s"), name, text);
  return TRUE;
}

void
job_scheduled_worker_warn_unseen_end (JobScheduledWorker *worker,
                                      const GError       *error,
                                      const char         *description)
{
  JobWorkerLauncher *launcher = job_launched_worker_get_launcher (worker->launched);
  JobWorkerRequest *head = g_queue_peek_head (&worker->requests);
  gboolean clean = launcher->klass->ended_cleanly == NULL ||
                   launcher->klass->ended_cleanly (launcher, worker->launched);

  /* When it was running a live call, that call's task gets the error;
   * otherwise (idle, or finishing a call nobody waits for) no task will
   * say it, and a crash after the answers would go unseen: say it here.
   * A failed initializer is reported to the tasks instead. */
  if ((head == NULL || head->op == NULL) && worker->init_error == NULL && !clean)
    g_warning (_("A %s worker ended while it had nothing to run: %s%s%s"),
               job_launched_worker_get_kind (worker->launched),
               error != NULL ? error->message : description,
               worker->goodbye != NULL && worker->goodbye[0] != '\0' ? ": " : "",
               worker->goodbye != NULL ? worker->goodbye : "");
}
