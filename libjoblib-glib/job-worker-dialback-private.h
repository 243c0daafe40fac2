/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * JobWorkerDialback: what a launcher of remote workers needs so that its
 * workers can dial back (joblib-glib-worker-connect ADDRESS KIND --
 * COMMAND…): a JobWorkerListener, the address workers dial, the TLS pin
 * they check, and the tokens that admit them.
 *
 * Where it listens, from the launcher's settings, and with which
 * certificate: job-worker-listen-plan-private.h (a self-signed certificate
 * made for it is kept for its lifetime).
 *
 * Tokens ("KEY.SECRET", in the worker's environment as JOB_WORKER_TOKEN,
 * never on a command line): each run's workers get a token of their own
 * (job_worker_dialback_new_run()); a token admits only workers of its run
 * and only while one of them is still to connect: job_worker_dialback_hold()
 * when a worker is started with it, job_worker_dialback_release() once it
 * connected or is gone.
 *
 * Not thread-safe: use it on the launcher's thread (the pool's), whose
 * thread-default main context the listener uses; @func runs there.
 * Blocking in ensure_listening (name resolution).
 */

typedef struct _JobWorkerDialback JobWorkerDialback;

/* An authenticated worker connected: @key names the token it used. */
typedef void (*JobWorkerDialbackFunc) (GIOStream  *stream,
                                       const char *kind,
                                       const char *job_id,
                                       const char *node,
                                       const char *key,
                                       gpointer    user_data);

JobWorkerDialback *job_worker_dialback_new               (JobWorkerDialbackFunc   func,
                                                          gpointer                user_data);
void               job_worker_dialback_free              (JobWorkerDialback      *self);
gboolean           job_worker_dialback_ensure_listening  (JobWorkerDialback      *self,
                                                          const char             *listen_address,
                                                          guint16                 port,
                                                          GTlsCertificate        *certificate,
                                                          gboolean                tls,
                                                          GError                **error);
void               job_worker_dialback_stop_listening    (JobWorkerDialback      *self);
/* "HOST:PORT" (IPv6 hosts in brackets), or NULL when not listening. */
const char        *job_worker_dialback_get_address       (JobWorkerDialback      *self);
/* The certificate's fingerprint for JOB_WORKER_TLS_PIN, or NULL. */
const char        *job_worker_dialback_get_pin           (JobWorkerDialback      *self);
guint              job_worker_dialback_get_n_refused     (JobWorkerDialback      *self);

/* A new run: the workers started from now on get a new token, once the
 * current one was handed out. */
void               job_worker_dialback_new_run           (JobWorkerDialback      *self);
/* The current token for a worker about to start (transfer none), and
 * its key in @key (transfer full): admitted until released. */
const char        *job_worker_dialback_hold              (JobWorkerDialback      *self,
                                                          char                  **key);
void               job_worker_dialback_release           (JobWorkerDialback      *self,
                                                          const char             *key);

G_END_DECLS
