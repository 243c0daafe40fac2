/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <inttypes.h>

#include "job-batch-private.h"
#include "job-context-call-private.h"
#include "job-error.h"
#include "job-i18n-private.h"
#include "job-slurm-cli-private.h"
#include "job-slurm-listen-private.h"
#include "job-slurm-pool-state-private.h"
#include "job-time-private.h"
#include "job-worker-answers-private.h"

void
job_slurm_settings_clear (JobSlurmSettings *settings)
{
  g_clear_pointer (&settings->partition, g_free);
  g_clear_pointer (&settings->time_limit, g_free);
  g_clear_pointer (&settings->memory, g_free);
  g_clear_pointer (&settings->sbatch_args, g_strfreev);
  g_clear_pointer (&settings->shared_folder, g_free);
  g_clear_pointer (&settings->listen_address, g_free);
  g_clear_object (&settings->certificate);
  g_clear_pointer (&settings->commands, g_hash_table_unref);
}

void
job_slurm_settings_copy (const JobSlurmSettings *from,
                         JobSlurmSettings       *to)
{
  GHashTableIter iter;
  gpointer key, value;

  job_slurm_settings_clear (to);
  *to = *from;
  to->partition = g_strdup (from->partition);
  to->time_limit = g_strdup (from->time_limit);
  to->memory = g_strdup (from->memory);
  to->sbatch_args = g_strdupv (from->sbatch_args);
  to->shared_folder = g_strdup (from->shared_folder);
  to->listen_address = g_strdup (from->listen_address);
  to->certificate = from->certificate != NULL ? g_object_ref (from->certificate) : NULL;
  to->commands = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                        (GDestroyNotify) g_strfreev);
  if (from->commands != NULL)
    {
      g_hash_table_iter_init (&iter, from->commands);
      while (g_hash_table_iter_next (&iter, &key, &value))
        g_hash_table_insert (to->commands, g_strdup (key), g_strdupv (value));
    }
}

/* Settings are read under the mutex into a copy. */
void
job_slurm_pool_get_settings (JobSlurmPool     *pool,
                             JobSlurmSettings *copy,
                             int              *n_workers)
{
  g_mutex_lock (&pool->mutex);
  job_slurm_settings_copy (&pool->settings, copy);
  if (n_workers != NULL)
    *n_workers = pool->settings.n_workers > 0 ? pool->settings.n_workers : pool->n_jobs;
  g_mutex_unlock (&pool->mutex);
}

/* Calls. */

static Call *
call_new (JobWorkerRequest *request,
          guint              attempt)
{
  Call *call = g_new0 (Call, 1);

  call->request = request;
  call->attempt = attempt;
  return call;
}

void
job_slurm_call_finish (Call         *call,
                       const GError *error)
{
  job_worker_request_finish (call->request, error);
  g_free (call);
}

/* The unanswered tasks of @call run again elsewhere, as schedulers that
 * lose a node do (Dask, Spark), unless they were lost too often. */
static void
redispatch (JobSlurmPool *pool,
            Call         *call,
            const char   *reason,
            GQueue       *requeued)
{
  JobWorkerRequest *request = call->request;
  JobWorkerRequest *rerun;
  g_autoptr(GError) error = NULL;
  JobSlurmSettings settings = { 0, };

  if (request->op == NULL || request->n_reported >= request->positions->len)
    {
      job_slurm_call_finish (call, NULL);
      return;
    }

  job_slurm_pool_get_settings (pool, &settings, NULL);
  if (call->attempt >= settings.max_retries)
    {
      error = g_error_new (JOB_ERROR, JOB_ERROR_WORKER_DIED,
                           _("%s; the task was lost with %u workers, the retry limit"),
                           reason, call->attempt + 1);
      job_slurm_call_finish (call, error);
      job_slurm_settings_clear (&settings);
      return;
    }

  rerun = g_new0 (JobWorkerRequest, 1);
  rerun->kind = g_strdup (request->kind);
  rerun->positions = g_array_new (FALSE, FALSE, sizeof (guint));
  g_array_append_vals (rerun->positions,
                       &g_array_index (request->positions, guint, request->n_reported),
                       request->positions->len - request->n_reported);
  rerun->op = request->op;
  rerun->op->n_requests++;
  rerun->id = ++pool->next_id;
  if (job_worker_request_build (rerun, settings.max_nbytes, settings.shared_folder, &error))
    g_queue_push_tail (requeued, call_new (rerun, call->attempt + 1));
  else
    job_worker_request_finish (rerun, error);
  job_slurm_call_finish (call, NULL);
  job_slurm_settings_clear (&settings);
}

