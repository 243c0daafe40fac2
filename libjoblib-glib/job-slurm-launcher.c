/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-error.h"
#include "job-i18n-private.h"
#include "job-slurm-cli-private.h"
#include "job-slurm-launcher-private.h"
#include "job-time-private.h"
#include "job-worker-command-private.h"
#include "job-worker-dialback-private.h"

typedef struct _JobSlurmLauncher JobSlurmLauncher;

/* One worker job: being submitted (no id yet), queued or running in
 * Slurm, connected once its worker dialled back. */
typedef struct
{
  JobSlurmLauncher  *launcher;
  JobLaunchedWorker *worker;     /* (nullable) NULL once the pool released it */
  char              *id;         /* (owned) (nullable) while sbatch runs */
  char              *kind;       /* (owned) */
  char              *node;       /* (owned) (nullable) */
  char              *key;        /* (owned) (nullable) its token, held until it connects */
  gboolean           submitting;
  gboolean           connected;
} SlurmJob;

struct _JobSlurmLauncher
{
  JobWorkerLauncher  parent;

  GMutex             mutex;       /* guards settings, new_run */
  JobSlurmSettings   settings;
  gboolean           new_run;     /* settings given since the last job */

  /* pool thread only */
  JobWorkerDialback *dialback;    /* (owned) */
  GPtrArray         *jobs;        /* (element-type SlurmJob) */
  guint              n_submitting;
  GSource           *poll_source; /* (owned) (nullable) */
  gboolean           querying;
  gboolean           shutting_down; /* scancel waits */
};

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
  job_slurm_settings_clear (to);
  *to = *from;
  to->partition = g_strdup (from->partition);
  to->time_limit = g_strdup (from->time_limit);
  to->memory = g_strdup (from->memory);
  to->sbatch_args = g_strdupv (from->sbatch_args);
  to->shared_folder = g_strdup (from->shared_folder);
  to->listen_address = g_strdup (from->listen_address);
  to->certificate = from->certificate != NULL ? g_object_ref (from->certificate) : NULL;
  to->commands = job_worker_commands_copy (from->commands);
}

static void
get_settings (JobSlurmLauncher *self,
              JobSlurmSettings *copy)
{
  g_mutex_lock (&self->mutex);
  job_slurm_settings_copy (&self->settings, copy);
  g_mutex_unlock (&self->mutex);
}

/* Jobs. */

static void
job_free (SlurmJob *job)
{
  if (job->key != NULL)
    job_worker_dialback_release (job->launcher->dialback, job->key);
  g_free (job->id);
  g_free (job->kind);
  g_free (job->node);
  g_free (job->key);
  g_free (job);
}

static void
cancel_job (JobSlurmLauncher *self,
            const char       *id)
{
  const char *ids[] = { id, NULL };

  if (id == NULL)
    return;
  if (self->shutting_down)
    {
      g_autoptr(GError) error = NULL;

      if (!job_slurm_scancel_sync (ids, &error))
        g_warning ("%s", error->message);
    }
  else
    job_slurm_scancel (ids);
}

/* The batch script: it only runs the worker through the connector (a
 * shared installation in the same prefix as ours, JOB_WORKER_CONNECT_PATH
 * otherwise). The token travels in the environment (sbatch --export=ALL),
 * never here: the script is readable by anyone who may run `scontrol show
 * job`. */
