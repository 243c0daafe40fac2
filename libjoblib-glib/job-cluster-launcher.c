/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <inttypes.h>

#include "job-cluster-helper-private.h"
#include "job-cluster-launcher-private.h"
#include "job-error.h"
#include "job-i18n-private.h"
#include "job-worker-command-private.h"
#include "job-worker-dialback-private.h"

/* One worker: a cluster task asked for, then its connection. */
typedef struct
{
  JobLaunchedWorker *launched;
  char              *id;        /* (owned) its JOB_WORKER_ID */
  char              *key;       /* (owned) (nullable) its token's name,
                                 * held until it connects */
  gboolean           connected;
} ClusterWorker;

typedef struct
{
  JobWorkerLauncher   parent;
  char               *cluster;      /* (owned) "Dask", for messages */

  GMutex              mutex;        /* guards settings, new_run */
  JobClusterSettings  settings;
  gboolean            new_run;
  guint               threads;      /* (atomic) */

  /* pool thread only */
  JobClusterHelper   *helper;       /* (owned) (nullable) */
  char              **helper_argv;  /* (owned) (nullable) what it runs */
  gboolean            helper_failed;
  char               *helper_error; /* (owned) (nullable) why it failed */
  JobWorkerDialback  *dialback;     /* (owned) listener and tokens */
  GHashTable         *workers;      /* (owned) id → ClusterWorker */
  guint64             next_id;
} JobClusterLauncher;

void
job_cluster_settings_clear (JobClusterSettings *settings)
{
  g_clear_pointer (&settings->helper_argv, g_strfreev);
  g_clear_pointer (&settings->listen_address, g_free);
  g_clear_object (&settings->certificate);
  g_clear_pointer (&settings->commands, g_hash_table_unref);
}

static void
settings_copy (const JobClusterSettings *from,
               JobClusterSettings       *to)
{
  to->helper_argv = g_strdupv (from->helper_argv);
  to->listen_address = g_strdup (from->listen_address);
  to->port = from->port;
  to->certificate = from->certificate != NULL ? g_object_ref (from->certificate) : NULL;
  to->tls = from->tls;
  to->commands = job_worker_commands_copy (from->commands);
}

static void
get_settings (JobClusterLauncher *self,
              JobClusterSettings *copy)
{
  g_mutex_lock (&self->mutex);
  settings_copy (&self->settings, copy);
  g_mutex_unlock (&self->mutex);
}

/* The helper's events (pool thread). */

static void
on_shape (guint    threads,
          guint    workers,
          gpointer user_data)
{
  JobClusterLauncher *self = user_data;

  g_atomic_int_set (&self->threads, threads);
}

static void
on_task_ended (const char *id,
               int         status,
               const char *message,
               gpointer    user_data)
{
  JobClusterLauncher *self = user_data;
  ClusterWorker *worker = g_hash_table_lookup (self->workers, id);
  g_autofree char *description = NULL;
  g_autofree char *tail = NULL;

  /* A connected worker reports its end through its connection. */
  if (worker == NULL || worker->connected)
    return;
  tail = g_strstrip (g_strdup (message != NULL ? message : ""));
  if (status >= 0)
    description = g_strdup_printf (_("the %s task of worker %s exited with status %d before "
                                     "connecting back to %s%s%s"),
                                   self->cluster, id, status,
                                   job_worker_dialback_get_address (self->dialback),
                                   tail[0] != '\0' ? ": " : "", tail);
  else
    description = g_strdup_printf (_("the %s task of worker %s ended before connecting back: %s"),
                                   self->cluster, id, tail);
  job_launched_worker_ended (worker->launched, NULL, description);
}

static void
on_helper_failed (const GError *error,
                  gpointer      user_data)
{
  JobClusterLauncher *self = user_data;
  g_autoptr(GPtrArray) waiting = g_ptr_array_new ();
  g_autoptr(GError) failed = g_error_new (JOB_ERROR, JOB_ERROR_FAILED, "%s: %s", self->cluster,
                                          error->message);
  GHashTableIter iter;
  gpointer worker;

  self->helper_failed = TRUE;
  g_free (self->helper_error);
  self->helper_error = g_strdup (failed->message);
  g_hash_table_iter_init (&iter, self->workers);
  while (g_hash_table_iter_next (&iter, NULL, &worker))
    if (!((ClusterWorker *) worker)->connected)
      g_ptr_array_add (waiting, ((ClusterWorker *) worker)->launched);
  /* ended() releases the worker: the table changes. */
  for (guint i = 0; i < waiting->len; i++)
    job_launched_worker_ended (g_ptr_array_index (waiting, i), failed, NULL);
}

