/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-batch-private.h"
#include "job-context-call-private.h"
#include "job-error.h"
#include "job-function.h"
#include "job-i18n-private.h"
#include "job-process-pool-private.h"
#include "job-process-request-private.h"
#include "job-worker-command-private.h"
#include "job-process-worker-private.h"
#include "job-time-private.h"
#include "job-worker-answers-private.h"

/* Calls queued on one worker at most. A pipe round trip costs ~39 µs
 * here while 32 messages in flight cost 2 µs each: a worker that always
 * has its next call waiting in the pipe never idles between calls. */
#define MAX_IN_FLIGHT 4
/* How long shutdown waits for workers asked to leave before killing them. */
#define GRACE_MSEC JOB_PROCESS_WORKER_EXIT_GRACE_MSEC
static const char * const thread_variables[] = {
  "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
  "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS",
};

typedef struct
{
  JobProcessWorker *process;   /* (owned) */
  GQueue            requests;  /* (element-type JobProcessRequest) in flight, in order */
  int               inner_threads;
  guint             setup;       /* the pool's setup when it started */
  GError           *init_error;  /* (owned) (nullable) its initializer failed */
  GSource          *idle_source; /* (owned) (nullable) */
  char             *goodbye;   /* (owned) (nullable) reason the worker gave */
} PoolWorker;

struct _JobProcessPool
{
  /* settings, guarded by mutex */
  GMutex        mutex;
  int           n_jobs;
  int           inner_threads;
  gboolean      inner_explicit;
  /* the worker setup: initializer and environment; setup counts changes */
  GVariant     *init_reference; /* (owned) (nullable) (sa{sv}) */
  GVariant     *init_args;      /* (owned) (nullable) */
  char        **environment;    /* (owned) (nullable) NAME=VALUE */
  guint         setup;
  guint64       max_nbytes;
  double        idle_timeout;
  char         *temp_folder;

  GThread      *thread;
  GMainContext *context;        /* (owned) */
  GMainLoop    *loop;           /* (owned) */
  gboolean      free_on_exit;

  /* pool thread only */
  GQueue        queue;          /* (element-type JobProcessRequest) waiting */
  GPtrArray    *workers;        /* (element-type PoolWorker) in use */
  GPtrArray    *processes;      /* (element-type JobProcessWorker) not yet reaped */
  guint64       next_id;
};

static void pump (JobProcessPool *pool);

/* Workers. */

static PoolWorker *
find_worker (JobProcessPool   *pool,
             JobProcessWorker *process)
{
  for (guint i = 0; i < pool->workers->len; i++)
    {
      PoolWorker *worker = g_ptr_array_index (pool->workers, i);

      if (worker->process == process)
        return worker;
    }
  return NULL;
}

static void
pool_worker_free (PoolWorker *worker)
{
  g_assert (g_queue_is_empty (&worker->requests));

  if (worker->idle_source != NULL)
    {
      g_source_destroy (worker->idle_source);
      g_source_unref (worker->idle_source);
    }
  job_process_worker_unref (worker->process);
  g_clear_error (&worker->init_error);
  g_free (worker->goodbye);
  g_free (worker);
}

/* Removes @worker from the pool; its process is still tracked until it
 * has been reaped. */
static void
detach_worker (JobProcessPool *pool,
               PoolWorker     *worker)
{
  g_ptr_array_remove_fast (pool->workers, worker);
  pool_worker_free (worker);
}

static gboolean
on_idle_timeout (gpointer user_data)
{
  JobProcessPool *pool = user_data;
  gint64 now = g_get_monotonic_time ();

  /* The source that fired belongs to one worker; find which. */
  for (guint i = 0; i < pool->workers->len; i++)
    {
      PoolWorker *worker = g_ptr_array_index (pool->workers, i);

      if (worker->idle_source != NULL &&
          g_source_get_ready_time (worker->idle_source) <= now &&
          g_queue_is_empty (&worker->requests))
        {
          g_clear_pointer (&worker->idle_source, g_source_unref);
          job_process_worker_close (worker->process);
          detach_worker (pool, worker);
          break;
        }
    }

  return G_SOURCE_REMOVE;
}

