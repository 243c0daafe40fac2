/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <math.h>

#include "job-error.h"
#include "job-i18n-private.h"
#include "job-slurm-backend.h"
#include "job-slurm-launcher-private.h"
#include "job-worker-pool-private.h"

/**
 * JobSlurmBackend:
 *
 * Runs batches on a Slurm cluster. Registered as `"slurm"`: the same
 * [class@Joblib.Parallel] code that runs on threads or local processes
 * runs on a cluster.
 *
 * Each worker is a Slurm job submitted with `sbatch` (the Slurm
 * command-line tools are run, libslurm is not linked). The job runs
 * `joblib-glib-worker-connect`, which connects back to the driver over
 * TCP and hands the connection to the worker program of the functions'
 * reference kind (`joblib-glib-worker` for `"native"`, the Python or GJS
 * worker): workers speak the same protocol as local worker processes.
 * Before any work, each worker and the driver prove to each other that
 * they hold the run's random token, passed in the job's environment and
 * never on a command line; the token never crosses the network. Other
 * connections are closed and logged with a warning. Off loopback,
 * connections use TLS by default with a certificate the backend makes
 * for itself ([property@Joblib.SlurmBackend:tls]); workers accept exactly
 * that certificate, or [property@Joblib.SlurmBackend:tls-certificate].
 *
 * Tasks start as soon as the first worker connects; others join as Slurm
 * starts their jobs. A worker whose job ends, whose node is drained or
 * down (squeue and sinfo every
 * [property@Joblib.SlurmBackend:poll-interval] seconds) or whose
 * connection is lost has its unanswered tasks sent to other workers, and
 * a new job is submitted; a task lost more than
 * [property@Joblib.SlurmBackend:max-retries] times fails with
 * [error@Joblib.Error.WORKER_DIED]. Cancelling or failing a run
 * ([method@Joblib.Backend.abort]) and [method@Joblib.Backend.shutdown]
 * (and finalization) cancel every job the backend submitted with
 * `scancel`; shutdown returns once `scancel` has run.
 *
 * Arguments larger than [property@Joblib.SlurmBackend:max-nbytes] travel
 * through files in [property@Joblib.SlurmBackend:shared-folder], which
 * must be on a file system that the nodes share; worker logs go there
 * too.
 *
 * Thread safety: the methods may be called from any thread; the jobs and
 * connections are managed by a thread of the backend, and batches
 * complete on the thread-default main context of the caller of
 * [method@Joblib.Backend.run_batch_async]. Properties apply to the jobs
 * submitted after the next [method@Joblib.Backend.configure].
 */
struct _JobSlurmBackend
{
  GObject           parent_instance;
  JobWorkerPool     *pool;      /* (owned) */
  JobWorkerLauncher *launcher;  /* (unowned) the pool's */
  GMutex             mutex;     /* guards settings */
  JobSlurmSettings   settings;
};

enum {
  PROP_0,
  PROP_PARTITION,
  PROP_TIME_LIMIT,
  PROP_CPUS_PER_WORKER,
  PROP_MEMORY,
  PROP_SBATCH_ARGS,
  PROP_N_WORKERS,
  PROP_MAX_RETRIES,
  PROP_MAX_NBYTES,
  PROP_SHARED_FOLDER,
  PROP_LISTEN_ADDRESS,
  PROP_PORT,
  PROP_TLS_CERTIFICATE,
  PROP_TLS,
  PROP_POLL_INTERVAL,
  PROP_IDLE_TIMEOUT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void job_backend_iface_init (JobBackendInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (JobSlurmBackend, job_slurm_backend, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (JOB_TYPE_BACKEND,
                                                      job_backend_iface_init))

static JobBackendFlags
job_slurm_backend_get_flags (JobBackend *backend)
{
  return JOB_BACKEND_FLAGS_CAN_KILL | JOB_BACKEND_FLAGS_NEEDS_REFERENCE;
}

static const char *
job_slurm_backend_get_display_name (JobBackend *backend)
{
  return "SlurmBackend";
}

static int
job_slurm_backend_effective_n_jobs (JobBackend *backend,
                                    int         n_jobs)
{
  JobSlurmBackend *self = JOB_SLURM_BACKEND (backend);
  int n_workers;

  g_mutex_lock (&self->mutex);
  n_workers = self->settings.n_workers;
  g_mutex_unlock (&self->mutex);
  return n_workers > 0 ? n_workers : n_jobs;
}

/* Under the mutex. @n_jobs: the run's, or 0 to keep the last. */
static void
apply_settings (JobSlurmBackend *self,
                int              n_jobs)
{
  const JobSlurmSettings *settings = &self->settings;

  job_slurm_launcher_set_settings (self->launcher, settings);
  if (n_jobs > 0)
    job_worker_pool_configure (self->pool,
                               settings->n_workers > 0 ? settings->n_workers : n_jobs,
                               MAX (settings->cpus_per_worker, 1), FALSE);
  job_worker_pool_set_limits (self->pool, settings->max_nbytes, settings->idle_timeout,
                              settings->shared_folder);
  job_worker_pool_set_max_retries (self->pool, settings->max_retries);
}

static gboolean
job_slurm_backend_configure (JobBackend  *backend,
                             int          n_jobs,
                             GError     **error)
{
  JobSlurmBackend *self = JOB_SLURM_BACKEND (backend);

  if (n_jobs < 1)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
                   _("The Slurm backend needs at least one worker, not %d"), n_jobs);
      return FALSE;
    }

