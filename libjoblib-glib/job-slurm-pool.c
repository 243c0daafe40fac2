/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <inttypes.h>
#include <sys/random.h>

#include "job-batch-private.h"
#include "job-error.h"
#include "job-i18n-private.h"
#include "job-process-request-private.h"
#include "job-slurm-cli-private.h"
#include "job-slurm-pool-private.h"
#include "job-worker-connection-private.h"
#include "job-worker-listener-private.h"

/* Calls queued on one worker at most: its next call waits in the socket. */
#define MAX_IN_FLIGHT 4
/* Worker jobs of one kind that may end in a row without ever connecting
 * before the queued calls of that kind fail: a wrong worker program or an
 * unreachable driver must not loop forever. */
#define MAX_START_FAILURES 3

static const char * const thread_variables[] = {
  "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
  "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS",
};

/* A request and how many workers it was lost with already. */
typedef struct
{
  JobProcessRequest *request;  /* (owned) */
  guint              attempt;
} Call;

/* One worker job: submitted (no id yet), queued or running in Slurm,
 * connected once its worker connects back. */
typedef struct
{
  JobSlurmPool        *pool;
  char                *id;         /* (owned) (nullable) while sbatch runs */
  char                *kind;       /* (owned) */
  char                *node;       /* (owned) (nullable) */
  JobWorkerConnection *connection; /* (owned) (nullable) */
  GQueue               calls;      /* (element-type Call) in flight, in order */
  gint64               idle_since;
  gboolean             submitting;
  gboolean             doomed;     /* dropped while sbatch ran: cancel it */
} SlurmJob;

struct _JobSlurmPool
{
  GMutex              mutex;       /* guards settings and n_jobs */
  JobSlurmSettings    settings;
  int                 n_jobs;

  GThread            *thread;
  GMainContext       *context;     /* (owned) */
  GMainLoop          *loop;        /* (owned) */

  /* pool thread only */
  char               *token;       /* (owned) */
  JobWorkerListener  *listener;    /* (owned) (nullable) */
  char               *address;     /* (owned) (nullable) what workers dial */
  GQueue              queue;       /* (element-type Call) waiting */
  GPtrArray          *jobs;        /* (element-type SlurmJob) */
  guint               n_submitting;
  GHashTable         *start_failures; /* kind → count */
  GHashTable         *started_kinds;  /* kinds kept running without work */
  GSource            *poll_source; /* (owned) (nullable) */
  gboolean            querying;
  gboolean            shutting_down; /* scancel waits */
  gboolean            free_on_exit;  /* freed from its own thread */
  char               *start_error;   /* (owned) (nullable) why workers failed */
  guint64             next_id;
};

