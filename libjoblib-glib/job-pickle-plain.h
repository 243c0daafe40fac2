/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (JOBLIB_GLIB_INSIDE) && !defined (JOBLIB_GLIB_COMPILATION)
# error "Only <joblib-glib.h> can be included directly."
#endif

#include <gio/gio.h>

#include "job-version-macros.h"

G_BEGIN_DECLS

JOB_AVAILABLE_IN_ALL
GBytes   *job_variant_to_pickle   (GVariant  *value,
                                   GVariant **out_deferred);
JOB_AVAILABLE_IN_ALL
GVariant *job_variant_from_pickle (GBytes    *pickle,
                                   GError   **error);

G_END_DECLS