  g_mutex_lock (&self->mutex);
  apply_settings (self, n_jobs);
  g_mutex_unlock (&self->mutex);
  return TRUE;
}

static void
job_slurm_backend_run_batch_async (JobBackend          *backend,
                                   JobBatch            *batch,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  JobSlurmBackend *self = JOB_SLURM_BACKEND (backend);
  g_autoptr(GTask) task = g_task_new (backend, cancellable, callback, user_data);

  g_task_set_source_tag (task, job_slurm_backend_run_batch_async);
  g_task_set_task_data (task, job_batch_ref (batch), (GDestroyNotify) job_batch_unref);
  /* The batch may outlive the caller's interest; the pool ends it. */
  g_task_set_check_cancellable (task, FALSE);
  job_worker_pool_submit (self->pool, batch, task);
}

static gboolean
job_slurm_backend_run_batch_finish (JobBackend    *backend,
                                    GAsyncResult  *result,
                                    GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, backend), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
job_slurm_backend_abort (JobBackend   *backend,
                         const GError *reason)
{
  /* Every job goes: nothing of a stopped run stays in squeue. */
  job_worker_pool_abort (JOB_SLURM_BACKEND (backend)->pool, JOB_WORKER_ABORT_STOP_ALL);
}

static void
job_slurm_backend_shutdown (JobBackend *backend)
{
  job_worker_pool_shutdown (JOB_SLURM_BACKEND (backend)->pool);
}

static void
job_backend_iface_init (JobBackendInterface *iface)
{
  iface->get_flags = job_slurm_backend_get_flags;
  iface->get_display_name = job_slurm_backend_get_display_name;
  iface->effective_n_jobs = job_slurm_backend_effective_n_jobs;
  iface->configure = job_slurm_backend_configure;
  iface->run_batch_async = job_slurm_backend_run_batch_async;
  iface->run_batch_finish = job_slurm_backend_run_batch_finish;
  iface->abort = job_slurm_backend_abort;
  iface->shutdown = job_slurm_backend_shutdown;
}

static void
job_slurm_backend_finalize (GObject *object)
{
  JobSlurmBackend *self = JOB_SLURM_BACKEND (object);

  job_worker_pool_free (self->pool);
  job_slurm_settings_clear (&self->settings);
  g_mutex_clear (&self->mutex);

  G_OBJECT_CLASS (job_slurm_backend_parent_class)->finalize (object);
}

