/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-slurm-listen-private.h"

void
job_slurm_listen_plan_clear (JobSlurmListenPlan *plan)
{
  job_worker_listen_plan_clear (plan);
}

gboolean
job_slurm_listen_plan (const JobSlurmSettings  *settings,
                       GTlsCertificate        **generated,
                       JobSlurmListenPlan      *plan,
                       GError                 **error)
{
  return job_worker_listen_plan (settings->listen_address, settings->certificate,
                                 settings->tls, generated, plan, error);
}
