/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <math.h>

#include "job-error.h"
#include "job-i18n-private.h"
#include "job-slurm-backend.h"
#include "job-remote-backend-private.h"
#include "job-slurm-launcher-private.h"

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
 * for itself ([property@Joblib.RemoteBackend:tls]); workers accept exactly
 * that certificate, or [property@Joblib.RemoteBackend:tls-certificate].
 *
 * Tasks start as soon as the first worker connects; others join as Slurm
 * starts their jobs. A worker whose job ends, whose node is drained or
 * down (squeue and sinfo every
 * [property@Joblib.SlurmBackend:poll-interval] seconds) or whose
 * connection is lost has its unanswered tasks sent to other workers, and
 * a new job is submitted; a task lost more than
 * [property@Joblib.RemoteBackend:max-retries] times fails with
 * [error@Joblib.Error.WORKER_DIED]. Cancelling or failing a run
 * ([method@Joblib.Backend.abort]) and [method@Joblib.Backend.shutdown]
 * (and finalization) cancel every job the backend submitted with
 * `scancel`; shutdown returns once `scancel` has run.
 *
 * Arguments larger than [property@Joblib.RemoteBackend:max-nbytes] travel
 * through files in [property@Joblib.RemoteBackend:shared-folder], which
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
  JobRemoteBackend  parent_instance;
  GMutex            mutex;     /* guards settings */
  JobSlurmSettings  settings;  /* Slurm's own; the rest is the parent's */
};

