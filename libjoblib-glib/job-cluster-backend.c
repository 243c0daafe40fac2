/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-cluster-backend.h"
#include "job-cluster-launcher-private.h"
#include "job-error.h"
#include "job-i18n-private.h"
#include "job-worker-command-private.h"
#include "job-worker-pool-private.h"

/**
 * JobClusterBackend:
 *
 * The base of backends whose workers are long-lived tasks of a cluster
 * that a task scheduler runs: [class@Joblib.DaskBackend] and
 * [class@Joblib.IpyparallelBackend]. It is abstract: a subclass says how
 * to reach its cluster ([vfunc@Joblib.ClusterBackend.dup_helper_arguments]).
 *
 * A small Python program, the submission helper
 * (`joblib-glib-cluster-submit`, run with the Python interpreter that
 * joblib_glib is installed for), connects to the cluster's scheduler and
 * asks it for one task per worker. Each task runs
 * `joblib-glib-worker-connect --exit-with-driver`, which dials back to
 * this backend over TCP, proves that it holds the run's token (passed in
 * the task's environment, never on a command line, never over the
 * network) and makes the backend prove it too, then hands the connection
 * to the worker program of the functions' reference kind: tasks of any
 * language run on the cluster. Off loopback the connection is TLS by
 * default, as for [class@Joblib.SlurmBackend].
 *
 * Elastic: tasks start as the cluster has room; a worker whose task's
 * Dask worker or engine is lost goes with it (a parent-death signal),
 * its unanswered tasks run again on other workers and a new cluster task
 * is asked for; a task lost more than
 * [property@Joblib.ClusterBackend:max-retries] times fails with
 * [error@Joblib.Error.WORKER_DIED]. Cancelling or failing a run and
 * [method@Joblib.Backend.shutdown] close every worker's connection,
 * which kills the worker at once, and cancel the cluster tasks that have
 * not started.
 *
 * Thread safety: the methods may be called from any thread; workers are
 * managed by a thread of the backend, and batches complete on the
 * thread-default main context of the caller of
 * [method@Joblib.Backend.run_batch_async]. Properties apply from the
 * next run.
 */

typedef struct
{
  JobWorkerPool      *pool;        /* (owned) */
  JobWorkerLauncher  *launcher;    /* (unowned) the pool's */
  GMutex              mutex;       /* guards the fields below */
  int                 n_workers;
  guint               max_retries;
  guint64             max_nbytes;
  char               *shared_folder;
  char               *listen_address;
  guint16             port;
  gboolean            tls;
  GTlsCertificate    *certificate;
  double              idle_timeout;
  char              **helper_command;
  GHashTable         *commands;    /* kind → GStrv */
} JobClusterBackendPrivate;