static void
job_slurm_backend_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  JobSlurmBackend *self = JOB_SLURM_BACKEND (object);
  JobSlurmSettings *s = &self->settings;

  g_mutex_lock (&self->mutex);
  switch (prop_id)
    {
    case PROP_PARTITION: g_value_set_string (value, s->partition); break;
    case PROP_TIME_LIMIT: g_value_set_string (value, s->time_limit); break;
    case PROP_CPUS_PER_WORKER: g_value_set_int (value, s->cpus_per_worker); break;
    case PROP_MEMORY: g_value_set_string (value, s->memory); break;
    case PROP_SBATCH_ARGS: g_value_set_boxed (value, s->sbatch_args); break;
    case PROP_N_WORKERS: g_value_set_int (value, s->n_workers); break;
    case PROP_MAX_RETRIES: g_value_set_uint (value, s->max_retries); break;
    case PROP_MAX_NBYTES: g_value_set_uint64 (value, s->max_nbytes); break;
    case PROP_SHARED_FOLDER: g_value_set_string (value, s->shared_folder); break;
    case PROP_LISTEN_ADDRESS: g_value_set_string (value, s->listen_address); break;
    case PROP_PORT: g_value_set_uint (value, s->port); break;
    case PROP_TLS_CERTIFICATE: g_value_set_object (value, s->certificate); break;
    case PROP_TLS: g_value_set_boolean (value, s->tls); break;
    case PROP_POLL_INTERVAL: g_value_set_double (value, s->poll_interval); break;
    case PROP_IDLE_TIMEOUT: g_value_set_double (value, s->idle_timeout); break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
  g_mutex_unlock (&self->mutex);
}

static gboolean
set_string (char       **field,
            const GValue *value)
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

static void
job_slurm_backend_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  JobSlurmBackend *self = JOB_SLURM_BACKEND (object);
  JobSlurmSettings *s = &self->settings;
  gboolean changed = FALSE;

  g_mutex_lock (&self->mutex);
  switch (prop_id)
    {
    case PROP_PARTITION: changed = set_string (&s->partition, value); break;
    case PROP_TIME_LIMIT: changed = set_string (&s->time_limit, value); break;
    case PROP_MEMORY: changed = set_string (&s->memory, value); break;
    case PROP_SHARED_FOLDER: changed = set_string (&s->shared_folder, value); break;
    case PROP_LISTEN_ADDRESS: changed = set_string (&s->listen_address, value); break;
    case PROP_CPUS_PER_WORKER:
      changed = s->cpus_per_worker != g_value_get_int (value);
      s->cpus_per_worker = g_value_get_int (value);
      break;
    case PROP_N_WORKERS:
      changed = s->n_workers != g_value_get_int (value);
      s->n_workers = g_value_get_int (value);
      break;
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
    case PROP_POLL_INTERVAL:
      changed = s->poll_interval != g_value_get_double (value);
      s->poll_interval = g_value_get_double (value);
      break;
    case PROP_IDLE_TIMEOUT:
      changed = s->idle_timeout != g_value_get_double (value);
      s->idle_timeout = g_value_get_double (value);
      break;
    case PROP_SBATCH_ARGS:
      g_strfreev (s->sbatch_args);
      s->sbatch_args = g_value_dup_boxed (value);
      changed = TRUE;
      break;
    case PROP_TLS_CERTIFICATE:
      changed = g_set_object (&s->certificate, g_value_get_object (value));
      break;
    case PROP_TLS:
      changed = s->tls != g_value_get_boolean (value);
      s->tls = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
  g_mutex_unlock (&self->mutex);

  if (changed)
    g_object_notify_by_pspec (object, pspec);
}

#define STRING_PROP(id, name, nick, blurb) \
  properties[id] = g_param_spec_string (name, nick, blurb, NULL, \
                                        G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | \
                                        G_PARAM_EXPLICIT_NOTIFY)

