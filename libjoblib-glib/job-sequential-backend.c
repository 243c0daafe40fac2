/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-sequential-backend.h"
#include "job-slice-runner-private.h"

/**
 * JobSequentialBackend:
 *
 * Runs every batch in the calling thread, one after the other, with no
 * threads at all: what `n_jobs=1` means. Registered as `"sequential"`.
 *
 * The batches run on the caller's thread-default main context in slices of
 * about half a frame (one task when a task takes longer), whatever their
 * size, with the main loop free between two slices: a run started with
 * [method@Joblib.Parallel.run_async] from a window's main loop leaves the
 * window responsive. [method@Joblib.Backend.run_batch] runs a batch at once.
 *
 * Useful for debugging (a debugger and a profiler see plain calls) and for
 * functions that are not thread-safe.
 */
struct _JobSequentialBackend
{
  GObject parent_instance;
};

static void job_backend_iface_init (JobBackendInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (JobSequentialBackend, job_sequential_backend, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (JOB_TYPE_BACKEND, job_backend_iface_init))

static JobBackendFlags
job_sequential_backend_get_flags (JobBackend *backend)
{
  return JOB_BACKEND_FLAGS_IN_CALLER | JOB_BACKEND_FLAGS_SHARED_MEMORY;
}

static const char *
job_sequential_backend_get_display_name (JobBackend *backend)
{
  return "SequentialBackend";
}

static int
job_sequential_backend_effective_n_jobs (JobBackend *backend,
                                         int         n_jobs)
{
  return 1;
}

static void
job_sequential_backend_run_batch_async (JobBackend          *backend,
                                        JobBatch            *batch,
                                        GCancellable        *cancellable,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (backend, cancellable, callback, user_data);
  g_autoptr(GMainContext) context = g_main_context_ref_thread_default ();

  g_task_set_source_tag (task, job_sequential_backend_run_batch_async);
  job_slice_runner_run (context, batch, task);
}

static gboolean
job_sequential_backend_run_batch_finish (JobBackend    *backend,
                                         GAsyncResult  *result,
                                         GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, backend), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
job_backend_iface_init (JobBackendInterface *iface)
{
  iface->get_flags = job_sequential_backend_get_flags;
  iface->get_display_name = job_sequential_backend_get_display_name;
  iface->effective_n_jobs = job_sequential_backend_effective_n_jobs;
  iface->run_batch_async = job_sequential_backend_run_batch_async;
  iface->run_batch_finish = job_sequential_backend_run_batch_finish;
}

static void
job_sequential_backend_class_init (JobSequentialBackendClass *klass)
{
}

static void
job_sequential_backend_init (JobSequentialBackend *self)
{
}

/**
 * job_sequential_backend_new:
 *
 * Creates a backend that runs every task in the calling thread, one after the other.
 *
 * Returns: (transfer full): a new sequential backend
 */
JobBackend *
job_sequential_backend_new (void)
{
  return g_object_new (JOB_TYPE_SEQUENTIAL_BACKEND, NULL);
}
