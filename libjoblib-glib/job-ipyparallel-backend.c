/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-error.h"
#include "job-i18n-private.h"
#include "job-cluster-backend-private.h"
#include "job-ipyparallel-backend.h"

/**
 * JobIpyparallelBackend:
 *
 * Runs batches on a running IPython Parallel cluster (`ipcluster`, or an
 * `ipcontroller` with its `ipengine`s), registered as `"ipyparallel"`:
 * each joblib-glib worker is one long-lived task on an engine, which
 * runs the worker program of any language and dials back to this
 * process ([class@Joblib.ClusterBackend] says how, and what it
 * guarantees). The cluster is found as `ipyparallel.Client` finds it:
 * [property@Joblib.IpyparallelBackend:url-file] (the controller's
 * `ipcontroller-client.json`), else the profile
 * ([property@Joblib.IpyparallelBackend:profile],
 * [property@Joblib.IpyparallelBackend:profile-dir],
 * [property@Joblib.IpyparallelBackend:cluster-id]), else the default
 * profile.
 *
 * An engine runs one task at a time: a worker takes a whole engine while
 * it is connected. Thread-safe, as its parent class.
 */
struct _JobIpyparallelBackend
{
  JobClusterBackend  parent_instance;
};

enum {
  PROP_0,
  PROP_URL_FILE,
  PROP_PROFILE,
  PROP_PROFILE_DIR,
  PROP_CLUSTER_ID,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (JobIpyparallelBackend, job_ipyparallel_backend, JOB_TYPE_CLUSTER_BACKEND)

static char **
job_ipyparallel_backend_dup_helper_arguments (JobClusterBackend  *backend,
                                              GError            **error)
{
  static const char * const options[N_PROPS] = {
    NULL, "--url-file", "--profile", "--profile-dir", "--cluster-id",
  };
  GStrvBuilder *builder = g_strv_builder_new ();
  char **arguments;

  g_strv_builder_add (builder, "ipyparallel");
  for (guint prop_id = PROP_URL_FILE; prop_id < N_PROPS; prop_id++)
    {
      /* "--url-file" for url-file */
      g_autofree char *value = job_cluster_backend_dup_option (backend, options[prop_id] + 2);

      if (value != NULL)
        g_strv_builder_add_many (builder, options[prop_id], value, NULL);
    }
  arguments = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);
  return arguments;
}

static void
job_ipyparallel_backend_class_init (JobIpyparallelBackendClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  JobClusterBackendClass *cluster_class = JOB_CLUSTER_BACKEND_CLASS (klass);
  GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->get_property = job_cluster_backend_get_option_property;
  object_class->set_property = job_cluster_backend_set_option_property;
  cluster_class->cluster_name = "IPython Parallel";
  cluster_class->dup_helper_arguments = job_ipyparallel_backend_dup_helper_arguments;

  /**
   * JobIpyparallelBackend:url-file:
   *
   * The controller's connection file, `ipcontroller-client.json` in the
   * profile's `security` folder.
   */
  properties[PROP_URL_FILE] =
    g_param_spec_string ("url-file", NULL, NULL, NULL, flags);

  /**
   * JobIpyparallelBackend:profile:
   *
   * The IPython profile whose cluster to use; %NULL: `default`.
   */
  properties[PROP_PROFILE] =
    g_param_spec_string ("profile", NULL, NULL, NULL, flags);

  /**
   * JobIpyparallelBackend:profile-dir:
   *
   * The IPython profile folder whose cluster to use.
   */
  properties[PROP_PROFILE_DIR] =
    g_param_spec_string ("profile-dir", NULL, NULL, NULL, flags);

  /**
   * JobIpyparallelBackend:cluster-id:
   *
   * The cluster id of `ipcluster start --cluster-id`, when the profile
   * holds several clusters.
   */
  properties[PROP_CLUSTER_ID] =
    g_param_spec_string ("cluster-id", NULL, NULL, NULL, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
job_ipyparallel_backend_init (JobIpyparallelBackend *self)
{
}

/**
 * job_ipyparallel_backend_new:
 * @url_file: (nullable): the controller's `ipcontroller-client.json`;
 *   %NULL: the default profile's cluster
 *
 * Creates an IPython Parallel backend. Nothing connects before the first
 * batch (or [method@Joblib.ClusterBackend.connect]).
 *
 * Returns: (transfer full): a new backend
 */
JobIpyparallelBackend *
job_ipyparallel_backend_new (const char *url_file)
{
  return g_object_new (JOB_TYPE_IPYPARALLEL_BACKEND, "url-file", url_file, NULL);
}
