/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Where remote workers connect back to the driver: a GSocketService on
 * one address (or every interface), optionally TLS, that admits only
 * workers that present the run's token.
 *
 * The first frame on a connection is the authentication frame (written by
 * joblib-glib-worker-connect): a HELLO of kind "connect" whose extra
 * fields hold `token`, `kind` (the worker kind that follows), `job` (the
 * Slurm job id) and `node`. A connection whose first frame is anything
 * else, whose token differs, or that sends nothing within a few seconds
 * is closed, and logged with a warning naming its address. Admitted
 * connections are handed over as they are, the worker's own HELLO not yet
 * read.
 *
 * Runs on the thread-default main context of the creating thread; not
 * thread-safe. */

typedef struct _JobWorkerListener JobWorkerListener;

typedef void (*JobWorkerListenerFunc) (JobWorkerListener *listener,
                                       GIOStream         *stream,
                                       const char        *kind,
                                       const char        *job_id,
                                       const char        *node,
                                       gpointer           user_data);

JobWorkerListener *job_worker_listener_new      (const char            *address,
                                                 guint16                port,
                                                 GTlsCertificate       *certificate,
                                                 const char            *token,
                                                 JobWorkerListenerFunc  func,
                                                 gpointer               user_data,
                                                 GError               **error);
guint16            job_worker_listener_get_port (JobWorkerListener     *listener);
guint              job_worker_listener_get_n_refused (JobWorkerListener *listener);
void               job_worker_listener_free     (JobWorkerListener     *listener);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobWorkerListener, job_worker_listener_free)

G_END_DECLS
