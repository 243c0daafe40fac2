/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Where and how a pool of remote workers listens for them to dial back:
 *
 * - the address to bind: @address when set; else the one address the
 *   host name resolves to when it is a single non-loopback address (what
 *   workers dial); else every interface (NULL);
 * - the certificate: @certificate when set; else, when @tls is on and
 *   the bound address is not loopback, a self-signed one made once per
 *   pool and kept in *@generated; else none (plain TCP);
 * - the pin workers get: the certificate's SHA-256 fingerprint, or NULL.
 *
 * Fails when TLS is needed and cannot be had (no GIO TLS backend, no
 * GnuTLS), saying how to fix it. Blocking (name resolution); call it on
 * the pool thread. */

typedef struct
{
  char            *bind_address;  /* (nullable) every interface */
  char            *advertised;    /* what workers dial, without the port */
  GTlsCertificate *certificate;   /* (nullable) */
  char            *pin;           /* (nullable) */
} JobWorkerListenPlan;

gboolean job_worker_listen_plan       (const char           *address,
                                       GTlsCertificate      *certificate,
                                       gboolean              tls,
                                       GTlsCertificate     **generated,
                                       JobWorkerListenPlan  *plan,
                                       GError              **error);
void     job_worker_listen_plan_clear (JobWorkerListenPlan  *plan);

G_END_DECLS
