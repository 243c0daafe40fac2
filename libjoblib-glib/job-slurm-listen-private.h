/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "job-slurm-pool-private.h"
#include "job-worker-listen-plan-private.h"

G_BEGIN_DECLS

/* Where and how a Slurm pool listens for its workers, from its settings
 * (listen-address, tls-certificate, tls): job-worker-listen-plan-private.h. */

typedef JobWorkerListenPlan JobSlurmListenPlan;

gboolean job_slurm_listen_plan       (const JobSlurmSettings  *settings,
                                      GTlsCertificate        **generated,
                                      JobSlurmListenPlan      *plan,
                                      GError                 **error);
void     job_slurm_listen_plan_clear (JobSlurmListenPlan      *plan);

G_END_DECLS