static void pump (JobSlurmPool *pool);

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
static void
get_settings (JobSlurmPool     *pool,
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
call_new (JobProcessRequest *request,
          guint              attempt)
{
  Call *call = g_new0 (Call, 1);

  call->request = request;
  call->attempt = attempt;
  return call;
}

static void
call_finish (Call         *call,
             const GError *error)
{
  job_process_request_finish (call->request, error);
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
  JobProcessRequest *request = call->request;
  JobProcessRequest *rerun;
  g_autoptr(GError) error = NULL;
  JobSlurmSettings settings = { 0, };

  if (request->op == NULL || request->n_reported >= request->positions->len)
    {
      call_finish (call, NULL);
      return;
    }

  get_settings (pool, &settings, NULL);
  if (call->attempt >= settings.max_retries)
    {
      error = g_error_new (JOB_ERROR, JOB_ERROR_WORKER_DIED,
                           _("%s; the task was lost with %u workers, the retry limit"),
                           reason, call->attempt + 1);
      call_finish (call, error);
      job_slurm_settings_clear (&settings);
      return;
    }

  rerun = g_new0 (JobProcessRequest, 1);
  rerun->kind = g_strdup (request->kind);
  rerun->positions = g_array_new (FALSE, FALSE, sizeof (guint));
  g_array_append_vals (rerun->positions,
                       &g_array_index (request->positions, guint, request->n_reported),
                       request->positions->len - request->n_reported);
  rerun->op = request->op;
  rerun->op->n_requests++;
  rerun->id = ++pool->next_id;
  if (job_process_request_build (rerun, settings.max_nbytes, settings.shared_folder, &error))
    g_queue_push_tail (requeued, call_new (rerun, call->attempt + 1));
  else
    job_process_request_finish (rerun, error);
  call_finish (call, NULL);
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

static void
slurm_job_free (SlurmJob *job)
{
  g_assert (g_queue_is_empty (&job->calls));

  if (job->connection != NULL)
    {
      job_worker_connection_kill (job->connection);
      job_worker_connection_unref (job->connection);
    }
  g_free (job->id);
  g_free (job->kind);
  g_free (job->node);
  g_free (job);
}

static void
cancel_job_ids (JobSlurmPool *pool,
                GPtrArray    *jobs)
{
  g_autoptr(GPtrArray) ids = g_ptr_array_new ();

  for (guint i = 0; i < jobs->len; i++)
    {
      SlurmJob *job = g_ptr_array_index (jobs, i);

      if (job->id != NULL)
        g_ptr_array_add (ids, job->id);
    }
  g_ptr_array_add (ids, NULL);
  if (pool->shutting_down)
    {
      g_autoptr(GError) error = NULL;

      if (!job_slurm_scancel_sync ((const char * const *) ids->pdata, &error))
        g_warning ("%s", error->message);
    }
  else
    job_slurm_scancel ((const char * const *) ids->pdata);
}

/* Removes @job from the pool: its Slurm job is cancelled, its calls go
 * back to the queue (@requeue) or run again (a lost worker). */
static void
drop_job (JobSlurmPool *pool,
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
        call_finish (call, NULL);
      else if (lost_reason != NULL)
        redispatch (pool, call, lost_reason, &requeued);
      else
        g_queue_push_tail (&requeued, call);
    }
  /* In their order, ahead of calls that never left the queue. */
  while ((call = g_queue_pop_tail (&requeued)) != NULL)
    g_queue_push_head (&pool->queue, call);

  g_ptr_array_add (one, job);
  cancel_job_ids (pool, one);
  if (job->submitting)
    job->doomed = TRUE;   /* freed once sbatch answers */
  else
    slurm_job_free (job);
}

static void
on_frame (JobWorkerConnection *connection,
          JobWorkerMessage     message,
          GVariant            *body,
          gpointer             user_data)
{
  JobSlurmPool *pool = user_data;
  SlurmJob *job = find_job (pool, connection);
  JobProcessRequest *head;
  Call *head_call;
  guint64 id = 0;
  guint32 index = 0;

  if (job == NULL || message == JOB_WORKER_MESSAGE_GOODBYE)
    return;

  head_call = g_queue_peek_head (&job->calls);
  head = head_call != NULL ? head_call->request : NULL;
  g_variant_get_child (body, 0, "t", &id);
  if (message != JOB_WORKER_MESSAGE_DONE)
    g_variant_get_child (body, 1, "u", &index);

  /* Answers come in task order (docs/worker-protocol.md). */
  if (head == NULL || head->id != id ||
      (message == JOB_WORKER_MESSAGE_RESULTS && index != head->n_reported) ||
      (message == JOB_WORKER_MESSAGE_ERROR &&
       (index < head->n_reported || index >= head->positions->len)))
    {
      g_warning (_("Worker job %s sent an answer to an unknown call %" PRIu64 " (task %u)"),
                 job->id, id, index);
      job_worker_connection_kill (connection);
      return;
    }

  switch (message)
    {
    case JOB_WORKER_MESSAGE_RESULTS:
      {
        g_autoptr(GVariant) values = g_variant_get_child_value (body, 2);
        gsize n = g_variant_n_children (values);

        if (n > head->positions->len - index)
          {
            job_worker_connection_kill (connection);
            return;
          }
        head->n_reported = index + n;
        for (gsize i = 0; head->op != NULL && i < n; i++)
          {
            g_autoptr(GVariant) boxed = g_variant_get_child_value (values, i);
            g_autoptr(GVariant) value = g_variant_get_variant (boxed);

            job_batch_set_result (head->op->batch,
                                  g_array_index (head->positions, guint, index + i), value);
          }
        break;
      }

    case JOB_WORKER_MESSAGE_ERROR:
      {
        g_autoptr(GError) error = NULL;
        const char *domain;
        const char *text;
        int code;

        head->n_reported = index + 1;
        if (head->op == NULL)
          break;
        g_variant_get (body, "(tu&si&s)", NULL, NULL, &domain, &code, &text);
        error = g_error_new_literal (g_quark_from_string (domain), code, text);
        job_batch_set_error (head->op->batch,
                             g_array_index (head->positions, guint, index), error);
        break;
      }

    case JOB_WORKER_MESSAGE_DONE:
      {
        double seconds;

        g_variant_get (body, "(td)", NULL, &seconds);
        g_queue_pop_head (&job->calls);
        if (head->op != NULL)
          head->op->duration += MAX (seconds, 0.0);
        call_finish (head_call, NULL);
        if (g_queue_is_empty (&job->calls))
          job->idle_since = g_get_monotonic_time ();
        pump (pool);
        break;
      }

    case JOB_WORKER_MESSAGE_HELLO:
    case JOB_WORKER_MESSAGE_CALL:
    case JOB_WORKER_MESSAGE_INIT:
    case JOB_WORKER_MESSAGE_GOODBYE:
    default:
      g_assert_not_reached ();
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
  drop_job (pool, job, reason);
  pump (pool);
}

static void
on_accepted (JobWorkerListener *listener,
             GIOStream         *stream,
             const char        *kind,
             const char        *job_id,
             const char        *node,
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
      /* It has the token, so it was started for this pool: a job of an
       * earlier round, or one started by hand. */
      job = g_new0 (SlurmJob, 1);
      job->pool = pool;
      job->kind = g_strdup (kind);
      g_queue_init (&job->calls);
      g_ptr_array_add (pool->jobs, job);
    }

  job->node = g_strdup (node);
  job->idle_since = g_get_monotonic_time ();
  job->connection = job_worker_connection_new (stream, kind, on_frame, on_connection_end, pool);
  g_hash_table_remove (pool->start_failures, kind);
  pump (pool);
}

static gboolean
ensure_listener (JobSlurmPool  *pool,
                 GError       **error)
{
  JobSlurmSettings settings = { 0, };
  const char *host;

  if (pool->listener != NULL)
    return TRUE;

  get_settings (pool, &settings, NULL);
  pool->listener = job_worker_listener_new (settings.listen_address, settings.port,
                                            settings.certificate, pool->token,
                                            on_accepted, pool, error);
  if (pool->listener != NULL)
    {
      host = settings.listen_address;
      if (host == NULL || g_str_equal (host, "0.0.0.0") || g_str_equal (host, "::"))
        host = g_get_host_name ();
      g_free (pool->address);
      pool->address = g_strdup_printf (strchr (host, ':') != NULL ? "[%s]:%u" : "%s:%u",
                                       host, job_worker_listener_get_port (pool->listener));
    }
  job_slurm_settings_clear (&settings);
  return pool->listener != NULL;
}

/* Submission. */

static char *
connect_program (void)
{
  /* JOB_WORKER_CONNECT_PATH: uninstalled builds and tests. */
  const char *path = g_getenv ("JOB_WORKER_CONNECT_PATH");

  return g_strdup (path != NULL && path[0] != '\0'
                   ? path : JOB_LIBEXECDIR "/joblib-glib-worker-connect");
}

/* The batch script: it only runs the worker through the connector. The
 * token travels in the environment (sbatch --export=ALL), never here:
 * the script is readable by anyone who may run `scontrol show job`. */
static char *
build_script (JobSlurmPool  *pool,
              const char    *kind,
              GHashTable    *commands,
              GError       **error)
{
  g_auto(GStrv) argv = NULL;
  g_autofree char *connector = connect_program ();
  g_autofree char *quoted = NULL;
  g_autofree char *quoted_address = g_shell_quote (pool->address);
  g_autofree char *quoted_kind = g_shell_quote (kind);
  GString *script;
  const char * const *custom = commands != NULL ? g_hash_table_lookup (commands, kind) : NULL;

  argv = custom != NULL ? g_strdupv ((char **) custom) : job_worker_command_dup (kind, error);
  if (argv == NULL)
    return NULL;

  quoted = g_shell_quote (connector);
  script = g_string_new ("#!/bin/sh\n# joblib-glib worker job\nexec ");
  g_string_append_printf (script, "%s %s %s --", quoted, quoted_address, quoted_kind);
  for (gsize i = 0; argv[i] != NULL; i++)
    {
      g_autofree char *arg = g_shell_quote (argv[i]);

      g_string_append_printf (script, " %s", arg);
    }
  g_string_append_c (script, '\n');
  return g_string_free (script, FALSE);
}

static void fail_queued (JobSlurmPool *pool,
                         const char   *kind,
                         const GError *error);

static void
on_sbatch_done (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  SlurmJob *job = user_data;
  JobSlurmPool *pool = job->pool;
  g_autoptr(GError) error = NULL;
  char *id = job_slurm_sbatch_finish (result, &error);

  job->submitting = FALSE;
  pool->n_submitting--;
  job->id = id;

  if (job->doomed)
    {
      g_autoptr(GPtrArray) one = g_ptr_array_new ();

      g_ptr_array_add (one, job);
      cancel_job_ids (pool, one);
      slurm_job_free (job);
      return;
    }

  if (id == NULL)
    {
      g_autoptr(GError) failed =
        g_error_new (JOB_ERROR, JOB_ERROR_FAILED,
                     _("Cannot submit a %s worker job: %s"), job->kind, error->message);

      g_ptr_array_remove (pool->jobs, job);
      g_free (pool->start_error);
      pool->start_error = g_strdup (failed->message);
      g_hash_table_remove (pool->started_kinds, job->kind);
      fail_queued (pool, job->kind, failed);
      slurm_job_free (job);
      return;
    }
  pump (pool);
}

static void
submit_job (JobSlurmPool     *pool,
            const char       *kind,
            JobSlurmSettings *settings,
            const char       *script)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) environment = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *tls_pem = NULL;
  g_autofree char *threads = g_strdup_printf ("%d", MAX (settings->cpus_per_worker, 1));
  SlurmJob *job = g_new0 (SlurmJob, 1);

  g_ptr_array_add (args, g_strdup_printf ("--job-name=joblib-glib-%s", kind));
  g_ptr_array_add (args, settings->shared_folder != NULL
                   ? g_strdup_printf ("--output=%s/joblib-glib-worker-%%j.log",
                                      settings->shared_folder)
                   : g_strdup ("--output=/dev/null"));
  g_ptr_array_add (args, g_strdup_printf ("--cpus-per-task=%d", MAX (settings->cpus_per_worker, 1)));
  if (settings->partition != NULL)
    g_ptr_array_add (args, g_strdup_printf ("--partition=%s", settings->partition));
  if (settings->time_limit != NULL)
    g_ptr_array_add (args, g_strdup_printf ("--time=%s", settings->time_limit));
  if (settings->memory != NULL)
    g_ptr_array_add (args, g_strdup_printf ("--mem=%s", settings->memory));
  for (gsize i = 0; settings->sbatch_args != NULL && settings->sbatch_args[i] != NULL; i++)
    g_ptr_array_add (args, g_strdup (settings->sbatch_args[i]));
  g_ptr_array_add (args, NULL);

  g_ptr_array_add (environment, g_strdup ("JOB_WORKER_TOKEN"));
  g_ptr_array_add (environment, g_strdup (pool->token));
  if (settings->certificate != NULL)
    {
      g_object_get (settings->certificate, "certificate-pem", &tls_pem, NULL);
      g_ptr_array_add (environment, g_strdup ("JOB_WORKER_TLS_CERT"));
      g_ptr_array_add (environment, g_strdup (tls_pem));
    }
  /* Native thread pools in a worker use the CPUs of its job. */
  for (gsize i = 0; i < G_N_ELEMENTS (thread_variables); i++)
    if (g_getenv (thread_variables[i]) == NULL)
      {
        g_ptr_array_add (environment, g_strdup (thread_variables[i]));
        g_ptr_array_add (environment, g_strdup (threads));
      }
  g_ptr_array_add (environment, NULL);

  job->pool = pool;
  job->kind = g_strdup (kind);
  job->submitting = TRUE;
  g_queue_init (&job->calls);
  g_ptr_array_add (pool->jobs, job);
  pool->n_submitting++;

  job_slurm_sbatch_async ((const char * const *) args->pdata, script,
                          (const char * const *) environment->pdata, NULL,
                          on_sbatch_done, job);
}

