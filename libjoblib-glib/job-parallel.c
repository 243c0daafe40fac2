/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <math.h>

#include "job-error.h"
#include "job-i18n-private.h"
#include "job-parallel-dispatcher-private.h"
#include "job-parallel-private.h"

/**
 * JobParallel:
 *
 * Runs the same function over many argument sets on several workers:
 * joblib's `Parallel(n_jobs)(delayed(f)(x) for x in xs)`.
 *
 * ```c
 * g_autoptr(JobParallel) parallel = job_parallel_new (2);
 * g_autoptr(GPtrArray) calls = g_ptr_array_new_with_free_func ((GDestroyNotify) job_call_unref);
 * for (int i = 0; i < 10; i++)
 *   g_ptr_array_add (calls, job_call_new (my_function, g_variant_new ("(i)", i)));
 * g_autoptr(GPtrArray) results = job_parallel_run (parallel, calls, NULL, &error);
 * ```
 *
 * Results come back in input order. The first task that fails stops the
 * dispatch of new tasks, tells running ones to stop through their
 * #GCancellable, and the run fails with that task's error, prefixed with
 * the task's index and function name ("task 17 (fit_model): …").
 * [method@Joblib.Parallel.run_outcomes] collects every task's outcome
 * instead.
 *
 * Tasks are grouped in batches whose size adapts to their duration
 * (joblib's auto batching), so that trivial tasks cost well under a
 * microsecond each. [property@Joblib.Parallel:pre-dispatch] bounds how many
 * batches are in flight, and so how much of a lazy input
 * ([method@Joblib.Parallel.run_source]) is read ahead; a run over calls
 * given as an array with a fixed batch size keeps at least 16 batches per
 * worker in flight, so that process workers are not idle between calls.
 *
 * Threads and contexts: a run belongs to the thread-default main context
 * of the thread that starts it. The [signal@Joblib.Parallel::result] and
 * [signal@Joblib.Parallel::progress] signals and the async callback are
 * emitted there, so a GTK application can update its widgets directly.
 * The synchronous methods run a private main context while they wait; the
 * signals are then emitted on the calling thread during the call. One
 * #JobParallel may run several times, also concurrently; its properties
 * should only be changed from one thread.
 */
struct _JobParallel
{
  GObject     parent_instance;
  int         n_jobs;
  JobBackend *backend;        /* (owned) (nullable) */
  char       *backend_name;   /* (owned) (nullable) */
  JobBackend *named_backend;  /* (owned) (nullable): created from backend_name */
  JobBackend *sequential;     /* (owned) (nullable): for n_jobs == 1 */
  char       *pre_dispatch;   /* (owned) */
  guint       batch_size;
  double      timeout;
  int         verbose;
};

enum {
  PROP_0,
  PROP_N_JOBS,
  PROP_BACKEND,
  PROP_BACKEND_NAME,
  PROP_PRE_DISPATCH,
  PROP_BATCH_SIZE,
  PROP_TIMEOUT,
  PROP_VERBOSE,
  N_PROPS
};

enum {
  SIGNAL_RESULT,
  SIGNAL_PROGRESS,
  SIGNAL_VERBOSE_LINE,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (JobParallel, job_parallel, G_TYPE_OBJECT)

#define DEFAULT_PRE_DISPATCH "2*n_jobs"

static void
job_parallel_finalize (GObject *object)
{
  JobParallel *self = JOB_PARALLEL (object);

  g_clear_object (&self->backend);
  g_clear_object (&self->named_backend);
  g_clear_object (&self->sequential);
  g_clear_pointer (&self->backend_name, g_free);
  g_clear_pointer (&self->pre_dispatch, g_free);

  G_OBJECT_CLASS (job_parallel_parent_class)->finalize (object);
}

static void
job_parallel_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  JobParallel *self = JOB_PARALLEL (object);

