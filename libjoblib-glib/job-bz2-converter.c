/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <bzlib.h>

#include "job-bz2-converter.h"
#include "job-codec-private.h"

/**
 * JobBz2Converter:
 *
 * A [iface@Gio.Converter] that compresses to or decompresses from the
 * bzip2 format with libbz2, in streaming fashion.
 */
struct _JobBz2Converter
{
  JobCodecConverter  parent_instance;
  bz_stream          bz;
};

G_DEFINE_FINAL_TYPE (JobBz2Converter, job_bz2_converter, JOB_TYPE_CODEC_CONVERTER)

static gboolean
bz2_start (JobCodecConverter  *converter,
           gboolean            decompressing,
           int                 level,
           GError            **error)
{
  JobBz2Converter *self = JOB_BZ2_CONVERTER (converter);
  int ret;

  memset (&self->bz, 0, sizeof self->bz);
  if (decompressing)
    ret = BZ2_bzDecompressInit (&self->bz, 0, 0);
  else
    ret = BZ2_bzCompressInit (&self->bz, level, 0, 0);
  if (ret != BZ_OK)
    {
      job_codec_set_error (error, FALSE, "bz2", "out of memory");
      return FALSE;
    }
  return TRUE;
}

static gboolean
bz2_step (JobCodecConverter  *converter,
          gboolean            decompressing,
          const void         *inbuf,
          gsize               inbuf_size,
          void               *outbuf,
          gsize               outbuf_size,
          GConverterFlags     flags,
          JobCodecStep       *step,
          GError            **error)
{
  JobBz2Converter *self = JOB_BZ2_CONVERTER (converter);
  unsigned int avail_in, avail_out;
  int ret;

  /* libbz2 counts in unsigned int: hand it at most 1 GiB per call. */
  avail_in = MIN (inbuf_size, G_MAXINT / 2);
  avail_out = MIN (outbuf_size, G_MAXINT / 2);
  self->bz.next_in = (char *) inbuf;
  self->bz.avail_in = avail_in;
  self->bz.next_out = outbuf;
  self->bz.avail_out = avail_out;

  if (decompressing)
    {
      ret = BZ2_bzDecompress (&self->bz);
      if (ret != BZ_OK && ret != BZ_STREAM_END)
        {
          job_codec_set_error (error, TRUE, "bz2", "corrupt stream");
          return FALSE;
        }
      step->stream_end = ret == BZ_STREAM_END;
    }
  else
    {
      int action = BZ_RUN;

      if ((flags & G_CONVERTER_INPUT_AT_END) != 0 && avail_in == inbuf_size)
        action = BZ_FINISH;
      else if ((flags & G_CONVERTER_FLUSH) != 0 && avail_in == inbuf_size)
        action = BZ_FLUSH;
      ret = BZ2_bzCompress (&self->bz, action);
      if (ret < 0)
        {
          job_codec_set_error (error, FALSE, "bz2", "internal error");
          return FALSE;
        }
      step->stream_end = ret == BZ_STREAM_END;
      step->flushed = action == BZ_FLUSH && ret == BZ_RUN_OK;
    }

  step->consumed = avail_in - self->bz.avail_in;
  step->produced = avail_out - self->bz.avail_out;
  return TRUE;
}

static void
bz2_end (JobCodecConverter *converter,
         gboolean           decompressing)
{
  JobBz2Converter *self = JOB_BZ2_CONVERTER (converter);

  if (decompressing)
    BZ2_bzDecompressEnd (&self->bz);
  else
    BZ2_bzCompressEnd (&self->bz);
}

static const JobCodec bz2_codec = {
  "bz2", 1, 9, 3, bz2_start, bz2_step, bz2_end,
};

static void
job_bz2_converter_class_init (JobBz2ConverterClass *klass)
{
  job_codec_converter_class_set_codec (JOB_CODEC_CONVERTER_CLASS (klass), &bz2_codec);
}

static void
job_bz2_converter_init (JobBz2Converter *self)
{
}

/**
 * job_bz2_converter_new:
 * @mode: compress or decompress
 * @level: the compression level, 1 to 9, or
 *   %JOB_COMPRESSION_DEFAULT_LEVEL; ignored when decompressing
 *
 * Creates a bzip2 converter.
 *
 * Returns: (transfer full): a new #JobBz2Converter
 */
JobBz2Converter *
job_bz2_converter_new (JobConverterMode mode,
                       int              level)
{
  return g_object_new (JOB_TYPE_BZ2_CONVERTER,
                       "mode", mode,
                       "level", CLAMP (level, -1, 9),
                       NULL);
}
