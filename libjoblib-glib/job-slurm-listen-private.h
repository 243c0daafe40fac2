/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "job-slurm-pool-private.h"

G_BEGIN_DECLS

/* Where and how a Slurm pool listens for its workers, from its settings:
 *
 * - the address to bind: listen-address when set; else the one address
 *   the host name resolves to when it is a single non-loopback address
 *   (what workers dial); else every interface (NULL);
 * - the certificate: tls-certificate when set; else, when tls is on and
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
} JobSlurmListenPlan;

gboolean job_slurm_listen_plan       (const JobSlurmSettings  *settings,
                                      GTlsCertificate        **generated,
                                      JobSlurmListenPlan      *plan,
                                      GError                 **error);
void     job_slurm_listen_plan_clear (JobSlurmListenPlan      *plan);

G_END_DECLS
