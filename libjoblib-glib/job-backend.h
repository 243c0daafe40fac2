/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (JOBLIB_GLIB_INSIDE) && !defined (JOBLIB_GLIB_COMPILATION)
# error "Only <joblib-glib.h> can be included directly."
#endif

#include <gio/gio.h>

#include "job-batch.h"

G_BEGIN_DECLS

/**
 * JobBackendFlags:
 * @JOB_BACKEND_FLAGS_NONE: no flags
 * @JOB_BACKEND_FLAGS_IN_CALLER: batches run in the calling thread
 * @JOB_BACKEND_FLAGS_SHARED_MEMORY: workers share the caller's memory
 *   (threads): arguments and results are never copied
 * @JOB_BACKEND_FLAGS_CAN_KILL: running tasks can be stopped by force
 *   (processes): timeouts and cancellation do not wait for them
 * @JOB_BACKEND_FLAGS_NEEDS_REFERENCE: functions must carry a reference
 *   that another process can resolve
 *
 * What a backend can do; [class@Joblib.Parallel] adapts to them.
 */
typedef enum /*< flags >*/
{
  JOB_BACKEND_FLAGS_NONE            = 0,
  JOB_BACKEND_FLAGS_IN_CALLER       = 1 << 0,
  JOB_BACKEND_FLAGS_SHARED_MEMORY   = 1 << 1,
  JOB_BACKEND_FLAGS_CAN_KILL        = 1 << 2,
  JOB_BACKEND_FLAGS_NEEDS_REFERENCE = 1 << 3,
} JobBackendFlags;

#define JOB_TYPE_BACKEND (job_backend_get_type ())

JOB_AVAILABLE_IN_ALL
G_DECLARE_INTERFACE (JobBackend, job_backend, JOB, BACKEND, GObject)

/**
 * JobBackendInterface:
 * @g_iface: the parent interface
 * @get_flags: returns the backend's [flags@Joblib.BackendFlags]
 * @get_display_name: returns the name used in verbose lines
 * @effective_n_jobs: maps a requested `n_jobs` (already resolved by
 *   [func@Joblib.effective_n_jobs]) to the number of workers the backend
 *   will use
 * @configure: prepares the backend for a run on @n_jobs workers; called
 *   on the caller's thread before the first batch of each run
 * @configure_for_run: as @configure, with what the parallel config in
 *   force says beyond the number of workers: the thread limit of nested
 *   libraries in the workers (0 when it sets none). [class@Joblib.Parallel]
 *   calls this one; the default calls @configure
 * @run_batch: executes a batch synchronously in the calling thread
 * @run_batch_async: starts executing a batch; the callback runs on the
 *   thread-default main context of the caller
 * @run_batch_finish: completes @run_batch_async; an error here means the
 *   whole batch failed (for example a worker died) and applies to every
 *   task without an outcome
 * @abort: stops work in progress where the backend can; called on the
 *   caller's thread when a run is cancelled, times out or fails, with the
 *   error that stopped it
 * @shutdown: releases the workers; the backend may be used again later
 *
 * The vtable of [iface@Joblib.Backend]. Only @run_batch_async and
 * @run_batch_finish must be implemented.
 */
struct _JobBackendInterface
{
  GTypeInterface g_iface;

  JobBackendFlags (*get_flags)         (JobBackend           *self);
  const char     *(*get_display_name)  (JobBackend           *self);
  int             (*effective_n_jobs)  (JobBackend           *self,
                                        int                   n_jobs);
  gboolean        (*configure)         (JobBackend           *self,
                                        int                   n_jobs,
                                        GError              **error);
  gboolean        (*run_batch)         (JobBackend           *self,
                                        JobBatch             *batch,
                                        GCancellable         *cancellable,
                                        GError              **error);
  void            (*run_batch_async)   (JobBackend           *self,
                                        JobBatch             *batch,
                                        GCancellable         *cancellable,
                                        GAsyncReadyCallback   callback,
                                        gpointer              user_data);
  gboolean        (*run_batch_finish)  (JobBackend           *self,
                                        GAsyncResult         *result,
                                        GError              **error);
  void            (*abort)             (JobBackend           *self,
                                        const GError         *reason);
  void            (*shutdown)          (JobBackend           *self);
  gboolean        (*configure_for_run) (JobBackend           *self,
                                        int                   n_jobs,
                                        int                   inner_max_num_threads,
                                        GError              **error);

  /*< private >*/
  gpointer _reserved[7];
};

JOB_AVAILABLE_IN_ALL
JobBackendFlags job_backend_get_flags        (JobBackend           *self);
JOB_AVAILABLE_IN_ALL
const char     *job_backend_get_display_name (JobBackend           *self);
JOB_AVAILABLE_IN_ALL
int             job_backend_effective_n_jobs (JobBackend           *self,
                                              int                   n_jobs);
JOB_AVAILABLE_IN_ALL
gboolean        job_backend_configure        (JobBackend           *self,
                                              int                   n_jobs,
                                              GError              **error);
JOB_AVAILABLE_IN_ALL
gboolean        job_backend_configure_for_run (JobBackend          *self,
                                               int                  n_jobs,
                                               int                  inner_max_num_threads,
                                               GError             **error);
JOB_AVAILABLE_IN_ALL
gboolean        job_backend_run_batch        (JobBackend           *self,
                                              JobBatch             *batch,
                                              GCancellable         *cancellable,
                                              GError              **error);
JOB_AVAILABLE_IN_ALL
void            job_backend_run_batch_async  (JobBackend           *self,
                                              JobBatch             *batch,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
JOB_AVAILABLE_IN_ALL
gboolean        job_backend_run_batch_finish (JobBackend           *self,
                                              GAsyncResult         *result,
                                              GError              **error);
JOB_AVAILABLE_IN_ALL
void            job_backend_abort            (JobBackend           *self,
                                              const GError         *reason);
JOB_AVAILABLE_IN_ALL
void            job_backend_shutdown         (JobBackend           *self);

JOB_AVAILABLE_IN_ALL
void            job_backend_register         (const char           *name,
                                              GType                 backend_type);
JOB_AVAILABLE_IN_ALL
JobBackend     *job_backend_new_for_name     (const char           *name,
                                              GError              **error);
JOB_AVAILABLE_IN_ALL
char          **job_backend_list_names       (void);

G_END_DECLS