  switch (prop_id)
    {
    case PROP_N_JOBS:
      g_value_set_int (value, self->n_jobs);
      break;

    case PROP_BACKEND:
      g_value_set_object (value, self->backend);
      break;

    case PROP_BACKEND_NAME:
      g_value_set_string (value, self->backend_name);
      break;

    case PROP_PRE_DISPATCH:
      g_value_set_string (value, self->pre_dispatch);
      break;

    case PROP_BATCH_SIZE:
      g_value_set_uint (value, self->batch_size);
      break;

    case PROP_TIMEOUT:
      g_value_set_double (value, self->timeout);
      break;

    case PROP_VERBOSE:
      g_value_set_int (value, self->verbose);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
job_parallel_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  JobParallel *self = JOB_PARALLEL (object);

  switch (prop_id)
    {
    case PROP_N_JOBS:
      job_parallel_set_n_jobs (self, g_value_get_int (value));
      break;

    case PROP_BACKEND:
      job_parallel_set_backend (self, g_value_get_object (value));
      break;

    case PROP_BACKEND_NAME:
      job_parallel_set_backend_name (self, g_value_get_string (value));
      break;

    case PROP_PRE_DISPATCH:
      job_parallel_set_pre_dispatch (self, g_value_get_string (value));
      break;

    case PROP_BATCH_SIZE:
      job_parallel_set_batch_size (self, g_value_get_uint (value));
      break;

    case PROP_TIMEOUT:
      job_parallel_set_timeout (self, g_value_get_double (value));
      break;

    case PROP_VERBOSE:
      job_parallel_set_verbose (self, g_value_get_int (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
job_parallel_class_init (JobParallelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = job_parallel_finalize;
  object_class->get_property = job_parallel_get_property;
  object_class->set_property = job_parallel_set_property;

  /**
   * JobParallel:n-jobs:
   *
   * How many workers, with joblib's meaning: a positive count; -1 for all
   * usable CPUs ([func@Joblib.cpu_count]); -2 for all but one, and in
   * general `max (cpus + 1 + n_jobs, 1)`; 1 runs every task in the caller
   * with no threads. 0 makes runs fail with
   * [error@Joblib.Error.INVALID_ARGUMENT]. %JOB_N_JOBS_DEFAULT (the
   * default) takes the value of the active [class@Joblib.ParallelConfig],
   * else 1.
   */
  properties[PROP_N_JOBS] =
    g_param_spec_int ("n-jobs", NULL, NULL,
                      G_MININT, G_MAXINT, JOB_N_JOBS_DEFAULT,
                      (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                       G_PARAM_STATIC_STRINGS));

  /**
   * JobParallel:backend:
   *
   * The backend instance to run on. Wins over
   * [property@Joblib.Parallel:backend-name]. %NULL (the default) defers to
   * the backend name, then the active config, then `"threading"`.
   */
  properties[PROP_BACKEND] =
    g_param_spec_object ("backend", NULL, NULL, JOB_TYPE_BACKEND,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS));

  /**
   * JobParallel:backend-name:
   *
   * The registered name of the backend to run on (`"threading"`,
   * `"sequential"`, …); see [func@Joblib.Backend.register]. An unknown name
   * makes runs fail with [error@Joblib.Error.UNKNOWN_BACKEND].
   */
  properties[PROP_BACKEND_NAME] =
    g_param_spec_string ("backend-name", NULL, NULL, NULL,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS));

  /**
   * JobParallel:pre-dispatch:
   *
   * How many batches may be in flight at once, as joblib's `pre_dispatch`:
   * `"2*n_jobs"` (the default), any `"k*n_jobs"` or `"n_jobs"`, a plain
   * count, or `"all"` to dispatch everything at once. A lazy input is read
   * only as far as this allows. Calls given as an array with a fixed batch
   * size are all built already: such a run keeps at least 16 batches per
   * worker in flight whatever this says. A malformed value makes runs fail
   * with [error@Joblib.Error.INVALID_ARGUMENT].
   */
  properties[PROP_PRE_DISPATCH] =
    g_param_spec_string ("pre-dispatch", NULL, NULL, DEFAULT_PRE_DISPATCH,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS));

  /**
   * JobParallel:batch-size:
   *
   * How many tasks go to a worker at once. 0 (the default) is joblib's
   * `"auto"`: start at 1 and adapt so that a batch takes 0.2–2 s.
   */
  properties[PROP_BATCH_SIZE] =
    g_param_spec_uint ("batch-size", NULL, NULL,
                       0, G_MAXUINT, 0,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                        G_PARAM_STATIC_STRINGS));

  /**
   * JobParallel:timeout:
   *
   * The longest a single task may run, in seconds; 0 (the default) or
   * infinity for no limit, and so is any value too large to count in
   * microseconds (from 9.2e12 s on). A task over the limit fails the run with
   * [error@Joblib.Error.TIMEOUT] at once. Backends that can kill their
   * workers do; a thread cannot be killed, so a task running on the thread
   * backend is told to stop through its cancellable and finishes in the
   * background.
   */
  properties[PROP_TIMEOUT] =
    g_param_spec_double ("timeout", NULL, NULL,
                         0.0, INFINITY, 0.0,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS));