enum {
  PROP_0,
  PROP_N_WORKERS,
  PROP_MAX_RETRIES,
  PROP_MAX_NBYTES,
  PROP_SHARED_FOLDER,
  PROP_LISTEN_ADDRESS,
  PROP_PORT,
  PROP_TLS,
  PROP_TLS_CERTIFICATE,
  PROP_IDLE_TIMEOUT,
  PROP_HELPER_COMMAND,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void job_backend_iface_init (JobBackendInterface *iface);

G_DEFINE_ABSTRACT_TYPE_WITH_CODE (JobClusterBackend, job_cluster_backend, G_TYPE_OBJECT,
                                  G_ADD_PRIVATE (JobClusterBackend)
                                  G_IMPLEMENT_INTERFACE (JOB_TYPE_BACKEND,
                                                         job_backend_iface_init))

#define PRIV(self) ((JobClusterBackendPrivate *) job_cluster_backend_get_instance_private (JOB_CLUSTER_BACKEND (self)))

static JobBackendFlags
job_cluster_backend_get_flags (JobBackend *backend)
{
  return JOB_BACKEND_FLAGS_CAN_KILL | JOB_BACKEND_FLAGS_NEEDS_REFERENCE;
}

static const char *
job_cluster_backend_get_display_name (JobBackend *backend)
{
  const char *name = G_OBJECT_TYPE_NAME (backend);

  /* "DaskBackend", as "SlurmBackend" in verbose lines. */
  return g_str_has_prefix (name, "Job") ? name + 3 : name;
}

static int
job_cluster_backend_effective_n_jobs (JobBackend *backend,
                                      int         n_jobs)
{
  JobClusterBackendPrivate *priv = PRIV (backend);
  int n_workers;

  g_mutex_lock (&priv->mutex);
  n_workers = priv->n_workers;
  g_mutex_unlock (&priv->mutex);
  return n_workers > 0 ? n_workers : n_jobs;
}

/* The helper's command line: helper-command (or the installed helper
 * run by joblib_glib's interpreter) and the subclass's arguments. */
static char **
dup_helper_argv (JobClusterBackend  *self,
                 GError            **error)
{
  JobClusterBackendPrivate *priv = PRIV (self);
  g_auto(GStrv) arguments = JOB_CLUSTER_BACKEND_GET_CLASS (self)->dup_helper_arguments (self, error);
  g_auto(GStrv) program = NULL;
  GStrvBuilder *builder;
  char **argv;

  if (arguments == NULL)
    return NULL;
  g_mutex_lock (&priv->mutex);
  program = g_strdupv (priv->helper_command);
  g_mutex_unlock (&priv->mutex);
  if (program == NULL)
    program = job_worker_command_dup_cluster_helper ();

  builder = g_strv_builder_new ();
  g_strv_builder_addv (builder, (const char **) program);
  g_strv_builder_addv (builder, (const char **) arguments);
  argv = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);
  return argv;
}

static gboolean
apply_settings (JobClusterBackend  *self,
                int                 n_jobs,
                int                 inner_max_num_threads,
                GError            **error)
{
  JobClusterBackendPrivate *priv = PRIV (self);
  JobClusterSettings settings = { 0, };
  int n_workers;

  if (n_jobs < 1)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
                   _("A cluster backend needs at least one worker, not %d"), n_jobs);
      return FALSE;
    }
  settings.helper_argv = dup_helper_argv (self, error);
  if (settings.helper_argv == NULL)
    return FALSE;

  g_mutex_lock (&priv->mutex);
  settings.listen_address = g_strdup (priv->listen_address);
  settings.port = priv->port;
  settings.tls = priv->tls;
  settings.certificate = priv->certificate != NULL ? g_object_ref (priv->certificate) : NULL;
  settings.commands = g_hash_table_ref (priv->commands);
  n_workers = priv->n_workers > 0 ? priv->n_workers : n_jobs;
  /* Each worker takes one thread of the cluster: its native libraries
   * get one thread unless told otherwise. */
  job_worker_pool_configure (priv->pool, n_workers,
                             inner_max_num_threads > 0 ? inner_max_num_threads : 1,
                             inner_max_num_threads > 0);
  job_worker_pool_set_limits (priv->pool, priv->max_nbytes, priv->idle_timeout,
                              priv->shared_folder);
  job_worker_pool_set_max_retries (priv->pool, priv->max_retries);
  g_mutex_unlock (&priv->mutex);

  job_cluster_launcher_configure (priv->launcher, &settings);
  job_cluster_settings_clear (&settings);
  return TRUE;
}

static gboolean
job_cluster_backend_configure (JobBackend  *backend,
                               int          n_jobs,
                               GError     **error)
{
  return apply_settings (JOB_CLUSTER_BACKEND (backend), n_jobs, 0, error);
}

static gboolean
job_cluster_backend_configure_for_run (JobBackend  *backend,
                                       int          n_jobs,
                                       int          inner_max_num_threads,
                                       GError     **error)
{
  if (!apply_settings (JOB_CLUSTER_BACKEND (backend), n_jobs, inner_max_num_threads, error))
    return FALSE;
  job_cluster_launcher_new_run (PRIV (backend)->launcher);
  return TRUE;
}

static void
job_cluster_backend_run_batch_async (JobBackend          *backend,
                                     JobBatch            *batch,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (backend, cancellable, callback, user_data);

  g_task_set_source_tag (task, job_cluster_backend_run_batch_async);
  g_task_set_task_data (task, job_batch_ref (batch), (GDestroyNotify) job_batch_unref);
  /* The batch may outlive the caller's interest; the pool ends it. */
  g_task_set_check_cancellable (task, FALSE);
  job_worker_pool_submit (PRIV (backend)->pool, batch, task);
}

