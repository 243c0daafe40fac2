/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* JobWorkerScheduler: the queue of requests, the workers, what their
 * launcher reports, and the placing of requests on workers. How work
 * stops (abort, shutdown) is in job-worker-scheduler-stop.c; the state
 * both share, in job-worker-scheduler-state-private.h. Pool thread only. */
#include "config.h"

#include <string.h>

#include "job-batch-private.h"
#include "job-error.h"
#include "job-i18n-private.h"
#include "job-time-private.h"
#include "job-scheduled-worker-private.h"
#include "job-worker-answers-private.h"
#include "job-worker-loss-private.h"
#include "job-worker-scheduler-state-private.h"
#include "job-worker-request-private.h"

/* Workers of one kind that may end in a row without ever becoming ready
 * before the calls waiting for that kind fail: a wrong worker program or
 * an unreachable driver must not loop forever. */
#define MAX_START_FAILURES 3

static void pump (JobWorkerScheduler *self);

static const JobWorkerLauncherClass *
klass (JobWorkerScheduler *self)
{
  return self->launcher->klass;
}

/* Workers. */

/* Takes @worker out of scheduling; it stays in `all` until its
 * launcher reports its end. */
static void
detach_worker (JobScheduledWorker *worker)
{
  g_assert (g_queue_is_empty (&worker->requests));

  job_scheduled_worker_disarm_idle (worker);
  if (worker->in_use)
    g_ptr_array_remove (worker->scheduler->workers, worker);
  worker->in_use = FALSE;
}

/* Detaches @worker and makes it go; it may be gone on return. */
void
job_worker_scheduler_stop_worker (JobScheduledWorker *worker,
                                  gboolean            kill)
{
  JobLaunchedWorker *launched = worker->launched;

  detach_worker (worker);
  job_launched_worker_stop (launched, kill);
}

static gboolean
on_idle_timeout (gpointer user_data)
{
  JobScheduledWorker *worker = user_data;

  if (g_queue_is_empty (&worker->requests))
    job_worker_scheduler_stop_worker (worker, FALSE);
  return G_SOURCE_REMOVE;
}

static void
set_idle (JobScheduledWorker *worker)
{
  JobWorkerScheduler *self = worker->scheduler;

  /* Kept kinds stay without work. */
  job_scheduled_worker_arm_idle (worker,
                                 g_hash_table_contains (self->kept,
                                                        job_launched_worker_get_kind (worker->launched))
                                   ? -1 : self->settings.idle_timeout,
                                 on_idle_timeout);
}

/* Builds the CALL frame of @request; a request that cannot be built
 * (its arguments cannot be shared) ends with that error. */
static gboolean
build (JobWorkerScheduler *self,
       JobWorkerRequest   *request)
{
  g_autoptr(GError) error = NULL;

  if (job_worker_request_build (request, self->settings.max_nbytes,
                                self->settings.temp_folder, self->shm_pool, &error))
    return TRUE;
  job_worker_request_finish (request, error);
  return FALSE;
}

/* @worker, in use and ready, is gone with its requests. */
static void
lose_worker (JobScheduledWorker *worker,
             const GError       *error,
             const char         *description)
{
  JobWorkerScheduler *self = worker->scheduler;
  g_autofree char *name = job_scheduled_worker_describe (worker);
  JobWorkerLossInfo info = { 0, };
  GQueue requeue = G_QUEUE_INIT;
  JobWorkerRequest *request;

  info.loss = self->loss;
  info.max_retries = self->settings.max_retries;
  info.name = name;
  info.description = description;
  info.error = error;
  info.init_error = worker->init_error;
  info.goodbye = worker->goodbye;
  info.has_running = klass (self)->get_running != NULL &&
                     klass (self)->get_running (self->launcher, worker->launched,
                                                &info.running_id, &info.running);
  job_worker_loss_apply (&worker->requests, &info, &self->next_id, &requeue);

  /* New requests for the tasks that run again are built here. */
  for (GList *l = requeue.head; l != NULL; )
    {
      GList *next = l->next;

      request = l->data;
      if (request->frame == NULL)
        {
          g_queue_delete_link (&requeue, l);
          if (!build (self, request))
            request = NULL;
          if (request != NULL)
            g_queue_insert_before (&requeue, next, request);
        }
      l = next;
    }
  job_worker_requests_requeue (&self->queue, &requeue);
}

