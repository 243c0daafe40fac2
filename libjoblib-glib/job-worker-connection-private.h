/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "job-worker-protocol-private.h"

G_BEGIN_DECLS

/* A worker on a connection (TCP or TLS) rather than on the pipes of a
 * child process: the frame layer of the worker protocol over any pollable
 * GIOStream, non-blocking, on the thread-default main context of the
 * creating thread. It checks the worker's HELLO (its kind) and reports
 * the end of the connection once, from an idle callback, never from
 * inside a call of its owner. Not thread-safe: use it on that context.
 *
 * JobProcessWorker does the same over pipes and owns the process; the
 * two stay apart so that the process side can change (the protocol is
 * shared, job-worker-protocol.c). */

typedef struct _JobWorkerConnection JobWorkerConnection;

/* Called for each frame after the HELLO. */
typedef void (*JobWorkerConnectionFrameFunc) (JobWorkerConnection *connection,
                                              JobWorkerMessage     message,
                                              GVariant            *body,
                                              gpointer             user_data);

/* Called once when the connection is over: @error says why when it was
 * not a clean end of stream or a close/kill of the owner. */
typedef void (*JobWorkerConnectionEndFunc)   (JobWorkerConnection *connection,
                                              const GError        *error,
                                              gpointer             user_data);

JobWorkerConnection *job_worker_connection_new       (GIOStream                    *stream,
                                                      const char                   *kind,
                                                      JobWorkerConnectionFrameFunc  frame_func,
                                                      JobWorkerConnectionEndFunc    end_func,
                                                      gpointer                      user_data);
JobWorkerConnection *job_worker_connection_ref       (JobWorkerConnection          *connection);
void                 job_worker_connection_unref     (JobWorkerConnection          *connection);
const char          *job_worker_connection_get_kind  (JobWorkerConnection          *connection);
gint64               job_worker_connection_get_pid   (JobWorkerConnection          *connection);
gboolean             job_worker_connection_is_alive  (JobWorkerConnection          *connection);
void                 job_worker_connection_send      (JobWorkerConnection          *connection,
                                                      GBytes                       *frames);
void                 job_worker_connection_close     (JobWorkerConnection          *connection);
void                 job_worker_connection_kill      (JobWorkerConnection          *connection);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobWorkerConnection, job_worker_connection_unref)

G_END_DECLS