/* Jobs. */

static SlurmJob *
find_job (JobSlurmPool        *pool,
          JobWorkerConnection *connection)
{
  for (guint i = 0; i < pool->jobs->len; i++)
    {
      SlurmJob *job = g_ptr_array_index (pool->jobs, i);

      if (job->connection == connection)
        return job;
    }
  return NULL;
}

/* Removes @job from the pool: its Slurm job is cancelled, its calls go
 * back to the queue (@requeue) or run again (a lost worker). */
void
job_slurm_pool_drop_job (JobSlurmPool *pool,
                         SlurmJob     *job,
                         const char   *lost_reason)
{
  g_autoptr(GPtrArray) one = g_ptr_array_new ();
  GQueue requeued = G_QUEUE_INIT;
  Call *call;

  g_ptr_array_remove (pool->jobs, job);
  if (job->connection == NULL && !job->submitting && lost_reason != NULL)
    {
      guint n = GPOINTER_TO_UINT (g_hash_table_lookup (pool->start_failures, job->kind));

      g_hash_table_insert (pool->start_failures, g_strdup (job->kind), GUINT_TO_POINTER (n + 1));
    }

  while ((call = g_queue_pop_head (&job->calls)) != NULL)
    {
      if (lost_reason != NULL && call->request->n_reported > 0)
        redispatch (pool, call, lost_reason, &requeued);
      else if (call->request->op == NULL)
        job_slurm_call_finish (call, NULL);
      else if (lost_reason != NULL)
        redispatch (pool, call, lost_reason, &requeued);
      else
        g_queue_push_tail (&requeued, call);
    }
  /* In their order, ahead of calls that never left the queue. */
  while ((call = g_queue_pop_tail (&requeued)) != NULL)
    g_queue_push_head (&pool->queue, call);

  g_ptr_array_add (one, job);
  job_slurm_pool_cancel_jobs (pool, one);
  if (job->submitting)
    job->doomed = TRUE;   /* freed once sbatch answers */
  else
    job_slurm_job_free (job);
}

static void
on_frame (JobWorkerConnection *connection,
          JobWorkerMessage     message,
          GVariant            *body,
          gpointer             user_data)
{
  JobSlurmPool *pool = user_data;
  SlurmJob *job = find_job (pool, connection);
  Call *head_call;
  guint64 id = 0;
  guint32 index = 0;

  if (job == NULL || message == JOB_WORKER_MESSAGE_GOODBYE)
    return;

  head_call = g_queue_peek_head (&job->calls);
  switch (job_worker_answer_apply (head_call != NULL ? head_call->request : NULL,
                                   message, body, &id, &index, NULL))
    {
    case JOB_WORKER_ANSWER_TASKS:
      break;

    case JOB_WORKER_ANSWER_DONE:
      g_queue_pop_head (&job->calls);
      job_slurm_call_finish (head_call, NULL);
      if (g_queue_is_empty (&job->calls))
        job->idle_since = g_get_monotonic_time ();
      job_slurm_pool_pump (pool);
      break;

    case JOB_WORKER_ANSWER_UNKNOWN:
      g_warning (_("Worker job %s sent an answer to an unknown call %" PRIu64 " (task %u)"),
                 job->id, id, index);
      job_worker_connection_kill (connection);
      break;

    case JOB_WORKER_ANSWER_TOO_MANY:
    default:
      job_worker_connection_kill (connection);
      break;
    }
}

static void
on_connection_end (JobWorkerConnection *connection,
                   const GError        *error,
                   gpointer             user_data)
{
  JobSlurmPool *pool = user_data;
  SlurmJob *job = find_job (pool, connection);
  g_autofree char *reason = NULL;

  if (job == NULL)
    return;
  reason = g_strdup_printf (_("the connection to worker job %s on %s was lost%s%s"),
                            job->id != NULL ? job->id : "?",
                            job->node != NULL ? job->node : "?",
                            error != NULL ? ": " : "", error != NULL ? error->message : "");
  job_slurm_pool_drop_job (pool, job, reason);
  job_slurm_pool_pump (pool);
}