static void
set_idle (JobProcessPool *pool,
          PoolWorker     *worker)
{
  double idle_timeout;

  if (worker->idle_source != NULL)
    {
      g_source_destroy (worker->idle_source);
      g_clear_pointer (&worker->idle_source, g_source_unref);
    }
  if (!g_queue_is_empty (&worker->requests))
    return;

  g_mutex_lock (&pool->mutex);
  idle_timeout = pool->idle_timeout;
  g_mutex_unlock (&pool->mutex);
  if (idle_timeout < 0 || job_seconds_unlimited (idle_timeout))
    return;

  worker->idle_source = g_timeout_source_new (job_seconds_to_msec (idle_timeout));
  g_source_set_static_name (worker->idle_source, "[joblib-glib] worker idle timeout");
  g_source_set_callback (worker->idle_source, on_idle_timeout, pool, NULL);
  g_source_attach (worker->idle_source, pool->context);
}

/* Calls that never started go back to the queue, in their order;
 * abandoned ones are dropped. */
static void
requeue_requests (JobProcessPool *pool,
                  PoolWorker     *worker)
{
  JobProcessRequest *request;

  while ((request = g_queue_pop_tail (&worker->requests)) != NULL)
    {
      if (request->op == NULL)
        job_process_request_free (request);
      else
        g_queue_push_head (&pool->queue, request);
    }
}

/* The tasks of @request that completed before task @crashed (request
 * index) lost their results with the worker: their answers were still in
 * its buffer. They run again, as in schedulers that lose a worker (Dask,
 * Spark), so that the crash is reported for the task that crashed; the
 * tasks after it run too unless the batch stops at its first error. */
static void
rerun_lost_tasks (JobProcessPool    *pool,
                  JobProcessRequest *request,
                  guint              crashed)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *folder = NULL;
  JobProcessRequest *rerun;
  guint64 max_nbytes;
  guint end = job_batch_get_stop_on_error (request->op->batch)
              ? crashed : request->positions->len;

  rerun = g_new0 (JobProcessRequest, 1);
  rerun->kind = g_strdup (request->kind);
  rerun->positions = g_array_new (FALSE, FALSE, sizeof (guint));
  for (guint i = request->n_reported; i < end; i++)
    if (i != crashed)
      g_array_append_val (rerun->positions, g_array_index (request->positions, guint, i));
  if (rerun->positions->len == 0)
    {
      job_process_request_free (rerun);
      return;
    }

  rerun->op = request->op;
  rerun->op->n_requests++;
  rerun->id = ++pool->next_id;

  g_mutex_lock (&pool->mutex);
  max_nbytes = pool->max_nbytes;
  folder = g_strdup (pool->temp_folder);
  g_mutex_unlock (&pool->mutex);

  if (job_process_request_build (rerun, max_nbytes, folder, &error))
    g_queue_push_head (&pool->queue, rerun);
  else
    job_process_request_finish (rerun, error);
}

static void
fail_worker_requests (JobProcessPool *pool,
                      PoolWorker     *worker,
                      const GError   *error,
                      const char     *description)
{
  JobProcessRequest *head = g_queue_pop_head (&worker->requests);

  if (head != NULL && head->op != NULL)
    {
      g_autoptr(GError) crashed = NULL;
      JobBatch *batch = head->op->batch;
      guint64 running_id;
      guint32 running = head->n_reported;
      guint crashed_position;

      /* The status page names the task even when the results of the
       * tasks before it were still in the worker's buffer. */
      if (job_process_worker_get_running (worker->process, &running_id, &running) &&
          (running_id != head->id || running >= head->positions->len))
        running = head->n_reported;
      running = MIN (running, head->positions->len - 1);
      crashed_position = g_array_index (head->positions, guint, running);

      if (worker->init_error != NULL)
        {
          /* No worker of this setup can run the call: every task of it
           * gets the initializer's error, none runs again. */
          for (guint i = head->n_reported; i < head->positions->len; i++)
            job_batch_set_error (batch, g_array_index (head->positions, guint, i),
                                 worker->init_error);
          job_process_request_finish (head, NULL);
          requeue_requests (pool, worker);
          return;
        }
      else if (error != NULL)
        crashed = g_error_new (JOB_ERROR, JOB_ERROR_PROTOCOL,
                               _("worker %d broke the worker protocol: %s"),
                               (int) job_process_worker_get_pid (worker->process),
                               error->message);
      else if (worker->goodbye != NULL && worker->goodbye[0] != '\0')
        crashed = g_error_new (JOB_ERROR, JOB_ERROR_PROTOCOL,
                               _("%s after leaving: %s"), description, worker->goodbye);
      else
        crashed = g_error_new_literal (JOB_ERROR, JOB_ERROR_WORKER_DIED, description);

      job_batch_set_error (batch, crashed_position, crashed);
      rerun_lost_tasks (pool, head, running);
      job_process_request_finish (head, NULL);
    }
  else if (head != NULL)
    job_process_request_free (head);

  requeue_requests (pool, worker);
}

