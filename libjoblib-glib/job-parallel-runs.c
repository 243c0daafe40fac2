/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The entry points of JobParallel that run calls: synchronous (waiting on
 * a private main context), asynchronous, from a source of calls, and with
 * one outcome per task. Each checks its input and hands over to
 * job_parallel_start() (job-parallel.c), which resolves the run's options
 * and starts a JobParallelRun. */
#include "config.h"

#include "job-parallel-private.h"

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
static GPtrArray *
copy_calls (JobCall **calls,
            guint     n_calls)
{
  GPtrArray *copy = g_ptr_array_new_full (n_calls, (GDestroyNotify) job_call_unref);

  for (guint i = 0; i < n_calls; i++)
    g_ptr_array_add (copy, job_call_ref (calls[i]));
  return copy;
}

typedef struct
{
  GAsyncResult *result;
} SyncData;

static void
on_sync_done (GObject      *source_object,
              GAsyncResult *result,
              gpointer      user_data)
{
  SyncData *data = user_data;

  data->result = g_object_ref (result);
}

/* Runs an asynchronous start function on a private main context and waits
 * for it: GIO's pattern for synchronous wrappers. */
static GAsyncResult *
wait_for (JobParallel         *self,
          GPtrArray           *calls,
          JobCallSourceFunc    source,
          gpointer             source_data,
          GDestroyNotify       source_destroy,
          gboolean             collect,
          GCancellable        *cancellable,
          gpointer             source_tag)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  SyncData data = { NULL };

  g_main_context_push_thread_default (context);
  job_parallel_start (self, calls, source, source_data, source_destroy, collect, cancellable,
                      on_sync_done, &data, source_tag);
  while (data.result == NULL)
    g_main_context_iteration (context, TRUE);
  g_main_context_pop_thread_default (context);

  return data.result;
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
  g_autoptr(GAsyncResult) result = NULL;

  g_return_val_if_fail (JOB_IS_PARALLEL (self), NULL);
  g_return_val_if_fail (check_calls (calls, n_calls), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  result = wait_for (self, copy_calls (calls, n_calls), NULL, NULL, NULL, FALSE,
                     cancellable, job_parallel_run_async);
  return job_parallel_run_finish (self, result, error);
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
job_parallel_run_async (JobParallel         *self,
                        JobCall            **calls,
                        guint                n_calls,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  g_return_if_fail (JOB_IS_PARALLEL (self));
  g_return_if_fail (check_calls (calls, n_calls));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  job_parallel_start (self, copy_calls (calls, n_calls), NULL, NULL, NULL, FALSE, cancellable,
                      callback, user_data, job_parallel_run_async);
}

/**
 * job_parallel_run_finish:
 * @self: a #JobParallel
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Completes [method@Joblib.Parallel.run_async] or
 * [method@Joblib.Parallel.run_source_async].
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
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == job_parallel_run_async ||
                        g_task_get_source_tag (G_TASK (result)) == job_parallel_run_source_async,
                        NULL);

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
  g_autoptr(GAsyncResult) result = NULL;

  g_return_val_if_fail (JOB_IS_PARALLEL (self), NULL);
  g_return_val_if_fail (source != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  result = wait_for (self, NULL, source, source_data, source_destroy, FALSE,
                     cancellable, job_parallel_run_source_async);
  return job_parallel_run_finish (self, result, error);
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

  job_parallel_start (self, NULL, source, source_data, source_destroy, FALSE, cancellable,
                      callback, user_data, job_parallel_run_source_async);
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
  g_autoptr(GAsyncResult) result = NULL;

  g_return_val_if_fail (JOB_IS_PARALLEL (self), NULL);
  g_return_val_if_fail (check_calls (calls, n_calls), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  result = wait_for (self, copy_calls (calls, n_calls), NULL, NULL, NULL, TRUE,
                     cancellable, job_parallel_run_outcomes_async);
  return job_parallel_run_outcomes_finish (self, result, error);
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
job_parallel_run_outcomes_async (JobParallel         *self,
                                 JobCall            **calls,
                                 guint                n_calls,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_return_if_fail (JOB_IS_PARALLEL (self));
  g_return_if_fail (check_calls (calls, n_calls));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  job_parallel_start (self, copy_calls (calls, n_calls), NULL, NULL, NULL, TRUE, cancellable,
                      callback, user_data, job_parallel_run_outcomes_async);
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
