/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-error.h"
#include "job-i18n-private.h"
#include "job-slurm-cli-private.h"
#include "job-slurm-pool-state-private.h"
#include "job-time-private.h"
#include "job-worker-auth-private.h"
#include "job-worker-command-private.h"

/* Worker jobs of one kind that may end in a row without ever connecting
 * before the queued calls of that kind fail: a wrong worker program or an
 * unreachable driver must not loop forever. */
#define MAX_START_FAILURES 3

static const char * const thread_variables[] = {
  "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
  "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS",
};

/* Jobs. */

void
job_slurm_job_free (SlurmJob *job)
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
  g_free (job->key);
  g_free (job);
}

void
job_slurm_pool_cancel_jobs (JobSlurmPool *pool,
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

/* Tokens. Each run's jobs get a token of their own ("KEY.SECRET"): a
 * token read from one job's environment admits only jobs of that run,
 * and only until they have all connected. */

static gboolean
key_is_pending (JobSlurmPool *pool,
                const char   *key)
{
  if (g_strcmp0 (key, pool->token_key) == 0)
    return TRUE;
  for (guint i = 0; i < pool->jobs->len; i++)
    {
      SlurmJob *job = g_ptr_array_index (pool->jobs, i);

      if (job->connection == NULL && g_strcmp0 (job->key, key) == 0)
        return TRUE;
    }
  return FALSE;
}

static gboolean
key_is_retired (gpointer key,
                gpointer secret,
                gpointer pool)
{
  return !key_is_pending (pool, key);
}

void
job_slurm_pool_new_token (JobSlurmPool *pool)
{
  g_autofree char *key = NULL;
  g_autofree char *secret = NULL;

  g_free (pool->token);
  pool->token = job_worker_auth_new_token (NULL);
  job_worker_auth_split_token (pool->token, &key, &secret);
  g_free (pool->token_key);
  pool->token_key = g_strdup (key);
  pool->token_used = FALSE;
  g_hash_table_insert (pool->secrets, g_steal_pointer (&key), g_steal_pointer (&secret));
  g_hash_table_foreach_remove (pool->secrets, key_is_retired, pool);
}

/* The listener's JobWorkerListenerKeyFunc, on the pool thread. */
char *
job_slurm_pool_dup_secret (const char *key,
                           gpointer    user_data)
{
  JobSlurmPool *pool = user_data;

  if (!key_is_pending (pool, key))
    return NULL;
  return g_strdup (g_hash_table_lookup (pool->secrets, key));
}

/* Submission. */

/* The connector on the cluster nodes: a shared installation in the same
 * prefix as ours (JOB_WORKER_CONNECT_PATH otherwise). */
static char *
connect_program (void)
{
  return job_worker_command_find_program ("joblib-glib-worker-connect");
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
      job_slurm_pool_cancel_jobs (pool, one);
      job_slurm_job_free (job);
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
      job_slurm_pool_fail_queued (pool, job->kind, failed);
      job_slurm_job_free (job);
      return;
    }
  job_slurm_pool_pump (pool);
}

static void
submit_job (JobSlurmPool     *pool,
            const char       *kind,
            JobSlurmSettings *settings,
            const char       *script)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) environment = g_ptr_array_new_with_free_func (g_free);
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
  /* The pin, not the certificate: the worker compares fingerprints. */
  if (pool->pin != NULL)
    {
      g_ptr_array_add (environment, g_strdup ("JOB_WORKER_TLS_PIN"));
      g_ptr_array_add (environment, g_strdup (pool->pin));
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
  job->key = g_strdup (pool->token_key);
  pool->token_used = TRUE;
  job->submitting = TRUE;
  g_queue_init (&job->calls);
  g_ptr_array_add (pool->jobs, job);
  pool->n_submitting++;

  job_slurm_sbatch_async ((const char * const *) args->pdata, script,
                          (const char * const *) environment->pdata, NULL,
                          on_sbatch_done, job);
}

/* Submits worker jobs for the kinds in @wanted until each has n-workers
 * jobs; a kind that cannot start fails its queued calls. */
void
job_slurm_pool_submit_jobs (JobSlurmPool *pool,
                            GHashTable   *wanted)
{
  JobSlurmSettings settings = { 0, };
  GHashTableIter iter;
  gpointer kind;
  int n_workers;
  gboolean new_run;

  job_slurm_pool_get_settings (pool, &settings, &n_workers);
  g_mutex_lock (&pool->mutex);
  new_run = pool->new_run;
  pool->new_run = FALSE;
  g_mutex_unlock (&pool->mutex);
  if (new_run && pool->token_used)
    job_slurm_pool_new_token (pool);
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
      else if (job_slurm_pool_ensure_listener (pool, &error))
        script = build_script (pool, kind, settings.commands, &error);
      if (script == NULL)
        {
          g_autofree char *name = g_strdup (kind);

          g_hash_table_remove (pool->started_kinds, name);
          job_slurm_pool_fail_queued (pool, name, error);
          g_free (pool->start_error);
          pool->start_error = g_strdup (error->message);
          /* The table changed under the iterator. */
          break;
        }
      for (; n_of_kind < n_workers; n_of_kind++)
        submit_job (pool, kind, &settings, script);
    }
  job_slurm_settings_clear (&settings);
  job_slurm_pool_ensure_polling (pool);
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
        job_slurm_pool_drop_job (pool, job, reason);
    }

  g_strfreev (poll->ids);
  g_free (poll);
  job_slurm_pool_pump (pool);
}

static gboolean
on_poll (gpointer user_data)
{
  JobSlurmPool *pool = user_data;
  g_autoptr(GPtrArray) ids = g_ptr_array_new ();
  JobSlurmSettings settings = { 0, };
  gint64 now = g_get_monotonic_time ();

  job_slurm_pool_get_settings (pool, &settings, NULL);

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
          job_slurm_pool_drop_job (pool, job, NULL);
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

void
job_slurm_pool_ensure_polling (JobSlurmPool *pool)
{
  JobSlurmSettings settings = { 0, };

  if (pool->poll_source != NULL || pool->jobs->len == 0)
    return;
  job_slurm_pool_get_settings (pool, &settings, NULL);
  pool->poll_source = g_timeout_source_new (MAX (job_seconds_to_msec (settings.poll_interval), 10));
  g_source_set_static_name (pool->poll_source, "[joblib-glib] Slurm poll");
  g_source_set_callback (pool->poll_source, on_poll, pool, NULL);
  g_source_attach (pool->poll_source, pool->context);
  job_slurm_settings_clear (&settings);
}
