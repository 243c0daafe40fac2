/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (JOBLIB_GLIB_INSIDE) && !defined (JOBLIB_GLIB_COMPILATION)
# error "Only <joblib-glib.h> can be included directly."
#endif

#include <glib.h>

#include "job-version-macros.h"

G_BEGIN_DECLS

JOB_AVAILABLE_IN_ALL
int job_cpu_count        (void);
JOB_AVAILABLE_IN_ALL
int job_effective_n_jobs (int      n_jobs,
                          GError **error);

G_END_DECLS