static void
job_slurm_backend_class_init (JobSlurmBackendClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->finalize = job_slurm_backend_finalize;
  object_class->get_property = job_slurm_backend_get_property;
  object_class->set_property = job_slurm_backend_set_property;

  /**
   * JobSlurmBackend:partition:
   *
   * The partition of the worker jobs (`sbatch --partition`); %NULL: the
   * cluster's default.
   */
  STRING_PROP (PROP_PARTITION, "partition", NULL, NULL);
  /**
   * JobSlurmBackend:time-limit:
   *
   * The time limit of each worker job, in any form `sbatch --time`
   * accepts (`"30"`, `"1:00:00"`, `"2-00:00:00"`); %NULL: the
   * partition's default.
   */
  STRING_PROP (PROP_TIME_LIMIT, "time-limit", NULL, NULL);
  /**
   * JobSlurmBackend:memory:
   *
   * The memory of each worker job (`sbatch --mem`, e.g. `"4G"`); %NULL:
   * the cluster's default.
   */
  STRING_PROP (PROP_MEMORY, "memory", NULL, NULL);
  /**
   * JobSlurmBackend:shared-folder:
   *
   * A folder that the driver and every node see at the same path:
   * arguments larger than [property@Joblib.SlurmBackend:max-nbytes] are
   * written there for the workers, and each worker job writes its log
   * there (`joblib-glib-worker-JOBID.log`). %NULL: large arguments go to
   * the driver's temporary folder (fine on one machine only) and logs
   * to `/dev/null`.
   */
  STRING_PROP (PROP_SHARED_FOLDER, "shared-folder", NULL, NULL);
  /**
   * JobSlurmBackend:listen-address:
   *
   * The IP address the driver listens on for workers, which they also
   * dial; %NULL: every interface, dialled through the host name.
   */
  STRING_PROP (PROP_LISTEN_ADDRESS, "listen-address", NULL, NULL);
  /**
   * JobSlurmBackend:cpus-per-worker:
   *
   * CPUs of each worker job (`sbatch --cpus-per-task`); the worker's
   * BLAS and OpenMP thread variables are set to it unless set already.
   */
  properties[PROP_CPUS_PER_WORKER] =
    g_param_spec_int ("cpus-per-worker", NULL, NULL, 1, G_MAXINT, 1, flags);
  /**
   * JobSlurmBackend:n-workers:
   *
   * How many worker jobs to run; 0: the run's `n_jobs`.
   */
  properties[PROP_N_WORKERS] =
    g_param_spec_int ("n-workers", NULL, NULL, 0, G_MAXINT, 0, flags);
  /**
   * JobSlurmBackend:max-retries:
   *
   * How many times a task lost with its worker (job ended, node drained,
   * connection lost) runs again before it fails with
   * [error@Joblib.Error.WORKER_DIED].
   */
  properties[PROP_MAX_RETRIES] =
    g_param_spec_uint ("max-retries", NULL, NULL, 0, G_MAXUINT, 2, flags);
  /**
   * JobSlurmBackend:max-nbytes:
   *
   * Arguments larger than this many bytes go through files in
   * [property@Joblib.SlurmBackend:shared-folder] instead of the
   * connection.
   */
  properties[PROP_MAX_NBYTES] =
    g_param_spec_uint64 ("max-nbytes", NULL, NULL, 0, G_MAXUINT64, 1024 * 1024, flags);
  /**
   * JobSlurmBackend:port:
   *
   * The TCP port to listen on; 0: any free port.
   */
  properties[PROP_PORT] =
    g_param_spec_uint ("port", NULL, NULL, 0, G_MAXUINT16, 0, flags);
  /**
   * JobSlurmBackend:sbatch-args:
   *
   * More `sbatch` arguments for the worker jobs (`--account=…`,
   * `--constraint=…`, `--exclusive`), passed as they are.
   */
  properties[PROP_SBATCH_ARGS] =
    g_param_spec_boxed ("sbatch-args", NULL, NULL, G_TYPE_STRV, flags);
  /**
   * JobSlurmBackend:tls-certificate:
   *
   * A certificate with its private key: workers then connect with TLS
   * and accept exactly this certificate (its SHA-256 fingerprint reaches
   * them through their job's environment; the key stays with the
   * driver), whatever the listen address and
   * [property@Joblib.SlurmBackend:tls]. Needs a GIO TLS backend
   * (glib-networking).
   */
  properties[PROP_TLS_CERTIFICATE] =
    g_param_spec_object ("tls-certificate", NULL, NULL, G_TYPE_TLS_CERTIFICATE, flags);
  /**
   * JobSlurmBackend:tls:
   *
   * Whether workers connect with TLS when the driver listens on a
   * non-loopback address (or every interface). Without
   * [property@Joblib.SlurmBackend:tls-certificate], the backend makes a
   * self-signed certificate for itself when it starts listening, and
   * workers accept exactly that one (they get its fingerprint through
   * their job's environment, never over the network).
   *
   * Setting it to %FALSE opts out: connections off loopback are then
   * plain TCP. Workers and driver still authenticate each other and the
   * token never crosses the network, but what follows is neither
   * encrypted nor protected against tampering by someone on the network
   * path, and the Python driver refuses to unpickle results that arrive
   * that way. Loopback listeners use plain TCP unless a certificate is
   * set. Needs a GIO TLS backend (glib-networking) and a library built
   * with GnuTLS; otherwise listening off loopback fails with an error
   * that says so.
   */
  properties[PROP_TLS] =
    g_param_spec_boolean ("tls", NULL, NULL, TRUE, flags);
  /**
   * JobSlurmBackend:poll-interval:
   *
   * Seconds between two looks at the worker jobs and their nodes
   * (`squeue`, `sinfo`). Intervals from 49 days on, infinity included,
   * count as 49 days.
   */
  properties[PROP_POLL_INTERVAL] =
    g_param_spec_double ("poll-interval", NULL, NULL, 0.01, INFINITY, 1.0, flags);
  /**
   * JobSlurmBackend:idle-timeout:
   *
   * Seconds after which an idle worker leaves and its job ends, freeing
   * its allocation; negative or infinity: workers stay until shutdown.
   */
  properties[PROP_IDLE_TIMEOUT] =
    g_param_spec_double ("idle-timeout", NULL, NULL, -1, INFINITY, 60.0, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
job_slurm_backend_init (JobSlurmBackend *self)
{
  g_mutex_init (&self->mutex);
  self->settings.cpus_per_worker = 1;
  self->settings.max_retries = 2;
  self->settings.max_nbytes = 1024 * 1024;
  self->settings.poll_interval = 1.0;
  self->settings.idle_timeout = 60.0;
  self->settings.tls = TRUE;
  self->settings.commands = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                   (GDestroyNotify) g_strfreev);
  self->launcher = job_slurm_launcher_new ();
  self->pool = job_worker_pool_new ("joblib-slurm", self->launcher, JOB_WORKER_LOSS_RETRY);
  apply_settings (self, 1);
}

/**
 * job_slurm_backend_new:
 *
 * Creates a Slurm backend with default settings. Nothing is submitted
 * before the first batch.
 *
 * Returns: (transfer full): a new backend
 */
JobSlurmBackend *
job_slurm_backend_new (void)
{
  return g_object_new (JOB_TYPE_SLURM_BACKEND, NULL);
}

/**
 * job_slurm_backend_set_worker_command:
 * @self: a Slurm backend
 * @kind: a function reference kind (`"native"`, `"python"`, `"gjs"`)
 * @argv: (array zero-terminated=1) (nullable): the worker program and its
 *   arguments, as run on the nodes; %NULL: the program that
 *   [func@Joblib.ProcessBackend.set_worker_command] sets, or the default
 *
 * Chooses the worker program that this backend's jobs run for functions
 * of @kind. The program speaks the worker protocol on its standard input
 * and output. Applies to jobs submitted after the next
 * [method@Joblib.Backend.configure]. Thread-safe.
 */
void
job_slurm_backend_set_worker_command (JobSlurmBackend    *self,
                                      const char         *kind,
                                      const char * const *argv)
{
  g_return_if_fail (JOB_IS_SLURM_BACKEND (self));
  g_return_if_fail (kind != NULL);

  g_mutex_lock (&self->mutex);
  if (argv == NULL || argv[0] == NULL)
    g_hash_table_remove (self->settings.commands, kind);
  else
    g_hash_table_insert (self->settings.commands, g_strdup (kind),
                         g_strdupv ((char **) argv));
  g_mutex_unlock (&self->mutex);
}

/**
 * job_slurm_backend_start_workers:
 * @self: a Slurm backend
 * @kind: a function reference kind (`"native"`, `"python"`, `"gjs"`)
 * @n_workers: how many workers to start, or 0 for
 *   [property@Joblib.SlurmBackend:n-workers]
 * @timeout: seconds to wait for them to connect
 * @error: return location for a #GError
 *
 * Submits worker jobs for functions of @kind ahead of any run and waits
 * until @n_workers of them have connected, as Dask's `wait_for_workers`:
 * the first run then starts on every worker at once instead of on
 * whichever connects first. These workers stay until
 * [method@Joblib.Backend.shutdown], however long they are idle.
 * Blocks the calling thread; thread-safe.
 *
 * Returns: %TRUE once they are connected; %FALSE with
 *   [error@Joblib.Error.TIMEOUT] when fewer connected in time, or
 *   [error@Joblib.Error.FAILED] when jobs cannot be submitted
 */
gboolean
job_slurm_backend_start_workers (JobSlurmBackend  *self,
                                 const char       *kind,
                                 int               n_workers,
                                 double            timeout,
                                 GError          **error)
{
  int n;

  g_return_val_if_fail (JOB_IS_SLURM_BACKEND (self), FALSE);
  g_return_val_if_fail (kind != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_mutex_lock (&self->mutex);
  n = n_workers > 0 ? n_workers : self->settings.n_workers;
  g_mutex_unlock (&self->mutex);
  if (n < 1)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
                   _("Cannot start %d workers: give a positive count or set n-workers"), n);
      return FALSE;
    }
  if (!job_slurm_backend_configure (JOB_BACKEND (self), n, error))
    return FALSE;
  return job_worker_pool_start_workers (self->pool, kind, n, timeout, error);
}

