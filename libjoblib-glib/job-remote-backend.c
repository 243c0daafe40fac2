/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <math.h>

#include "job-error.h"
#include "job-i18n-private.h"
#include "job-remote-backend-private.h"

/**
 * JobRemoteBackend:
 *
 * The base of the backends whose workers run on other machines and dial
 * back to this process: [class@Joblib.SshBackend],
 * [class@Joblib.SlurmBackend] and the cluster backends
 * ([class@Joblib.ClusterBackend]). It is abstract; it owns what they
 * share: the worker pool and its launcher, the worker commands, and the
 * properties below (retries, large arguments, where to listen, TLS,
 * idle workers).
 *
 * Every worker proves, before any work, that it holds the run's random
 * token, and the backend proves it too; off loopback the connection is
 * TLS by default, pinned to one certificate
 * ([property@Joblib.RemoteBackend:tls]). A worker that is lost has its
 * unanswered tasks run again on other workers, up to
 * [property@Joblib.RemoteBackend:max-retries] times per task.
 *
 * Thread safety: properties may be set and read from any thread and
 * apply from the next run; the workers are managed by a thread of the
 * backend, and batches complete on the thread-default main context of
 * the caller of [method@Joblib.Backend.run_batch_async].
 */

typedef struct
{
  JobWorkerPool     *pool;      /* (owned) (nullable) until a subclass gives its launcher */
  JobWorkerLauncher *launcher;  /* (unowned) the pool's */
  gboolean           abort_kills_busy_only;
  GMutex             mutex;     /* guards settings */
  JobRemoteSettings  settings;
} JobRemoteBackendPrivate;

enum {
  PROP_0,
  PROP_MAX_RETRIES,
  PROP_MAX_NBYTES,
  PROP_SHARED_FOLDER,
  PROP_LISTEN_ADDRESS,
  PROP_PORT,
  PROP_TLS,
  PROP_TLS_CERTIFICATE,
  PROP_IDLE_TIMEOUT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void job_backend_iface_init (JobBackendInterface *iface);
static gboolean prepare (JobRemoteBackend  *self,
                         int                n_jobs,
                         int                inner_max_num_threads,
                         gboolean           new_run,
                         GError           **error);

G_DEFINE_ABSTRACT_TYPE_WITH_CODE (JobRemoteBackend, job_remote_backend, G_TYPE_OBJECT,
                                  G_ADD_PRIVATE (JobRemoteBackend)
                                  G_IMPLEMENT_INTERFACE (JOB_TYPE_BACKEND,
                                                         job_backend_iface_init))

#define PRIV(self) ((JobRemoteBackendPrivate *) job_remote_backend_get_instance_private (JOB_REMOTE_BACKEND (self)))

void
job_remote_settings_clear (JobRemoteSettings *settings)
{
  g_clear_pointer (&settings->shared_folder, g_free);
  g_clear_pointer (&settings->listen_address, g_free);
  g_clear_object (&settings->certificate);
  g_clear_pointer (&settings->commands, g_hash_table_unref);
}

static JobBackendFlags
job_remote_backend_get_flags (JobBackend *backend)
{
  return JOB_BACKEND_FLAGS_CAN_KILL | JOB_BACKEND_FLAGS_NEEDS_REFERENCE;
}

static const char *
job_remote_backend_get_display_name (JobBackend *backend)
{
  const char *name = G_OBJECT_TYPE_NAME (backend);

  /* "SshBackend", "DaskBackend" in verbose lines. */
  return g_str_has_prefix (name, "Job") ? name + 3 : name;
}

static int
job_remote_backend_effective_n_jobs (JobBackend *backend,
                                     int         n_jobs)
{
  JobRemoteBackendClass *klass = JOB_REMOTE_BACKEND_GET_CLASS (backend);

  if (klass->get_n_workers == NULL)
    return n_jobs;
  return klass->get_n_workers (JOB_REMOTE_BACKEND (backend), n_jobs);
}

int
job_remote_backend_size_run (JobBackend *backend,
                             int         requested,
                             int         effective)
{
  JobRemoteBackendClass *klass = JOB_REMOTE_BACKEND_GET_CLASS (backend);
  int n = 0;

  if (requested < 0 && klass->get_n_workers != NULL)
    n = klass->get_n_workers (JOB_REMOTE_BACKEND (backend), requested);
  return n > 0 ? n : job_backend_effective_n_jobs (backend, effective);
}

gboolean
job_remote_backend_prepare (JobRemoteBackend  *self,
                            int                n_jobs,
                            gboolean           new_run,
                            GError           **error)
{
  return prepare (self, n_jobs, 0, new_run, error);
}

static gboolean
prepare (JobRemoteBackend  *self,
         int                n_jobs,
         int                inner_max_num_threads,
         gboolean           new_run,
         GError           **error)
{
  if (n_jobs < 1)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
                   _("The %s needs at least one worker, not %d"),
                   job_remote_backend_get_display_name (JOB_BACKEND (self)), n_jobs);
      return FALSE;
    }
  g_return_val_if_fail (PRIV (self)->pool != NULL, FALSE);

  return JOB_REMOTE_BACKEND_GET_CLASS (self)->prepare (self, n_jobs, inner_max_num_threads,
                                                       new_run, error);
}

