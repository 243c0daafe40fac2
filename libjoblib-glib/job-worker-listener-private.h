/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Where remote workers connect back to the driver: a listening socket on
 * one address (or every interface), optionally TLS, that admits only
 * workers that prove they hold one of the driver's secrets, and proves
 * in turn that it holds it (job-worker-auth-private.h: challenge and
 * response, the secret never crosses the network).
 *
 * Before authentication a connection costs little and cannot hold the
 * driver: at most JOB_WORKER_LISTENER_MAX_PENDING connections
 * authenticate at a time (others are closed at once), each has
 * JOB_WORKER_LISTENER_HANDSHAKE_TIMEOUT seconds for the TLS handshake and
 * JOB_WORKER_LISTENER_AUTH_TIMEOUT for the authentication frames, 4 KiB
 * per frame (JOB_WORKER_AUTH_TIMEOUT in the environment, 1 to 3600
 * seconds, replaces both timeouts: for runs under valgrind), and when
 * the process runs out of descriptors the pending connection is taken
 * and closed with a descriptor kept in reserve, so that accepting never
 * spins. Refusals are counted; warnings naming the peer and the reason
 * are rate-limited (a few per 10 s, then one line with how many more).
 * Admitted connections are handed over as they are, the worker's own
 * HELLO not yet read.
 *
 * Runs on the thread-default main context of the creating thread; not
 * thread-safe. */

#define JOB_WORKER_LISTENER_MAX_PENDING 16
#define JOB_WORKER_LISTENER_AUTH_TIMEOUT 5
#define JOB_WORKER_LISTENER_HANDSHAKE_TIMEOUT 10

typedef struct _JobWorkerListener JobWorkerListener;

/* The secret named @key (the part before the dot of a worker's token),
 * or NULL when there is none (transfer full). */
typedef char *(*JobWorkerListenerKeyFunc) (const char *key,
                                           gpointer    user_data);

typedef void (*JobWorkerListenerFunc) (JobWorkerListener *listener,
                                       GIOStream         *stream,
                                       const char        *kind,
                                       const char        *job_id,
                                       const char        *node,
                                       const char        *key,
                                       gpointer           user_data);

JobWorkerListener *job_worker_listener_new           (const char                *address,
                                                      guint16                    port,
                                                      GTlsCertificate           *certificate,
                                                      JobWorkerListenerKeyFunc   key_func,
                                                      JobWorkerListenerFunc      func,
                                                      gpointer                   user_data,
                                                      GError                   **error);
guint16            job_worker_listener_get_port      (JobWorkerListener         *listener);
guint              job_worker_listener_get_n_refused (JobWorkerListener         *listener);
guint              job_worker_listener_get_n_pending (JobWorkerListener         *listener);
void               job_worker_listener_free          (JobWorkerListener         *listener);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobWorkerListener, job_worker_listener_free)

G_END_DECLS
