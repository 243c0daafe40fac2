/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <signal.h>
#include <math.h>
#include <string.h>

#include "job-cpu.h"
#include "job-error.h"
#include "job-function.h"
#include "job-i18n-private.h"
#include "job-process-backend.h"
#include "job-process-launcher-private.h"
#include "job-worker-pool-private.h"
#include "job-worker-command-private.h"

/**
 * JobProcessBackend:
 *
 * Runs batches in worker processes, like joblib's default `loky` backend.
 * Registered as `"processes"` and `"loky"`.
 *
 * Functions must carry a reference that a worker can resolve (see
 * [ctor@Joblib.Function.new_for_symbol]); the reference's kind selects the
 * worker program (`joblib-glib-worker` for `"native"` references). Tasks
 * of a function without a reference fail with
 * [error@Joblib.Error.UNSUPPORTED].
 *
 * Workers are started on demand, up to the run's `n_jobs` per reference
 * kind, and kept for later runs; one that stays idle for
 * [property@Joblib.ProcessBackend:idle-timeout] seconds leaves.
 * [method@Joblib.Backend.shutdown] (and finalization) returns once every
 * worker has exited and was reaped.
 *
 * A task error does not cost the worker. A worker that dies (a signal, an
 * `exit()` inside a task, the OOM killer) fails its running task with
 * [error@Joblib.Error.WORKER_DIED], whose message names the signal or the
 * exit status; calls queued behind it go to other workers and the pool
 * starts a new worker when needed. Cancellation and timeouts kill the
 * workers that run the stopped tasks; after a task error that stops a run,
 * the tasks already sent to workers finish (their outcomes are dropped).
 *
 * Arguments larger than [property@Joblib.ProcessBackend:max-nbytes] travel
 * through files in a memory-backed folder (`/dev/shm`) that the worker maps
 * read-only. While a run lasts, a file whose call was answered carries the
 * next large argument (the same pages, still mapped by the workers); the
 * files are removed 0.2 s after the last call that used one, at
 * [method@Joblib.Backend.shutdown], and when a call ends any other way (a
 * lost worker, a cancelled run). In a temp-folder that is not memory-backed
 * (tmpfs), each file is written once and removed when its call ends.
 *
 * Workers start with `OMP_NUM_THREADS`, `OPENBLAS_NUM_THREADS`,
 * `MKL_NUM_THREADS`, `BLIS_NUM_THREADS`, `VECLIB_MAXIMUM_THREADS` and
 * `NUMEXPR_NUM_THREADS` set to `max(cpus / n_jobs, 1)` unless the
 * environment sets them already, so that `n_jobs` workers with native
 * thread pools do not over-subscribe the CPUs;
 * [property@Joblib.ProcessBackend:inner-max-num-threads] or
 * [property@Joblib.ParallelConfig:inner-max-num-threads] impose a value.
 *
 * Thread safety: the methods may be called from any thread; workers are
 * managed by a thread of the backend, and batches complete on the
 * thread-default main context of the caller of
 * [method@Joblib.Backend.run_batch_async].
 */
struct _JobProcessBackend
{
  GObject         parent_instance;
  JobWorkerPool  *pool;          /* (owned) */
  guint64         max_nbytes;
  double          idle_timeout;
  int             inner_max_num_threads;
  char           *temp_folder;   /* (owned) (nullable) */
  JobFunction    *initializer;   /* (owned) (nullable) */
  GVariant       *init_args;     /* (owned) (nullable) */
  char          **environment;   /* (owned) (nullable) */
};

