/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-cluster-backend-private.h"
#include "job-cluster-launcher-private.h"
#include "job-error.h"
#include "job-i18n-private.h"
#include "job-worker-command-private.h"
#include "job-remote-backend-private.h"

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
 * [property@Joblib.RemoteBackend:max-retries] times fails with
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
  GMutex              mutex;       /* guards the fields below */
  int                 n_workers;
  char              **helper_command;
  GHashTable         *options;     /* a subclass's property name → value */
} JobClusterBackendPrivate;

enum {
  PROP_0,
  PROP_N_WORKERS,
  PROP_HELPER_COMMAND,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE (JobClusterBackend, job_cluster_backend,
                                     JOB_TYPE_REMOTE_BACKEND)

/* How long sizing a run to the cluster waits for its scheduler. */
#define CONNECT_SECONDS 30.0

#define PRIV(self) ((JobClusterBackendPrivate *) job_cluster_backend_get_instance_private (JOB_CLUSTER_BACKEND (self)))

static int
job_cluster_backend_get_n_workers (JobRemoteBackend *backend,
                                   int               n_jobs)
{
  JobClusterBackendPrivate *priv = PRIV (backend);
  int n_workers;

  g_mutex_lock (&priv->mutex);
  n_workers = priv->n_workers;
  g_mutex_unlock (&priv->mutex);
  if (n_workers > 0)
    return n_workers;
  if (n_jobs < 0)
    {
      g_autoptr(GError) error = NULL;
      int threads;

      /* All of the cluster (-1), all but one of its threads (-2)…: its
       * size as the helper sees it. A cluster that cannot be reached
       * leaves the choice to the caller; the run then says why. */
      if (!job_cluster_backend_connect (JOB_CLUSTER_BACKEND (backend), CONNECT_SECONDS, &error))
        return 0;
      threads = (int) MIN (job_cluster_backend_get_cluster_threads (JOB_CLUSTER_BACKEND (backend)),
                           G_MAXINT / 2);
      return threads > 0 ? MAX (threads + 1 + n_jobs, 1) : 0;
    }
  return n_jobs;
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
job_cluster_backend_prepare (JobRemoteBackend  *backend,
                             int                n_jobs,
                             int                inner_max_num_threads,
                             gboolean           new_run,
                             GError           **error)
{
  JobClusterBackend *self = JOB_CLUSTER_BACKEND (backend);
  JobWorkerLauncher *launcher = job_remote_backend_get_launcher (backend);
  JobClusterSettings settings = { 0, };
  JobRemoteSettings shared;

  settings.helper_argv = dup_helper_argv (self, error);
  if (settings.helper_argv == NULL)
    return FALSE;

  job_remote_backend_dup_settings (backend, &shared);
  settings.listen_address = g_strdup (shared.listen_address);
  settings.port = shared.port;
  settings.tls = shared.tls;
  settings.certificate = shared.certificate != NULL ? g_object_ref (shared.certificate) : NULL;
  settings.commands = g_hash_table_ref (shared.commands);
  /* Each worker takes one thread of the cluster: its native libraries
   * get one thread unless told otherwise. */
  job_remote_backend_configure_pool (backend, &shared,
                                     job_cluster_backend_get_n_workers (backend, n_jobs),
                                     inner_max_num_threads > 0 ? inner_max_num_threads : 1,
                                     inner_max_num_threads > 0, FALSE);
  job_remote_settings_clear (&shared);

  job_cluster_launcher_configure (launcher, &settings);
  job_cluster_settings_clear (&settings);
  if (new_run)
    job_cluster_launcher_new_run (launcher);
  return TRUE;
}

static void
job_cluster_backend_finalize (GObject *object)
{
  JobClusterBackendPrivate *priv = PRIV (object);

  g_strfreev (priv->helper_command);
  g_hash_table_unref (priv->options);
  g_mutex_clear (&priv->mutex);

  G_OBJECT_CLASS (job_cluster_backend_parent_class)->finalize (object);
}

static void
job_cluster_backend_constructed (GObject *object)
{
  g_autofree char *thread_name = NULL;
  const char *cluster = JOB_CLUSTER_BACKEND_GET_CLASS (object)->cluster_name;

  G_OBJECT_CLASS (job_cluster_backend_parent_class)->constructed (object);

  if (cluster == NULL)
    cluster = G_OBJECT_TYPE_NAME (object);
  thread_name = g_strdup_printf ("joblib-%s", cluster);
  job_remote_backend_set_launcher (JOB_REMOTE_BACKEND (object), thread_name,
                                   job_cluster_launcher_new (cluster), FALSE);
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
    case PROP_HELPER_COMMAND:
      changed = job_remote_set_strv (&priv->helper_command, value);
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
  JOB_REMOTE_BACKEND_CLASS (klass)->prepare = job_cluster_backend_prepare;
  JOB_REMOTE_BACKEND_CLASS (klass)->get_n_workers = job_cluster_backend_get_n_workers;

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
  priv->options = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
}

void
job_cluster_backend_get_option_property (GObject    *object,
                                         guint       prop_id,
                                         GValue     *value,
                                         GParamSpec *pspec)
{
  JobClusterBackendPrivate *priv = PRIV (object);

  g_mutex_lock (&priv->mutex);
  g_value_set_string (value, g_hash_table_lookup (priv->options, pspec->name));
  g_mutex_unlock (&priv->mutex);
}

void
job_cluster_backend_set_option_property (GObject      *object,
                                         guint         prop_id,
                                         const GValue *value,
                                         GParamSpec   *pspec)
{
  JobClusterBackendPrivate *priv = PRIV (object);
  const char *text = g_value_get_string (value);
  gboolean changed;

  if (text != NULL && text[0] == '\0')
    text = NULL;
  g_mutex_lock (&priv->mutex);
  changed = g_strcmp0 (g_hash_table_lookup (priv->options, pspec->name), text) != 0;
  /* Static names: the pspec outlives the backend. */
  if (text == NULL)
    g_hash_table_remove (priv->options, pspec->name);
  else if (changed)
    g_hash_table_insert (priv->options, (gpointer) pspec->name, g_strdup (text));
  g_mutex_unlock (&priv->mutex);
  if (changed)
    g_object_notify_by_pspec (object, pspec);
}

char *
job_cluster_backend_dup_option (JobClusterBackend *self,
                                const char        *name)
{
  JobClusterBackendPrivate *priv = PRIV (self);
  char *text;

  g_mutex_lock (&priv->mutex);
  text = g_strdup (g_hash_table_lookup (priv->options, name));
  g_mutex_unlock (&priv->mutex);
  return text;
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
  g_return_if_fail (JOB_IS_CLUSTER_BACKEND (self));
  g_return_if_fail (kind != NULL);

  job_remote_backend_set_command (JOB_REMOTE_BACKEND (self), kind, argv);
}

typedef struct
{
  JobWorkerLauncher *launcher;
  double             timeout;
  GError            *error;
  gboolean           ok;
} Connect;

static gboolean
connect_in_pool (gpointer data)
{
  Connect *connect = data;

  connect->ok = job_cluster_launcher_connect (connect->launcher, connect->timeout,
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
  JobRemoteBackend *remote = (JobRemoteBackend *) self;
  Connect connect = { NULL, timeout, NULL, FALSE };

  g_return_val_if_fail (JOB_IS_CLUSTER_BACKEND (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!job_remote_backend_prepare (remote, 1, FALSE, error))
    return FALSE;
  connect.launcher = job_remote_backend_get_launcher (remote);
  job_worker_pool_invoke_sync (job_remote_backend_get_pool (remote), connect_in_pool, &connect);
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

  return job_cluster_launcher_get_threads (job_remote_backend_get_launcher (JOB_REMOTE_BACKEND (self)));
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
  g_return_val_if_fail (JOB_IS_CLUSTER_BACKEND (self), FALSE);
  g_return_val_if_fail (kind != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return job_remote_backend_start_workers (JOB_REMOTE_BACKEND (self), kind, n_workers,
                                           timeout, error);
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
  g_return_val_if_fail (JOB_IS_CLUSTER_BACKEND (self), 0);

  return job_remote_backend_ask_uint (JOB_REMOTE_BACKEND (self),
                                      job_cluster_launcher_get_n_refused);
}