static gboolean
job_cluster_backend_run_batch_finish (JobBackend    *backend,
                                      GAsyncResult  *result,
                                      GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, backend), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
job_cluster_backend_abort (JobBackend   *backend,
                           const GError *reason)
{
  /* Nothing of a cancelled run stays running on the cluster. */
  job_worker_pool_abort (PRIV (backend)->pool, JOB_WORKER_ABORT_STOP_ALL);
}

static void
job_cluster_backend_shutdown (JobBackend *backend)
{
  job_worker_pool_shutdown (PRIV (backend)->pool);
}

static void
job_backend_iface_init (JobBackendInterface *iface)
{
  iface->get_flags = job_cluster_backend_get_flags;
  iface->get_display_name = job_cluster_backend_get_display_name;
  iface->effective_n_jobs = job_cluster_backend_effective_n_jobs;
  iface->configure = job_cluster_backend_configure;
  iface->configure_for_run = job_cluster_backend_configure_for_run;
  iface->run_batch_async = job_cluster_backend_run_batch_async;
  iface->run_batch_finish = job_cluster_backend_run_batch_finish;
  iface->abort = job_cluster_backend_abort;
  iface->shutdown = job_cluster_backend_shutdown;
}

static void
job_cluster_backend_finalize (GObject *object)
{
  JobClusterBackendPrivate *priv = PRIV (object);

  job_worker_pool_free (priv->pool);
  g_free (priv->shared_folder);
  g_free (priv->listen_address);
  g_clear_object (&priv->certificate);
  g_strfreev (priv->helper_command);
  g_hash_table_unref (priv->commands);
  g_mutex_clear (&priv->mutex);

  G_OBJECT_CLASS (job_cluster_backend_parent_class)->finalize (object);
}

static void
job_cluster_backend_constructed (GObject *object)
{
  JobClusterBackendPrivate *priv = PRIV (object);
  g_autofree char *thread_name = NULL;
  const char *cluster = JOB_CLUSTER_BACKEND_GET_CLASS (object)->cluster_name;

  G_OBJECT_CLASS (job_cluster_backend_parent_class)->constructed (object);

  if (cluster == NULL)
    cluster = G_OBJECT_TYPE_NAME (object);
  thread_name = g_strdup_printf ("joblib-%s", cluster);
  priv->launcher = job_cluster_launcher_new (cluster);
  priv->pool = job_worker_pool_new (thread_name, priv->launcher, JOB_WORKER_LOSS_RETRY);
}

static void
job_cluster_backend_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  JobClusterBackendPrivate *priv = PRIV (object);

  g_mutex_lock (&priv->mutex);
  switch (prop_id)
    {
    case PROP_N_WORKERS:
      g_value_set_int (value, priv->n_workers);
      break;
    case PROP_MAX_RETRIES:
      g_value_set_uint (value, priv->max_retries);
      break;
    case PROP_MAX_NBYTES:
      g_value_set_uint64 (value, priv->max_nbytes);
      break;
    case PROP_SHARED_FOLDER:
      g_value_set_string (value, priv->shared_folder);
      break;
    case PROP_LISTEN_ADDRESS:
      g_value_set_string (value, priv->listen_address);
      break;
    case PROP_PORT:
      g_value_set_uint (value, priv->port);
      break;
    case PROP_TLS:
      g_value_set_boolean (value, priv->tls);
      break;
    case PROP_TLS_CERTIFICATE:
      g_value_set_object (value, priv->certificate);
      break;
    case PROP_IDLE_TIMEOUT:
      g_value_set_double (value, priv->idle_timeout);
      break;
    case PROP_HELPER_COMMAND:
      g_value_set_boxed (value, priv->helper_command);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
  g_mutex_unlock (&priv->mutex);
}