static void
on_accepted (JobWorkerListener *listener,
             GIOStream         *stream,
             const char        *kind,
             const char        *job_id,
             const char        *node,
             const char        *key,
             gpointer           user_data)
{
  JobSlurmPool *pool = user_data;
  SlurmJob *job = NULL;

  for (guint i = 0; i < pool->jobs->len && job == NULL; i++)
    {
      SlurmJob *candidate = g_ptr_array_index (pool->jobs, i);

      if (candidate->connection == NULL && g_strcmp0 (candidate->id, job_id) == 0 &&
          g_strcmp0 (candidate->kind, kind) == 0)
        job = candidate;
    }
  if (job == NULL)
    {
      /* It proved it holds a token of this pool: a job of an earlier
       * round, one whose sbatch has not answered yet, or one started by
       * hand. */
      job = g_new0 (SlurmJob, 1);
      job->pool = pool;
      job->kind = g_strdup (kind);
      job->key = g_strdup (key);
      g_queue_init (&job->calls);
      g_ptr_array_add (pool->jobs, job);
    }

  job->node = g_strdup (node);
  job->idle_since = g_get_monotonic_time ();
  job->connection = job_worker_connection_new (stream, kind, on_frame, on_connection_end, pool);
  g_hash_table_remove (pool->start_failures, kind);
  job_slurm_pool_pump (pool);
}

gboolean
job_slurm_pool_ensure_listener (JobSlurmPool  *pool,
                                GError       **error)
{
  JobSlurmSettings settings = { 0, };
  JobSlurmListenPlan plan;
  const char *host;

  if (pool->listener != NULL)
    return TRUE;

  job_slurm_pool_get_settings (pool, &settings, NULL);
  if (job_slurm_listen_plan (&settings, &pool->generated, &plan, error))
    {
      pool->listener = job_worker_listener_new (plan.bind_address, settings.port,
                                                plan.certificate,
                                                job_slurm_pool_dup_secret,
                                                on_accepted, pool, error);
      host = plan.advertised;
      if (pool->listener != NULL)
        {
          g_free (pool->address);
          pool->address = g_strdup_printf (strchr (host, ':') != NULL ? "[%s]:%u" : "%s:%u",
                                           host, job_worker_listener_get_port (pool->listener));
          g_free (pool->pin);
          pool->pin = g_steal_pointer (&plan.pin);
        }
      job_slurm_listen_plan_clear (&plan);
    }
  job_slurm_settings_clear (&settings);
  return pool->listener != NULL;
}

void
job_slurm_pool_fail_queued (JobSlurmPool *pool,
                            const char   *kind,
                            const GError *error)
{
  GList *link = pool->queue.head;

  while (link != NULL)
    {
      GList *next = link->next;
      Call *call = link->data;

      if (kind == NULL || g_strcmp0 (call->request->kind, kind) == 0)
        {
          g_queue_delete_link (&pool->queue, link);
          job_slurm_call_finish (call, error);
        }
      link = next;
    }
}

/* Sends queued calls to connected workers of their kind (the least busy
 * first) and submits worker jobs while a kind has queued calls and fewer
 * than n_workers jobs. */
void
job_slurm_pool_pump (JobSlurmPool *pool)
{
  g_autoptr(GHashTable) wanted = g_hash_table_new (g_str_hash, g_str_equal);
  GHashTableIter iter;
  gpointer kind;
  GList *link = pool->queue.head;

  /* Callbacks that run while shutdown waits must not start anything. */
  if (pool->shutting_down)
    return;

  while (link != NULL)
    {
      GList *next = link->next;
      Call *call = link->data;
      SlurmJob *best = NULL;

      if (call->request->op == NULL)
        {
          g_queue_delete_link (&pool->queue, link);
          job_slurm_call_finish (call, NULL);
          link = next;
          continue;
        }
      for (guint i = 0; i < pool->jobs->len; i++)
        {
          SlurmJob *job = g_ptr_array_index (pool->jobs, i);

          if (job->connection == NULL || !job_worker_connection_is_alive (job->connection) ||
              g_strcmp0 (job->kind, call->request->kind) != 0 ||
              job->calls.length >= MAX_IN_FLIGHT)
            continue;
          if (best == NULL || job->calls.length < best->calls.length)
            best = job;
        }
      if (best == NULL)
        g_hash_table_add (wanted, call->request->kind);
      else
        {
          g_queue_delete_link (&pool->queue, link);
          g_queue_push_tail (&best->calls, call);
          best->idle_since = 0;
          job_worker_connection_send (best->connection, call->request->frame);
        }
      link = next;
    }

  /* Kinds asked for ahead of any batch (start_workers). */
  g_hash_table_iter_init (&iter, pool->started_kinds);
  while (g_hash_table_iter_next (&iter, &kind, NULL))
    g_hash_table_add (wanted, kind);
  if (g_hash_table_size (wanted) == 0)
    job_slurm_pool_ensure_polling (pool);
  else
    job_slurm_pool_submit_jobs (pool, wanted);
}

