/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (JOBLIB_GLIB_INSIDE) && !defined (JOBLIB_GLIB_COMPILATION)
# error "Only <joblib-glib.h> can be included directly."
#endif

#include <gio/gio.h>

#include "job-version-macros.h"

G_BEGIN_DECLS

/**
 * JobConverterMode:
 * @JOB_CONVERTER_COMPRESS: the converter compresses
 * @JOB_CONVERTER_DECOMPRESS: the converter decompresses
 *
 * The direction of the codec converters ([class@Joblib.Bz2Converter],
 * [class@Joblib.LzmaConverter], [class@Joblib.Lz4Converter],
 * [class@Joblib.ZstdConverter]).
 */
typedef enum
{
  JOB_CONVERTER_COMPRESS,
  JOB_CONVERTER_DECOMPRESS,
} JobConverterMode;

#define JOB_TYPE_CODEC_CONVERTER (job_codec_converter_get_type ())

JOB_AVAILABLE_IN_ALL
G_DECLARE_DERIVABLE_TYPE (JobCodecConverter, job_codec_converter, JOB, CODEC_CONVERTER, GObject)

/**
 * JobCodecConverterClass:
 * @parent_class: the parent class
 *
 * The class of [class@Joblib.CodecConverter].
 */
struct _JobCodecConverterClass
{
  GObjectClass parent_class;

  /*< private >*/
  gconstpointer codec;
  gpointer _reserved[7];
};

JOB_AVAILABLE_IN_ALL
JobConverterMode job_codec_converter_get_mode  (JobCodecConverter *self);
JOB_AVAILABLE_IN_ALL
int              job_codec_converter_get_level (JobCodecConverter *self);

G_END_DECLS