static void
job_cluster_backend_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  JobClusterBackendPrivate *priv = PRIV (object);
  gboolean changed = TRUE;

  g_mutex_lock (&priv->mutex);
  switch (prop_id)
    {
    case PROP_N_WORKERS:
      changed = priv->n_workers != g_value_get_int (value);
      priv->n_workers = g_value_get_int (value);
      break;
    case PROP_MAX_RETRIES:
      changed = priv->max_retries != g_value_get_uint (value);
      priv->max_retries = g_value_get_uint (value);
      break;
    case PROP_MAX_NBYTES:
      changed = priv->max_nbytes != g_value_get_uint64 (value);
      priv->max_nbytes = g_value_get_uint64 (value);
      break;
    case PROP_SHARED_FOLDER:
      changed = g_strcmp0 (priv->shared_folder, g_value_get_string (value)) != 0;
      g_free (priv->shared_folder);
      priv->shared_folder = g_value_dup_string (value);
      break;
    case PROP_LISTEN_ADDRESS:
      changed = g_strcmp0 (priv->listen_address, g_value_get_string (value)) != 0;
      g_free (priv->listen_address);
      priv->listen_address = g_value_dup_string (value);
      break;
    case PROP_PORT:
      changed = priv->port != g_value_get_uint (value);
      priv->port = (guint16) g_value_get_uint (value);
      break;
    case PROP_TLS:
      changed = priv->tls != g_value_get_boolean (value);
      priv->tls = g_value_get_boolean (value);
      break;
    case PROP_TLS_CERTIFICATE:
      changed = g_set_object (&priv->certificate, g_value_get_object (value));
      break;
    case PROP_IDLE_TIMEOUT:
      changed = priv->idle_timeout != g_value_get_double (value);
      priv->idle_timeout = g_value_get_double (value);
      break;
    case PROP_HELPER_COMMAND:
      g_strfreev (priv->helper_command);
      priv->helper_command = g_value_dup_boxed (value);
      if (priv->helper_command != NULL && priv->helper_command[0] == NULL)
        g_clear_pointer (&priv->helper_command, g_strfreev);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
  g_mutex_unlock (&priv->mutex);
  if (changed)
    g_object_notify_by_pspec (object, pspec);
}