static gboolean
job_remote_backend_configure (JobBackend  *backend,
                              int          n_jobs,
                              GError     **error)
{
  return prepare (JOB_REMOTE_BACKEND (backend), n_jobs, 0, TRUE, error);
}

static gboolean
job_remote_backend_configure_for_run (JobBackend  *backend,
                                      int          n_jobs,
                                      int          inner_max_num_threads,
                                      GError     **error)
{
  return prepare (JOB_REMOTE_BACKEND (backend), n_jobs, inner_max_num_threads, TRUE, error);
}

static void
job_remote_backend_run_batch_async (JobBackend          *backend,
                                    JobBatch            *batch,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (backend, cancellable, callback, user_data);

  g_task_set_source_tag (task, job_remote_backend_run_batch_async);
  g_task_set_task_data (task, job_batch_ref (batch), (GDestroyNotify) job_batch_unref);
  /* The batch may outlive the caller's interest; the pool ends it. */
  g_task_set_check_cancellable (task, FALSE);
  job_worker_pool_submit (PRIV (backend)->pool, batch, task);
}

static gboolean
job_remote_backend_run_batch_finish (JobBackend    *backend,
                                     GAsyncResult  *result,
                                     GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, backend), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
job_remote_backend_abort (JobBackend   *backend,
                          const GError *reason)
{
  JobRemoteBackendPrivate *priv = PRIV (backend);
  gboolean kill = reason == NULL ||
                  g_error_matches (reason, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
                  g_error_matches (reason, JOB_ERROR, JOB_ERROR_TIMEOUT);

  /* SSH workers are the user's own machines: as local processes, a
   * cancelled or timed out run kills the workers running its tasks and
   * a task error keeps them. A batch system's workers hold allocations:
   * nothing of a stopped run stays queued or running there. */
  if (!priv->abort_kills_busy_only)
    job_worker_pool_abort (priv->pool, JOB_WORKER_ABORT_STOP_ALL);
  else
    job_worker_pool_abort (priv->pool, kill ? JOB_WORKER_ABORT_KILL_BUSY
                                            : JOB_WORKER_ABORT_DROP_ANSWERS);
}

static void
job_remote_backend_shutdown (JobBackend *backend)
{
  job_worker_pool_shutdown (PRIV (backend)->pool);
}

static void
job_backend_iface_init (JobBackendInterface *iface)
{
  iface->get_flags = job_remote_backend_get_flags;
  iface->get_display_name = job_remote_backend_get_display_name;
  iface->effective_n_jobs = job_remote_backend_effective_n_jobs;
  iface->configure = job_remote_backend_configure;
  iface->configure_for_run = job_remote_backend_configure_for_run;
  iface->run_batch_async = job_remote_backend_run_batch_async;
  iface->run_batch_finish = job_remote_backend_run_batch_finish;
  iface->abort = job_remote_backend_abort;
  iface->shutdown = job_remote_backend_shutdown;
}

static void
job_remote_backend_finalize (GObject *object)
{
  JobRemoteBackendPrivate *priv = PRIV (object);

  g_clear_pointer (&priv->pool, job_worker_pool_free);
  job_remote_settings_clear (&priv->settings);
  g_mutex_clear (&priv->mutex);

  G_OBJECT_CLASS (job_remote_backend_parent_class)->finalize (object);
}

static void
job_remote_backend_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  JobRemoteBackendPrivate *priv = PRIV (object);
  JobRemoteSettings *s = &priv->settings;

  g_mutex_lock (&priv->mutex);
  switch (prop_id)
    {
    case PROP_MAX_RETRIES: g_value_set_uint (value, s->max_retries); break;
    case PROP_MAX_NBYTES: g_value_set_uint64 (value, s->max_nbytes); break;
    case PROP_SHARED_FOLDER: g_value_set_string (value, s->shared_folder); break;
    case PROP_LISTEN_ADDRESS: g_value_set_string (value, s->listen_address); break;
    case PROP_PORT: g_value_set_uint (value, s->port); break;
    case PROP_TLS: g_value_set_boolean (value, s->tls); break;
    case PROP_TLS_CERTIFICATE: g_value_set_object (value, s->certificate); break;
    case PROP_IDLE_TIMEOUT: g_value_set_double (value, s->idle_timeout); break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
  g_mutex_unlock (&priv->mutex);
}

gboolean
job_remote_set_string (char         **field,
                       const GValue  *value)
{
  const char *text = g_value_get_string (value);

  if (text != NULL && text[0] == '\0')
    text = NULL;
  if (g_strcmp0 (*field, text) == 0)
    return FALSE;
  g_free (*field);
  *field = g_strdup (text);
  return TRUE;
}

gboolean
job_remote_set_strv (char         ***field,
                     const GValue   *value)
{
  char **strv = g_value_get_boxed (value);

  if (strv != NULL && strv[0] == NULL)
    strv = NULL;
  if ((*field == NULL && strv == NULL) ||
      (*field != NULL && strv != NULL &&
       g_strv_equal ((const char * const *) *field, (const char * const *) strv)))
    return FALSE;
  g_strfreev (*field);
  *field = g_strdupv (strv);
  return TRUE;
}

static void
job_remote_backend_set_property (GObject      *object,
                                 guint         prop_id,
                                 const GValue *value,
                                 GParamSpec   *pspec)
{
  JobRemoteBackendPrivate *priv = PRIV (object);
  JobRemoteSettings *s = &priv->settings;
  gboolean changed = FALSE;

  g_mutex_lock (&priv->mutex);
  switch (prop_id)
    {
    case PROP_SHARED_FOLDER: changed = job_remote_set_string (&s->shared_folder, value); break;
    case PROP_LISTEN_ADDRESS: changed = job_remote_set_string (&s->listen_address, value); break;
    case PROP_MAX_RETRIES:
      changed = s->max_retries != g_value_get_uint (value);
      s->max_retries = g_value_get_uint (value);
      break;
    case PROP_MAX_NBYTES:
      changed = s->max_nbytes != g_value_get_uint64 (value);
      s->max_nbytes = g_value_get_uint64 (value);
      break;
    case PROP_PORT:
      changed = s->port != g_value_get_uint (value);
      s->port = (guint16) g_value_get_uint (value);
      break;
    case PROP_TLS:
      changed = s->tls != g_value_get_boolean (value);
      s->tls = g_value_get_boolean (value);
      break;
    case PROP_TLS_CERTIFICATE:
      changed = g_set_object (&s->certificate, g_value_get_object (value));
      break;
    case PROP_IDLE_TIMEOUT:
      changed = s->idle_timeout != g_value_get_double (value);
      s->idle_timeout = g_value_get_double (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
  g_mutex_unlock (&priv->mutex);

  if (changed)
    g_object_notify_by_pspec (object, pspec);
}

static void
job_remote_backend_class_init (JobRemoteBackendClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->finalize = job_remote_backend_finalize;
  object_class->get_property = job_remote_backend_get_property;
  object_class->set_property = job_remote_backend_set_property;

  /**
   * JobRemoteBackend:max-retries:
   *
   * How many lost workers a task survives: each time the worker running
   * it is lost (connection or ssh session lost, job ended, node drained,
   * worker killed), its unanswered tasks run again on another worker;
   * one more loss fails it with [error@Joblib.Error.WORKER_DIED].
   */
  properties[PROP_MAX_RETRIES] =
    g_param_spec_uint ("max-retries", NULL, NULL, 0, G_MAXUINT, 2, flags);

  /**
   * JobRemoteBackend:max-nbytes:
   *
   * Arguments larger than this many bytes travel through files in
   * [property@Joblib.RemoteBackend:shared-folder] when it is set.
   * Without it, they travel over the connection (SSH, Dask, IPython
   * Parallel) or through the driver's temporary folder (Slurm: fine on
   * one machine only).
   */
  properties[PROP_MAX_NBYTES] =
    g_param_spec_uint64 ("max-nbytes", NULL, NULL, 0, G_MAXUINT64, 1024 * 1024, flags);

  /**
   * JobRemoteBackend:shared-folder:
   *
   * A folder that the driver and every worker's machine see at the same
   * path (NFS): large arguments go through it, and Slurm worker jobs
   * write their logs there (`joblib-glib-worker-JOBID.log`). %NULL or
   * empty: none.
   */
  properties[PROP_SHARED_FOLDER] =
    g_param_spec_string ("shared-folder", NULL, NULL, NULL, flags);

  /**
   * JobRemoteBackend:listen-address:
   *
   * The IP address the driver listens on for workers, which they also
   * dial (`127.0.0.1` for workers on this machine); %NULL or empty:
   * every interface, dialled through the host name.
   */
  properties[PROP_LISTEN_ADDRESS] =
    g_param_spec_string ("listen-address", NULL, NULL, NULL, flags);

  /**
   * JobRemoteBackend:port:
   *
   * The TCP port to listen on; 0: any free port.
   */
  properties[PROP_PORT] =
    g_param_spec_uint ("port", NULL, NULL, 0, G_MAXUINT16, 0, flags);

  /**
   * JobRemoteBackend:tls:
   *
   * Whether workers connect with TLS when the driver listens on a
   * non-loopback address (or every interface). Without
   * [property@Joblib.RemoteBackend:tls-certificate], the backend makes a
   * self-signed certificate for itself when it starts listening, and
   * workers accept exactly that one (its fingerprint reaches them with
   * their token, never over the network).
   *
   * Setting it to %FALSE opts out: connections off loopback are then
   * plain TCP. Workers and driver still authenticate each other and the
   * token never crosses the network, but what follows is neither
   * encrypted nor protected against tampering on the network path, and
   * the Python driver refuses to unpickle results that arrive that way.
   * Loopback listeners use plain TCP unless a certificate is set. Needs
   * a GIO TLS backend (glib-networking).
   */
  properties[PROP_TLS] =
    g_param_spec_boolean ("tls", NULL, NULL, TRUE, flags);

  /**
   * JobRemoteBackend:tls-certificate:
   *
   * A certificate with its private key: workers then connect with TLS
   * and accept exactly this certificate (the key stays with the
   * driver), whatever the listen address and
   * [property@Joblib.RemoteBackend:tls].
   */
  properties[PROP_TLS_CERTIFICATE] =
    g_param_spec_object ("tls-certificate", NULL, NULL, G_TYPE_TLS_CERTIFICATE, flags);

  /**
   * JobRemoteBackend:idle-timeout:
   *
   * Seconds after which an idle worker leaves (its ssh session, job or
   * cluster task ends, freeing what it held); negative or infinity:
   * workers stay until shutdown.
   */
  properties[PROP_IDLE_TIMEOUT] =
    g_param_spec_double ("idle-timeout", NULL, NULL, -1, INFINITY, 60.0, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
job_remote_backend_init (JobRemoteBackend *self)
{
  JobRemoteBackendPrivate *priv = PRIV (self);

  g_mutex_init (&priv->mutex);
  priv->settings.max_retries = 2;
  priv->settings.max_nbytes = 1024 * 1024;
  priv->settings.tls = TRUE;
  priv->settings.idle_timeout = 60.0;
  priv->settings.commands = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                   (GDestroyNotify) g_strfreev);
}

void
job_remote_backend_set_launcher (JobRemoteBackend  *self,
                                 const char        *thread_name,
                                 JobWorkerLauncher *launcher,
                                 gboolean           abort_kills_busy_only)
{
  JobRemoteBackendPrivate *priv = PRIV (self);

  g_return_if_fail (priv->pool == NULL);

  priv->launcher = launcher;
  priv->abort_kills_busy_only = abort_kills_busy_only;
  priv->pool = job_worker_pool_new (thread_name, launcher, JOB_WORKER_LOSS_RETRY);
  job_worker_pool_attach (priv->pool, JOB_BACKEND (self), job_remote_backend_run_batch_async);
}

JobWorkerPool *
job_remote_backend_get_pool (JobRemoteBackend *self)
{
  return PRIV (self)->pool;
}

JobWorkerLauncher *
job_remote_backend_get_launcher (JobRemoteBackend *self)
{
  return PRIV (self)->launcher;
}

void
job_remote_backend_dup_settings (JobRemoteBackend  *self,
                                 JobRemoteSettings *settings)
{
  JobRemoteBackendPrivate *priv = PRIV (self);
  const JobRemoteSettings *s = &priv->settings;

  g_mutex_lock (&priv->mutex);
  *settings = *s;
  settings->shared_folder = g_strdup (s->shared_folder);
  settings->listen_address = g_strdup (s->listen_address);
  settings->certificate = s->certificate != NULL ? g_object_ref (s->certificate) : NULL;
  /* Copied, not shared: a launcher may keep it while the next
   * set_worker_command changes ours. */
  settings->commands = job_worker_commands_copy (s->commands);
  g_mutex_unlock (&priv->mutex);
}

void
job_remote_backend_configure_pool (JobRemoteBackend        *self,
                                   const JobRemoteSettings *settings,
                                   int                      n_workers,
                                   int                      inner_threads,
                                   gboolean                 inner_explicit,
                                   gboolean                 local_temp_fallback)
{
  JobWorkerPool *pool = PRIV (self)->pool;
  guint64 max_nbytes = settings->max_nbytes;

  if (settings->shared_folder == NULL && !local_temp_fallback)
    max_nbytes = G_MAXUINT64;
  if (n_workers > 0)
    job_worker_pool_configure (pool, n_workers, inner_threads, inner_explicit);
  job_worker_pool_set_limits (pool, max_nbytes, settings->idle_timeout,
                              settings->shared_folder);
  job_worker_pool_set_max_retries (pool, settings->max_retries);
}

void
job_remote_backend_set_command (JobRemoteBackend   *self,
                                const char         *kind,
                                const char * const *argv)
{
  JobRemoteBackendPrivate *priv = PRIV (self);

  g_mutex_lock (&priv->mutex);
  if (argv == NULL || argv[0] == NULL)
    g_hash_table_remove (priv->settings.commands, kind);
  else
    g_hash_table_insert (priv->settings.commands, g_strdup (kind), g_strdupv ((char **) argv));
  g_mutex_unlock (&priv->mutex);
}

typedef struct
{
  JobWorkerLauncher  *launcher;
  JobRemoteQuestion   question;
  guint             (*uint_question) (JobWorkerLauncher *launcher);
  gpointer            answer;
  guint               uint_answer;
  GError             *error;
} Ask;

static gboolean
ask_in_pool (gpointer data)
{
  Ask *ask = data;

  if (ask->question != NULL)
    ask->answer = ask->question (ask->launcher, &ask->error);
  else
    ask->uint_answer = ask->uint_question (ask->launcher);
  return G_SOURCE_REMOVE;
}

gpointer
job_remote_backend_ask (JobRemoteBackend  *self,
                        JobRemoteQuestion  question,
                        GError           **error)
{
  Ask ask = { PRIV (self)->launcher, question, NULL, NULL, 0, NULL };

  job_worker_pool_invoke_sync (PRIV (self)->pool, ask_in_pool, &ask);
  if (ask.error != NULL)
    g_propagate_error (error, ask.error);
  return ask.answer;
}

guint
job_remote_backend_ask_uint (JobRemoteBackend  *self,
                             guint            (*question) (JobWorkerLauncher *launcher))
{
  Ask ask = { PRIV (self)->launcher, NULL, question, NULL, 0, NULL };

  job_worker_pool_invoke_sync (PRIV (self)->pool, ask_in_pool, &ask);
  return ask.uint_answer;
}

gboolean
job_remote_backend_start_workers (JobRemoteBackend  *self,
                                  const char        *kind,
                                  int                n_workers,
                                  double             timeout,
                                  GError           **error)
{
  int n = n_workers > 0 ? n_workers : job_remote_backend_effective_n_jobs (JOB_BACKEND (self), 0);

  if (n < 1)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
                   _("Cannot start %d workers: give a positive count or set n-workers"), n);
      return FALSE;
    }
  if (!prepare (self, n, 0, FALSE, error))
    return FALSE;
  return job_worker_pool_start_workers (PRIV (self)->pool, kind, (guint) n, timeout, error);
}