/* No worker of @kind can start: its waiting calls fail, and waiters of
 * job_worker_pool_start_workers() learn why. */
static void
fail_kind (JobWorkerScheduler *self,
           const char         *kind,
           const GError       *error)
{
  g_autofree char *name = g_strdup (kind);

  g_free (self->start_error);
  self->start_error = g_strdup (error->message);
  g_hash_table_remove (self->kept, name);
  g_hash_table_remove (self->start_failures, name);
  job_worker_requests_fail (&self->queue, name, error);
}

/* Launcher reports. */

static void
on_ready (JobLaunchedWorker *launched,
          gpointer           data)
{
  JobWorkerScheduler *self = data;
  JobScheduledWorker *worker = job_launched_worker_get_pool_data (launched);
  const char *kind = job_launched_worker_get_kind (launched);

  if (!worker->in_use)
    return;
  worker->ready = TRUE;
  g_hash_table_remove (self->start_failures, kind);
  if (worker->setup == self->settings.setup)
    job_scheduled_worker_send_init (worker, self->settings.init_reference,
                                    self->settings.init_args);
  set_idle (worker);
  pump (self);
}

static void
on_frame (JobLaunchedWorker *launched,
          JobWorkerMessage   message,
          GVariant          *body,
          gpointer           data)
{
  JobWorkerScheduler *self = data;
  JobScheduledWorker *worker = job_launched_worker_get_pool_data (launched);
  JobWorkerRequest *head;
  char *problem = NULL;

  if (message == JOB_WORKER_MESSAGE_GOODBYE)
    {
      job_scheduled_worker_take_goodbye (worker, body);
      return;
    }
  if (!worker->in_use)
    return;

  /* Call 0 is the initializer: its error comes before the worker leaves. */
  if (message == JOB_WORKER_MESSAGE_ERROR && job_scheduled_worker_take_init_error (worker, body))
    return;

  head = g_queue_peek_head (&worker->requests);
  switch (job_worker_answer_apply (head, message, body, NULL, NULL, &problem))
    {
    case JOB_WORKER_ANSWER_TASKS:
      job_worker_answer_mark_running (head);
      break;

    case JOB_WORKER_ANSWER_DONE:
      job_worker_request_finish_answered (job_scheduled_worker_call_done (worker));
      set_idle (worker);
      pump (self);
      break;

    case JOB_WORKER_ANSWER_UNKNOWN:
    case JOB_WORKER_ANSWER_TOO_MANY:
    case JOB_WORKER_ANSWER_MALFORMED:
    default:
      g_free (worker->goodbye);
      worker->goodbye = problem;
      job_launched_worker_stop (launched, TRUE);
      break;
    }
}

static void
on_ended (JobLaunchedWorker *launched,
          const GError      *error,
          const char        *description,
          gpointer           data)
{
  JobWorkerScheduler *self = data;
  JobScheduledWorker *worker = job_launched_worker_get_pool_data (launched);
  const char *kind = job_launched_worker_get_kind (launched);

  if (worker->in_use && !worker->ready)
    {
      if (error != NULL)
        fail_kind (self, kind, error);
      else
        {
          guint n = GPOINTER_TO_UINT (g_hash_table_lookup (self->start_failures, kind));

          g_hash_table_insert (self->start_failures, g_strdup (kind), GUINT_TO_POINTER (n + 1));
          if (n + 1 >= MAX_START_FAILURES)
            {
              g_autoptr(GError) failed =
                g_error_new (JOB_ERROR, JOB_ERROR_WORKER_DIED,
                             _("%u %s workers in a row ended without connecting: %s"),
                             n + 1, kind, description);

              fail_kind (self, kind, failed);
            }
        }
    }
  else if (worker->in_use)
    {
      job_scheduled_worker_warn_unseen_end (worker, error, description);
      lose_worker (worker, error, description);
    }
  detach_worker (worker);

  g_ptr_array_remove (self->all, worker);
  klass (self)->release (self->launcher, launched);
  job_launched_worker_free (launched);
  job_scheduled_worker_free (worker);
  pump (self);
}