static void
fail_queued (JobSlurmPool *pool,
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
          call_finish (call, error);
        }
      link = next;
    }
}

static void ensure_polling (JobSlurmPool *pool);

/* Sends queued calls to connected workers of their kind (the least busy
 * first) and submits worker jobs while a kind has queued calls and fewer
 * than n_workers jobs. */
static void
pump (JobSlurmPool *pool)
{
  g_autoptr(GHashTable) wanted = g_hash_table_new (g_str_hash, g_str_equal);
  JobSlurmSettings settings = { 0, };
  GHashTableIter iter;
  gpointer kind;
  GList *link = pool->queue.head;
  int n_workers;

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
          call_finish (call, NULL);
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
  {
    GHashTableIter it;
    gpointer k;

    g_hash_table_iter_init (&it, pool->started_kinds);
    while (g_hash_table_iter_next (&it, &k, NULL))
      g_hash_table_add (wanted, k);
  }
  if (g_hash_table_size (wanted) == 0)
    {
      ensure_polling (pool);
      return;
    }

  get_settings (pool, &settings, &n_workers);
  g_hash_table_iter_init (&iter, wanted);
  while (g_hash_table_iter_next (&iter, &kind, NULL))
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *script = NULL;
      int n_of_kind = 0;
      guint failures = GPOINTER_TO_UINT (g_hash_table_lookup (pool->start_failures, kind));

      for (guint i = 0; i < pool->jobs->len; i++)
        n_of_kind += g_strcmp0 (((SlurmJob *) g_ptr_array_index (pool->jobs, i))->kind, kind) == 0;
      if (n_of_kind >= n_workers)
        continue;

      if (failures >= MAX_START_FAILURES)
        {
          error = g_error_new (JOB_ERROR, JOB_ERROR_WORKER_DIED,
                               _("%u %s worker jobs in a row ended without connecting "
                                 "back to %s; their logs are in the shared folder, if set"),
                               failures, (const char *) kind, pool->address);
          g_hash_table_remove (pool->start_failures, kind);
        }
      else if (ensure_listener (pool, &error))
        script = build_script (pool, kind, settings.commands, &error);
      if (script == NULL)
        {
          g_autofree char *name = g_strdup (kind);

          g_hash_table_remove (pool->started_kinds, name);
          fail_queued (pool, name, error);
          g_free (pool->start_error);
          pool->start_error = g_strdup (error->message);
          /* The table changed under the iterator. */
          break;
        }
      for (; n_of_kind < n_workers; n_of_kind++)
        submit_job (pool, kind, &settings, script);
    }
  job_slurm_settings_clear (&settings);
  ensure_polling (pool);
}