static const JobClusterHelperCallbacks helper_callbacks = {
  on_shape, on_task_ended, on_helper_failed,
};

static gboolean
ensure_helper (JobClusterLauncher *self,
               char              **argv,
               GError            **error)
{
  if (self->helper != NULL && !self->helper_failed &&
      g_strv_equal ((const char * const *) argv, (const char * const *) self->helper_argv))
    return TRUE;
  /* A helper that failed (the scheduler was down) is replaced: the
   * cluster may be up now. */
  g_clear_pointer (&self->helper, job_cluster_helper_free);
  g_clear_pointer (&self->helper_argv, g_strfreev);
  self->helper_failed = FALSE;
  self->helper = job_cluster_helper_new ((const char * const *) argv, &helper_callbacks,
                                         self, error);
  if (self->helper == NULL)
    return FALSE;
  self->helper_argv = g_strdupv (argv);
  return TRUE;
}

/* Dialled back (pool thread). */

static void
on_dialled_back (GIOStream  *stream,
                 const char *kind,
                 const char *job_id,
                 const char *node,
                 const char *key,
                 gpointer    user_data)
{
  JobClusterLauncher *self = user_data;
  ClusterWorker *worker = g_hash_table_lookup (self->workers, job_id);
  g_autofree char *describe_loss = NULL;

  if (worker == NULL || worker->connected ||
      g_strcmp0 (job_launched_worker_get_kind (worker->launched), kind) != 0)
    {
      /* A task given up already that the cluster ran again (Dask reruns
       * the tasks of a lost worker), or one started by hand: closing the
       * connection stops it (--exit-with-driver). */
      g_debug ("%s: closing the connection of unknown worker %s (%s)", self->cluster, job_id, kind);
      g_io_stream_close (stream, NULL, NULL);
      return;
    }
  worker->connected = TRUE;
  job_worker_dialback_release (self->dialback, worker->key);
  g_clear_pointer (&worker->key, g_free);
  describe_loss = g_strdup_printf (_("the connection to %s worker %s on %s was lost"),
                                   self->cluster, job_id, node);
  job_launched_worker_attach_stream (worker->launched, stream, describe_loss);
}

/* The launcher's class functions (pool thread). */

static char **
worker_argv (JobClusterLauncher       *self,
             const JobClusterSettings *settings,
             const char               *kind,
             GError                  **error)
{
  const char * const *custom = g_hash_table_lookup (settings->commands, kind);
  g_auto(GStrv) program = custom != NULL ? g_strdupv ((char **) custom)
                                         : job_worker_command_dup (kind, error);
  GStrvBuilder *builder;
  char **argv;

  if (program == NULL)
    return NULL;
  builder = g_strv_builder_new ();
  g_strv_builder_add (builder, "joblib-glib-worker-connect");
  g_strv_builder_add_many (builder, "--exit-with-driver",
                           job_worker_dialback_get_address (self->dialback), kind, "--", NULL);
  g_strv_builder_addv (builder, (const char **) program);
  argv = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);
  g_free (argv[0]);
  argv[0] = job_worker_command_find_program ("joblib-glib-worker-connect");
  return argv;
}