enum {
  PROP_0,
  PROP_MAX_NBYTES,
  PROP_IDLE_TIMEOUT,
  PROP_INNER_MAX_NUM_THREADS,
  PROP_TEMP_FOLDER,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void job_backend_iface_init (JobBackendInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (JobProcessBackend, job_process_backend, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (JOB_TYPE_BACKEND, job_backend_iface_init))

static void
update_limits (JobProcessBackend *self)
{
  job_worker_pool_set_limits (self->pool, self->max_nbytes, self->idle_timeout,
                               self->temp_folder);
}

static void
update_setup (JobProcessBackend *self)
{
  job_worker_pool_set_setup (self->pool,
                              self->initializer ? job_function_get_reference (self->initializer)
                                                : NULL,
                              self->init_args,
                              (const char * const *) self->environment);
}

static JobBackendFlags
job_process_backend_get_flags (JobBackend *backend)
{
  return JOB_BACKEND_FLAGS_CAN_KILL | JOB_BACKEND_FLAGS_NEEDS_REFERENCE;
}

static const char *
job_process_backend_get_display_name (JobBackend *backend)
{
  return "ProcessBackend";
}

static gboolean
job_process_backend_configure_for_run (JobBackend  *backend,
                                       int          n_jobs,
                                       int          config_inner_max_num_threads,
                                       GError     **error)
{
  JobProcessBackend *self = JOB_PROCESS_BACKEND (backend);
  int inner = self->inner_max_num_threads;

  if (n_jobs < 1)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
                   _("The process backend needs at least one worker, not %d"),
                   n_jobs);
      return FALSE;
    }

  if (inner <= 0)
    inner = config_inner_max_num_threads;
  if (inner > 0)
    job_worker_pool_configure (self->pool, n_jobs, inner, TRUE);
  else
    job_worker_pool_configure (self->pool, n_jobs,
                                MAX (job_cpu_count () / n_jobs, 1), FALSE);
  return TRUE;
}

static gboolean
job_process_backend_configure (JobBackend  *backend,
                               int          n_jobs,
                               GError     **error)
{
  return job_process_backend_configure_for_run (backend, n_jobs, 0, error);
}

static void
job_process_backend_run_batch_async (JobBackend          *backend,
                                     JobBatch            *batch,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  JobProcessBackend *self = JOB_PROCESS_BACKEND (backend);
  g_autoptr(GTask) task = g_task_new (backend, cancellable, callback, user_data);

  g_task_set_source_tag (task, job_process_backend_run_batch_async);
  g_task_set_task_data (task, job_batch_ref (batch), (GDestroyNotify) job_batch_unref);
  /* The batch may outlive the caller's interest; the pool ends it. */
  g_task_set_check_cancellable (task, FALSE);
  job_worker_pool_submit (self->pool, batch, task);
}

static gboolean
job_process_backend_run_batch_finish (JobBackend    *backend,
                                      GAsyncResult  *result,
                                      GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, backend), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Workers are killed only when their tasks must stop now: after a task
 * error the tasks already sent run to the end (their answers are
 * dropped), so that the error costs no worker and the next run no
 * respawn. */
