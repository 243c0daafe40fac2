/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (JOBLIB_GLIB_INSIDE) && !defined (JOBLIB_GLIB_COMPILATION)
# error "Only <joblib-glib.h> can be included directly."
#endif

#include <gio/gio.h>

#include "job-version-macros.h"

G_BEGIN_DECLS

/**
 * JobFileFormat:
 * @JOB_FILE_FORMAT_UNKNOWN: neither of the others
 * @JOB_FILE_FORMAT_JOBLIB_GLIB: a file written by [func@Joblib.dump]
 * @JOB_FILE_FORMAT_JOBLIB: a file written by Python's `joblib.dump` (a
 *   pickle of protocol 2 to 5 with numpy arrays inside), which
 *   [func@Joblib.load] reads safely
 *
 * What [func@Joblib.load] finds in a file, once decompressed; see
 * [func@Joblib.FileFormat.detect].
 */
typedef enum
{
  JOB_FILE_FORMAT_UNKNOWN,
  JOB_FILE_FORMAT_JOBLIB_GLIB,
  JOB_FILE_FORMAT_JOBLIB,
} JobFileFormat;

JOB_AVAILABLE_IN_ALL
JobFileFormat  job_file_format_detect  (GFile         *file,
                                        GCancellable  *cancellable,
                                        GError       **error);

G_END_DECLS
