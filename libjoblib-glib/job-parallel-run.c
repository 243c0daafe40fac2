/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-parallel-private.h"

/* The run entry points of JobParallel: what a run reads (an array of
 * calls, a source, an iterator), for a list of results or of outcomes,
 * synchronously or not. They all end in job_parallel_start(). */

/* What a run reads, as job_parallel_start() takes it. */
typedef struct
{
  GPtrArray          *calls;          /* (owned) (nullable) */
  JobCallIterateFunc  iterate;        /* (nullable) */
  gpointer            iterate_data;
  GDestroyNotify      iterate_destroy;
  gboolean            collect;        /* per-task outcomes, not the first error */
} RunInput;

/* A NULL call in the input is a programmer error. */
static gboolean
check_calls (JobCall **calls,
             guint     n_calls)
{
  if (calls == NULL && n_calls > 0)
    return FALSE;
  for (guint i = 0; i < n_calls; i++)
    if (calls[i] == NULL)
      return FALSE;
  return TRUE;
}

/* The run keeps its own references: the caller's array may go away. */
static RunInput
input_of_calls (JobCall  **calls,
                guint      n_calls,
                gboolean   collect)
{
  RunInput input = { NULL, NULL, NULL, NULL, collect };

  input.calls = g_ptr_array_new_full (n_calls, (GDestroyNotify) job_call_unref);
  for (guint i = 0; i < n_calls; i++)
    g_ptr_array_add (input.calls, job_call_ref (calls[i]));
  return input;
}

static RunInput
input_of_iterate (JobCallIterateFunc iterate,
                  gpointer           data,
                  GDestroyNotify     destroy)
{
  RunInput input = { NULL, iterate, data, destroy, FALSE };

  return input;
}

/* The input of run_source() seen as a JobCallIterateFunc: there, a NULL
 * without an error is the end. */
typedef struct
{
  JobCallSourceFunc source;
  gpointer          data;
  GDestroyNotify    destroy;
} SourceInput;

static gboolean
iterate_source (gpointer   user_data,
                JobCall  **call,
                GError   **error)
{
  SourceInput *input = user_data;
  GError *local_error = NULL;

  *call = input->source (input->data, &local_error);
  if (local_error != NULL)
    {
      g_clear_pointer (call, job_call_unref);
      g_propagate_error (error, local_error);
      return FALSE;
    }
  return TRUE;
}

static void
source_input_free (gpointer data)
{
  SourceInput *input = data;

  if (input->destroy != NULL)
    input->destroy (input->data);
  g_free (input);
}

static SourceInput *
source_input_new (JobCallSourceFunc source,
                  gpointer          data,
                  GDestroyNotify    destroy)
{
  SourceInput *input = g_new0 (SourceInput, 1);

  input->source = source;
  input->data = data;
  input->destroy = destroy;
  return input;
}

static RunInput
input_of_source (JobCallSourceFunc source,
                 gpointer          data,
                 GDestroyNotify    destroy)
{
  return input_of_iterate (iterate_source, source_input_new (source, data, destroy),
                           source_input_free);
}

static void
start (JobParallel         *self,
       RunInput             input,
       GCancellable        *cancellable,
       GAsyncReadyCallback  callback,
       gpointer             user_data,
       gpointer             source_tag)
{
  job_parallel_start (self, input.calls, input.iterate, input.iterate_data,
                      input.iterate_destroy, input.collect, cancellable, callback, user_data,
                      source_tag);
}

static void
on_sync_done (GObject      *source_object,
              GAsyncResult *result,
              gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

/* Runs the asynchronous form on a private main context and waits for
 * it: GIO's pattern for synchronous wrappers. */
static GPtrArray *
run_sync (JobParallel   *self,
          RunInput       input,
          GCancellable  *cancellable,
          gpointer       source_tag,
          GError       **error)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GAsyncResult) result = NULL;

  g_main_context_push_thread_default (context);
  start (self, input, cancellable, on_sync_done, &result, source_tag);
  while (result == NULL)
    g_main_context_iteration (context, TRUE);
  g_main_context_pop_thread_default (context);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* The two runs over an array of calls, for results (run) or for
 * outcomes (run_outcomes), differ only by @collect and their tag: one
 * check and one start for both. */