static void
on_worker_frame (JobProcessWorker *process,
                 JobWorkerMessage  message,
                 GVariant         *body,
                 gpointer          user_data)
{
  JobProcessPool *pool = user_data;
  PoolWorker *worker = find_worker (pool, process);
  JobProcessRequest *head;
  char *problem = NULL;
  guint64 id = 0;

  if (worker == NULL)
    return;

  if (message == JOB_WORKER_MESSAGE_GOODBYE)
    {
      g_free (worker->goodbye);
      g_variant_get (body, "(s)", &worker->goodbye);
      return;
    }

  /* Call 0 is the initializer: its error comes before the worker leaves. */
  g_variant_get_child (body, 0, "t", &id);
  if (id == 0 && message == JOB_WORKER_MESSAGE_ERROR && worker->init_error == NULL)
    {
      const char *domain;
      const char *text;
      int code;

      g_variant_get (body, "(tu&si&s)", NULL, NULL, &domain, &code, &text);
      worker->init_error = g_error_new (g_quark_from_string (domain), code,
                                        _("the initializer of worker %d failed: %s"),
                                        (int) job_process_worker_get_pid (process), text);
      return;
    }

  head = g_queue_peek_head (&worker->requests);
  switch (job_worker_answer_apply (head, message, body, NULL, NULL, &problem))
    {
    case JOB_WORKER_ANSWER_TASKS:
      job_worker_answer_mark_running (head);
      break;

    case JOB_WORKER_ANSWER_DONE:
      g_queue_pop_head (&worker->requests);
      if (head->op != NULL)
        job_batch_set_running (head->op->batch, 0, 0);
      job_process_request_finish (head, NULL);
      job_worker_answer_mark_running (g_queue_peek_head (&worker->requests));
      set_idle (pool, worker);
      pump (pool);
      break;

    case JOB_WORKER_ANSWER_UNKNOWN:
    case JOB_WORKER_ANSWER_TOO_MANY:
    default:
      g_free (worker->goodbye);
      worker->goodbye = problem;
      job_process_worker_kill (process);
      break;
    }
}

static void
on_worker_end (JobProcessWorker *process,
               const GError     *error,
               const char       *description,
               gpointer          user_data)
{
  JobProcessPool *pool = user_data;
  PoolWorker *worker = find_worker (pool, process);

  if (worker != NULL)
    {
      JobProcessRequest *head = g_queue_peek_head (&worker->requests);

      /* A worker the pool still counted on is gone. When it was running
       * a live call, that call's task gets the error; otherwise (idle,
       * or finishing a call nobody waits for) no task will say it, and
       * a crash after the answers would go unseen: say it here. A failed
       * initializer is reported to the tasks instead. */
      if ((head == NULL || head->op == NULL) && worker->init_error == NULL &&
          !job_process_worker_ended_cleanly (process))
        g_warning (_("A %s worker ended while it had nothing to run: %s%s%s"),
                   job_process_worker_get_kind (process),
                   error != NULL ? error->message : description,
                   worker->goodbye != NULL && worker->goodbye[0] != '\0' ? ": " : "",
                   worker->goodbye != NULL ? worker->goodbye : "");
      fail_worker_requests (pool, worker, error, description);
      detach_worker (pool, worker);
    }

  /* Drops the pool's reference: the process was reaped. */
  g_ptr_array_remove_fast (pool->processes, process);
  pump (pool);
}