  /**
   * JobParallel:verbose:
   *
   * Verbosity of the progress lines written on standard error, in joblib's
   * format (`[Parallel(n_jobs=2)]: Done   6 out of   6 | elapsed:    0.0s
   * finished`): 0 for none, higher for more lines, above 10 for a line per
   * batch. -1 (the default) takes the active config's value, else 0.
   */
  properties[PROP_VERBOSE] =
    g_param_spec_int ("verbose", NULL, NULL,
                      -1, G_MAXINT, -1,
                      (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                       G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * JobParallel::result:
   * @self: the #JobParallel
   * @index: the task's position in the input
   * @value: the task's result
   *
   * Emitted as each task completes, in completion order (joblib's
   * `return_as="generator_unordered"`), on the main context of the run.
   */
  signals[SIGNAL_RESULT] =
    g_signal_new ("result",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2,
                  G_TYPE_UINT,
                  G_TYPE_VARIANT);

  /**
   * JobParallel::progress:
   * @self: the #JobParallel
   * @done: how many tasks have completed
   * @total: how many tasks there are, or -1 while a lazy input is not
   *   exhausted
   *
   * Emitted after each completed batch on the main context of the run;
   * made for progress bars. A call made with
   * [ctor@Joblib.Call.new_with_task_count] counts as that many tasks.
   */
  signals[SIGNAL_PROGRESS] =
    g_signal_new ("progress",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2,
                  G_TYPE_UINT,
                  G_TYPE_INT);

  /**
   * JobParallel::verbose-line:
   * @self: the #JobParallel
   * @line: one line of progress text, with its newline
   *
   * Emitted, on the main context of the run, for each line that
   * [property@Joblib.Parallel:verbose] asks for. Without a handler the
   * line goes to standard error (g_printerr()); with one, only to the
   * handler: bindings use it to write to their own streams (Python's
   * `sys.stderr`, a log, a text view).
   */
  signals[SIGNAL_VERBOSE_LINE] =
    g_signal_new ("verbose-line",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1,
                  G_TYPE_STRING);
}

static void
job_parallel_init (JobParallel *self)
{
  self->n_jobs = JOB_N_JOBS_DEFAULT;
  self->pre_dispatch = g_strdup (DEFAULT_PRE_DISPATCH);
  self->verbose = -1;
}

/**
 * job_parallel_new:
 * @n_jobs: the number of jobs (see [property@Joblib.Parallel:n-jobs])
 *
 * Creates a runner. Pass %JOB_N_JOBS_DEFAULT to take the number of jobs
 * from the active [class@Joblib.ParallelConfig].
 *
 * Returns: (transfer full): a new #JobParallel
 */
JobParallel *
job_parallel_new (int n_jobs)
{
  return g_object_new (JOB_TYPE_PARALLEL, "n-jobs", n_jobs, NULL);
}

/**
 * job_parallel_get_n_jobs:
 * @self: a #JobParallel
 *
 * Gets the requested number of jobs, as set.
 *
 * Returns: the requested number of jobs, as set
 */
int
job_parallel_get_n_jobs (JobParallel *self)
{
  g_return_val_if_fail (JOB_IS_PARALLEL (self), 1);

  return self->n_jobs;
}

/**
 * job_parallel_set_n_jobs:
 * @self: a #JobParallel
 * @n_jobs: the number of jobs
 *
 * Sets [property@Joblib.Parallel:n-jobs]. It applies to runs started
 * afterwards.
 */
void
job_parallel_set_n_jobs (JobParallel *self,
                         int          n_jobs)
{
  g_return_if_fail (JOB_IS_PARALLEL (self));

  if (self->n_jobs == n_jobs)
    return;

  self->n_jobs = n_jobs;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_JOBS]);
}

/**
 * job_parallel_get_backend:
 * @self: a #JobParallel
 *
 * Gets the backend instance, if one was set.
 *
 * Returns: (transfer none) (nullable): the backend instance, if one was set
 */
JobBackend *
job_parallel_get_backend (JobParallel *self)
{
  g_return_val_if_fail (JOB_IS_PARALLEL (self), NULL);

  return self->backend;
}

