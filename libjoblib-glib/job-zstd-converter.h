/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (JOBLIB_GLIB_INSIDE) && !defined (JOBLIB_GLIB_COMPILATION)
# error "Only <joblib-glib.h> can be included directly."
#endif

#include <gio/gio.h>

#include "job-codec-converter.h"
#include "job-version-macros.h"

G_BEGIN_DECLS

#define JOB_TYPE_ZSTD_CONVERTER (job_zstd_converter_get_type ())

JOB_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (JobZstdConverter, job_zstd_converter, JOB, ZSTD_CONVERTER, JobCodecConverter)

/**
 * JOB_ZSTD_CONVERTER_MAX_WORKERS:
 *
 * The largest value of [property@Joblib.ZstdConverter:workers].
 */
#define JOB_ZSTD_CONVERTER_MAX_WORKERS 64

JOB_AVAILABLE_IN_ALL
JobZstdConverter *job_zstd_converter_new         (JobConverterMode  mode,
                                                  int               level);
JOB_AVAILABLE_IN_ALL
guint             job_zstd_converter_get_workers (JobZstdConverter *self);
JOB_AVAILABLE_IN_ALL
void              job_zstd_converter_set_workers (JobZstdConverter *self,
                                                  guint             workers);

G_END_DECLS
