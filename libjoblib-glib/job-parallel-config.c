/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-parallel-config.h"

/**
 * JobParallelConfig:
 *
 * Defaults for the [class@Joblib.Parallel] runs of a scope, as joblib's
 * `parallel_config` context manager: push a config, run code that creates
 * `Parallel` objects without saying which backend or how many jobs, pop it.
 *
 * ```c
 * g_autoptr(JobParallelConfig) config = job_parallel_config_new ();
 * job_parallel_config_set_backend_name (config, "threading");
 * job_parallel_config_set_n_jobs (config, 2);
 * job_parallel_config_push (config);
 * run_experiment ();   // every Parallel inside uses 2 threads
 * job_parallel_config_pop (config);
 * ```
 *
 * The stack is per thread: a config pushed on one thread never affects
 * another. A `Parallel` reads the config when a run starts; values it sets
 * itself win over the config's.
 */
struct _JobParallelConfig
{
  GObject     parent_instance;
  char       *backend_name;  /* (owned) (nullable) */
  JobBackend *backend;       /* (owned) (nullable) */
  int         n_jobs;
  int         verbose;
  int         inner_max_num_threads;
};

enum {
  PROP_0,
  PROP_BACKEND_NAME,
  PROP_BACKEND,
  PROP_N_JOBS,
  PROP_VERBOSE,
  PROP_INNER_MAX_NUM_THREADS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (JobParallelConfig, job_parallel_config, G_TYPE_OBJECT)

static void
free_stack (gpointer data)
{
  g_ptr_array_unref (data);
}

/* (element-type JobParallelConfig) per thread; the top is the last item */
static GPrivate config_stack = G_PRIVATE_INIT (free_stack);

static GPtrArray *
get_stack (gboolean create)
{
  GPtrArray *stack = g_private_get (&config_stack);

  if (stack == NULL && create)
    {
      stack = g_ptr_array_new_with_free_func (g_object_unref);
      g_private_set (&config_stack, stack);
    }

  return stack;
}

static void
job_parallel_config_finalize (GObject *object)
{
  JobParallelConfig *self = JOB_PARALLEL_CONFIG (object);

  g_clear_pointer (&self->backend_name, g_free);
  g_clear_object (&self->backend);

  G_OBJECT_CLASS (job_parallel_config_parent_class)->finalize (object);
}

static void
job_parallel_config_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  JobParallelConfig *self = JOB_PARALLEL_CONFIG (object);

