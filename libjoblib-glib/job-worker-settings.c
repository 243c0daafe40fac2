/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-worker-settings-private.h"

void
job_worker_settings_init (JobWorkerSettings *settings)
{
  *settings = (JobWorkerSettings) {
    .n_workers = 1,
    .inner_threads = 1,
    .max_nbytes = 1024 * 1024,
    .idle_timeout = 300,
  };
}

void
job_worker_settings_clear (JobWorkerSettings *settings)
{
  g_clear_pointer (&settings->init_reference, g_variant_unref);
  g_clear_pointer (&settings->init_args, g_variant_unref);
  g_clear_pointer (&settings->environment, g_strfreev);
  g_clear_pointer (&settings->temp_folder, g_free);
}

void
job_worker_settings_copy (const JobWorkerSettings *from,
                          JobWorkerSettings       *to)
{
  if (from == to)
    return;
  job_worker_settings_clear (to);
  *to = *from;
  if (from->init_reference != NULL)
    to->init_reference = g_variant_ref (from->init_reference);
  if (from->init_args != NULL)
    to->init_args = g_variant_ref (from->init_args);
  to->environment = g_strdupv (from->environment);
  to->temp_folder = g_strdup (from->temp_folder);
}