/* Watching the jobs: squeue and sinfo every poll-interval. A job that
 * Slurm no longer runs, or whose node is drained or down, has lost its
 * worker even if no connection said so (Slurm's own heartbeat between
 * slurmctld and slurmd decides that a node is down). */

typedef struct
{
  JobSlurmPool *pool;
  GStrv         ids;   /* (owned) the jobs asked about */
} Poll;

static void
on_query_done (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  Poll *poll = user_data;
  JobSlurmPool *pool = poll->pool;
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) nodes = NULL;
  g_autoptr(GHashTable) states = job_slurm_query_finish (result, &nodes, &error);

  pool->querying = FALSE;
  if (states == NULL)
    g_debug ("Slurm query failed: %s", error->message);

  for (gsize i = 0; states != NULL && poll->ids[i] != NULL; i++)
    {
      SlurmJob *job = NULL;
      const char *info = g_hash_table_lookup (states, poll->ids[i]);
      g_auto(GStrv) fields = g_strsplit (info != NULL ? info : "GONE", " ", 2);
      const char *node_state;
      g_autofree char *reason = NULL;

      for (guint j = 0; j < pool->jobs->len && job == NULL; j++)
        if (g_strcmp0 (((SlurmJob *) g_ptr_array_index (pool->jobs, j))->id, poll->ids[i]) == 0)
          job = g_ptr_array_index (pool->jobs, j);
      if (job == NULL)
        continue;

      node_state = fields[1] != NULL && fields[1][0] != '\0'
                   ? g_hash_table_lookup (nodes, fields[1]) : NULL;
      if (!job_slurm_state_is_active (fields[0]))
        reason = g_strdup_printf (_("worker job %s ended (%s)"), job->id,
                                  info != NULL ? fields[0] : _("no longer known to Slurm"));
      else if (job_slurm_node_is_leaving (node_state))
        reason = g_strdup_printf (_("node %s of worker job %s is %s"),
                                  fields[1], job->id, node_state);
      if (reason != NULL)
        drop_job (pool, job, reason);
    }

  g_strfreev (poll->ids);
  g_free (poll);
  pump (pool);
}

