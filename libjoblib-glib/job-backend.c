/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-backend.h"
#include "job-error.h"
#include "job-i18n-private.h"

/**
 * JobBackend:
 *
 * Where the batches of a [class@Joblib.Parallel] run: in the caller
 * ([class@Joblib.SequentialBackend]), on threads
 * ([class@Joblib.ThreadBackend]), in worker processes or on a cluster.
 *
 * Third parties implement this interface and make their backend available
 * by name with [func@Joblib.Backend.register], as joblib's
 * `register_parallel_backend`.
 *
 * Thread and context rules: every method is called on the thread of the
 * run's caller; @run_batch_async completes on the caller's thread-default
 * main context. What happens in between (threads, processes) is the
 * backend's business.
 */

G_DEFINE_INTERFACE (JobBackend, job_backend, G_TYPE_OBJECT)

static JobBackendFlags
job_backend_real_get_flags (JobBackend *self)
{
  return JOB_BACKEND_FLAGS_NONE;
}

static const char *
job_backend_real_get_display_name (JobBackend *self)
{
  return G_OBJECT_TYPE_NAME (self);
}

static int
job_backend_real_effective_n_jobs (JobBackend *self,
                                   int         n_jobs)
{
  return MAX (n_jobs, 1);
}

static gboolean
job_backend_real_configure (JobBackend  *self,
                            int          n_jobs,
                            GError     **error)
{
  return TRUE;
}

static gboolean
job_backend_real_configure_for_run (JobBackend  *self,
                                    int          n_jobs,
                                    int          inner_max_num_threads,
                                    GError     **error)
{
  return JOB_BACKEND_GET_IFACE (self)->configure (self, n_jobs, error);
}

/**
 * job_backend_configure_for_run:
 * @self: a #JobBackend
 * @n_jobs: the number of workers to prepare, positive
 * @inner_max_num_threads: the thread limit of nested libraries (OpenMP,
 *   BLAS…) in the workers that the run's parallel config sets, 0 for none
 *   (see [property@Joblib.ParallelConfig:inner-max-num-threads])
 * @error: return location for a #GError
 *
 * Prepares the backend for a run, as [method@Joblib.Backend.configure],
 * with the settings of the parallel config in force that concern
 * backends: [class@Joblib.Parallel] reads the config and hands the values
 * down, so that backends never look it up themselves. Call on the run's
 * thread.
 *
 * Returns: %TRUE on success
 */
gboolean
job_backend_configure_for_run (JobBackend  *self,
                               int          n_jobs,
                               int          inner_max_num_threads,
                               GError     **error)
{
  g_return_val_if_fail (JOB_IS_BACKEND (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (n_jobs <= 0 || inner_max_num_threads < 0)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
                   _("A backend needs a positive number of workers and a thread limit of "
                     "0 or more, not %d and %d"),
                   n_jobs, inner_max_num_threads);
      return FALSE;
    }

  return JOB_BACKEND_GET_IFACE (self)->configure_for_run (self, n_jobs,
                                                          inner_max_num_threads, error);
}

static gboolean
job_backend_real_run_batch (JobBackend    *self,
                            JobBatch      *batch,
                            GCancellable  *cancellable,
                            GError       **error)
{
  job_batch_execute (batch);
  return TRUE;
}

static void
job_backend_real_abort (JobBackend   *self,
                        const GError *reason)
{
}

static void
job_backend_real_shutdown (JobBackend *self)
{
}

static void
job_backend_default_init (JobBackendInterface *iface)
{
  iface->get_flags = job_backend_real_get_flags;
  iface->get_display_name = job_backend_real_get_display_name;
  iface->effective_n_jobs = job_backend_real_effective_n_jobs;
  iface->configure = job_backend_real_configure;
  iface->configure_for_run = job_backend_real_configure_for_run;
  iface->run_batch = job_backend_real_run_batch;
  iface->abort = job_backend_real_abort;
  iface->shutdown = job_backend_real_shutdown;
}

/**
 * job_backend_get_flags:
 * @self: a #JobBackend
 *
 * Gets what the backend can do.
 *
 * Returns: what the backend can do
 */
JobBackendFlags
job_backend_get_flags (JobBackend *self)
{
  g_return_val_if_fail (JOB_IS_BACKEND (self), JOB_BACKEND_FLAGS_NONE);

  return JOB_BACKEND_GET_IFACE (self)->get_flags (self);
}

/**
 * job_backend_get_display_name:
 * @self: a #JobBackend
 *
 * Gets the name shown in verbose lines.
 *
 * Returns: (transfer none): the name shown in verbose lines
 */
const char *
job_backend_get_display_name (JobBackend *self)
{
  g_return_val_if_fail (JOB_IS_BACKEND (self), NULL);

  return JOB_BACKEND_GET_IFACE (self)->get_display_name (self);
}

/**
 * job_backend_effective_n_jobs:
 * @self: a #JobBackend
 * @n_jobs: a positive number of jobs
 *
 * Computes how many workers @self would use for @n_jobs.
 *
 * Returns: the number of workers the backend will use for @n_jobs
 */