static void
job_cluster_backend_class_init (JobClusterBackendClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->constructed = job_cluster_backend_constructed;
  object_class->finalize = job_cluster_backend_finalize;
  object_class->get_property = job_cluster_backend_get_property;
  object_class->set_property = job_cluster_backend_set_property;

  /**
   * JobClusterBackend:n-workers:
   *
   * How many cluster tasks run workers for one reference kind; 0: the
   * run's n_jobs. Tasks beyond what the cluster can run at once wait in
   * its queue and start as it grows.
   */
  properties[PROP_N_WORKERS] =
    g_param_spec_int ("n-workers", NULL, NULL, 0, G_MAXINT, 0, flags);

  /**
   * JobClusterBackend:max-retries:
   *
   * How many lost workers a task survives: each time the worker running
   * it is lost, its unanswered tasks run again on another worker; one
   * more loss fails it with [error@Joblib.Error.WORKER_DIED].
   */
  properties[PROP_MAX_RETRIES] =
    g_param_spec_uint ("max-retries", NULL, NULL, 0, 100, 2, flags);

  /**
   * JobClusterBackend:max-nbytes:
   *
   * Arguments larger than this many bytes travel through a file in
   * [property@Joblib.ClusterBackend:shared-folder] when it is set, else
   * over the connection.
   */
  properties[PROP_MAX_NBYTES] =
    g_param_spec_uint64 ("max-nbytes", NULL, NULL, 0, G_MAXUINT64, 1024 * 1024, flags);

  /**
   * JobClusterBackend:shared-folder:
   *
   * A folder that the driver and every cluster worker see at the same
   * path, for large arguments; %NULL: they travel over the connection.
   */
  properties[PROP_SHARED_FOLDER] =
    g_param_spec_string ("shared-folder", NULL, NULL, NULL, flags);

  /**
   * JobClusterBackend:listen-address:
   *
   * The IP address the backend listens on for its workers; %NULL: the
   * address the host name resolves to, else every interface (workers
   * dial the host name). `127.0.0.1` for a cluster on this machine.
   */
  properties[PROP_LISTEN_ADDRESS] =
    g_param_spec_string ("listen-address", NULL, NULL, NULL, flags);

  /**
   * JobClusterBackend:port:
   *
   * The TCP port to listen on; 0: any free port.
   */
  properties[PROP_PORT] =
    g_param_spec_uint ("port", NULL, NULL, 0, 65535, 0, flags);

  /**
   * JobClusterBackend:tls:
   *
   * Whether workers off loopback connect with TLS, pinned to the
   * backend's own self-signed certificate. %FALSE: plain TCP, still
   * mutually authenticated, neither encrypted nor integrity-protected.
   */
  properties[PROP_TLS] =
    g_param_spec_boolean ("tls", NULL, NULL, TRUE, flags);

  /**
   * JobClusterBackend:tls-certificate:
   *
   * A certificate with its private key to present to workers instead of
   * a generated one; used on loopback too.
   */
  properties[PROP_TLS_CERTIFICATE] =
    g_param_spec_object ("tls-certificate", NULL, NULL, G_TYPE_TLS_CERTIFICATE, flags);

  /**
   * JobClusterBackend:idle-timeout:
   *
   * Seconds after which an idle worker leaves and frees its cluster
   * thread; a negative value keeps idle workers until shutdown.
   */
  properties[PROP_IDLE_TIMEOUT] =
    g_param_spec_double ("idle-timeout", NULL, NULL, -1, G_MAXDOUBLE, 60, flags);

  /**
   * JobClusterBackend:helper-command:
   *
   * The submission helper's program and first arguments, as
   * `{"/usr/bin/python3", "/path/cluster_submit.py"}`; %NULL: the
   * installed `joblib-glib-cluster-submit` run by the interpreter that
   * joblib_glib is installed for (`JOB_PYTHON` overrides it). The
   * interpreter must have the cluster's Python package.
   */
  properties[PROP_HELPER_COMMAND] =
    g_param_spec_boxed ("helper-command", NULL, NULL, G_TYPE_STRV, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
job_cluster_backend_init (JobClusterBackend *self)
{
  JobClusterBackendPrivate *priv = PRIV (self);

  g_mutex_init (&priv->mutex);
  priv->max_retries = 2;
  priv->max_nbytes = 1024 * 1024;
  priv->tls = TRUE;
  priv->idle_timeout = 60;
  priv->commands = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify) g_strfreev);
}

/**
 * job_cluster_backend_set_worker_command:
 * @self: a cluster backend
 * @kind: a function reference kind (`"native"`, `"python"`, `"gjs"`)
 * @argv: (array zero-terminated=1) (nullable): the worker program and its
 *   arguments as run on the cluster's machines; %NULL: the default
 *
 * Chooses the worker program that this backend's cluster tasks run for
 * functions of @kind. Applies from the next run. Thread-safe.
 */
void
job_cluster_backend_set_worker_command (JobClusterBackend  *self,
                                        const char         *kind,
                                        const char * const *argv)
{
  JobClusterBackendPrivate *priv;

  g_return_if_fail (JOB_IS_CLUSTER_BACKEND (self));
  g_return_if_fail (kind != NULL);

  priv = PRIV (self);
  g_mutex_lock (&priv->mutex);
  if (argv == NULL || argv[0] == NULL)
    g_hash_table_remove (priv->commands, kind);
  else
    g_hash_table_insert (priv->commands, g_strdup (kind), g_strdupv ((char **) argv));
  g_mutex_unlock (&priv->mutex);
}

typedef struct
{
  JobClusterBackend *self;
  double             timeout;
  GError            *error;
  gboolean           ok;
} Connect;

static gboolean
connect_in_pool (gpointer data)
{
  Connect *connect = data;

  connect->ok = job_cluster_launcher_connect (PRIV (connect->self)->launcher, connect->timeout,
                                              &connect->error);
  return G_SOURCE_REMOVE;
}