static PoolWorker *
spawn_worker (JobProcessPool  *pool,
              const char      *kind,
              GError         **error)
{
  g_auto(GStrv) argv = NULL;
  g_autofree char *threads = NULL;
  g_auto(GStrv) user_environment = NULL;
  g_autoptr(GVariant) init_reference = NULL;
  g_autoptr(GVariant) init_args = NULL;
  const char *environment[2 * G_N_ELEMENTS (thread_variables) + 1];
  gboolean inner_explicit;
  guint setup;
  PoolWorker *worker;
  JobProcessWorker *process;
  int inner_threads;

  argv = job_worker_command_dup (kind, error);
  if (argv == NULL)
    return NULL;

  g_mutex_lock (&pool->mutex);
  inner_threads = pool->inner_threads;
  inner_explicit = pool->inner_explicit;
  setup = pool->setup;
  user_environment = g_strdupv (pool->environment);
  if (pool->init_reference != NULL)
    {
      init_reference = g_variant_ref (pool->init_reference);
      init_args = g_variant_ref (pool->init_args);
    }
  g_mutex_unlock (&pool->mutex);

  threads = g_strdup_printf ("%d", inner_threads);
  for (gsize i = 0; i < G_N_ELEMENTS (thread_variables); i++)
    {
      environment[2 * i] = thread_variables[i];
      environment[2 * i + 1] = threads;
    }
  environment[2 * G_N_ELEMENTS (thread_variables)] = NULL;

  process = job_process_worker_spawn (kind, (const char * const *) argv,
                                      environment, inner_explicit,
                                      (const char * const *) user_environment,
                                      on_worker_frame, on_worker_end, pool, error);
  if (process == NULL)
    return NULL;

  worker = g_new0 (PoolWorker, 1);
  worker->process = process;
  worker->inner_threads = inner_threads;
  worker->setup = setup;
  g_queue_init (&worker->requests);

  /* Queued before any call: the worker runs it first. Workers of other
   * kinds cannot resolve the reference and get none. */
  if (init_reference != NULL)
    {
      const char *init_kind = NULL;

      g_variant_get_child (init_reference, 0, "&s", &init_kind);
      if (g_strcmp0 (init_kind, kind) == 0)
        {
          g_autoptr(GByteArray) frame = g_byte_array_new ();
          g_autoptr(GBytes) bytes = NULL;
          GVariant *fields[2] = { init_reference, g_variant_new_variant (init_args) };

          job_worker_frame_append (frame, JOB_WORKER_MESSAGE_INIT,
                                   g_variant_new_tuple (fields, 2));
          bytes = g_byte_array_free_to_bytes (g_steal_pointer (&frame));
          job_process_worker_send (process, bytes);
        }
    }
  g_ptr_array_add (pool->workers, worker);
  g_ptr_array_add (pool->processes, job_process_worker_ref (process));
  return worker;
}

/* Hands queued requests to workers of their kind: an idle worker first,
 * then a new worker while the pool has fewer than n_jobs of that kind,
 * then the least busy one. */
static void
pump (JobProcessPool *pool)
{
  GList *link = pool->queue.head;
  int n_jobs;
  int inner_threads;
  guint setup;

  g_mutex_lock (&pool->mutex);
  n_jobs = pool->n_jobs;
  inner_threads = pool->inner_threads;
  setup = pool->setup;
  g_mutex_unlock (&pool->mutex);

  /* Workers started for other settings leave once idle. */
  for (guint i = pool->workers->len; i > 0; i--)
    {
      PoolWorker *worker = g_ptr_array_index (pool->workers, i - 1);

      if ((worker->inner_threads != inner_threads || worker->setup != setup) &&
          g_queue_is_empty (&worker->requests))
        {
          job_process_worker_close (worker->process);
          detach_worker (pool, worker);
        }
    }

  while (link != NULL)
    {
      JobProcessRequest *request = link->data;
      GList *next = link->next;
      PoolWorker *best = NULL;
      int n_of_kind = 0;

      for (guint i = 0; i < pool->workers->len; i++)
        {
          PoolWorker *worker = g_ptr_array_index (pool->workers, i);

          if (!job_process_worker_is_alive (worker->process) ||
              g_strcmp0 (job_process_worker_get_kind (worker->process), request->kind) != 0)
            continue;
          n_of_kind++;
          if (worker->inner_threads != inner_threads || worker->setup != setup ||
              worker->init_error != NULL)
            continue;
          if (best == NULL || worker->requests.length < best->requests.length)
            best = worker;
        }

      if ((best == NULL || best->requests.length > 0) && n_of_kind < n_jobs)
        {
          g_autoptr(GError) error = NULL;
          PoolWorker *spawned = spawn_worker (pool, request->kind, &error);

          if (spawned == NULL)
            {
              g_queue_delete_link (&pool->queue, link);
              job_process_request_finish (request, error);
              link = next;
              continue;
            }
          best = spawned;
        }

      if (best == NULL || best->requests.length >= MAX_IN_FLIGHT)
        {
          link = next;
          continue;
        }

      g_queue_delete_link (&pool->queue, link);
      g_queue_push_tail (&best->requests, request);
      set_idle (pool, best);
      job_process_worker_send (best->process, request->frame);
      if (best->requests.length == 1)
        job_worker_answer_mark_running (g_queue_peek_head (&best->requests));
      link = next;
    }
}