/* Questions to the launcher, on the pool's thread. */
typedef struct
{
  JobWorkerLauncher  *launcher;
  char               *address;
  GError             *error;
  guint               n_refused;
  char              **job_ids;
} Query;

static gboolean
listen_in_thread (gpointer data)
{
  Query *query = data;

  query->address = job_slurm_launcher_listen (query->launcher, &query->error);
  return G_SOURCE_REMOVE;
}

static gboolean
job_ids_in_thread (gpointer data)
{
  Query *query = data;

  query->job_ids = job_slurm_launcher_dup_job_ids (query->launcher);
  return G_SOURCE_REMOVE;
}

static gboolean
n_refused_in_thread (gpointer data)
{
  Query *query = data;

  query->n_refused = job_slurm_launcher_get_n_refused (query->launcher);
  return G_SOURCE_REMOVE;
}

/**
 * job_slurm_backend_listen:
 * @self: a Slurm backend
 * @error: return location for a #GError
 *
 * Starts listening for workers now rather than on the first batch, with
 * the current settings. Thread-safe.
 *
 * Returns: (transfer full) (nullable): the `HOST:PORT` that workers
 *   dial, or %NULL with an error (the address is in use, not local…)
 */
char *
job_slurm_backend_listen (JobSlurmBackend  *self,
                          GError          **error)
{
  g_return_val_if_fail (JOB_IS_SLURM_BACKEND (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  Query query = { self->launcher, NULL, NULL, 0, NULL };

  g_mutex_lock (&self->mutex);
  apply_settings (self, 0);
  g_mutex_unlock (&self->mutex);
  job_worker_pool_invoke_sync (self->pool, listen_in_thread, &query);
  if (query.error != NULL)
    g_propagate_error (error, query.error);
  return query.address;
}

/**
 * job_slurm_backend_get_job_ids:
 * @self: a Slurm backend
 *
 * Lists the Slurm job ids of the workers this backend submitted and has
 * not cancelled or seen end. Thread-safe.
 *
 * Returns: (transfer full) (array zero-terminated=1): the job ids
 */
char **
job_slurm_backend_get_job_ids (JobSlurmBackend *self)
{
  g_return_val_if_fail (JOB_IS_SLURM_BACKEND (self), NULL);

  Query query = { self->launcher, NULL, NULL, 0, NULL };

  job_worker_pool_invoke_sync (self->pool, job_ids_in_thread, &query);
  return query.job_ids;
}

/**
 * job_slurm_backend_get_n_refused:
 * @self: a Slurm backend
 *
 * Counts the connections refused since the backend last started
 * listening (a wrong or missing token, a failed TLS handshake).
 * Thread-safe.
 *
 * Returns: the number of refused connections
 */
guint
job_slurm_backend_get_n_refused (JobSlurmBackend *self)
{
  g_return_val_if_fail (JOB_IS_SLURM_BACKEND (self), 0);

  Query query = { self->launcher, NULL, NULL, 0, NULL };

  job_worker_pool_invoke_sync (self->pool, n_refused_in_thread, &query);
  return query.n_refused;
}