/* Runs @func on the pool's thread and waits for it. */
static void
invoke_sync (JobSlurmPool *pool,
             GSourceFunc   func,
             gpointer      data)
{
  job_context_call_sync (pool->context, pool->thread, func, data);
}

static void pool_free_now (JobSlurmPool *pool);

static gpointer
pool_thread (gpointer data)
{
  JobSlurmPool *pool = data;

  g_main_context_push_thread_default (pool->context);
  g_main_loop_run (pool->loop);
  g_main_context_pop_thread_default (pool->context);
  if (pool->free_on_exit)
    pool_free_now (pool);
  return NULL;
}

JobSlurmPool *
job_slurm_pool_new (void)
{
  JobSlurmPool *pool = g_new0 (JobSlurmPool, 1);

  g_mutex_init (&pool->mutex);
  pool->n_jobs = 1;
  g_queue_init (&pool->queue);
  pool->jobs = g_ptr_array_new ();
  /* Tokens admit workers, a new one for each run's jobs. */
  pool->secrets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  job_slurm_pool_new_token (pool);
  pool->start_failures = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  pool->started_kinds = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  pool->context = g_main_context_new ();
  pool->loop = g_main_loop_new (pool->context, FALSE);
  pool->thread = g_thread_new ("joblib-slurm", pool_thread, pool);
  return pool;
}

void
job_slurm_pool_set_settings (JobSlurmPool           *pool,
                             const JobSlurmSettings *settings,
                             int                     n_jobs)
{
  g_mutex_lock (&pool->mutex);
  job_slurm_settings_copy (settings, &pool->settings);
  if (n_jobs > 0)
    pool->n_jobs = n_jobs;
  pool->new_run = TRUE;
  g_mutex_unlock (&pool->mutex);
}

typedef struct
{
  JobSlurmPool *pool;
  char         *address;
  GError       *error;
} Listen;

static gboolean
listen_in_thread (gpointer data)
{
  Listen *listen = data;

  if (job_slurm_pool_ensure_listener (listen->pool, &listen->error))
    listen->address = g_strdup (listen->pool->address);
  return G_SOURCE_REMOVE;
}

char *
job_slurm_pool_listen (JobSlurmPool  *pool,
                       GError       **error)
{
  Listen listen = { pool, NULL, NULL };

  invoke_sync (pool, listen_in_thread, &listen);
  if (listen.error != NULL)
    g_propagate_error (error, listen.error);
  return listen.address;
}

typedef struct
{
  JobSlurmPool    *pool;
  JobWorkerBatch *op;
} Submission;

static gboolean
submit_in_thread (gpointer data)
{
  Submission *submission = data;
  JobSlurmPool *pool = submission->pool;
  JobWorkerBatch *op = submission->op;
  g_autoptr(GPtrArray) requests = job_worker_batch_split (op, &pool->next_id);
  JobSlurmSettings settings = { 0, };

  g_free (submission);
  job_slurm_pool_get_settings (pool, &settings, NULL);
  for (guint i = 0; i < requests->len; i++)
    {
      JobWorkerRequest *request = g_ptr_array_index (requests, i);
      g_autoptr(GError) error = NULL;

      if (job_worker_request_build (request, settings.max_nbytes, settings.shared_folder,
                                     &error))
        g_queue_push_tail (&pool->queue, call_new (request, 0));
      else
        job_worker_request_finish (request, error);
    }
  job_slurm_settings_clear (&settings);
  job_worker_batch_release (op);
  job_slurm_pool_pump (pool);
  return G_SOURCE_REMOVE;
}

