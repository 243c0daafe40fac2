/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (JOBLIB_GLIB_INSIDE) && !defined (JOBLIB_GLIB_COMPILATION)
# error "Only <joblib-glib.h> can be included directly."
#endif

#include <gio/gio.h>

#include "job-codec-converter.h"
#include "job-version-macros.h"

G_BEGIN_DECLS

#define JOB_TYPE_BZ2_CONVERTER (job_bz2_converter_get_type ())

JOB_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (JobBz2Converter, job_bz2_converter, JOB, BZ2_CONVERTER, JobCodecConverter)

JOB_AVAILABLE_IN_ALL
JobBz2Converter *job_bz2_converter_new (JobConverterMode mode,
                                        int              level);

G_END_DECLS