static GPtrArray *
run_calls (JobParallel   *self,
           JobCall      **calls,
           guint          n_calls,
           gboolean       collect,
           GCancellable  *cancellable,
           GError       **error)
{
  g_return_val_if_fail (JOB_IS_PARALLEL (self), NULL);
  g_return_val_if_fail (check_calls (calls, n_calls), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return run_sync (self, input_of_calls (calls, n_calls, collect), cancellable,
                   collect ? (gpointer) job_parallel_run_outcomes_async
                           : (gpointer) job_parallel_run_async,
                   error);
}

static void
run_calls_async (JobParallel          *self,
                 JobCall             **calls,
                 guint                 n_calls,
                 gboolean              collect,
                 GCancellable         *cancellable,
                 GAsyncReadyCallback   callback,
                 gpointer              user_data)
{
  g_return_if_fail (JOB_IS_PARALLEL (self));
  g_return_if_fail (check_calls (calls, n_calls));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  start (self, input_of_calls (calls, n_calls, collect), cancellable, callback, user_data,
         collect ? (gpointer) job_parallel_run_outcomes_async
                 : (gpointer) job_parallel_run_async);
}

static gboolean
is_list_run (GAsyncResult *result)
{
  gpointer tag = g_task_get_source_tag (G_TASK (result));

  return tag == job_parallel_run_async || tag == job_parallel_run_source_async ||
         tag == job_parallel_run_iterate_async;
}

/**
 * job_parallel_run:
 * @self: a #JobParallel
 * @calls: (array length=n_calls): the calls to run
 * @n_calls: the number of calls
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Runs every call and waits for all of them. The calling thread iterates a
 * private main context meanwhile, where the signals are emitted.
 *
 * Cancelling @cancellable stops the dispatch, tells running tasks to stop
 * and fails with %G_IO_ERROR_CANCELLED once none runs any more.
 *
 * Returns: (transfer container) (element-type GVariant): the results in input
 *   order, or %NULL with @error set
 */
GPtrArray *
job_parallel_run (JobParallel   *self,
                  JobCall      **calls,
                  guint          n_calls,
                  GCancellable  *cancellable,
                  GError       **error)
{
  return run_calls (self, calls, n_calls, FALSE, cancellable, error);
}

/**
 * job_parallel_run_async:
 * @self: a #JobParallel
 * @calls: (array length=n_calls): the calls to run
 * @n_calls: the number of calls
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the run completes, on the
 *   thread-default main context of the caller
 * @user_data: (closure): data for @callback
 *
 * Starts running every call. The signals and @callback are emitted on the
 * caller's thread-default main context. Finish with
 * [method@Joblib.Parallel.run_finish].
 */
void
job_parallel_run_async (JobParallel          *self,
                        JobCall             **calls,
                        guint                 n_calls,
                        GCancellable         *cancellable,
                        GAsyncReadyCallback   callback,
                        gpointer              user_data)
{
  run_calls_async (self, calls, n_calls, FALSE, cancellable, callback, user_data);
}

/**
 * job_parallel_run_finish:
 * @self: a #JobParallel
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Completes [method@Joblib.Parallel.run_async],
 * [method@Joblib.Parallel.run_source_async] or
 * [method@Joblib.Parallel.run_iterate_async].
 *
 * Returns: (transfer container) (element-type GVariant): the results in input
 *   order, or %NULL with @error set
 */
GPtrArray *
job_parallel_run_finish (JobParallel   *self,
                         GAsyncResult  *result,
                         GError       **error)
{
  g_return_val_if_fail (JOB_IS_PARALLEL (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (is_list_run (result), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * job_parallel_run_source:
 * @self: a #JobParallel
 * @source: (scope notified) (closure source_data) (destroy source_destroy):
 *   returns the next call, %NULL at the end
 * @source_data: data for @source
 * @source_destroy: (nullable): frees @source_data when the run is over
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Like [method@Joblib.Parallel.run], for a lazy input (joblib's generator
 * input): @source is called on the calling thread, only as batches
 * complete, so at most about [property@Joblib.Parallel:pre-dispatch]
 * batches of calls exist at once.
 *
 * A %NULL from @source without an error ends the input. From a binding,
 * prefer [method@Joblib.Parallel.run_iterate], whose input tells its end
 * apart from an exception the binding cannot turn into a #GError.
 *
 * Returns: (transfer container) (element-type GVariant): the results in input
 *   order, or %NULL with @error set
 */
GPtrArray *
job_parallel_run_source (JobParallel        *self,
                         JobCallSourceFunc   source,
                         gpointer            source_data,
                         GDestroyNotify      source_destroy,
                         GCancellable       *cancellable,
                         GError            **error)
{
  g_return_val_if_fail (JOB_IS_PARALLEL (self), NULL);
  g_return_val_if_fail (source != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return run_sync (self, input_of_source (source, source_data, source_destroy), cancellable,
                   job_parallel_run_source_async, error);
}

/**
 * job_parallel_run_source_async:
 * @self: a #JobParallel
 * @source: (scope notified) (closure source_data) (destroy source_destroy):
 *   returns the next call, %NULL at the end
 * @source_data: data for @source
 * @source_destroy: (nullable): frees @source_data when the run is over
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the run completes, on the
 *   thread-default main context of the caller
 * @user_data: (closure): data for @callback
 *
 * Starts a run over a lazy input; @source is called on the caller's
 * thread-default main context.
 */
void
job_parallel_run_source_async (JobParallel         *self,
                               JobCallSourceFunc    source,
                               gpointer             source_data,
                               GDestroyNotify       source_destroy,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_return_if_fail (JOB_IS_PARALLEL (self));
  g_return_if_fail (source != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  start (self, input_of_source (source, source_data, source_destroy), cancellable, callback,
         user_data, job_parallel_run_source_async);
}

/**
 * job_parallel_run_source_finish:
 * @self: a #JobParallel
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Completes [method@Joblib.Parallel.run_source_async].
 *
 * Returns: (transfer container) (element-type GVariant): the results in input
 *   order, or %NULL with @error set
 */
GPtrArray *
job_parallel_run_source_finish (JobParallel   *self,
                                GAsyncResult  *result,
                                GError       **error)
{
  return job_parallel_run_finish (self, result, error);
}

/**
 * job_parallel_run_iterate:
 * @self: a #JobParallel
 * @iterate: (scope notified) (closure iterate_data) (destroy iterate_destroy):
 *   gives the next call, the end of the input, or a failure
 * @iterate_data: data for @iterate
 * @iterate_destroy: (nullable): frees @iterate_data when the run is over
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Like [method@Joblib.Parallel.run_source], with an input that tells its
 * end apart from a failure (see [callback@Joblib.CallIterateFunc]): when
 * @iterate returns %FALSE, no more calls are dispatched, running tasks are
 * told to stop, and the run fails with @iterate's error, prefixed with
 * "The input of the parallel run failed: ". @iterate is called on the
 * calling thread, only as batches complete.
 *
 * In Python, @iterate returns `(True, call)`, `(True, None)` at the end,
 * or raises; in JavaScript, `[true, call]`, `[true, null]`, or throws.
 *
 * Returns: (transfer container) (element-type GVariant): the results in input
 *   order, or %NULL with @error set
 */
GPtrArray *
job_parallel_run_iterate (JobParallel         *self,
                          JobCallIterateFunc   iterate,
                          gpointer             iterate_data,
                          GDestroyNotify       iterate_destroy,
                          GCancellable        *cancellable,
                          GError             **error)
{
  g_return_val_if_fail (JOB_IS_PARALLEL (self), NULL);
  g_return_val_if_fail (iterate != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return run_sync (self, input_of_iterate (iterate, iterate_data, iterate_destroy), cancellable,
                   job_parallel_run_iterate_async, error);
}

/**
 * job_parallel_run_iterate_async:
 * @self: a #JobParallel
 * @iterate: (scope notified) (closure iterate_data) (destroy iterate_destroy):
 *   gives the next call, the end of the input, or a failure
 * @iterate_data: data for @iterate
 * @iterate_destroy: (nullable): frees @iterate_data when the run is over
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the run completes, on the
 *   thread-default main context of the caller
 * @user_data: (closure): data for @callback
 *
 * Starts a run over a lazy input that tells its end apart from a failure
 * (see [method@Joblib.Parallel.run_iterate]); @iterate, the signals and
 * @callback run on the caller's thread-default main context. Finish with
 * [method@Joblib.Parallel.run_iterate_finish].
 */
void
job_parallel_run_iterate_async (JobParallel         *self,
                                JobCallIterateFunc   iterate,
                                gpointer             iterate_data,
                                GDestroyNotify       iterate_destroy,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_return_if_fail (JOB_IS_PARALLEL (self));
  g_return_if_fail (iterate != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  start (self, input_of_iterate (iterate, iterate_data, iterate_destroy), cancellable,
         callback, user_data, job_parallel_run_iterate_async);
}

/**
 * job_parallel_run_iterate_finish:
 * @self: a #JobParallel
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Completes [method@Joblib.Parallel.run_iterate_async].
 *
 * Returns: (transfer container) (element-type GVariant): the results in input
 *   order, or %NULL with @error set
 */
GPtrArray *
job_parallel_run_iterate_finish (JobParallel   *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  return job_parallel_run_finish (self, result, error);
}

/**
 * job_parallel_run_outcomes:
 * @self: a #JobParallel
 * @calls: (array length=n_calls): the calls to run
 * @n_calls: the number of calls
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Runs every call to the end whatever fails, and returns each task's
 * outcome: its value or its error (prefixed with the task's index and
 * function name). The run itself fails only when it cannot start, is
 * cancelled or times out.
 *
 * Returns: (transfer container) (element-type JobOutcome): one outcome per call,
 *   in input order, or %NULL with @error set
 */
GPtrArray *
job_parallel_run_outcomes (JobParallel   *self,
                           JobCall      **calls,
                           guint          n_calls,
                           GCancellable  *cancellable,
                           GError       **error)
{
  return run_calls (self, calls, n_calls, TRUE, cancellable, error);
}

/**
 * job_parallel_run_outcomes_async:
 * @self: a #JobParallel
 * @calls: (array length=n_calls): the calls to run
 * @n_calls: the number of calls
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the run completes, on the
 *   thread-default main context of the caller
 * @user_data: (closure): data for @callback
 *
 * Starts a run that collects every task's outcome; see
 * [method@Joblib.Parallel.run_outcomes].
 */
void
job_parallel_run_outcomes_async (JobParallel          *self,
                                 JobCall             **calls,
                                 guint                 n_calls,
                                 GCancellable         *cancellable,
                                 GAsyncReadyCallback   callback,
                                 gpointer              user_data)
{
  run_calls_async (self, calls, n_calls, TRUE, cancellable, callback, user_data);
}

/**
 * job_parallel_run_outcomes_finish:
 * @self: a #JobParallel
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Completes [method@Joblib.Parallel.run_outcomes_async].
 *
 * Returns: (transfer container) (element-type JobOutcome): one outcome per
 *   call, in input order, or %NULL with @error set
 */
GPtrArray *
job_parallel_run_outcomes_finish (JobParallel   *self,
                                  GAsyncResult  *result,
                                  GError       **error)
{
  g_return_val_if_fail (JOB_IS_PARALLEL (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == job_parallel_run_outcomes_async,
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