/* Runs @func on the pool's thread and waits for it. */
static void
invoke_sync (JobProcessPool *pool,
             GSourceFunc     func,
             gpointer        data)
{
  job_context_call_sync (pool->context, pool->thread, func, data);
}

static void
pool_free_now (JobProcessPool *pool)
{
  g_assert (g_queue_is_empty (&pool->queue));
  g_assert (pool->workers->len == 0 && pool->processes->len == 0);

  g_ptr_array_unref (pool->workers);
  g_ptr_array_unref (pool->processes);
  g_main_loop_unref (pool->loop);
  g_main_context_unref (pool->context);
  g_free (pool->temp_folder);
  g_clear_pointer (&pool->init_reference, g_variant_unref);
  g_clear_pointer (&pool->init_args, g_variant_unref);
  g_strfreev (pool->environment);
  g_mutex_clear (&pool->mutex);
  g_free (pool);
}

static gpointer
pool_thread (gpointer data)
{
  JobProcessPool *pool = data;

  g_main_context_push_thread_default (pool->context);
  g_main_loop_run (pool->loop);
  g_main_context_pop_thread_default (pool->context);

  /* Set when the pool was freed from this very thread. */
  if (pool->free_on_exit)
    pool_free_now (pool);
  return NULL;
}

JobProcessPool *
job_process_pool_new (void)
{
  JobProcessPool *pool = g_new0 (JobProcessPool, 1);

  g_mutex_init (&pool->mutex);
  pool->n_jobs = 1;
  pool->inner_threads = 1;
  pool->max_nbytes = 1024 * 1024;
  pool->idle_timeout = 300;
  g_queue_init (&pool->queue);
  pool->workers = g_ptr_array_new ();
  pool->processes = g_ptr_array_new_with_free_func ((GDestroyNotify) job_process_worker_unref);
  pool->context = g_main_context_new ();
  pool->loop = g_main_loop_new (pool->context, FALSE);
  pool->thread = g_thread_new ("joblib-processes", pool_thread, pool);

  return pool;
}

void
job_process_pool_configure (JobProcessPool *pool,
                            int             n_jobs,
                            int             inner_threads,
                            gboolean        inner_explicit)
{
  g_mutex_lock (&pool->mutex);
  pool->n_jobs = MAX (n_jobs, 1);
  pool->inner_threads = MAX (inner_threads, 1);
  pool->inner_explicit = inner_explicit;
  g_mutex_unlock (&pool->mutex);
}

void
job_process_pool_set_setup (JobProcessPool     *pool,
                            GVariant           *init_reference,
                            GVariant           *init_args,
                            const char * const *environment)
{
  g_mutex_lock (&pool->mutex);
  g_clear_pointer (&pool->init_reference, g_variant_unref);
  g_clear_pointer (&pool->init_args, g_variant_unref);
  if (init_reference != NULL)
    {
      pool->init_reference = g_variant_ref_sink (init_reference);
      pool->init_args = g_variant_ref_sink (init_args);
    }
  g_strfreev (pool->environment);
  pool->environment = g_strdupv ((char **) environment);
  pool->setup++;
  g_mutex_unlock (&pool->mutex);
}

/* A new idle timeout applies to the workers already idle too. */
static gboolean
rearm_idle_in_thread (gpointer data)
{
  JobProcessPool *pool = data;

  for (guint i = 0; i < pool->workers->len; i++)
    set_idle (pool, g_ptr_array_index (pool->workers, i));
  return G_SOURCE_REMOVE;
}