static char *
build_script (JobSlurmLauncher  *self,
              const char        *kind,
              GHashTable        *commands,
              GError           **error)
{
  g_auto(GStrv) argv = NULL;
  g_autofree char *connector = job_worker_command_find_program ("joblib-glib-worker-connect");
  g_autofree char *quoted = g_shell_quote (connector);
  g_autofree char *quoted_address =
    g_shell_quote (job_worker_dialback_get_address (self->dialback));
  g_autofree char *quoted_kind = g_shell_quote (kind);
  const char * const *custom = commands != NULL ? g_hash_table_lookup (commands, kind) : NULL;
  GString *script;

  argv = custom != NULL ? g_strdupv ((char **) custom) : job_worker_command_dup (kind, error);
  if (argv == NULL)
    return NULL;

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

static void ensure_polling (JobSlurmLauncher *self);

static void
on_sbatch_done (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  SlurmJob *job = user_data;
  JobSlurmLauncher *self = job->launcher;
  g_autoptr(GError) error = NULL;

  job->id = job_slurm_sbatch_finish (result, &error);
  job->submitting = FALSE;
  self->n_submitting--;

  if (job->worker == NULL)
    {
      /* Released while sbatch ran. */
      g_ptr_array_remove (self->jobs, job);
      cancel_job (self, job->id);
      job_free (job);
    }
  else if (job->id == NULL)
    {
      g_autoptr(GError) failed =
        g_error_new (JOB_ERROR, JOB_ERROR_FAILED,
                     _("Cannot submit a %s worker job: %s"), job->kind, error->message);

      job_launched_worker_ended (job->worker, failed, NULL);
    }
  else
    ensure_polling (self);
}

static gboolean
launcher_start (JobWorkerLauncher    *launcher,
                JobLaunchedWorker    *worker,
                const JobWorkerSetup *setup,
                GError              **error)
{
  JobSlurmLauncher *self = (JobSlurmLauncher *) launcher;
  const char *kind = job_launched_worker_get_kind (worker);
  g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) environment = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *threads = NULL;
  g_autofree char *script = NULL;
  JobSlurmSettings settings = { 0, };
  const char *pin;
  SlurmJob *job;
  gboolean new_run;

  get_settings (self, &settings);
  g_mutex_lock (&self->mutex);
  new_run = self->new_run;
  self->new_run = FALSE;
  g_mutex_unlock (&self->mutex);
  if (new_run)
    job_worker_dialback_new_run (self->dialback);

  if (!job_worker_dialback_ensure_listening (self->dialback, settings.listen_address,
                                             settings.port, settings.certificate,
                                             settings.tls, error) ||
      (script = build_script (self, kind, settings.commands, error)) == NULL)
    {
      job_slurm_settings_clear (&settings);
      return FALSE;
    }

  threads = g_strdup_printf ("%d", MAX (settings.cpus_per_worker, 1));
  g_ptr_array_add (args, g_strdup_printf ("--job-name=joblib-glib-%s", kind));
  g_ptr_array_add (args, settings.shared_folder != NULL
                   ? g_strdup_printf ("--output=%s/joblib-glib-worker-%%j.log",
                                      settings.shared_folder)
                   : g_strdup ("--output=/dev/null"));
  g_ptr_array_add (args, g_strdup_printf ("--cpus-per-task=%s", threads));
  if (settings.partition != NULL)
    g_ptr_array_add (args, g_strdup_printf ("--partition=%s", settings.partition));
  if (settings.time_limit != NULL)
    g_ptr_array_add (args, g_strdup_printf ("--time=%s", settings.time_limit));
  if (settings.memory != NULL)
    g_ptr_array_add (args, g_strdup_printf ("--mem=%s", settings.memory));
  for (gsize i = 0; settings.sbatch_args != NULL && settings.sbatch_args[i] != NULL; i++)
    g_ptr_array_add (args, g_strdup (settings.sbatch_args[i]));
  g_ptr_array_add (args, NULL);

  job = g_new0 (SlurmJob, 1);
  job->launcher = self;
  job->worker = worker;
  job->kind = g_strdup (kind);
  job->submitting = TRUE;

  g_ptr_array_add (environment, g_strdup ("JOB_WORKER_TOKEN"));
  g_ptr_array_add (environment, g_strdup (job_worker_dialback_hold (self->dialback, &job->key)));
  /* The pin, not the certificate: the worker compares fingerprints. */
  pin = job_worker_dialback_get_pin (self->dialback);
  if (pin != NULL)
    {
      g_ptr_array_add (environment, g_strdup ("JOB_WORKER_TLS_PIN"));
      g_ptr_array_add (environment, g_strdup (pin));
    }
  /* Native thread pools in a worker use the CPUs of its job. */
  for (const char * const *name = job_worker_thread_variables (); *name != NULL; name++)
    if (g_getenv (*name) == NULL)
      {
        g_ptr_array_add (environment, g_strdup (*name));
        g_ptr_array_add (environment, g_strdup (threads));
      }
  g_ptr_array_add (environment, NULL);

  g_ptr_array_add (self->jobs, job);
  self->n_submitting++;
  job_launched_worker_set_data (worker, job);
  job_slurm_sbatch_async ((const char * const *) args->pdata, script,
                          (const char * const *) environment->pdata, NULL,
                          on_sbatch_done, job);
  job_slurm_settings_clear (&settings);
  return TRUE;
}