static gboolean
on_poll (gpointer user_data)
{
  JobSlurmPool *pool = user_data;
  g_autoptr(GPtrArray) ids = g_ptr_array_new ();
  JobSlurmSettings settings = { 0, };
  gint64 now = g_get_monotonic_time ();

  get_settings (pool, &settings, NULL);

  /* Idle workers leave, and free their allocation. */
  for (guint i = pool->jobs->len; i > 0; i--)
    {
      SlurmJob *job = g_ptr_array_index (pool->jobs, i - 1);

      if (settings.idle_timeout >= 0 && job->connection != NULL &&
          !g_hash_table_contains (pool->started_kinds, job->kind) &&
          g_queue_is_empty (&job->calls) && g_queue_is_empty (&pool->queue) &&
          job->idle_since > 0 && now - job->idle_since > settings.idle_timeout * G_USEC_PER_SEC)
        {
          job_worker_connection_close (job->connection);
          drop_job (pool, job, NULL);
        }
    }
  job_slurm_settings_clear (&settings);

  for (guint i = 0; i < pool->jobs->len; i++)
    {
      SlurmJob *job = g_ptr_array_index (pool->jobs, i);

      if (job->id != NULL)
        g_ptr_array_add (ids, g_strdup (job->id));
    }
  if (pool->jobs->len == 0)
    {
      g_clear_pointer (&pool->poll_source, g_source_unref);
      return G_SOURCE_REMOVE;
    }
  if (ids->len > 0 && !pool->querying)
    {
      Poll *poll = g_new0 (Poll, 1);

      g_ptr_array_add (ids, NULL);
      poll->pool = pool;
      poll->ids = (GStrv) g_ptr_array_free (g_steal_pointer (&ids), FALSE);
      pool->querying = TRUE;
      job_slurm_query_async ((const char * const *) poll->ids, NULL, on_query_done, poll);
    }
  else
    g_ptr_array_foreach (ids, (GFunc) g_free, NULL);
  return G_SOURCE_CONTINUE;
}