static JobScheduledWorker *
new_worker (JobWorkerScheduler *self,
            const char         *kind,
            int                 inner_threads,
            guint               setup)
{
  JobScheduledWorker *worker = job_scheduled_worker_new (self, inner_threads, setup);

  worker->launched = job_launched_worker_new (self->launcher, kind, worker);
  g_ptr_array_add (self->workers, worker);
  g_ptr_array_add (self->all, worker);
  return worker;
}

static JobLaunchedWorker *
on_adopt (const char *kind,
          gpointer    data)
{
  JobWorkerScheduler *self = data;

  return new_worker (self, kind, self->settings.inner_threads, self->settings.setup)->launched;
}

static const JobWorkerLauncherEvents events = {
  on_ready, on_frame, on_ended, on_adopt,
};

/* Asks the launcher for a worker of @kind; NULL with @error when none can
 * start. */
static JobScheduledWorker *
start_worker (JobWorkerScheduler  *self,
              const char          *kind,
              GError             **error)
{
  JobWorkerSetup setup;
  JobScheduledWorker *worker;
  guint n_failures = GPOINTER_TO_UINT (g_hash_table_lookup (self->start_failures, kind));

  if (n_failures >= MAX_START_FAILURES)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_WORKER_DIED,
                   _("%u %s workers in a row ended without connecting"), n_failures, kind);
      return NULL;
    }

  setup.inner_threads = self->settings.inner_threads;
  setup.inner_explicit = self->settings.inner_explicit;
  setup.environment = (const char * const *) self->settings.environment;
  worker = new_worker (self, kind, self->settings.inner_threads, self->settings.setup);

  if (!klass (self)->start (self->launcher, worker->launched, &setup, error))
    {
      detach_worker (worker);
      g_ptr_array_remove (self->all, worker);
      job_launched_worker_free (worker->launched);
      job_scheduled_worker_free (worker);
      return NULL;
    }
  return worker;
}

/* Starts workers of @kind, up to @n_workers of it; fails the kind when
 * none can start. Returns the first ready one, if any. */
static JobScheduledWorker *
start_workers (JobWorkerScheduler *self,
               const char         *kind,
               int                 n_of_kind,
               int                 n_workers)
{
  int wanted = klass (self)->start_all_at_once ? n_workers - n_of_kind : 1;
  JobScheduledWorker *ready = NULL;

  for (int i = 0; i < wanted; i++)
    {
      g_autoptr(GError) error = NULL;
      JobScheduledWorker *worker = start_worker (self, kind, &error);

      if (worker == NULL)
        {
          fail_kind (self, kind, error);
          break;
        }
      if (ready == NULL && worker->in_use && worker->ready)
        ready = worker;
    }
  return ready;
}

/* Hands queued requests to ready workers of their kind: an idle worker
 * first, then a new worker while the pool has fewer than n-workers of
 * that kind (and no worker being started for it already), then the least
 * busy one (with a slow launcher, only when no worker of that kind is
 * still starting). Kept kinds get their workers even without work. */
