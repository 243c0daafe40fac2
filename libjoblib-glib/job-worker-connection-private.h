/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "job-worker-protocol-private.h"

G_BEGIN_DECLS

/* The frame layer of the worker protocol on the driver's side, over a
 * pair of pollable streams: a TCP or TLS connection (remote launchers) or the
 * pipes of a child process (JobProcessWorker). Non-blocking, on the
 * thread-default main context of the creating thread. It checks the
 * worker's HELLO (its kind) and reports the end of the connection once,
 * from an idle callback, never from inside a call of its owner. Not
 * thread-safe: use it on that context. */

typedef enum
{
  JOB_WORKER_CONNECTION_FLAGS_NONE  = 0,
  /* The pipes of a child process: a failed write only drops the output
   * (reading tells how the worker ended), close() only ends the output,
   * and the end of the input is clean even before the HELLO (the exit
   * status says why). */
  JOB_WORKER_CONNECTION_FLAGS_PIPES = 1 << 0,
} JobWorkerConnectionFlags;

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

/* Over @in (pollable) and @out (pollable). */
JobWorkerConnection *job_worker_connection_new_for_streams (GInputStream                 *in,
                                                            GOutputStream                *out,
                                                            JobWorkerConnectionFlags      flags,
                                                            const char                   *kind,
                                                            JobWorkerConnectionFrameFunc  frame_func,
                                                            JobWorkerConnectionEndFunc    end_func,
                                                            gpointer                      user_data);
/* Over a TCP or TLS connection: the end closes it. */
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
/* Until the matching _release_writes(), frames sent on this thread are
 * queued and written at the release, one write per connection: a round
 * of scheduling that sends a worker several calls costs one write. The
 * pairs nest; the connections' own reads hold writes too. */
void                 job_worker_connection_hold_writes    (void);
void                 job_worker_connection_release_writes (void);
void                 job_worker_connection_kill      (JobWorkerConnection          *connection);
/* Ends the connection and reports nothing more: no frame, no end. */
void                 job_worker_connection_detach    (JobWorkerConnection          *connection);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobWorkerConnection, job_worker_connection_unref)

G_END_DECLS
