/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-codec-private.h"
#include "job-compression.h"
#include "job-error.h"
#include "job-i18n-private.h"

/* The GConverter contract, shared by our codec classes: report progress,
 * ask for more input or more output space rather than spin, and call a
 * stream that ends before the codec's end marker what it is: truncated. */
GConverterResult
job_codec_step_result (const JobCodecStep  *step,
                       gboolean             decompressing,
                       gsize                inbuf_size,
                       gsize                outbuf_size,
                       GConverterFlags      flags,
                       const char          *codec_name,
                       GError             **error)
{
  if (step->stream_end)
    return G_CONVERTER_FINISHED;

  if ((flags & G_CONVERTER_FLUSH) != 0 && step->flushed &&
      step->consumed == inbuf_size)
    return G_CONVERTER_FLUSHED;

  if (step->consumed == 0 && step->produced == 0)
    {
      if (outbuf_size > 0 && decompressing &&
          (flags & G_CONVERTER_INPUT_AT_END) != 0)
        {
          g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_DATA,
                       _("The %s stream is truncated"), codec_name);
          return G_CONVERTER_ERROR;
        }
      if (outbuf_size > 0 && inbuf_size == 0 &&
          (flags & (G_CONVERTER_INPUT_AT_END | G_CONVERTER_FLUSH)) == 0)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT,
                               _ ("Need more input"));
          return G_CONVERTER_ERROR;
        }
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                           _ ("Need more output space"));
      return G_CONVERTER_ERROR;
    }

  return G_CONVERTER_CONVERTED;
}

void
job_codec_set_error (GError     **error,
                     gboolean     decompressing,
                     const char  *codec_name,
                     const char  *detail)
{
  if (decompressing)
    g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_DATA,
                 _("Invalid %s data: %s"), codec_name, detail);
  else
    g_set_error (error, JOB_ERROR, JOB_ERROR_FAILED,
                 _("%s compression failed: %s"), codec_name, detail);
}

/* Levels outside the codec's range are clamped rather than refused: the
 * constructors cannot fail, and job_compression_new_compressor() checks
 * the range with a proper error before it gets here. */
int
job_codec_clamp_level (const char *codec_name,
                       int         level)
{
  JobCompression compression = JOB_COMPRESSION_NONE;
  int min_level, max_level, default_level;

  job_compression_from_name (codec_name, &compression);
  if (!job_compression_get_level_range (compression, &min_level, &max_level,
                                        &default_level))
    return level;
  if (level == JOB_COMPRESSION_DEFAULT_LEVEL)
    return default_level;
  return CLAMP (level, min_level, max_level);
}