static void
job_process_backend_abort (JobBackend   *backend,
                           const GError *reason)
{
  gboolean kill = reason == NULL ||
                  g_error_matches (reason, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
                  g_error_matches (reason, JOB_ERROR, JOB_ERROR_TIMEOUT);

  job_worker_pool_abort (JOB_PROCESS_BACKEND (backend)->pool,
                         kill ? JOB_WORKER_ABORT_KILL_BUSY : JOB_WORKER_ABORT_DROP_ANSWERS);
}

static void
job_process_backend_shutdown (JobBackend *backend)
{
  job_worker_pool_shutdown (JOB_PROCESS_BACKEND (backend)->pool);
}

static void
job_backend_iface_init (JobBackendInterface *iface)
{
  iface->get_flags = job_process_backend_get_flags;
  iface->get_display_name = job_process_backend_get_display_name;
  iface->configure = job_process_backend_configure;
  iface->configure_for_run = job_process_backend_configure_for_run;
  iface->run_batch_async = job_process_backend_run_batch_async;
  iface->run_batch_finish = job_process_backend_run_batch_finish;
  iface->abort = job_process_backend_abort;
  iface->shutdown = job_process_backend_shutdown;
}

static void
job_process_backend_finalize (GObject *object)
{
  JobProcessBackend *self = JOB_PROCESS_BACKEND (object);

  g_clear_pointer (&self->pool, job_worker_pool_free);
  g_clear_pointer (&self->temp_folder, g_free);
  g_clear_object (&self->initializer);
  g_clear_pointer (&self->init_args, g_variant_unref);
  g_clear_pointer (&self->environment, g_strfreev);

  G_OBJECT_CLASS (job_process_backend_parent_class)->finalize (object);
}

static void
job_process_backend_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  JobProcessBackend *self = JOB_PROCESS_BACKEND (object);

  switch (prop_id)
    {
    case PROP_MAX_NBYTES:
      g_value_set_uint64 (value, self->max_nbytes);
      break;

    case PROP_IDLE_TIMEOUT:
      g_value_set_double (value, self->idle_timeout);
      break;

    case PROP_INNER_MAX_NUM_THREADS:
      g_value_set_int (value, self->inner_max_num_threads);
      break;

    case PROP_TEMP_FOLDER:
      g_value_set_string (value, self->temp_folder);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
job_process_backend_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  JobProcessBackend *self = JOB_PROCESS_BACKEND (object);

  switch (prop_id)
    {
    case PROP_MAX_NBYTES:
      job_process_backend_set_max_nbytes (self, g_value_get_uint64 (value));
      break;

    case PROP_IDLE_TIMEOUT:
      job_process_backend_set_idle_timeout (self, g_value_get_double (value));
      break;

    case PROP_INNER_MAX_NUM_THREADS:
      job_process_backend_set_inner_max_num_threads (self, g_value_get_int (value));
      break;

    case PROP_TEMP_FOLDER:
      job_process_backend_set_temp_folder (self, g_value_get_string (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
job_process_backend_class_init (JobProcessBackendClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = job_process_backend_finalize;
  object_class->get_property = job_process_backend_get_property;
  object_class->set_property = job_process_backend_set_property;

  /* Writing to the pipe of a worker that just died must fail with EPIPE,
   * not kill the application; GSocket does the same for sockets. */
  signal (SIGPIPE, SIG_IGN);

  /**
   * JobProcessBackend:max-nbytes:
   *
   * Arguments whose serialized size exceeds this many bytes are passed
   * through shared-memory files instead of the worker's pipe. Like
   * joblib's `max_nbytes`; 1 MiB by default.
   */
  properties[PROP_MAX_NBYTES] =
    g_param_spec_uint64 ("max-nbytes", NULL, NULL,
                         0, G_MAXUINT64, 1024 * 1024,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS));

  /**
   * JobProcessBackend:idle-timeout:
   *
   * Seconds after which an idle worker leaves the pool; negative keeps
   * workers until shutdown, and so does infinity. 300 by default, as loky.
   */
  properties[PROP_IDLE_TIMEOUT] =
    g_param_spec_double ("idle-timeout", NULL, NULL,
                         -1.0, INFINITY, 300.0,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS));

  /**
   * JobProcessBackend:inner-max-num-threads:
   *
   * The thread count imposed on native thread pools (BLAS, OpenMP) of new
   * workers, replacing values from the environment; 0 leaves it to
   * [property@Joblib.ParallelConfig:inner-max-num-threads], else to
   * `max(cpus / n_jobs, 1)` where the environment sets nothing.
   */
  properties[PROP_INNER_MAX_NUM_THREADS] =
    g_param_spec_int ("inner-max-num-threads", NULL, NULL,
                      0, G_MAXINT, 0,
                      (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                       G_PARAM_STATIC_STRINGS));

  /**
   * JobProcessBackend:temp-folder:
   *
   * The folder of shared-memory files for large arguments; %NULL means
   * `/dev/shm` when it is writable, else the temporary folder.
   */
  properties[PROP_TEMP_FOLDER] =
    g_param_spec_string ("temp-folder", NULL, NULL,
                         NULL,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
job_process_backend_init (JobProcessBackend *self)
{
  self->max_nbytes = 1024 * 1024;
  self->idle_timeout = 300.0;
  self->pool = job_worker_pool_new ("joblib-processes", job_process_launcher_new (),
                                    JOB_WORKER_LOSS_BLAME_RUNNING);
  job_worker_pool_attach (self->pool, JOB_BACKEND (self), job_process_backend_run_batch_async);
  update_limits (self);
}

/**
 * job_process_backend_new:
 *
 * Creates a process backend. Workers start with the first batch.
 *
 * Returns: (transfer full): a new #JobProcessBackend
 */
JobBackend *
job_process_backend_new (void)
{
  return g_object_new (JOB_TYPE_PROCESS_BACKEND, NULL);
}

/**
 * job_process_backend_get_max_nbytes:
 * @self: a #JobProcessBackend
 *
 * Gets the size above which arguments go through shared memory.
 *
 * Returns: the size above which arguments go through shared memory
 */
guint64
job_process_backend_get_max_nbytes (JobProcessBackend *self)
{
  g_return_val_if_fail (JOB_IS_PROCESS_BACKEND (self), 0);

  return self->max_nbytes;
}

/**
 * job_process_backend_set_max_nbytes:
 * @self: a #JobProcessBackend
 * @max_nbytes: the size in bytes
 *
 * Sets [property@Joblib.ProcessBackend:max-nbytes]; it applies to batches
 * submitted afterwards.
 */
void
job_process_backend_set_max_nbytes (JobProcessBackend *self,
                                    guint64            max_nbytes)
{
  g_return_if_fail (JOB_IS_PROCESS_BACKEND (self));

  if (self->max_nbytes == max_nbytes)
    return;
  self->max_nbytes = max_nbytes;
  update_limits (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_NBYTES]);
}

/**
 * job_process_backend_get_idle_timeout:
 * @self: a #JobProcessBackend
 *
 * Gets the seconds after which idle workers leave.
 *
 * Returns: the seconds after which idle workers leave
 */
double
job_process_backend_get_idle_timeout (JobProcessBackend *self)
{
  g_return_val_if_fail (JOB_IS_PROCESS_BACKEND (self), 0.0);

  return self->idle_timeout;
}

/**
 * job_process_backend_set_idle_timeout:
 * @self: a #JobProcessBackend
 * @seconds: the timeout; negative keeps workers until shutdown
 *
 * Sets [property@Joblib.ProcessBackend:idle-timeout]. Workers idle now
 * leave once idle for @seconds from now; the others when they become idle
 * for that long.
 */
void
job_process_backend_set_idle_timeout (JobProcessBackend *self,
                                      double             seconds)
{
  g_return_if_fail (JOB_IS_PROCESS_BACKEND (self));

  if (seconds < 0)
    seconds = -1.0;
  if (self->idle_timeout == seconds)
    return;
  self->idle_timeout = seconds;
  update_limits (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IDLE_TIMEOUT]);
}

/**
 * job_process_backend_get_inner_max_num_threads:
 * @self: a #JobProcessBackend
 *
 * Gets the thread count imposed on native pools in workers.
 *
 * Returns: the imposed thread count of native pools in workers, or 0
 */
int
job_process_backend_get_inner_max_num_threads (JobProcessBackend *self)
{
  g_return_val_if_fail (JOB_IS_PROCESS_BACKEND (self), 0);

  return self->inner_max_num_threads;
}

/**
 * job_process_backend_set_inner_max_num_threads:
 * @self: a #JobProcessBackend
 * @n_threads: the thread count, or 0 for the default
 *
 * Sets [property@Joblib.ProcessBackend:inner-max-num-threads]. It applies
 * from the next run; workers started with another value leave once idle.
 */
void
job_process_backend_set_inner_max_num_threads (JobProcessBackend *self,
                                               int                n_threads)
{
  g_return_if_fail (JOB_IS_PROCESS_BACKEND (self));
  g_return_if_fail (n_threads >= 0);

  if (self->inner_max_num_threads == n_threads)
    return;
  self->inner_max_num_threads = n_threads;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_INNER_MAX_NUM_THREADS]);
}

/**
 * job_process_backend_get_temp_folder:
 * @self: a #JobProcessBackend
 *
 * Gets the folder of the shared-memory files.
 *
 * Returns: (nullable): the folder of shared-memory files, or %NULL for
 *   the default
 */
const char *
job_process_backend_get_temp_folder (JobProcessBackend *self)
{
  g_return_val_if_fail (JOB_IS_PROCESS_BACKEND (self), NULL);

  return self->temp_folder;
}

/**
 * job_process_backend_set_temp_folder:
 * @self: a #JobProcessBackend
 * @folder: (nullable) (type filename): a folder, or %NULL for the default
 *
 * Sets [property@Joblib.ProcessBackend:temp-folder].
 */
void
job_process_backend_set_temp_folder (JobProcessBackend *self,
                                     const char        *folder)
{
  g_return_if_fail (JOB_IS_PROCESS_BACKEND (self));

  if (g_strcmp0 (self->temp_folder, folder) == 0)
    return;
  g_free (self->temp_folder);
  self->temp_folder = g_strdup (folder);
  update_limits (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TEMP_FOLDER]);
}