/**
 * job_cluster_backend_connect:
 * @self: a cluster backend
 * @timeout: seconds to wait for the cluster's scheduler
 * @error: return location for a #GError
 *
 * Starts the submission helper and waits until it has reached the
 * cluster, so that [method@Joblib.ClusterBackend.get_cluster_threads]
 * knows the cluster's size. Runs do this on their own; this only makes a
 * wrong address fail early. Blocks the calling thread; thread-safe.
 *
 * Returns: %TRUE once connected; %FALSE with [error@Joblib.Error.FAILED]
 *   (the cluster cannot be reached, the helper cannot run) or
 *   [error@Joblib.Error.TIMEOUT]
 */
gboolean
job_cluster_backend_connect (JobClusterBackend  *self,
                             double              timeout,
                             GError            **error)
{
  Connect connect = { self, timeout, NULL, FALSE };

  g_return_val_if_fail (JOB_IS_CLUSTER_BACKEND (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!apply_settings (self, 1, 0, error))
    return FALSE;
  job_worker_pool_invoke_sync (PRIV (self)->pool, connect_in_pool, &connect);
  if (connect.error != NULL)
    g_propagate_error (error, connect.error);
  return connect.ok;
}

/**
 * job_cluster_backend_get_cluster_threads:
 * @self: a cluster backend
 *
 * The cluster's size as last seen by the submission helper: the Dask
 * workers' threads, or the IPython engines. Thread-safe.
 *
 * Returns: the number of threads, 0 before the helper has connected
 */
guint
job_cluster_backend_get_cluster_threads (JobClusterBackend *self)
{
  g_return_val_if_fail (JOB_IS_CLUSTER_BACKEND (self), 0);

  return job_cluster_launcher_get_threads (PRIV (self)->launcher);
}

/**
 * job_cluster_backend_start_workers:
 * @self: a cluster backend
 * @kind: a function reference kind (`"native"`, `"python"`, `"gjs"`)
 * @n_workers: how many workers to start, or 0 for
 *   [property@Joblib.ClusterBackend:n-workers]
 * @timeout: seconds to wait for them to connect
 * @error: return location for a #GError
 *
 * Starts workers for functions of @kind ahead of any run and waits until
 * @n_workers of them have connected, as Dask's `wait_for_workers`. They
 * stay until [method@Joblib.Backend.shutdown]. Blocks the calling
 * thread; thread-safe.
 *
 * Returns: %TRUE once they are connected; %FALSE with
 *   [error@Joblib.Error.TIMEOUT] when fewer connected in time, or another
 *   error when they cannot start
 */
gboolean
job_cluster_backend_start_workers (JobClusterBackend  *self,
                                   const char         *kind,
                                   int                 n_workers,
                                   double              timeout,
                                   GError            **error)
{
  JobClusterBackendPrivate *priv;
  int n;

  g_return_val_if_fail (JOB_IS_CLUSTER_BACKEND (self), FALSE);
  g_return_val_if_fail (kind != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  priv = PRIV (self);
  g_mutex_lock (&priv->mutex);
  n = n_workers > 0 ? n_workers : priv->n_workers;
  g_mutex_unlock (&priv->mutex);
  if (n < 1)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
                   _("Cannot start %d workers: give a positive count or set n-workers"), n);
      return FALSE;
    }
  if (!apply_settings (self, n, 0, error))
    return FALSE;
  return job_worker_pool_start_workers (priv->pool, kind, (guint) n, timeout, error);
}

typedef struct
{
  JobWorkerLauncher *launcher;
  guint              n;
} Refused;

static gboolean
refused_in_pool (gpointer data)
{
  Refused *refused = data;

  refused->n = job_cluster_launcher_get_n_refused (refused->launcher);
  return G_SOURCE_REMOVE;
}

/**
 * job_cluster_backend_get_n_refused:
 * @self: a cluster backend
 *
 * Counts the connections refused since the backend last started
 * listening (a wrong or missing token, a failed TLS handshake).
 * Thread-safe.
 *
 * Returns: the number of refused connections
 */
guint
job_cluster_backend_get_n_refused (JobClusterBackend *self)
{
  Refused refused = { NULL, 0 };

  g_return_val_if_fail (JOB_IS_CLUSTER_BACKEND (self), 0);

  refused.launcher = PRIV (self)->launcher;
  job_worker_pool_invoke_sync (PRIV (self)->pool, refused_in_pool, &refused);
  return refused.n;
}