static gboolean
cluster_start (JobWorkerLauncher    *launcher,
               JobLaunchedWorker    *launched,
               const JobWorkerSetup *setup,
               GError              **error)
{
  JobClusterLauncher *self = (JobClusterLauncher *) launcher;
  JobClusterSettings settings = { 0, };
  const char *kind = job_launched_worker_get_kind (launched);
  g_autoptr(GPtrArray) environment = g_ptr_array_new_with_free_func (g_free);
  g_auto(GStrv) argv = NULL;
  ClusterWorker *worker;
  gboolean new_run;
  gboolean ok = FALSE;

  get_settings (self, &settings);
  g_mutex_lock (&self->mutex);
  new_run = self->new_run;
  self->new_run = FALSE;
  g_mutex_unlock (&self->mutex);

  if (settings.helper_argv == NULL || settings.helper_argv[0] == NULL)
    g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
                 _("No %s cluster to run workers on: set the scheduler"), self->cluster);
  else if (job_worker_dialback_ensure_listening (self->dialback, settings.listen_address,
                                                 settings.port, settings.certificate,
                                                 settings.tls, error) &&
           ensure_helper (self, settings.helper_argv, error) &&
           (argv = worker_argv (self, &settings, kind, error)) != NULL)
    ok = TRUE;
  if (!ok)
    {
      job_cluster_settings_clear (&settings);
      return FALSE;
    }

  if (new_run)
    job_worker_dialback_new_run (self->dialback);

  worker = g_new0 (ClusterWorker, 1);
  worker->launched = launched;
  worker->id = g_strdup_printf ("%" PRIu64, ++self->next_id);
  job_launched_worker_set_data (launched, worker);
  g_hash_table_insert (self->workers, worker->id, worker);

  g_ptr_array_add (environment, g_strconcat ("JOB_WORKER_TOKEN=",
                                             job_worker_dialback_hold (self->dialback,
                                                                       &worker->key),
                                             NULL));
  g_ptr_array_add (environment, g_strconcat ("JOB_WORKER_ID=", worker->id, NULL));
  if (job_worker_dialback_get_pin (self->dialback) != NULL)
    g_ptr_array_add (environment, g_strconcat ("JOB_WORKER_TLS_PIN=",
                                               job_worker_dialback_get_pin (self->dialback),
                                               NULL));
  /* Native thread pools in a worker use its share of the machine. */
  job_worker_setup_add_thread_variables (setup, environment, FALSE);
  for (gsize i = 0; setup->environment != NULL && setup->environment[i] != NULL; i++)
    g_ptr_array_add (environment, g_strdup (setup->environment[i]));
  g_ptr_array_add (environment, NULL);

  job_cluster_helper_start (self->helper, worker->id, (const char * const *) argv,
                            (const char * const *) environment->pdata);
  job_cluster_settings_clear (&settings);
  return TRUE;
}

static void
cluster_stop (JobWorkerLauncher *launcher,
              JobLaunchedWorker *launched,
              gboolean           kill)
{
  JobClusterLauncher *self = (JobClusterLauncher *) launcher;
  ClusterWorker *worker = job_launched_worker_get_data (launched);

  /* Not connected (a connected one is stopped through its connection):
   * its task is cancelled; if it runs already and dials back, it is
   * closed as unknown. */
  if (self->helper != NULL)
    job_cluster_helper_stop (self->helper, worker->id);
  job_launched_worker_ended (launched, NULL, _("stopped before it connected"));
}

static void
cluster_release (JobWorkerLauncher *launcher,
                 JobLaunchedWorker *launched)
{
  JobClusterLauncher *self = (JobClusterLauncher *) launcher;
  ClusterWorker *worker = job_launched_worker_get_data (launched);

  if (self->helper != NULL && !worker->connected)
    job_cluster_helper_stop (self->helper, worker->id);
  if (worker->key != NULL)
    job_worker_dialback_release (self->dialback, worker->key);
  g_hash_table_remove (self->workers, worker->id);
  g_free (worker->key);
  g_free (worker->id);
  g_free (worker);
}

static void
cluster_end_shutdown (JobWorkerLauncher *launcher)
{
  JobClusterLauncher *self = (JobClusterLauncher *) launcher;

  /* Every worker was released: the helper cancels what is left of its
   * tasks and disconnects; the next run starts another. */
  g_clear_pointer (&self->helper, job_cluster_helper_free);
  g_clear_pointer (&self->helper_argv, g_strfreev);
  job_worker_dialback_stop_listening (self->dialback);
}