/**
 * job_process_backend_set_initializer:
 * @self: a #JobProcessBackend
 * @initializer: (nullable): a function with a reference (see
 *   [ctor@Joblib.Function.new_for_symbol]), or %NULL for none
 * @args: (nullable): its argument tuple; %NULL for `()`
 *
 * Sets a function that each new worker runs once, before its first task,
 * like loky's `initializer` and `initargs`: to load a model, open a
 * database, seed a generator. Only workers of the reference's kind run
 * it. If it fails, the tasks sent to that worker fail with its error
 * (domain and code kept, the message says "the initializer of worker …
 * failed") and the worker leaves.
 *
 * Applies to workers started afterwards: workers started before leave
 * once idle, so the next run starts with new workers. Thread-safe.
 */
void
job_process_backend_set_initializer (JobProcessBackend *self,
                                     JobFunction       *initializer,
                                     GVariant          *args)
{
  g_autoptr(GVariant) owned_args = args ? g_variant_ref_sink (args) : NULL;

  g_return_if_fail (JOB_IS_PROCESS_BACKEND (self));
  g_return_if_fail (initializer == NULL || JOB_IS_FUNCTION (initializer));
  g_return_if_fail (initializer == NULL || job_function_get_reference (initializer) != NULL);
  g_return_if_fail (args == NULL || g_variant_is_of_type (args, G_VARIANT_TYPE_TUPLE));

  g_clear_object (&self->initializer);
  g_clear_pointer (&self->init_args, g_variant_unref);
  if (initializer != NULL)
    {
      self->initializer = g_object_ref (initializer);
      self->init_args = owned_args ? g_variant_ref (owned_args)
                                   : g_variant_ref_sink (g_variant_new_tuple (NULL, 0));
    }
  update_setup (self);
}