/* A worker dialled back with a token of this launcher. */
static void
on_dialled_back (GIOStream  *stream,
                 const char *kind,
                 const char *job_id,
                 const char *node,
                 const char *key,
                 gpointer    user_data)
{
  JobSlurmLauncher *self = user_data;
  g_autofree char *describe_loss = NULL;
  SlurmJob *job = NULL;

  for (guint i = 0; i < self->jobs->len && job == NULL; i++)
    {
      SlurmJob *candidate = g_ptr_array_index (self->jobs, i);

      if (candidate->worker != NULL && !candidate->connected &&
          g_strcmp0 (candidate->id, job_id) == 0 && g_strcmp0 (candidate->kind, kind) == 0)
        job = candidate;
    }
  if (job == NULL)
    {
      /* It proved it holds a token of this launcher: a job of an earlier
       * round, one whose sbatch has not answered yet, or one started by
       * hand. */
      job = g_new0 (SlurmJob, 1);
      job->launcher = self;
      job->kind = g_strdup (kind);
      job->worker = job_launched_worker_adopt (&self->parent, kind);
      job_launched_worker_set_data (job->worker, job);
      g_ptr_array_add (self->jobs, job);
    }
  else if (job->key != NULL)
    {
      job_worker_dialback_release (self->dialback, job->key);
      g_clear_pointer (&job->key, g_free);
    }

  g_free (job->node);
  job->node = g_strdup (node);
  job->connected = TRUE;
  describe_loss = g_strdup_printf (_("the connection to worker job %s on %s was lost"),
                                   job->id != NULL ? job->id : "?",
                                   job->node != NULL ? job->node : "?");
  job_launched_worker_attach_stream (job->worker, stream, describe_loss);
}

/* Only for a job that has not connected: the pool closes connections. */
static void
launcher_stop (JobWorkerLauncher *launcher,
               JobLaunchedWorker *worker,
               gboolean           kill)
{
  SlurmJob *job = job_launched_worker_get_data (worker);
  g_autofree char *description =
    g_strdup_printf (_("worker job %s was cancelled"), job->id != NULL ? job->id : "?");

  job_launched_worker_ended (worker, NULL, description);
}

/* Whatever ended the worker, its job goes. */
static void
launcher_release (JobWorkerLauncher *launcher,
                  JobLaunchedWorker *worker)
{
  JobSlurmLauncher *self = (JobSlurmLauncher *) launcher;
  SlurmJob *job = job_launched_worker_get_data (worker);

  job->worker = NULL;
  if (job->submitting)
    return;   /* cancelled once sbatch names it */
  g_ptr_array_remove (self->jobs, job);
  cancel_job (self, job->id);
  job_free (job);
}

static char *
launcher_describe (JobWorkerLauncher *launcher,
                   JobLaunchedWorker *worker)
{
  SlurmJob *job = job_launched_worker_get_data (worker);

  return g_strdup_printf (_("worker job %s on %s"), job->id != NULL ? job->id : "?",
                          job->node != NULL ? job->node : "?");
}

