/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Mutual authentication of a worker that dials its driver, before any
 * work: both prove that they know the run's secret without sending it.
 *
 *   worker → driver  HELLO ("connect", pid, {kind, job, node, key, nonce})
 *   driver → worker  HELLO ("challenge", 0, {nonce, proof})
 *   worker → driver  HELLO ("proof", pid, {proof})
 *
 * `nonce` is 32 fresh random bytes from each side; `key` names which of
 * the driver's secrets the worker holds (public). Each proof is
 * HMAC-SHA256, keyed by the secret, over a label naming the prover's
 * role, both nonces, and the fields of the exchange (key, kind, job,
 * node, and the driver's TLS certificate fingerprint or "" on plain
 * TCP), each length-prefixed. The labels differ, so a proof obtained
 * from one side never passes for the other's.
 *
 * A token, as workers receive it, is "KEY.SECRET" (KEY empty for a bare
 * SECRET). Thread-safe: no state. */

#define JOB_WORKER_AUTH_NONCE_SIZE 32
#define JOB_WORKER_AUTH_PROOF_SIZE 32

typedef enum
{
  JOB_WORKER_AUTH_DRIVER,
  JOB_WORKER_AUTH_WORKER,
} JobWorkerAuthRole;

typedef struct
{
  const char   *key;      /* public name of the secret */
  const char   *kind;
  const char   *job;
  const char   *node;
  const char   *channel;  /* certificate fingerprint, "" on plain TCP */
  const guint8 *worker_nonce;
  const guint8 *driver_nonce;
} JobWorkerAuthExchange;

void      job_worker_auth_fill_nonce (guint8                      *nonce);
void      job_worker_auth_prove      (JobWorkerAuthRole            role,
                                      const char                  *secret,
                                      const JobWorkerAuthExchange *exchange,
                                      guint8                      *proof);
gboolean  job_worker_auth_check      (JobWorkerAuthRole            role,
                                      const char                  *secret,
                                      const JobWorkerAuthExchange *exchange,
                                      GVariant                    *proof);
char     *job_worker_auth_new_token  (char                       **key);
void      job_worker_auth_split_token (const char                 *token,
                                       char                      **key,
                                       char                      **secret);
char     *job_worker_auth_fingerprint (GByteArray                 *der);

G_END_DECLS