/**
 * job_process_backend_set_environment:
 * @self: a #JobProcessBackend
 * @environment: (nullable) (array zero-terminated=1): `NAME=VALUE`
 *   strings added to the environment of new workers, or %NULL for none
 *
 * Sets environment variables for the workers, like the `env` of loky's
 * executor; they override the inherited environment and the thread
 * limits (`OMP_NUM_THREADS`…). Set it before a run to give that run its
 * own environment: workers started with another one leave once idle, and
 * the run starts new ones. Thread-safe.
 */
void
job_process_backend_set_environment (JobProcessBackend  *self,
                                     const char * const *environment)
{
  g_return_if_fail (JOB_IS_PROCESS_BACKEND (self));
  for (gsize i = 0; environment != NULL && environment[i] != NULL; i++)
    g_return_if_fail (strchr (environment[i], '=') != NULL && environment[i][0] != '=');

  g_strfreev (self->environment);
  self->environment = g_strdupv ((char **) environment);
  update_setup (self);
}

/**
 * job_process_backend_get_worker_pids:
 * @self: a #JobProcessBackend
 * @n_pids: (out): the number of workers
 *
 * Lists the process ids of the live workers of the pool, in no order.
 *
 * Returns: (transfer full) (array length=n_pids): the pids
 */
int *
job_process_backend_get_worker_pids (JobProcessBackend *self,
                                     guint             *n_pids)
{
  GArray *pids;

  g_return_val_if_fail (JOB_IS_PROCESS_BACKEND (self), NULL);
  g_return_val_if_fail (n_pids != NULL, NULL);

  pids = job_worker_pool_get_pids (self->pool);
  *n_pids = pids->len;
  return (int *) g_array_free (pids, FALSE);
}

/**
 * job_process_backend_set_worker_command:
 * @kind: a reference kind (`"native"`, `"python"`, `"gjs"`…)
 * @argv: (nullable) (array zero-terminated=1): the worker program and its
 *   arguments, or %NULL to restore the default
 *
 * Sets the program that process backends start to run functions whose
 * reference is of @kind. The program must speak the worker protocol on
 * its standard input and output. By default, `"native"` runs
 * `joblib-glib-worker` from the library's libexec folder (or
 * `$JOB_WORKER_PATH`) and `"python"` runs
 * `/usr/bin/python3 -m joblib_glib.worker`. Thread-safe; applies to
 * workers started afterwards.
 */
void
job_process_backend_set_worker_command (const char         *kind,
                                        const char * const *argv)
{
  g_return_if_fail (kind != NULL);

  job_worker_command_set (kind, argv);
}