static void
ensure_polling (JobSlurmPool *pool)
{
  JobSlurmSettings settings = { 0, };

  if (pool->poll_source != NULL || pool->jobs->len == 0)
    return;
  get_settings (pool, &settings, NULL);
  pool->poll_source = g_timeout_source_new ((guint) MAX (settings.poll_interval * 1000, 10));
  g_source_set_static_name (pool->poll_source, "[joblib-glib] Slurm poll");
  g_source_set_callback (pool->poll_source, on_poll, pool, NULL);
  g_source_attach (pool->poll_source, pool->context);
  job_slurm_settings_clear (&settings);
}

/* Running work on the pool's thread. */

typedef struct
{
  GSourceFunc func;
  gpointer    data;
  GMutex      mutex;
  GCond       cond;
  gboolean    done;
} SyncCall;

static gboolean
run_sync_call (gpointer user_data)
{
  SyncCall *call = user_data;

  call->func (call->data);
  g_mutex_lock (&call->mutex);
  call->done = TRUE;
  g_cond_signal (&call->cond);
  g_mutex_unlock (&call->mutex);
  return G_SOURCE_REMOVE;
}

static void
invoke_sync (JobSlurmPool *pool,
             GSourceFunc   func,
             gpointer      data)
{
  SyncCall call = { func, data, };

  if (g_thread_self () == pool->thread)
    {
      func (data);
      return;
    }
  g_mutex_init (&call.mutex);
  g_cond_init (&call.cond);
  g_main_context_invoke (pool->context, run_sync_call, &call);
  g_mutex_lock (&call.mutex);
  while (!call.done)
    g_cond_wait (&call.cond, &call.mutex);
  g_mutex_unlock (&call.mutex);
  g_mutex_clear (&call.mutex);
  g_cond_clear (&call.cond);
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
  guint8 secret[32];

  /* The token admits workers: 256 bits from the kernel's CSPRNG. */
  if (getrandom (secret, sizeof secret, 0) != sizeof secret)
    g_error ("getrandom() failed: cannot make a worker token");
  pool->token = g_malloc (2 * sizeof secret + 1);
  for (gsize i = 0; i < sizeof secret; i++)
    g_snprintf (pool->token + 2 * i, 3, "%02x", secret[i]);

  g_mutex_init (&pool->mutex);
  pool->n_jobs = 1;
  g_queue_init (&pool->queue);
  pool->jobs = g_ptr_array_new ();
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

  if (ensure_listener (listen->pool, &listen->error))
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
  JobProcessBatch *op;
} Submission;

