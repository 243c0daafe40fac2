/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <bzlib.h>

#include "job-bz2-converter.h"
#include "job-codec-private.h"
#include "job-codec-converter.h"

/**
 * JobBz2Converter:
 *
 * A [iface@Gio.Converter] that compresses to or decompresses from the
 * bzip2 format with libbz2, in streaming fashion.
 *
 * A converter is used by one stream at a time; it is not thread-safe.
 */
struct _JobBz2Converter
{
  JobCodecConverter  parent_instance;
  gboolean          started;
  bz_stream         bz;
};

static void job_bz2_converter_iface_init (GConverterIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (JobBz2Converter, job_bz2_converter, JOB_TYPE_CODEC_CONVERTER,
                               G_IMPLEMENT_INTERFACE (G_TYPE_CONVERTER,
                                                      job_bz2_converter_iface_init))

static void
job_bz2_converter_end (JobBz2Converter *self)
{
  if (!self->started)
    return;
  if (job_codec_converter_get_mode (JOB_CODEC_CONVERTER (self)) == JOB_CONVERTER_COMPRESS)
    BZ2_bzCompressEnd (&self->bz);
  else
    BZ2_bzDecompressEnd (&self->bz);
  self->started = FALSE;
}

static gboolean
job_bz2_converter_start (JobBz2Converter  *self,
                         GError          **error)
{
  int ret;

  memset (&self->bz, 0, sizeof self->bz);
  if (job_codec_converter_get_mode (JOB_CODEC_CONVERTER (self)) == JOB_CONVERTER_COMPRESS)
    ret = BZ2_bzCompressInit (&self->bz, job_codec_clamp_level ("bz2", job_codec_converter_get_level (JOB_CODEC_CONVERTER (self))), 0, 0);
  else
    ret = BZ2_bzDecompressInit (&self->bz, 0, 0);
  if (ret != BZ_OK)
    {
      job_codec_set_error (error, FALSE, "bz2", "out of memory");
      return FALSE;
    }
  self->started = TRUE;
  return TRUE;
}

static GConverterResult
job_bz2_converter_convert (GConverter       *converter,
                           const void       *inbuf,
                           gsize             inbuf_size,
                           void             *outbuf,
                           gsize             outbuf_size,
                           GConverterFlags   flags,
                           gsize            *bytes_read,
                           gsize            *bytes_written,
                           GError          **error)
{
  JobBz2Converter *self = JOB_BZ2_CONVERTER (converter);
  gboolean decompressing = job_codec_converter_get_mode (JOB_CODEC_CONVERTER (self)) == JOB_CONVERTER_DECOMPRESS;
  JobCodecStep step = { 0, };
  unsigned int avail_in, avail_out;
  int ret;

  if (!self->started && !job_bz2_converter_start (self, error))
    return G_CONVERTER_ERROR;

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
          return G_CONVERTER_ERROR;
        }
      step.stream_end = ret == BZ_STREAM_END;
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
          return G_CONVERTER_ERROR;
        }
      step.stream_end = ret == BZ_STREAM_END;
      step.flushed = action == BZ_FLUSH && ret == BZ_RUN_OK;
    }

  step.consumed = avail_in - self->bz.avail_in;
  step.produced = avail_out - self->bz.avail_out;
  *bytes_read = step.consumed;
  *bytes_written = step.produced;

  return job_codec_step_result (&step, decompressing, inbuf_size, outbuf_size,
                                flags, "bz2", error);
}

static void
job_bz2_converter_reset (GConverter *converter)
{
  job_bz2_converter_end (JOB_BZ2_CONVERTER (converter));
}

static void
job_bz2_converter_iface_init (GConverterIface *iface)
{
  iface->convert = job_bz2_converter_convert;
  iface->reset = job_bz2_converter_reset;
}

static void
job_bz2_converter_finalize (GObject *object)
{
  job_bz2_converter_end (JOB_BZ2_CONVERTER (object));

  G_OBJECT_CLASS (job_bz2_converter_parent_class)->finalize (object);
}

static void
job_bz2_converter_class_init (JobBz2ConverterClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = job_bz2_converter_finalize;

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