/**
 * job_parallel_set_backend:
 * @self: a #JobParallel
 * @backend: (nullable): the backend to run on
 *
 * Sets [property@Joblib.Parallel:backend].
 */
void
job_parallel_set_backend (JobParallel *self,
                          JobBackend  *backend)
{
  g_return_if_fail (JOB_IS_PARALLEL (self));
  g_return_if_fail (backend == NULL || JOB_IS_BACKEND (backend));

  if (g_set_object (&self->backend, backend))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BACKEND]);
}

/**
 * job_parallel_get_backend_name:
 * @self: a #JobParallel
 *
 * Gets the backend name, if one was set.
 *
 * Returns: (transfer none) (nullable): the backend name, if one was set
 */
const char *
job_parallel_get_backend_name (JobParallel *self)
{
  g_return_val_if_fail (JOB_IS_PARALLEL (self), NULL);

  return self->backend_name;
}

/**
 * job_parallel_set_backend_name:
 * @self: a #JobParallel
 * @backend_name: (nullable): a registered backend name
 *
 * Sets [property@Joblib.Parallel:backend-name].
 */
void
job_parallel_set_backend_name (JobParallel *self,
                               const char  *backend_name)
{
  g_return_if_fail (JOB_IS_PARALLEL (self));

  if (g_strcmp0 (self->backend_name, backend_name) == 0)
    return;

  g_free (self->backend_name);
  self->backend_name = g_strdup (backend_name);
  g_clear_object (&self->named_backend);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BACKEND_NAME]);
}

/**
 * job_parallel_get_pre_dispatch:
 * @self: a #JobParallel
 *
 * Gets the pre-dispatch expression.
 *
 * Returns: (transfer none): the pre-dispatch expression
 */
const char *
job_parallel_get_pre_dispatch (JobParallel *self)
{
  g_return_val_if_fail (JOB_IS_PARALLEL (self), NULL);

  return self->pre_dispatch;
}

/**
 * job_parallel_set_pre_dispatch:
 * @self: a #JobParallel
 * @pre_dispatch: (nullable): `"all"`, `"k*n_jobs"`, `"n_jobs"` or a
 *   count; %NULL restores `"2*n_jobs"`
 *
 * Sets [property@Joblib.Parallel:pre-dispatch].
 */
void
job_parallel_set_pre_dispatch (JobParallel *self,
                               const char  *pre_dispatch)
{
  g_return_if_fail (JOB_IS_PARALLEL (self));

  if (pre_dispatch == NULL)
    pre_dispatch = DEFAULT_PRE_DISPATCH;
  if (g_strcmp0 (self->pre_dispatch, pre_dispatch) == 0)
    return;

  g_free (self->pre_dispatch);
  self->pre_dispatch = g_strdup (pre_dispatch);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PRE_DISPATCH]);
}

/**
 * job_parallel_get_batch_size:
 * @self: a #JobParallel
 *
 * Gets the fixed batch size, or 0 for auto.
 *
 * Returns: the fixed batch size, or 0 for auto
 */
guint
job_parallel_get_batch_size (JobParallel *self)
{
  g_return_val_if_fail (JOB_IS_PARALLEL (self), 0);

  return self->batch_size;
}

/**
 * job_parallel_set_batch_size:
 * @self: a #JobParallel
 * @batch_size: tasks per batch, or 0 for auto
 *
 * Sets [property@Joblib.Parallel:batch-size].
 */
void
job_parallel_set_batch_size (JobParallel *self,
                             guint        batch_size)
{
  g_return_if_fail (JOB_IS_PARALLEL (self));

  if (self->batch_size == batch_size)
    return;

  self->batch_size = batch_size;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BATCH_SIZE]);
}

/**
 * job_parallel_get_timeout:
 * @self: a #JobParallel
 *
 * Gets the per-task timeout in seconds, 0 for none.
 *
 * Returns: the per-task timeout in seconds, 0 for none
 */
double
job_parallel_get_timeout (JobParallel *self)
{
  g_return_val_if_fail (JOB_IS_PARALLEL (self), 0.0);

  return self->timeout;
}

/**
 * job_parallel_set_timeout:
 * @self: a #JobParallel
 * @timeout: seconds, 0 for none
 *
 * Sets [property@Joblib.Parallel:timeout].
 */