static void
pump_once (JobWorkerScheduler *self)
{
  g_autoptr(GHashTable) claimed = NULL;   /* made when first needed */
  GHashTableIter iter;
  gpointer kind;
  GList *link;
  const char *full_kind = NULL;
  gint64 now = 0;
  int n_workers;
  int inner_threads;
  guint setup;

  n_workers = self->settings.n_workers;
  inner_threads = self->settings.inner_threads;
  setup = self->settings.setup;

  /* Workers started for other settings leave once idle. */
  for (guint i = self->workers->len; i > 0; i--)
    {
      JobScheduledWorker *worker = g_ptr_array_index (self->workers, i - 1);

      if (worker->ready && !job_scheduled_worker_is_current (worker, inner_threads, setup) &&
          g_queue_is_empty (&worker->requests))
        job_worker_scheduler_stop_worker (worker, FALSE);
    }

  link = self->queue.head;
  while (link != NULL)
    {
      JobWorkerRequest *request = link->data;
      GList *next = link->next;
      JobScheduledWorker *best = NULL;
      int n_of_kind = 0;
      guint n_starting = 0;
      gboolean waits = FALSE;

      if (request->op == NULL)
        {
          g_queue_delete_link (&self->queue, link);
          job_worker_request_free (request);
          link = next;
          continue;
        }
      /* Its kind has all the workers it may have, all full: so do the
       * requests behind it (with deep queues, most of a round). */
      if (full_kind != NULL && strcmp (full_kind, request->kind) == 0)
        {
          link = next;
          continue;
        }

      for (guint i = 0; i < self->workers->len; i++)
        {
          JobScheduledWorker *worker = g_ptr_array_index (self->workers, i);

          if (!job_launched_worker_is_alive (worker->launched) ||
              g_strcmp0 (job_launched_worker_get_kind (worker->launched), request->kind) != 0)
            continue;
          n_of_kind++;
          if (!worker->ready)
            n_starting++;
          /* The least busy of those with room: a worker fed shallow
           * (long calls) is full before one fed deep. */
          else if (job_scheduled_worker_is_current (worker, inner_threads, setup) &&
                   worker->init_error == NULL &&
                   (best == NULL || worker->requests.length < best->requests.length) &&
                   worker->requests.length < job_scheduled_worker_get_depth (worker, &now))
            best = worker;
        }

      if ((best == NULL || best->requests.length > 0) && n_of_kind < n_workers)
        {
          guint n_claimed;

          if (claimed == NULL)
            claimed = g_hash_table_new (g_str_hash, g_str_equal);
          n_claimed = GPOINTER_TO_UINT (g_hash_table_lookup (claimed, request->kind));

          /* A worker being started will take it. */
          if (n_claimed < n_starting)
            {
              g_hash_table_insert (claimed, request->kind, GUINT_TO_POINTER (n_claimed + 1));
              waits = TRUE;
            }
          else
            {
              JobScheduledWorker *started = start_workers (self, request->kind, n_of_kind, n_workers);
              GList *still = g_queue_find (&self->queue, request);

              /* A kind that cannot start took its waiting requests. */
              if (still == NULL)
                {
                  link = self->queue.head;
                  continue;
                }
              next = still->next;
              if (started != NULL)
                best = started;
              else
                {
                  g_hash_table_insert (claimed, request->kind, GUINT_TO_POINTER (n_claimed + 1));
                  waits = TRUE;
                }
            }
        }

      /* Slow launchers' workers (remote ones) connect one by one: rather
       * than piling calls on the first one connected while others still
       * come, a call waits for one of them, or for a ready worker to be
       * idle again. */
      if (klass (self)->start_all_at_once && best != NULL && best->requests.length > 0)
        {
          guint n_claimed;

          if (claimed == NULL)
            claimed = g_hash_table_new (g_str_hash, g_str_equal);
          n_claimed = GPOINTER_TO_UINT (g_hash_table_lookup (claimed, request->kind));

          if (!waits && n_claimed < n_starting)
            {
              g_hash_table_insert (claimed, request->kind, GUINT_TO_POINTER (n_claimed + 1));
              waits = TRUE;
            }
          if (waits)
            {
              link = next;
              continue;
            }
        }

      if (best == NULL)
        {
          if (n_of_kind >= n_workers)
            full_kind = request->kind;
          link = next;
          continue;
        }

      g_queue_remove (&self->queue, request);
      if (request->frame == NULL && !build (self, request))
        {
          link = next;
          continue;
        }
      job_scheduled_worker_sent (best, request, now);
      job_launched_worker_send (best->launched, request->frame);
      link = next;
    }

  /* Kinds asked for ahead of any batch (start_workers). */
  g_hash_table_iter_init (&iter, self->kept);
  while (g_hash_table_iter_next (&iter, &kind, NULL))
    {
      int n_of_kind = 0;

      for (guint i = 0; i < self->workers->len; i++)
        n_of_kind += g_strcmp0 (job_launched_worker_get_kind (
                                  ((JobScheduledWorker *) g_ptr_array_index (self->workers, i))->launched),
                                kind) == 0;
      while (n_of_kind < n_workers && g_hash_table_contains (self->kept, kind))
        {
          g_autoptr(GError) error = NULL;
          g_autofree char *name = g_strdup (kind);

          if (start_worker (self, name, &error) == NULL)
            {
              fail_kind (self, name, error);
              return;   /* the table changed under the iterator */
            }
          n_of_kind++;
        }
    }
}