  switch (prop_id)
    {
    case PROP_BACKEND_NAME:
      g_value_set_string (value, self->backend_name);
      break;

    case PROP_BACKEND:
      g_value_set_object (value, self->backend);
      break;

    case PROP_N_JOBS:
      g_value_set_int (value, self->n_jobs);
      break;

    case PROP_VERBOSE:
      g_value_set_int (value, self->verbose);
      break;

    case PROP_INNER_MAX_NUM_THREADS:
      g_value_set_int (value, self->inner_max_num_threads);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
job_parallel_config_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  JobParallelConfig *self = JOB_PARALLEL_CONFIG (object);

  switch (prop_id)
    {
    case PROP_BACKEND_NAME:
      job_parallel_config_set_backend_name (self, g_value_get_string (value));
      break;

    case PROP_BACKEND:
      job_parallel_config_set_backend (self, g_value_get_object (value));
      break;

    case PROP_N_JOBS:
      job_parallel_config_set_n_jobs (self, g_value_get_int (value));
      break;

    case PROP_VERBOSE:
      job_parallel_config_set_verbose (self, g_value_get_int (value));
      break;

    case PROP_INNER_MAX_NUM_THREADS:
      job_parallel_config_set_inner_max_num_threads (self, g_value_get_int (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
job_parallel_config_class_init (JobParallelConfigClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = job_parallel_config_finalize;
  object_class->get_property = job_parallel_config_get_property;
  object_class->set_property = job_parallel_config_set_property;

  /**
   * JobParallelConfig:backend-name:
   *
   * The registered name of the backend to use, or %NULL to leave it to an
   * outer config or the default (`"threading"`).
   */
  properties[PROP_BACKEND_NAME] =
    g_param_spec_string ("backend-name", NULL, NULL, NULL,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS));

  /**
   * JobParallelConfig:backend:
   *
   * A backend instance to use; wins over
   * [property@Joblib.ParallelConfig:backend-name]. Sharing one instance
   * lets runs reuse its workers.
   */
  properties[PROP_BACKEND] =
    g_param_spec_object ("backend", NULL, NULL, JOB_TYPE_BACKEND,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS));

  /**
   * JobParallelConfig:n-jobs:
   *
   * The number of jobs, with joblib's meaning, or %JOB_N_JOBS_DEFAULT to
   * leave it to an outer config (else 1).
   */
  properties[PROP_N_JOBS] =
    g_param_spec_int ("n-jobs", NULL, NULL,
                      G_MININT, G_MAXINT, JOB_N_JOBS_DEFAULT,
                      (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                       G_PARAM_STATIC_STRINGS));

  /**
   * JobParallelConfig:verbose:
   *
   * The verbosity of runs, or -1 to leave it to an outer config (else 0).
   */
  properties[PROP_VERBOSE] =
    g_param_spec_int ("verbose", NULL, NULL,
                      -1, G_MAXINT, -1,
                      (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                       G_PARAM_STATIC_STRINGS));

  /**
   * JobParallelConfig:inner-max-num-threads:
   *
   * The number of threads that native thread pools (OpenMP, OpenBLAS, MKL,
   * BLIS, numexpr) of worker processes may use, or 0 for the default:
   * `max (cpus / n_jobs, 1)`, which avoids over-subscription.
   */
  properties[PROP_INNER_MAX_NUM_THREADS] =
    g_param_spec_int ("inner-max-num-threads", NULL, NULL,
                      0, G_MAXINT, 0,
                      (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                       G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
job_parallel_config_init (JobParallelConfig *self)
{
  self->n_jobs = JOB_N_JOBS_DEFAULT;
  self->verbose = -1;
}

/**
 * job_parallel_config_new:
 *
 * Creates a config that sets nothing; set the values it should impose.
 *
 * Returns: (transfer full): a new config
 */
JobParallelConfig *
job_parallel_config_new (void)
{
  return g_object_new (JOB_TYPE_PARALLEL_CONFIG, NULL);
}

/**
 * job_parallel_config_push:
 * @self: a #JobParallelConfig
 *
 * Makes @self the active config of the calling thread until the matching
 * [method@Joblib.ParallelConfig.pop]. Values it leaves unset are inherited
 * from the config that was active before.
 */
void
job_parallel_config_push (JobParallelConfig *self)
{
  g_return_if_fail (JOB_IS_PARALLEL_CONFIG (self));

  g_ptr_array_add (get_stack (TRUE), g_object_ref (self));
}

/**
 * job_parallel_config_pop:
 * @self: the config pushed last on this thread
 *
 * Ends the scope started by [method@Joblib.ParallelConfig.push]. Popping a
 * config that is not the calling thread's active one is a programmer error.
 */
void
job_parallel_config_pop (JobParallelConfig *self)
{
  GPtrArray *stack = get_stack (FALSE);

  g_return_if_fail (JOB_IS_PARALLEL_CONFIG (self));
  g_return_if_fail (stack != NULL && stack->len > 0);
  g_return_if_fail (g_ptr_array_index (stack, stack->len - 1) == self);

  g_ptr_array_remove_index (stack, stack->len - 1);
}

/**
 * job_parallel_config_get_current:
 *
 * Resolves the calling thread's config stack into one config: each value
 * comes from the innermost pushed config that sets it.
 *
 * Returns: (transfer full): a new config with the effective values (unset
 *   values stay unset)
 */
JobParallelConfig *
job_parallel_config_get_current (void)
{
  JobParallelConfig *merged = job_parallel_config_new ();
  GPtrArray *stack = get_stack (FALSE);

  if (stack == NULL)
    return merged;

  for (guint i = 0; i < stack->len; i++)
    {
      JobParallelConfig *config = g_ptr_array_index (stack, i);

      if (config->backend != NULL)
        {
          g_set_object (&merged->backend, config->backend);
          g_clear_pointer (&merged->backend_name, g_free);
        }
      else if (config->backend_name != NULL)
        {
          g_clear_object (&merged->backend);
          g_free (merged->backend_name);
          merged->backend_name = g_strdup (config->backend_name);
        }
      if (config->n_jobs != JOB_N_JOBS_DEFAULT)
        merged->n_jobs = config->n_jobs;
      if (config->verbose >= 0)
        merged->verbose = config->verbose;
      if (config->inner_max_num_threads > 0)
        merged->inner_max_num_threads = config->inner_max_num_threads;
    }

  return merged;
}

/**
 * job_parallel_config_get_backend_name:
 * @self: a #JobParallelConfig
 *
 * Gets the backend name.
 *
 * Returns: (transfer none) (nullable): the backend name
 */
const char *
job_parallel_config_get_backend_name (JobParallelConfig *self)
{
  g_return_val_if_fail (JOB_IS_PARALLEL_CONFIG (self), NULL);

  return self->backend_name;
}

/**
 * job_parallel_config_set_backend_name:
 * @self: a #JobParallelConfig
 * @backend_name: (nullable): a registered backend name
 *
 * Sets the backend by name. An unknown name is reported when a run starts.
 */
void
job_parallel_config_set_backend_name (JobParallelConfig *self,
                                      const char        *backend_name)
{
  g_return_if_fail (JOB_IS_PARALLEL_CONFIG (self));

  if (g_strcmp0 (self->backend_name, backend_name) == 0)
    return;

  g_free (self->backend_name);
  self->backend_name = g_strdup (backend_name);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BACKEND_NAME]);
}

/**
 * job_parallel_config_get_backend:
 * @self: a #JobParallelConfig
 *
 * Gets the backend instance.
 *
 * Returns: (transfer none) (nullable): the backend instance
 */
JobBackend *
job_parallel_config_get_backend (JobParallelConfig *self)
{
  g_return_val_if_fail (JOB_IS_PARALLEL_CONFIG (self), NULL);

  return self->backend;
}

/**
 * job_parallel_config_set_backend:
 * @self: a #JobParallelConfig
 * @backend: (nullable): a backend instance
 *
 * Sets the backend instance runs should use.
 */
void
job_parallel_config_set_backend (JobParallelConfig *self,
                                 JobBackend        *backend)
{
  g_return_if_fail (JOB_IS_PARALLEL_CONFIG (self));
  g_return_if_fail (backend == NULL || JOB_IS_BACKEND (backend));

  if (g_set_object (&self->backend, backend))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BACKEND]);
}

/**
 * job_parallel_config_get_n_jobs:
 * @self: a #JobParallelConfig
 *
 * Gets the number of jobs, or %JOB_N_JOBS_DEFAULT if unset.
 *
 * Returns: the number of jobs, or %JOB_N_JOBS_DEFAULT if unset
 */
int
job_parallel_config_get_n_jobs (JobParallelConfig *self)
{
  g_return_val_if_fail (JOB_IS_PARALLEL_CONFIG (self), JOB_N_JOBS_DEFAULT);

  return self->n_jobs;
}

/**
 * job_parallel_config_set_n_jobs:
 * @self: a #JobParallelConfig
 * @n_jobs: the number of jobs (joblib's meaning), or %JOB_N_JOBS_DEFAULT
 *
 * Sets the number of jobs. 0 is reported as an error when a run starts.
 */
void
job_parallel_config_set_n_jobs (JobParallelConfig *self,
                                int                n_jobs)
{
  g_return_if_fail (JOB_IS_PARALLEL_CONFIG (self));

  if (self->n_jobs == n_jobs)
    return;

  self->n_jobs = n_jobs;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_JOBS]);
}