void
job_parallel_set_timeout (JobParallel *self,
                          double       timeout)
{
  g_return_if_fail (JOB_IS_PARALLEL (self));
  g_return_if_fail (timeout >= 0.0);

  if (self->timeout == timeout)
    return;

  self->timeout = timeout;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TIMEOUT]);
}

/**
 * job_parallel_get_verbose:
 * @self: a #JobParallel
 *
 * Gets the verbosity, -1 if unset.
 *
 * Returns: the verbosity, -1 if unset
 */
int
job_parallel_get_verbose (JobParallel *self)
{
  g_return_val_if_fail (JOB_IS_PARALLEL (self), 0);

  return self->verbose;
}

/**
 * job_parallel_set_verbose:
 * @self: a #JobParallel
 * @verbose: the verbosity, -1 to take the config's
 *
 * Sets [property@Joblib.Parallel:verbose].
 */
void
job_parallel_set_verbose (JobParallel *self,
                          int          verbose)
{
  g_return_if_fail (JOB_IS_PARALLEL (self));

  verbose = MAX (verbose, -1);
  if (self->verbose == verbose)
    return;

  self->verbose = verbose;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VERBOSE]);
}

/* The run's callbacks (see JobRunOptions), on the run's context. */
static gboolean
wants_results (gpointer user_data)
{
  return g_signal_has_handler_pending (user_data, signals[SIGNAL_RESULT], 0, FALSE);
}

static void
emit_result (guint     index,
             GVariant *value,
             gpointer  user_data)
{
  g_signal_emit (user_data, signals[SIGNAL_RESULT], 0, index, value);
}

static void
emit_progress (guint    done,
               int      total,
               gpointer user_data)
{
  g_signal_emit (user_data, signals[SIGNAL_PROGRESS], 0, done, total);
}

static gboolean
emit_verbose_line (const char *line,
                   gpointer    user_data)
{
  if (!g_signal_has_handler_pending (user_data, signals[SIGNAL_VERBOSE_LINE], 0, FALSE))
    return FALSE;
  g_signal_emit (user_data, signals[SIGNAL_VERBOSE_LINE], 0, line);
  return TRUE;
}

/* Starts a run of @calls (transfer full; or of @source) on the caller's
 * thread-default context: job-parallel-private.h. */
void
job_parallel_start (JobParallel         *self,
                    GPtrArray           *calls,
                    JobCallIterateFunc   source,
                    gpointer             source_data,
                    GDestroyNotify       source_destroy,
                    gboolean             collect,
                    GCancellable        *cancellable,
                    GAsyncReadyCallback  callback,
                    gpointer             user_data,
                    gpointer             source_tag)
{
  g_autoptr(GPtrArray) owned_calls = calls;  /* (transfer full) from the callers */
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  JobRunOptions options = { 0 };
  g_autoptr(GError) error = NULL;
  guint depth = job_nesting_get_depth (job_nesting_get_current ());
  JobRunRequest request = {
    .n_jobs = self->n_jobs,
    .backend = self->backend,
    .backend_name = self->backend_name,
    .pre_dispatch = self->pre_dispatch,
    .batch_size = self->batch_size,
    .timeout = self->timeout,
    .verbose = self->verbose,
    .sequential = &self->sequential,
    .named_backend = &self->named_backend,
  };

  g_task_set_source_tag (task, source_tag);
  /* The run reports cancellation itself, once no task runs any more. */
  g_task_set_check_cancellable (task, FALSE);

  if (depth >= JOB_PARALLEL_MAX_NESTING_DEPTH)
    g_set_error (&error, JOB_ERROR, JOB_ERROR_NESTING_TOO_DEEP,
                 _("A parallel run was started inside %u nested runs, the most is %d"),
                 depth, JOB_PARALLEL_MAX_NESTING_DEPTH);

  if (error != NULL || !job_run_options_resolve (&options, &request, &error))
    {
      job_run_options_clear (&options);
      if (source_destroy != NULL)
        source_destroy (source_data);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  options.collect = collect;
  options.wants_results = wants_results;
  options.result = emit_result;
  options.progress = emit_progress;
  options.verbose_line = emit_verbose_line;
  options.callback_data = g_object_ref (self);
  options.callback_destroy = g_object_unref;
  job_dispatcher_start (&options, calls, source, source_data, source_destroy,
                        cancellable, task);
}