static gboolean
submit_in_thread (gpointer data)
{
  Submission *submission = data;
  JobSlurmPool *pool = submission->pool;
  JobProcessBatch *op = submission->op;
  g_autoptr(GPtrArray) requests = job_process_batch_split (op, &pool->next_id);
  JobSlurmSettings settings = { 0, };

  g_free (submission);
  get_settings (pool, &settings, NULL);
  for (guint i = 0; i < requests->len; i++)
    {
      JobProcessRequest *request = g_ptr_array_index (requests, i);
      g_autoptr(GError) error = NULL;

      if (job_process_request_build (request, settings.max_nbytes, settings.shared_folder,
                                     &error))
        g_queue_push_tail (&pool->queue, call_new (request, 0));
      else
        job_process_request_finish (request, error);
    }
  job_slurm_settings_clear (&settings);
  job_process_batch_release (op);
  pump (pool);
  return G_SOURCE_REMOVE;
}

void
job_slurm_pool_submit (JobSlurmPool *pool,
                       JobBatch     *batch,
                       GTask        *task)
{
  Submission *submission = g_new0 (Submission, 1);

  submission->pool = pool;
  submission->op = job_process_batch_new (task, batch);
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

          if (call->request->op != NULL && job_process_request_is_cancelled (call->request))
            job_process_request_abandon (call->request, stopped);
        }
      if (job->connection != NULL)
        job_worker_connection_close (job->connection);
      drop_job (pool, job, NULL);
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

      if (job_process_request_is_cancelled (call->request))
        {
          g_queue_delete_link (&pool->queue, link);
          call_finish (call, cancelled);
        }
      link = next;
    }
  cancel_all (pool, cancelled);
  pump (pool);
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
  fail_queued (pool, NULL, error);
  while (pool->jobs->len > 0)
    {
      SlurmJob *job = g_ptr_array_index (pool->jobs, 0);

      while ((call = g_queue_pop_head (&job->calls)) != NULL)
        call_finish (call, error);
      if (job->connection != NULL)
        job_worker_connection_close (job->connection);
      drop_job (pool, job, NULL);
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
      pump (pool);
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
  gint64 deadline = g_get_monotonic_time () + (gint64) (timeout * G_USEC_PER_SEC);
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