/**
 * job_parallel_config_get_verbose:
 * @self: a #JobParallelConfig
 *
 * Gets the verbosity, or -1 if unset.
 *
 * Returns: the verbosity, or -1 if unset
 */
int
job_parallel_config_get_verbose (JobParallelConfig *self)
{
  g_return_val_if_fail (JOB_IS_PARALLEL_CONFIG (self), -1);

  return self->verbose;
}

/**
 * job_parallel_config_set_verbose:
 * @self: a #JobParallelConfig
 * @verbose: the verbosity, or -1 for unset
 *
 * Sets the verbosity of runs.
 */
void
job_parallel_config_set_verbose (JobParallelConfig *self,
                                 int                verbose)
{
  g_return_if_fail (JOB_IS_PARALLEL_CONFIG (self));

  verbose = MAX (verbose, -1);
  if (self->verbose == verbose)
    return;

  self->verbose = verbose;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VERBOSE]);
}

/**
 * job_parallel_config_get_inner_max_num_threads:
 * @self: a #JobParallelConfig
 *
 * Gets the thread limit for native pools in workers.
 *
 * Returns: the thread limit for native pools in workers, or 0 for the
 *   default
 */
int
job_parallel_config_get_inner_max_num_threads (JobParallelConfig *self)
{
  g_return_val_if_fail (JOB_IS_PARALLEL_CONFIG (self), 0);

  return self->inner_max_num_threads;
}

/**
 * job_parallel_config_set_inner_max_num_threads:
 * @self: a #JobParallelConfig
 * @n_threads: the limit, or 0 for the default
 *
 * Sets how many threads native pools (BLAS, OpenMP) of worker processes may
 * use.
 */
void
job_parallel_config_set_inner_max_num_threads (JobParallelConfig *self,
                                               int                n_threads)
{
  g_return_if_fail (JOB_IS_PARALLEL_CONFIG (self));

  n_threads = MAX (n_threads, 0);
  if (self->inner_max_num_threads == n_threads)
    return;

  self->inner_max_num_threads = n_threads;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_INNER_MAX_NUM_THREADS]);
}