/* Watching the jobs: squeue and sinfo every poll-interval. A job that
 * Slurm no longer runs, or whose node is drained or down, has lost its
 * worker even if no connection said so (Slurm's own heartbeat between
 * slurmctld and slurmd decides that a node is down). */

typedef struct
{
  JobSlurmLauncher *launcher;
  GStrv             ids;   /* (owned) the jobs asked about */
} Poll;

static void
on_query_done (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  Poll *poll = user_data;
  JobSlurmLauncher *self = poll->launcher;
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) nodes = NULL;
  g_autoptr(GHashTable) states = job_slurm_query_finish (result, &nodes, &error);

  self->querying = FALSE;
  if (states == NULL)
    g_debug ("Slurm query failed: %s", error->message);

  for (gsize i = 0; states != NULL && poll->ids[i] != NULL; i++)
    {
      SlurmJob *job = NULL;
      const char *info = g_hash_table_lookup (states, poll->ids[i]);
      g_auto(GStrv) fields = g_strsplit (info != NULL ? info : "GONE", " ", 2);
      const char *node_state;
      g_autofree char *reason = NULL;

      for (guint j = 0; j < self->jobs->len && job == NULL; j++)
        {
          SlurmJob *candidate = g_ptr_array_index (self->jobs, j);

          if (candidate->worker != NULL && g_strcmp0 (candidate->id, poll->ids[i]) == 0)
            job = candidate;
        }
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
      if (reason != NULL && !job->connected)
        {
          g_autofree char *before = reason;

          reason = g_strdup_printf (_("%s before its worker connected back to %s; its log "
                                      "is in the shared folder, if set"),
                                    before, job_worker_dialback_get_address (self->dialback));
        }
      /* The pool releases it: the job may be gone on return. */
      if (reason != NULL)
        job_launched_worker_ended (job->worker, NULL, reason);
    }

  g_strfreev (poll->ids);
  g_free (poll);
}

static gboolean
on_poll (gpointer user_data)
{
  JobSlurmLauncher *self = user_data;
  g_autoptr(GPtrArray) ids = NULL;
  Poll *poll;

  if (self->jobs->len == 0)
    {
      g_clear_pointer (&self->poll_source, g_source_unref);
      return G_SOURCE_REMOVE;
    }
  if (self->querying)
    return G_SOURCE_CONTINUE;

  ids = g_ptr_array_new ();
  for (guint i = 0; i < self->jobs->len; i++)
    {
      SlurmJob *job = g_ptr_array_index (self->jobs, i);

      if (job->id != NULL && job->worker != NULL)
        g_ptr_array_add (ids, g_strdup (job->id));
    }
  if (ids->len == 0)
    return G_SOURCE_CONTINUE;

  g_ptr_array_add (ids, NULL);
  poll = g_new0 (Poll, 1);
  poll->launcher = self;
  poll->ids = (GStrv) g_ptr_array_free (g_steal_pointer (&ids), FALSE);
  self->querying = TRUE;
  job_slurm_query_async ((const char * const *) poll->ids, NULL, on_query_done, poll);
  return G_SOURCE_CONTINUE;
}

static void
ensure_polling (JobSlurmLauncher *self)
{
  double interval;

  if (self->poll_source != NULL || self->jobs->len == 0)
    return;
  g_mutex_lock (&self->mutex);
  interval = self->settings.poll_interval;
  g_mutex_unlock (&self->mutex);
  self->poll_source = g_timeout_source_new (MAX (job_seconds_to_msec (interval), 10));
  g_source_set_static_name (self->poll_source, "[joblib-glib] Slurm poll");
  g_source_set_callback (self->poll_source, on_poll, self, NULL);
  g_source_attach (self->poll_source, g_main_context_get_thread_default ());
}

/* Listening stops first: a job killed in the middle of its handshake
 * is then no refused connection to warn about. */
static void
launcher_begin_shutdown (JobWorkerLauncher *launcher)
{
  JobSlurmLauncher *self = (JobSlurmLauncher *) launcher;

  self->shutting_down = TRUE;
  job_worker_dialback_stop_listening (self->dialback);
}