int
job_backend_effective_n_jobs (JobBackend *self,
                              int         n_jobs)
{
  g_return_val_if_fail (JOB_IS_BACKEND (self), 1);
  g_return_val_if_fail (n_jobs > 0, 1);

  return MAX (1, JOB_BACKEND_GET_IFACE (self)->effective_n_jobs (self, n_jobs));
}

/**
 * job_backend_configure:
 * @self: a #JobBackend
 * @n_jobs: the number of workers to prepare, positive
 * @error: return location for a #GError
 *
 * Prepares the backend for a run. Call on the run's thread.
 *
 * Returns: %TRUE on success
 */
gboolean
job_backend_configure (JobBackend  *self,
                       int          n_jobs,
                       GError     **error)
{
  g_return_val_if_fail (JOB_IS_BACKEND (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (n_jobs <= 0)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
                   _("A backend needs a positive number of workers, not %d"),
                   n_jobs);
      return FALSE;
    }

  return JOB_BACKEND_GET_IFACE (self)->configure (self, n_jobs, error);
}

/**
 * job_backend_run_batch:
 * @self: a #JobBackend
 * @batch: the batch to execute
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Executes @batch and waits for it. The default implementation runs the
 * batch in the calling thread.
 *
 * Returns: %TRUE if the batch ran (its tasks may still have failed: see
 *   [method@Joblib.Batch.get_error]); %FALSE if the batch as a whole failed
 */
gboolean
job_backend_run_batch (JobBackend    *self,
                       JobBatch      *batch,
                       GCancellable  *cancellable,
                       GError       **error)
{
  g_return_val_if_fail (JOB_IS_BACKEND (self), FALSE);
  g_return_val_if_fail (batch != NULL, FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return JOB_BACKEND_GET_IFACE (self)->run_batch (self, batch, cancellable, error);
}

/**
 * job_backend_run_batch_async:
 * @self: a #JobBackend
 * @batch: the batch to execute
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the batch completes, on the
 *   thread-default main context of the caller
 * @user_data: (closure): data for @callback
 *
 * Starts executing @batch. Call on the run's thread.
 */
void
job_backend_run_batch_async (JobBackend          *self,
                             JobBatch            *batch,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_return_if_fail (JOB_IS_BACKEND (self));
  g_return_if_fail (batch != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  if (JOB_BACKEND_GET_IFACE (self)->run_batch_async == NULL)
    {
      g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
      g_autoptr(GError) error = NULL;

      /* Without an asynchronous implementation the batch runs in the
       * caller, as the sequential backend does. */
      g_task_set_source_tag (task, job_backend_run_batch_async);
      if (job_backend_run_batch (self, batch, cancellable, &error))
        g_task_return_boolean (task, TRUE);
      else
        g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  JOB_BACKEND_GET_IFACE (self)->run_batch_async (self, batch, cancellable,
                                                 callback, user_data);
}

/**
 * job_backend_run_batch_finish:
 * @self: a #JobBackend
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Completes [method@Joblib.Backend.run_batch_async].
 *
 * Returns: %TRUE if the batch ran; %FALSE with @error set if it failed as
 *   a whole
 */
gboolean
job_backend_run_batch_finish (JobBackend    *self,
                              GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (JOB_IS_BACKEND (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);

  if (g_async_result_is_tagged (result, job_backend_run_batch_async))
    return g_task_propagate_boolean (G_TASK (result), error);

  return JOB_BACKEND_GET_IFACE (self)->run_batch_finish (self, result, error);
}

/**
 * job_backend_abort:
 * @self: a #JobBackend
 * @reason: (nullable): the error that stopped the run: %G_IO_ERROR_CANCELLED
 *   when it was cancelled, [error@Joblib.Error.TIMEOUT] when a task ran
 *   too long, else the task error (or input error) that ended it
 *
 * Stops the work in progress of the runs that were stopped (those whose
 * batches' cancellable is cancelled), where the backend can. @reason says
 * what to do with tasks already running: after a cancellation or a
 * timeout, a backend that can kill them does (worker processes are killed
 * and replaced); after a task error they may finish, their outcomes
 * ignored, so that an error costs no worker. Threads cannot be stopped by
 * force: their tasks see the run's cancellable instead.
 *
 * Called on the thread that runs the dispatcher; @reason is only borrowed
 * for the call.
 */
void
job_backend_abort (JobBackend   *self,
                   const GError *reason)
{
  g_return_if_fail (JOB_IS_BACKEND (self));

  JOB_BACKEND_GET_IFACE (self)->abort (self, reason);
}

/**
 * job_backend_shutdown:
 * @self: a #JobBackend
 *
 * Releases the backend's workers and waits until none is left. The backend
 * starts new ones if it is used again.
 */
void
job_backend_shutdown (JobBackend *self)
{
  g_return_if_fail (JOB_IS_BACKEND (self));

  JOB_BACKEND_GET_IFACE (self)->shutdown (self);
}