enum {
  PROP_0,
  PROP_PARTITION,
  PROP_TIME_LIMIT,
  PROP_CPUS_PER_WORKER,
  PROP_MEMORY,
  PROP_SBATCH_ARGS,
  PROP_N_WORKERS,
  PROP_POLL_INTERVAL,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (JobSlurmBackend, job_slurm_backend, JOB_TYPE_REMOTE_BACKEND)

static int
job_slurm_backend_get_n_workers (JobRemoteBackend *backend,
                                 int               n_jobs)
{
  JobSlurmBackend *self = JOB_SLURM_BACKEND (backend);
  int n_workers;

  g_mutex_lock (&self->mutex);
  n_workers = self->settings.n_workers;
  g_mutex_unlock (&self->mutex);
  return n_workers > 0 ? n_workers : n_jobs;
}

/* @n_jobs: the run's, or 0 to keep the last. */
static void
apply_settings (JobSlurmBackend *self,
                int              n_jobs)
{
  JobRemoteBackend *remote = JOB_REMOTE_BACKEND (self);
  JobSlurmSettings settings = { 0, };
  JobRemoteSettings shared;

  g_mutex_lock (&self->mutex);
  job_slurm_settings_copy (&self->settings, &settings);
  g_mutex_unlock (&self->mutex);
  job_remote_backend_dup_settings (remote, &shared);
  settings.max_retries = shared.max_retries;
  settings.max_nbytes = shared.max_nbytes;
  settings.shared_folder = g_strdup (shared.shared_folder);
  settings.listen_address = g_strdup (shared.listen_address);
  settings.port = shared.port;
  settings.certificate = shared.certificate != NULL ? g_object_ref (shared.certificate) : NULL;
  settings.tls = shared.tls;
  settings.idle_timeout = shared.idle_timeout;
  g_clear_pointer (&settings.commands, g_hash_table_unref);
  settings.commands = g_hash_table_ref (shared.commands);

  job_slurm_launcher_set_settings (job_remote_backend_get_launcher (remote), &settings);
  /* Without a shared folder, large arguments go to the driver's
   * temporary folder, as documented: fine on one machine only. */
  job_remote_backend_configure_pool (remote, &shared,
                                     n_jobs > 0 && settings.n_workers > 0 ? settings.n_workers : n_jobs,
                                     MAX (settings.cpus_per_worker, 1), FALSE, TRUE);
  job_slurm_settings_clear (&settings);
  job_remote_settings_clear (&shared);
}

static gboolean
job_slurm_backend_prepare (JobRemoteBackend  *backend,
                           int                n_jobs,
                           int                inner_max_num_threads,
                           gboolean           new_run,
                           GError           **error)
{
  apply_settings (JOB_SLURM_BACKEND (backend), n_jobs);
  return TRUE;
}

static void
job_slurm_backend_finalize (GObject *object)
{
  JobSlurmBackend *self = JOB_SLURM_BACKEND (object);

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
    case PROP_POLL_INTERVAL: g_value_set_double (value, s->poll_interval); break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
  g_mutex_unlock (&self->mutex);
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
    case PROP_PARTITION: changed = job_remote_set_string (&s->partition, value); break;
    case PROP_TIME_LIMIT: changed = job_remote_set_string (&s->time_limit, value); break;
    case PROP_MEMORY: changed = job_remote_set_string (&s->memory, value); break;
    case PROP_CPUS_PER_WORKER:
      changed = s->cpus_per_worker != g_value_get_int (value);
      s->cpus_per_worker = g_value_get_int (value);
      break;
    case PROP_N_WORKERS:
      changed = s->n_workers != g_value_get_int (value);
      s->n_workers = g_value_get_int (value);
      break;
    case PROP_POLL_INTERVAL:
      changed = s->poll_interval != g_value_get_double (value);
      s->poll_interval = g_value_get_double (value);
      break;
    case PROP_SBATCH_ARGS:
      g_strfreev (s->sbatch_args);
      s->sbatch_args = g_value_dup_boxed (value);
      changed = TRUE;
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
  JOB_REMOTE_BACKEND_CLASS (klass)->prepare = job_slurm_backend_prepare;
  JOB_REMOTE_BACKEND_CLASS (klass)->get_n_workers = job_slurm_backend_get_n_workers;

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
   * JobSlurmBackend:sbatch-args:
   *
   * More `sbatch` arguments for the worker jobs (`--account=…`,
   * `--constraint=…`, `--exclusive`), passed as they are.
   */
  properties[PROP_SBATCH_ARGS] =
    g_param_spec_boxed ("sbatch-args", NULL, NULL, G_TYPE_STRV, flags);
  /**
   * JobSlurmBackend:poll-interval:
   *
   * Seconds between two looks at the worker jobs and their nodes
   * (`squeue`, `sinfo`). Intervals from 49 days on, infinity included,
   * count as 49 days.
   */
  properties[PROP_POLL_INTERVAL] =
    g_param_spec_double ("poll-interval", NULL, NULL, 0.01, INFINITY, 1.0, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
job_slurm_backend_init (JobSlurmBackend *self)
{
  g_mutex_init (&self->mutex);
  self->settings.cpus_per_worker = 1;
  self->settings.poll_interval = 1.0;
  job_remote_backend_set_launcher (JOB_REMOTE_BACKEND (self), "joblib-slurm",
                                   job_slurm_launcher_new (), FALSE);
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

  job_remote_backend_set_command (JOB_REMOTE_BACKEND (self), kind, argv);
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
  g_return_val_if_fail (JOB_IS_SLURM_BACKEND (self), FALSE);
  g_return_val_if_fail (kind != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return job_remote_backend_start_workers (JOB_REMOTE_BACKEND (self), kind, n_workers,
                                           timeout, error);
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

  apply_settings (self, 0);
  return job_remote_backend_ask (JOB_REMOTE_BACKEND (self),
                                 (JobRemoteQuestion) job_slurm_launcher_listen, error);
}

static gpointer
dup_job_ids (JobWorkerLauncher  *launcher,
             GError            **error)
{
  return job_slurm_launcher_dup_job_ids (launcher);
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

  return job_remote_backend_ask (JOB_REMOTE_BACKEND (self), dup_job_ids, NULL);
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

  return job_remote_backend_ask_uint (JOB_REMOTE_BACKEND (self),
                                      job_slurm_launcher_get_n_refused);
}
