/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "job-worker-protocol-private.h"

G_BEGIN_DECLS

/* One worker process of JobProcessBackend and its connection: spawns the
 * program, speaks the frame layer of the worker protocol over its pipes
 * through a JobWorkerConnection (non-blocking, on the thread-default main
 * context of the spawning thread), and reports the end of the worker once
 * the process has been reaped. Not thread-safe: use it on that one
 * context. */

typedef struct _JobProcessWorker JobProcessWorker;

/* How long a worker that ended its side of the connection (or was asked
 * to leave) has to exit on its own before it is killed: its exit status
 * is then its own, and tools that report at exit (valgrind's leak check)
 * get to finish. */
#define JOB_PROCESS_WORKER_EXIT_GRACE_MSEC 3000

/* Called for each frame after the HELLO. */
typedef void (*JobProcessWorkerFrameFunc) (JobProcessWorker *worker,
                                           JobWorkerMessage  message,
                                           GVariant         *body,
                                           gpointer          user_data);

/* Called once, after the process was reaped. @error is set when the
 * connection failed first (a malformed frame: JOB_ERROR_PROTOCOL);
 * @exit_description says how the process ended ("killed by signal 9"). */
typedef void (*JobProcessWorkerEndFunc)   (JobProcessWorker *worker,
                                           const GError     *error,
                                           const char       *exit_description,
                                           gpointer          user_data);

JobProcessWorker *job_process_worker_spawn        (const char                *kind,
                                                   const char * const        *argv,
                                                   const char * const        *environment,
                                                   gboolean                   overwrite,
                                                   const char * const        *extra_environment,
                                                   JobProcessWorkerFrameFunc  frame_func,
                                                   JobProcessWorkerEndFunc    end_func,
                                                   gpointer                   user_data,
                                                   GError                   **error);
JobProcessWorker *job_process_worker_ref          (JobProcessWorker          *worker);
void              job_process_worker_unref        (JobProcessWorker          *worker);
GPid              job_process_worker_get_pid      (JobProcessWorker          *worker);
const char       *job_process_worker_get_kind     (JobProcessWorker          *worker);
gboolean          job_process_worker_is_alive     (JobProcessWorker          *worker);
void              job_process_worker_send         (JobProcessWorker          *worker,
                                                   GBytes                    *frames);
gboolean          job_process_worker_get_running  (JobProcessWorker          *worker,
                                                   guint64                   *batch_id,
                                                   guint32                   *position);
void              job_process_worker_close        (JobProcessWorker          *worker);
void              job_process_worker_kill         (JobProcessWorker          *worker);
gboolean          job_process_worker_ended_cleanly (JobProcessWorker         *worker);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobProcessWorker, job_process_worker_unref)

G_END_DECLS