static void
launcher_end_shutdown (JobWorkerLauncher *launcher)
{
  JobSlurmLauncher *self = (JobSlurmLauncher *) launcher;
  GMainContext *context = g_main_context_get_thread_default ();

  /* Jobs still being submitted are cancelled once sbatch names them:
   * wait for that, so that nothing is left in squeue. */
  while (self->n_submitting > 0)
    g_main_context_iteration (context, TRUE);
  if (self->poll_source != NULL)
    {
      g_source_destroy (self->poll_source);
      g_clear_pointer (&self->poll_source, g_source_unref);
    }
  while (self->querying)
    g_main_context_iteration (context, TRUE);
  job_worker_dialback_stop_listening (self->dialback);
  self->shutting_down = FALSE;
}

static void
launcher_free (JobWorkerLauncher *launcher)
{
  JobSlurmLauncher *self = (JobSlurmLauncher *) launcher;

  g_assert (self->jobs->len == 0 && self->poll_source == NULL);
  g_ptr_array_unref (self->jobs);
  job_worker_dialback_free (self->dialback);
  job_slurm_settings_clear (&self->settings);
  g_mutex_clear (&self->mutex);
  g_free (self);
}

static const JobWorkerLauncherClass slurm_launcher_class = {
  .name = "Slurm",
  .start_all_at_once = TRUE,
  .start = launcher_start,
  .stop = launcher_stop,
  .release = launcher_release,
  .free = launcher_free,
  .describe = launcher_describe,
  .begin_shutdown = launcher_begin_shutdown,
  .end_shutdown = launcher_end_shutdown,
};

JobWorkerLauncher *
job_slurm_launcher_new (void)
{
  JobSlurmLauncher *self = g_new0 (JobSlurmLauncher, 1);

  self->parent.klass = &slurm_launcher_class;
  g_mutex_init (&self->mutex);
  self->jobs = g_ptr_array_new ();
  self->dialback = job_worker_dialback_new (on_dialled_back, self);
  return &self->parent;
}

void
job_slurm_launcher_set_settings (JobWorkerLauncher      *launcher,
                                 const JobSlurmSettings *settings)
{
  JobSlurmLauncher *self = (JobSlurmLauncher *) launcher;

  g_mutex_lock (&self->mutex);
  job_slurm_settings_copy (settings, &self->settings);
  self->new_run = TRUE;
  g_mutex_unlock (&self->mutex);
}

char *
job_slurm_launcher_listen (JobWorkerLauncher  *launcher,
                           GError            **error)
{
  JobSlurmLauncher *self = (JobSlurmLauncher *) launcher;
  JobSlurmSettings settings = { 0, };
  gboolean listening;

  get_settings (self, &settings);
  listening = job_worker_dialback_ensure_listening (self->dialback, settings.listen_address,
                                                    settings.port, settings.certificate,
                                                    settings.tls, error);
  job_slurm_settings_clear (&settings);
  return listening ? g_strdup (job_worker_dialback_get_address (self->dialback)) : NULL;
}

char **
job_slurm_launcher_dup_job_ids (JobWorkerLauncher *launcher)
{
  JobSlurmLauncher *self = (JobSlurmLauncher *) launcher;
  GPtrArray *ids = g_ptr_array_new ();

  for (guint i = 0; i < self->jobs->len; i++)
    {
      SlurmJob *job = g_ptr_array_index (self->jobs, i);

      if (job->id != NULL)
        g_ptr_array_add (ids, g_strdup (job->id));
    }
  g_ptr_array_add (ids, NULL);
  return (char **) g_ptr_array_free (ids, FALSE);
}

guint
job_slurm_launcher_get_n_refused (JobWorkerLauncher *launcher)
{
  return job_worker_dialback_get_n_refused (((JobSlurmLauncher *) launcher)->dialback);
}