void
job_process_pool_set_limits (JobProcessPool *pool,
                             guint64         max_nbytes,
                             double          idle_timeout,
                             const char     *temp_folder)
{
  g_mutex_lock (&pool->mutex);
  pool->max_nbytes = max_nbytes;
  pool->idle_timeout = idle_timeout;
  g_free (pool->temp_folder);
  pool->temp_folder = g_strdup (temp_folder);
  g_mutex_unlock (&pool->mutex);
  g_main_context_invoke (pool->context, rearm_idle_in_thread, pool);
}

typedef struct
{
  JobProcessPool  *pool;
  JobProcessBatch *op;
} Submission;

static gboolean
submit_in_thread (gpointer data)
{
  Submission *submission = data;
  JobProcessPool *pool = submission->pool;
  JobProcessBatch *op = submission->op;
  g_autoptr(GPtrArray) requests = job_process_batch_split (op, &pool->next_id);
  g_autofree char *folder = NULL;
  guint64 max_nbytes;

  g_free (submission);

  g_mutex_lock (&pool->mutex);
  max_nbytes = pool->max_nbytes;
  folder = g_strdup (pool->temp_folder);
  g_mutex_unlock (&pool->mutex);

  for (guint i = 0; i < requests->len; i++)
    {
      JobProcessRequest *request = g_ptr_array_index (requests, i);
      g_autoptr(GError) error = NULL;

      if (job_process_request_build (request, max_nbytes, folder, &error))
        g_queue_push_tail (&pool->queue, request);
      else
        job_process_request_finish (request, error);
    }

  job_process_batch_release (op);
  pump (pool);
  return G_SOURCE_REMOVE;
}

void
job_process_pool_submit (JobProcessPool *pool,
                         JobBatch       *batch,
                         GTask          *task)
{
  Submission *submission = g_new0 (Submission, 1);

  submission->pool = pool;
  submission->op = job_process_batch_new (task, batch);
  g_main_context_invoke (pool->context, submit_in_thread, submission);
}

typedef struct
{
  JobProcessPool *pool;
  gboolean        kill;
} Abort;

/* Ends the batches of stopped runs at once. With kill (cancellation,
 * timeout), the workers running their calls are killed and replaced;
 * without (a task error), they finish those calls, whose answers are
 * dropped. */
static gboolean
abort_in_thread (gpointer data)
{
  Abort *abort = data;
  JobProcessPool *pool = abort->pool;
  gboolean kill = abort->kill;
  g_autoptr(GError) cancelled =
    g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                         _("The task was stopped: its run was cancelled, timed out or failed"));
  GList *link = pool->queue.head;
  JobProcessRequest *request;

  g_free (abort);

  while (link != NULL)
    {
      GList *next = link->next;

      request = link->data;
      if (job_process_request_is_cancelled (request))
        {
          g_queue_delete_link (&pool->queue, link);
          job_process_request_finish (request, cancelled);
        }
      link = next;
    }

  for (guint i = pool->workers->len; i > 0; i--)
    {
      PoolWorker *worker = g_ptr_array_index (pool->workers, i - 1);
      gboolean stopped = FALSE;

      for (GList *l = worker->requests.head; l != NULL; l = l->next)
        {
          request = l->data;
          if (request->op != NULL && job_process_request_is_cancelled (request))
            {
              stopped = TRUE;
              /* The worker goes on: the request (and its files) stays
               * with it until its DONE. */
              if (!kill)
                job_process_request_abandon (request, cancelled);
            }
        }
      if (!stopped || !kill)
        continue;

      /* Killed first, so that the files are unused when they are removed,
       * before the batch completes. Calls of other runs go elsewhere. */
      job_process_worker_kill (worker->process);
      while ((request = g_queue_pop_head (&worker->requests)) != NULL)
        {
          if (job_process_request_is_cancelled (request))
            job_process_request_finish (request, cancelled);
          else
            g_queue_push_tail (&pool->queue, request);
        }
      detach_worker (pool, worker);
    }

  pump (pool);
  return G_SOURCE_REMOVE;
}