/* Reports may come while the scheduler pumps (a launcher whose workers are
 * ready at once): they ask for one more round instead of nesting. */
static void
pump (JobWorkerScheduler *self)
{
  if (self->shutting_down)
    return;
  if (self->pumping)
    {
      self->pump_again = TRUE;
      return;
    }
  self->pumping = TRUE;
  do
    {
      self->pump_again = FALSE;
      pump_once (self);
    }
  while (self->pump_again);
  self->pumping = FALSE;
}

JobWorkerScheduler *
job_worker_scheduler_new (JobWorkerLauncher *launcher,
                          JobWorkerLoss      loss)
{
  JobWorkerScheduler *self = g_new0 (JobWorkerScheduler, 1);

  job_worker_settings_init (&self->settings);
  self->launcher = launcher;
  self->loss = loss;
  self->shm_pool = job_shm_pool_new ();
  launcher->events = &events;
  launcher->pool = self;
  g_queue_init (&self->queue);
  self->workers = g_ptr_array_new ();
  self->all = g_ptr_array_new ();
  self->start_failures = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->kept = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return self;
}

/* Work: the pool thread. */

void
job_worker_scheduler_set_settings (JobWorkerScheduler      *self,
                                   const JobWorkerSettings *settings)
{
  job_worker_settings_copy (settings, &self->settings);
  /* A new idle timeout applies to the workers already idle too. */
  for (guint i = 0; i < self->workers->len; i++)
    set_idle (g_ptr_array_index (self->workers, i));
}

void
job_worker_scheduler_enqueue (JobWorkerScheduler *self,
                              JobWorkerBatch     *op)
{
  g_autoptr(GPtrArray) requests = job_worker_batch_split (op, &self->next_id);

  /* Frames are built when a worker takes them (pump_once): a large
   * argument's file is written then, and is free again for the next
   * large argument as soon as the worker answers. */
  for (guint i = 0; i < requests->len; i++)
    g_queue_push_tail (&self->queue, g_ptr_array_index (requests, i));
  job_worker_batch_release (op);
}

void
job_worker_scheduler_pump (JobWorkerScheduler *self)
{
  pump (self);
}

void
job_worker_scheduler_append_pids (JobWorkerScheduler *self,
                                  GArray             *pids)
{
  for (guint i = 0; klass (self)->get_pid != NULL && i < self->workers->len; i++)
    {
      JobScheduledWorker *worker = g_ptr_array_index (self->workers, i);
      GPid pid = (GPid) klass (self)->get_pid (self->launcher, worker->launched);

      /* never 0 (kill (0, ...) would hit the caller's process group) */
      if (pid > 0 && job_launched_worker_is_alive (worker->launched))
        g_array_append_val (pids, pid);
    }
}

void
job_worker_scheduler_keep (JobWorkerScheduler *self,
                           const char         *kind)
{
  g_hash_table_add (self->kept, g_strdup (kind));
  g_clear_pointer (&self->start_error, g_free);
  pump (self);
}

guint
job_worker_scheduler_count_ready (JobWorkerScheduler  *self,
                                  char               **start_error)
{
  guint n_ready = 0;

  for (guint i = 0; i < self->workers->len; i++)
    {
      JobScheduledWorker *worker = g_ptr_array_index (self->workers, i);

      n_ready += worker->ready && job_launched_worker_is_alive (worker->launched);
    }
  if (start_error != NULL)
    *start_error = g_strdup (self->start_error);
  return n_ready;
}

void
job_worker_scheduler_free (JobWorkerScheduler *self)
{
  g_assert (g_queue_is_empty (&self->queue));
  g_assert (self->workers->len == 0 && self->all->len == 0);

  self->launcher->klass->free (self->launcher);
  g_ptr_array_unref (self->workers);
  g_ptr_array_unref (self->all);
  g_hash_table_unref (self->start_failures);
  g_hash_table_unref (self->kept);
  g_free (self->start_error);
  job_shm_pool_unref (self->shm_pool);
  job_worker_settings_clear (&self->settings);
  g_free (self);
}
