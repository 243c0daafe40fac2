/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (JOBLIB_GLIB_INSIDE) && !defined (JOBLIB_GLIB_COMPILATION)
# error "Only <joblib-glib.h> can be included directly."
#endif

#include <gio/gio.h>

#include "job-codec-converter.h"
#include "job-version-macros.h"

G_BEGIN_DECLS

#define JOB_TYPE_LZ4_CONVERTER (job_lz4_converter_get_type ())

JOB_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (JobLz4Converter, job_lz4_converter, JOB, LZ4_CONVERTER, JobCodecConverter)

JOB_AVAILABLE_IN_ALL
JobLz4Converter *job_lz4_converter_new (JobConverterMode mode,
                                        int              level);

G_END_DECLS