void
job_process_pool_abort (JobProcessPool *pool,
                        gboolean        kill)
{
  Abort *abort = g_new0 (Abort, 1);

  abort->pool = pool;
  abort->kill = kill;
  g_main_context_invoke (pool->context, abort_in_thread, abort);
}

static gboolean
on_grace_expired (gpointer data)
{
  JobProcessPool *pool = data;

  for (guint i = 0; i < pool->processes->len; i++)
    job_process_worker_kill (g_ptr_array_index (pool->processes, i));
  return G_SOURCE_REMOVE;
}

static gboolean
shutdown_in_thread (gpointer data)
{
  JobProcessPool *pool = data;
  g_autoptr(GError) error =
    g_error_new_literal (JOB_ERROR, JOB_ERROR_FAILED,
                         _("The process backend was shut down"));
  g_autoptr(GSource) grace = NULL;
  JobProcessRequest *request;

  while ((request = g_queue_pop_head (&pool->queue)) != NULL)
    job_process_request_finish (request, error);

  while (pool->workers->len > 0)
    {
      PoolWorker *worker = g_ptr_array_index (pool->workers, 0);

      if (g_queue_is_empty (&worker->requests))
        job_process_worker_close (worker->process);
      else
        job_process_worker_kill (worker->process);
      while ((request = g_queue_pop_head (&worker->requests)) != NULL)
        job_process_request_finish (request, error);
      detach_worker (pool, worker);
    }

  /* Returns only once every process was reaped: no process, no zombie
   * left behind. Workers asked to leave get a grace period. */
  grace = g_timeout_source_new (GRACE_MSEC);
  g_source_set_static_name (grace, "[joblib-glib] worker shutdown grace");
  g_source_set_callback (grace, on_grace_expired, pool, NULL);
  g_source_attach (grace, pool->context);
  while (pool->processes->len > 0)
    g_main_context_iteration (pool->context, TRUE);
  g_source_destroy (grace);

  return G_SOURCE_REMOVE;
}

void
job_process_pool_shutdown (JobProcessPool *pool)
{
  invoke_sync (pool, shutdown_in_thread, pool);
}

typedef struct
{
  JobProcessPool *pool;
  GArray         *pids;
} PidQuery;

static gboolean
get_pids_in_thread (gpointer data)
{
  PidQuery *query = data;

  for (guint i = 0; i < query->pool->workers->len; i++)
    {
      PoolWorker *worker = g_ptr_array_index (query->pool->workers, i);
      GPid pid = job_process_worker_get_pid (worker->process);

      if (job_process_worker_is_alive (worker->process))
        g_array_append_val (query->pids, pid);
    }
  return G_SOURCE_REMOVE;
}

GArray *
job_process_pool_get_pids (JobProcessPool *pool)
{
  PidQuery query = { pool, g_array_new (FALSE, FALSE, sizeof (GPid)) };

  invoke_sync (pool, get_pids_in_thread, &query);
  return query.pids;
}

static gboolean
quit_in_thread (gpointer data)
{
  JobProcessPool *pool = data;

  g_main_loop_quit (pool->loop);
  return G_SOURCE_REMOVE;
}

/* The pool's own thread let go of the backend (the last reference to a
 * finished run's task dropped in a frame callback): the callback still
 * uses the worker it handles, so shut down only once it has returned. */
static gboolean
shutdown_and_quit_in_thread (gpointer data)
{
  JobProcessPool *pool = data;

  shutdown_in_thread (pool);
  g_main_loop_quit (pool->loop);
  return G_SOURCE_REMOVE;
}

void
job_process_pool_free (JobProcessPool *pool)
{
  if (g_thread_self () == pool->thread)
    {
      g_autoptr(GSource) later = g_idle_source_new ();

      /* The thread frees the pool when its loop returns. */
      pool->free_on_exit = TRUE;
      g_source_set_priority (later, G_PRIORITY_HIGH);
      g_source_set_static_name (later, "[joblib-glib] pool freed from its thread");
      g_source_set_callback (later, shutdown_and_quit_in_thread, pool, NULL);
      g_source_attach (later, pool->context);
      g_thread_unref (pool->thread);
      return;
    }

  job_process_pool_shutdown (pool);
  invoke_sync (pool, quit_in_thread, pool);
  g_thread_join (pool->thread);
  pool_free_now (pool);
}