static void
cluster_free (JobWorkerLauncher *launcher)
{
  JobClusterLauncher *self = (JobClusterLauncher *) launcher;

  g_clear_pointer (&self->helper, job_cluster_helper_free);
  g_clear_pointer (&self->helper_argv, g_strfreev);
  job_worker_dialback_free (self->dialback);
  g_hash_table_unref (self->workers);
  g_free (self->helper_error);
  job_cluster_settings_clear (&self->settings);
  g_mutex_clear (&self->mutex);
  g_free (self->cluster);
  g_free (self);
}

static const JobWorkerLauncherClass cluster_launcher_class = {
  .name = "cluster",
  .start_all_at_once = TRUE,
  .start = cluster_start,
  .stop = cluster_stop,
  .release = cluster_release,
  .free = cluster_free,
  .end_shutdown = cluster_end_shutdown,
};

JobWorkerLauncher *
job_cluster_launcher_new (const char *cluster)
{
  JobClusterLauncher *self = g_new0 (JobClusterLauncher, 1);

  self->parent.klass = &cluster_launcher_class;
  self->cluster = g_strdup (cluster);
  g_mutex_init (&self->mutex);
  self->settings.tls = TRUE;
  self->dialback = job_worker_dialback_new (on_dialled_back, self);
  self->workers = g_hash_table_new (g_str_hash, g_str_equal);
  return &self->parent;
}

void
job_cluster_launcher_configure (JobWorkerLauncher        *launcher,
                                const JobClusterSettings *settings)
{
  JobClusterLauncher *self = (JobClusterLauncher *) launcher;
  JobClusterSettings copy = { 0, };

  settings_copy (settings, &copy);
  g_mutex_lock (&self->mutex);
  job_cluster_settings_clear (&self->settings);
  self->settings = copy;
  g_mutex_unlock (&self->mutex);
}

void
job_cluster_launcher_new_run (JobWorkerLauncher *launcher)
{
  JobClusterLauncher *self = (JobClusterLauncher *) launcher;

  g_mutex_lock (&self->mutex);
  self->new_run = TRUE;
  g_mutex_unlock (&self->mutex);
}

guint
job_cluster_launcher_get_threads (JobWorkerLauncher *launcher)
{
  return g_atomic_int_get (&((JobClusterLauncher *) launcher)->threads);
}

static gboolean
on_connect_timeout (gpointer user_data)
{
  gboolean *over = user_data;

  *over = TRUE;
  return G_SOURCE_REMOVE;
}

gboolean
job_cluster_launcher_connect (JobWorkerLauncher  *launcher,
                              double              timeout,
                              GError            **error)
{
  JobClusterLauncher *self = (JobClusterLauncher *) launcher;
  JobClusterSettings settings = { 0, };
  g_autoptr(GSource) source = NULL;
  gboolean over = FALSE;
  gboolean ok;

  get_settings (self, &settings);
  if (settings.helper_argv == NULL || settings.helper_argv[0] == NULL)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
                   _("No %s cluster to run workers on: set the scheduler"), self->cluster);
      job_cluster_settings_clear (&settings);
      return FALSE;
    }
  ok = ensure_helper (self, settings.helper_argv, error);
  job_cluster_settings_clear (&settings);
  if (!ok)
    return FALSE;

  /* The pool's context is this thread's: its sources keep running. */
  source = g_timeout_source_new ((guint) (CLAMP (timeout, 0, 86400) * 1000));
  g_source_set_callback (source, on_connect_timeout, &over, NULL);
  g_source_attach (source, g_main_context_get_thread_default ());
  while (!over && !self->helper_failed && !job_cluster_helper_is_up (self->helper))
    g_main_context_iteration (g_main_context_get_thread_default (), TRUE);
  g_source_destroy (source);
  if (job_cluster_helper_is_up (self->helper))
    return TRUE;
  if (self->helper_failed)
    g_set_error_literal (error, JOB_ERROR, JOB_ERROR_FAILED, self->helper_error);
  else
    g_set_error (error, JOB_ERROR, JOB_ERROR_TIMEOUT,
                 _("The %s cluster did not answer in %g s"), self->cluster, timeout);
  return FALSE;
}

guint
job_cluster_launcher_get_n_refused (JobWorkerLauncher *launcher)
{
  JobClusterLauncher *self = (JobClusterLauncher *) launcher;

  return job_worker_dialback_get_n_refused (self->dialback);
}
