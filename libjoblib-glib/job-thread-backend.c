/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-error.h"
#include "job-i18n-private.h"
#include "job-thread-backend.h"

/**
 * JobThreadBackend:
 *
 * Runs batches on a [struct@GLib.ThreadPool] of its own, sized to the run's
 * `n_jobs`. Registered as `"threading"` (and `"threads"`).
 *
 * Threads share memory, so arguments and results are never copied; the
 * price is that functions must be thread-safe. Python callables work (the
 * interpreter lock is taken for each call; numpy releases it while it
 * computes); GJS closures cannot run on threads and are run on their owner
 * context instead.
 *
 * A batch is one item of the pool, never one task: pushing costs about
 * half a microsecond and waking a sleeping thread tens of microseconds, so
 * per-task costs stay low only when batches are large, which auto batching
 * ensures.
 *
 * Threads cannot be stopped by force: on cancellation or timeout, running
 * tasks see the run's cancellable, and tasks not yet started are skipped.
 */
struct _JobThreadBackend
{
  GObject      parent_instance;
  GThreadPool *pool;         /* (owned) (nullable) */
  guint        max_threads;
};

static void job_backend_iface_init (JobBackendInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (JobThreadBackend, job_thread_backend, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (JOB_TYPE_BACKEND, job_backend_iface_init))

/* Set in the pool's threads: a backend finalized from one of its own
 * threads (its last reference dropped with a finished task) must not wait
 * for the pool, which would wait for itself. */
static GPrivate in_pool_thread;

static void
run_batch_in_thread (gpointer data,
                     gpointer user_data)
{
  GTask *task = data;
  JobBatch *batch = g_task_get_task_data (task);

  g_private_set (&in_pool_thread, GINT_TO_POINTER (TRUE));
  job_batch_execute (batch);
  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
release_pool (JobThreadBackend *self)
{
  GThreadPool *pool = g_steal_pointer (&self->pool);
  gboolean wait;

  if (pool == NULL)
    return;

  wait = !GPOINTER_TO_INT (g_private_get (&in_pool_thread));
  /* Queued batches still run: their tasks complete normally. */
  g_thread_pool_free (pool, FALSE, wait);
}

static JobBackendFlags
job_thread_backend_get_flags (JobBackend *backend)
{
  return JOB_BACKEND_FLAGS_SHARED_MEMORY;
}

static const char *
job_thread_backend_get_display_name (JobBackend *backend)
{
  return "ThreadingBackend";
}

static gboolean
job_thread_backend_configure (JobBackend  *backend,
                              int          n_jobs,
                              GError     **error)
{
  JobThreadBackend *self = JOB_THREAD_BACKEND (backend);

  if (self->pool == NULL)
    {
      self->pool = g_thread_pool_new (run_batch_in_thread, self, n_jobs,
                                      FALSE, error);
      if (self->pool == NULL)
        return FALSE;
      self->max_threads = n_jobs;
      return TRUE;
    }

  /* The pool only grows while it is in use, so that a run configured for
   * fewer workers never starves another one running concurrently. */
  if ((guint) n_jobs > self->max_threads)
    {
      if (!g_thread_pool_set_max_threads (self->pool, n_jobs, error))
        return FALSE;
      self->max_threads = n_jobs;
    }
  else if ((guint) n_jobs < self->max_threads &&
           g_thread_pool_get_num_threads (self->pool) == 0 &&
           g_thread_pool_unprocessed (self->pool) == 0)
    {
      if (!g_thread_pool_set_max_threads (self->pool, n_jobs, error))
        return FALSE;
      self->max_threads = n_jobs;
    }

  return TRUE;
}

static void
job_thread_backend_run_batch_async (JobBackend          *backend,
                                    JobBatch            *batch,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  JobThreadBackend *self = JOB_THREAD_BACKEND (backend);
  g_autoptr(GTask) task = g_task_new (backend, cancellable, callback, user_data);
  g_autoptr(GError) error = NULL;

  g_task_set_source_tag (task, job_thread_backend_run_batch_async);
  g_task_set_task_data (task, job_batch_ref (batch), (GDestroyNotify) job_batch_unref);

  if (self->pool == NULL &&
      !job_thread_backend_configure (backend, 1, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (!g_thread_pool_push (self->pool, g_object_ref (task), &error))
    {
      g_object_unref (task);
      g_task_return_new_error (task, JOB_ERROR, JOB_ERROR_FAILED,
                               _("Could not start a worker thread: %s"),
                               error->message);
    }
}

static gboolean
job_thread_backend_run_batch_finish (JobBackend    *backend,
                                     GAsyncResult  *result,
                                     GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, backend), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
job_thread_backend_shutdown (JobBackend *backend)
{
  release_pool (JOB_THREAD_BACKEND (backend));
}

static void
job_backend_iface_init (JobBackendInterface *iface)
{
  iface->get_flags = job_thread_backend_get_flags;
  iface->get_display_name = job_thread_backend_get_display_name;
  iface->configure = job_thread_backend_configure;
  iface->run_batch_async = job_thread_backend_run_batch_async;
  iface->run_batch_finish = job_thread_backend_run_batch_finish;
  iface->shutdown = job_thread_backend_shutdown;
}

static void
job_thread_backend_finalize (GObject *object)
{
  release_pool (JOB_THREAD_BACKEND (object));

  G_OBJECT_CLASS (job_thread_backend_parent_class)->finalize (object);
}

static void
job_thread_backend_class_init (JobThreadBackendClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = job_thread_backend_finalize;
}

static void
job_thread_backend_init (JobThreadBackend *self)
{
}

/**
 * job_thread_backend_new:
 *
 * Creates a backend that runs tasks on its own pool of threads.
 *
 * Returns: (transfer full): a new thread backend; its threads start with
 *   the first batch
 */
JobBackend *
job_thread_backend_new (void)
{
  return g_object_new (JOB_TYPE_THREAD_BACKEND, NULL);
}

/**
 * job_thread_backend_get_max_threads:
 * @self: a #JobThreadBackend
 *
 * Gets the largest number of threads the pool may run now.
 *
 * Returns: the largest number of threads the pool may run now, 0 before
 *   the first run
 */
guint
job_thread_backend_get_max_threads (JobThreadBackend *self)
{
  g_return_val_if_fail (JOB_IS_THREAD_BACKEND (self), 0);

  return self->pool != NULL ? self->max_threads : 0;
}