void
job_slurm_pool_submit (JobSlurmPool *pool,
                       JobBatch     *batch,
                       GTask        *task)
{
  Submission *submission = g_new0 (Submission, 1);

  submission->pool = pool;
  submission->op = job_worker_batch_new (task, batch);
  g_main_context_invoke (pool->context, submit_in_thread, submission);
}

/* Every worker job goes: the calls of stopped runs end, the others go
 * back to the queue (and new jobs are submitted for them). */
static void
cancel_all (JobSlurmPool *pool,
            const GError *stopped)
{
  g_autoptr(GPtrArray) jobs = g_ptr_array_copy (pool->jobs, NULL, NULL);

  for (guint i = 0; i < jobs->len; i++)
    {
      SlurmJob *job = g_ptr_array_index (jobs, i);

      for (GList *l = job->calls.head; l != NULL; l = l->next)
        {
          Call *call = l->data;

          if (call->request->op != NULL && job_worker_request_is_cancelled (call->request))
            job_worker_request_abandon (call->request, stopped);
        }
      if (job->connection != NULL)
        job_worker_connection_close (job->connection);
      job_slurm_pool_drop_job (pool, job, NULL);
    }
}

static gboolean
abort_in_thread (gpointer data)
{
  JobSlurmPool *pool = data;
  g_autoptr(GError) cancelled =
    g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                         _("The task was stopped: its run was cancelled, timed out or failed"));
  GList *link = pool->queue.head;

  while (link != NULL)
    {
      GList *next = link->next;
      Call *call = link->data;

      if (job_worker_request_is_cancelled (call->request))
        {
          g_queue_delete_link (&pool->queue, link);
          job_slurm_call_finish (call, cancelled);
        }
      link = next;
    }
  cancel_all (pool, cancelled);
  job_slurm_pool_pump (pool);
  return G_SOURCE_REMOVE;
}

void
job_slurm_pool_abort (JobSlurmPool *pool)
{
  g_main_context_invoke (pool->context, abort_in_thread, pool);
}

static gboolean
shutdown_in_thread (gpointer data)
{
  JobSlurmPool *pool = data;
  g_autoptr(GError) error =
    g_error_new_literal (JOB_ERROR, JOB_ERROR_FAILED, _("The Slurm backend was shut down"));
  Call *call;

  pool->shutting_down = TRUE;
  g_hash_table_remove_all (pool->started_kinds);
  job_slurm_pool_fail_queued (pool, NULL, error);
  while (pool->jobs->len > 0)
    {
      SlurmJob *job = g_ptr_array_index (pool->jobs, 0);

      while ((call = g_queue_pop_head (&job->calls)) != NULL)
        job_slurm_call_finish (call, error);
      if (job->connection != NULL)
        job_worker_connection_close (job->connection);
      job_slurm_pool_drop_job (pool, job, NULL);
    }
  /* Jobs still being submitted are cancelled once sbatch names them:
   * wait for that, so that nothing is left in squeue. */
  while (pool->n_submitting > 0)
    g_main_context_iteration (pool->context, TRUE);
  if (pool->poll_source != NULL)
    {
      g_source_destroy (pool->poll_source);
      g_clear_pointer (&pool->poll_source, g_source_unref);
    }
  while (pool->querying)
    g_main_context_iteration (pool->context, TRUE);
  g_clear_pointer (&pool->listener, job_worker_listener_free);
  g_clear_pointer (&pool->address, g_free);
  g_hash_table_remove_all (pool->start_failures);
  g_hash_table_remove_all (pool->started_kinds);
  pool->shutting_down = FALSE;
  return G_SOURCE_REMOVE;
}

/* Returns once every job it submitted was cancelled (scancel ran). */
void
job_slurm_pool_shutdown (JobSlurmPool *pool)
{
  invoke_sync (pool, shutdown_in_thread, pool);
}

typedef struct
{
  JobSlurmPool *pool;
  GPtrArray    *ids;
  guint         n_refused;
} Query;

static gboolean
query_in_thread (gpointer data)
{
  Query *query = data;

  for (guint i = 0; i < query->pool->jobs->len; i++)
    {
      SlurmJob *job = g_ptr_array_index (query->pool->jobs, i);

      if (job->id != NULL)
        g_ptr_array_add (query->ids, g_strdup (job->id));
    }
  if (query->pool->listener != NULL)
    query->n_refused = job_worker_listener_get_n_refused (query->pool->listener);
  return G_SOURCE_REMOVE;
}

