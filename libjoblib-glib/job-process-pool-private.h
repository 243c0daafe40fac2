/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "job-batch.h"

G_BEGIN_DECLS

/* The worker pool of JobProcessBackend. All of its state lives on a
 * thread of its own, which runs the pool's main context: the worker pipes,
 * the queue and the timers are only touched there. The functions below may
 * be called from any thread; they hand their work to that thread. */

typedef struct _JobProcessPool JobProcessPool;

JobProcessPool *job_process_pool_new           (void);
void            job_process_pool_free          (JobProcessPool *pool);

/* Settings, read when workers start and calls are built. @inner_threads
 * is the value of the BLAS and OpenMP variables of new workers; it
 * replaces values set in the environment only when @inner_explicit. */
void            job_process_pool_configure     (JobProcessPool *pool,
                                                int             n_jobs,
                                                int             inner_threads,
                                                gboolean        inner_explicit);
void            job_process_pool_set_limits    (JobProcessPool *pool,
                                                guint64         max_nbytes,
                                                double          idle_timeout,
                                                const char     *temp_folder);

/* The setup of workers started from now on: an initializer (a reference
 * `(sa{sv})` and its argument tuple, both floating or owned; NULL for none)
 * run once by each new worker of the reference's kind, and NAME=VALUE
 * variables added to their environment. Workers of an older setup leave
 * once idle. */
void            job_process_pool_set_setup     (JobProcessPool     *pool,
                                                GVariant           *init_reference,
                                                GVariant           *init_args,
                                                const char * const *environment);

/* Runs @batch; @task (on the caller's context) returns TRUE once every
 * task of the batch has an outcome. */
void            job_process_pool_submit        (JobProcessPool *pool,
                                                JobBatch       *batch,
                                                GTask          *task);
/* Ends the batches whose cancellable is cancelled; other batches
 * continue. With @kill, the workers running them are killed (and replaced
 * when there is work); without, they finish the calls they have, whose
 * answers are dropped. Returns at once. */
void            job_process_pool_abort         (JobProcessPool *pool,
                                                gboolean        kill);
/* Ends every batch and every worker; returns once all are reaped. */
void            job_process_pool_shutdown      (JobProcessPool *pool);
GArray         *job_process_pool_get_pids      (JobProcessPool *pool);

G_END_DECLS
