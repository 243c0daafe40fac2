/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-cluster-backend-private.h"
#include "job-dask-backend.h"
#include "job-error.h"
#include "job-i18n-private.h"

/**
 * JobDaskBackend:
 *
 * Runs batches on a Dask cluster (`dask.distributed`), registered as
 * `"dask"`: for people whose colleagues already run a Dask scheduler and
 * workers. Each joblib-glib worker is one long-lived task on a Dask
 * worker's thread, which runs the worker program of any language and
 * dials back to this process ([class@Joblib.ClusterBackend] says how,
 * and what it guarantees). The scheduler is
 * [property@Joblib.DaskBackend:scheduler-address], else
 * [property@Joblib.DaskBackend:scheduler-file], else the
 * `DASK_SCHEDULER_ADDRESS` environment variable, as Dask's own `Client`
 * finds it.
 *
 * ```c
 * g_autoptr(JobDaskBackend) dask = job_dask_backend_new ("tcp://scheduler:8786");
 * job_parallel_set_backend (parallel, JOB_BACKEND (dask));
 * ```
 *
 * The Dask side needs nothing of joblib-glib but the worker programs
 * (`joblib-glib-worker-connect` and the worker of the functions' kind)
 * at the same paths as on this machine; the helper that talks to the
 * scheduler runs here, with `python3-distributed`. Thread-safe, as its
 * parent class.
 */
struct _JobDaskBackend
{
  JobClusterBackend  parent_instance;
};

enum {
  PROP_0,
  PROP_SCHEDULER_ADDRESS,
  PROP_SCHEDULER_FILE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (JobDaskBackend, job_dask_backend, JOB_TYPE_CLUSTER_BACKEND)

static char **
dup_arguments (const char *first,
               ...)
{
  GStrvBuilder *builder = g_strv_builder_new ();
  char **arguments;
  va_list args;

  va_start (args, first);
  for (const char *argument = first; argument != NULL; argument = va_arg (args, const char *))
    g_strv_builder_add (builder, argument);
  va_end (args);
  arguments = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);
  return arguments;
}

static char **
job_dask_backend_dup_helper_arguments (JobClusterBackend  *backend,
                                       GError            **error)
{
  g_autofree char *address = job_cluster_backend_dup_option (backend, "scheduler-address");
  g_autofree char *file = job_cluster_backend_dup_option (backend, "scheduler-file");
  const char *from_environment = g_getenv ("DASK_SCHEDULER_ADDRESS");

  if (address != NULL)
    return dup_arguments ("dask", address, NULL);
  if (file != NULL)
    return dup_arguments ("dask", "--scheduler-file", file, NULL);
  if (from_environment != NULL && from_environment[0] != '\0')
    return dup_arguments ("dask", from_environment, NULL);
  g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
               _("No Dask scheduler to run on: set the backend’s scheduler-address "
                 "(tcp://HOST:8786) or scheduler-file, or DASK_SCHEDULER_ADDRESS"));
  return NULL;
}

static void
job_dask_backend_class_init (JobDaskBackendClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  JobClusterBackendClass *cluster_class = JOB_CLUSTER_BACKEND_CLASS (klass);
  GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->get_property = job_cluster_backend_get_option_property;
  object_class->set_property = job_cluster_backend_set_option_property;
  cluster_class->cluster_name = "Dask";
  cluster_class->dup_helper_arguments = job_dask_backend_dup_helper_arguments;

  /**
   * JobDaskBackend:scheduler-address:
   *
   * The Dask scheduler, as `tcp://HOST:8786` (what
   * `dask.distributed.Client` takes).
   */
  properties[PROP_SCHEDULER_ADDRESS] =
    g_param_spec_string ("scheduler-address", NULL, NULL, NULL, flags);

  /**
   * JobDaskBackend:scheduler-file:
   *
   * A scheduler file written by `dask scheduler --scheduler-file`, used
   * when [property@Joblib.DaskBackend:scheduler-address] is unset.
   */
  properties[PROP_SCHEDULER_FILE] =
    g_param_spec_string ("scheduler-file", NULL, NULL, NULL, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
job_dask_backend_init (JobDaskBackend *self)
{
}

/**
 * job_dask_backend_new:
 * @scheduler_address: (nullable): the scheduler, as `tcp://HOST:8786`;
 *   %NULL: set it later, or use `DASK_SCHEDULER_ADDRESS`
 *
 * Creates a Dask backend. Nothing connects before the first batch (or
 * [method@Joblib.ClusterBackend.connect]).
 *
 * Returns: (transfer full): a new backend
 */
JobDaskBackend *
job_dask_backend_new (const char *scheduler_address)
{
  return g_object_new (JOB_TYPE_DASK_BACKEND, "scheduler-address", scheduler_address, NULL);
}