char **
job_slurm_pool_dup_job_ids (JobSlurmPool *pool)
{
  Query query = { pool, g_ptr_array_new (), 0 };

  invoke_sync (pool, query_in_thread, &query);
  g_ptr_array_add (query.ids, NULL);
  return (char **) g_ptr_array_free (query.ids, FALSE);
}

guint
job_slurm_pool_get_n_refused (JobSlurmPool *pool)
{
  Query query = { pool, g_ptr_array_new_with_free_func (g_free), 0 };

  invoke_sync (pool, query_in_thread, &query);
  g_ptr_array_unref (query.ids);
  return query.n_refused;
}

static gboolean
quit_in_thread (gpointer data)
{
  g_main_loop_quit (((JobSlurmPool *) data)->loop);
  return G_SOURCE_REMOVE;
}

static void
pool_free_now (JobSlurmPool *pool)
{
  /* Connections report their end from idle callbacks that hold them. */
  while (g_main_context_iteration (pool->context, FALSE))
    ;
  g_ptr_array_unref (pool->jobs);
  g_hash_table_unref (pool->start_failures);
  g_hash_table_unref (pool->started_kinds);
  g_main_loop_unref (pool->loop);
  g_main_context_unref (pool->context);
  job_slurm_settings_clear (&pool->settings);
  g_free (pool->token);
  g_free (pool->token_key);
  g_hash_table_unref (pool->secrets);
  g_free (pool->pin);
  g_clear_object (&pool->generated);
  g_free (pool->start_error);
  g_mutex_clear (&pool->mutex);
  g_free (pool);
}

void
job_slurm_pool_free (JobSlurmPool *pool)
{
  job_slurm_pool_shutdown (pool);

  if (g_thread_self () == pool->thread)
    {
      /* The last reference went away on the pool's own thread (a batch
       * completing there held it): the thread frees the pool when its
       * loop returns. */
      pool->free_on_exit = TRUE;
      g_main_loop_quit (pool->loop);
      g_thread_unref (pool->thread);
      return;
    }

  invoke_sync (pool, quit_in_thread, pool);
  g_thread_join (pool->thread);
  pool_free_now (pool);
}

typedef struct
{
  JobSlurmPool *pool;
  const char   *kind;
  guint         n_connected;
  char         *error;
} Start;

static gboolean
start_in_thread (gpointer data)
{
  Start *start = data;
  JobSlurmPool *pool = start->pool;

  if (start->kind != NULL)
    {
      g_hash_table_add (pool->started_kinds, g_strdup (start->kind));
      g_clear_pointer (&pool->start_error, g_free);
      job_slurm_pool_pump (pool);
    }
  start->n_connected = 0;
  for (guint i = 0; i < pool->jobs->len; i++)
    {
      SlurmJob *job = g_ptr_array_index (pool->jobs, i);

      start->n_connected += job->connection != NULL &&
                            job_worker_connection_is_alive (job->connection);
    }
  start->error = g_strdup (pool->start_error);
  return G_SOURCE_REMOVE;
}

gboolean
job_slurm_pool_start_workers (JobSlurmPool  *pool,
                              const char    *kind,
                              guint          n_workers,
                              double         timeout,
                              GError       **error)
{
  gint64 deadline = job_deadline_after (g_get_monotonic_time (), timeout);
  Start start = { pool, kind, 0, NULL };

  invoke_sync (pool, start_in_thread, &start);
  start.kind = NULL;
  while (start.error == NULL && start.n_connected < n_workers &&
         g_get_monotonic_time () < deadline)
    {
      g_usleep (20 * 1000);
      invoke_sync (pool, start_in_thread, &start);
    }
  if (start.error != NULL)
    {
      g_set_error_literal (error, JOB_ERROR, JOB_ERROR_FAILED, start.error);
      g_free (start.error);
      return FALSE;
    }
  if (start.n_connected < n_workers)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_TIMEOUT,
                   _("Only %u of %u %s workers connected within %g s"),
                   start.n_connected, n_workers, kind, timeout);
      return FALSE;
    }
  return TRUE;
}
