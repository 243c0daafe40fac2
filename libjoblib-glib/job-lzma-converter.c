/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <lzma.h>

#include "job-codec-private.h"
#include "job-lzma-converter.h"

/**
 * JobLzmaConverter:
 *
 * A [iface@Gio.Converter] over liblzma. It compresses to the xz container
 * or to the legacy `.lzma` format ([property@Joblib.LzmaConverter:xz]);
 * it decompresses either, recognizing the format by itself.
 */
struct _JobLzmaConverter
{
  JobCodecConverter  parent_instance;
  gboolean           xz;
  lzma_stream        strm;
};

enum {
  PROP_0,
  PROP_XZ,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (JobLzmaConverter, job_lzma_converter, JOB_TYPE_CODEC_CONVERTER)

/* The decoder allocates what the stream header asks for (the dictionary
 * size), before any data: a crafted 20-byte header can ask for 4 GiB.
 * Every preset we write (9e at most, a 64 MiB dictionary) decodes in
 * about 65 MiB; 256 MiB leaves room for files made by other tools. */
#define JOB_LZMA_DECODER_MEMORY_LIMIT (G_GUINT64_CONSTANT (256) * 1024 * 1024)

static const char *
lzma_name (JobCodecConverter *converter)
{
  return JOB_LZMA_CONVERTER (converter)->xz ? "xz" : "lzma";
}

static gboolean
lzma_start (JobCodecConverter  *converter,
            gboolean            decompressing,
            int                 level,
            GError            **error)
{
  JobLzmaConverter *self = JOB_LZMA_CONVERTER (converter);
  const lzma_stream init = LZMA_STREAM_INIT;
  lzma_ret ret;

  self->strm = init;
  if (decompressing)
    ret = lzma_auto_decoder (&self->strm, JOB_LZMA_DECODER_MEMORY_LIMIT, 0);
  else if (self->xz)
    ret = lzma_easy_encoder (&self->strm, (guint32) level, LZMA_CHECK_CRC64);
  else
    {
      lzma_options_lzma options;

      lzma_lzma_preset (&options, (guint32) level);
      ret = lzma_alone_encoder (&self->strm, &options);
    }
  if (ret != LZMA_OK)
    {
      job_codec_set_error (error, FALSE, "lzma", "cannot initialize the codec");
      return FALSE;
    }
  return TRUE;
}

static gboolean
lzma_step (JobCodecConverter  *converter,
           gboolean            decompressing,
           const void         *inbuf,
           gsize               inbuf_size,
           void               *outbuf,
           gsize               outbuf_size,
           GConverterFlags     flags,
           JobCodecStep       *step,
           GError            **error)
{
  JobLzmaConverter *self = JOB_LZMA_CONVERTER (converter);
  lzma_action action = LZMA_RUN;
  lzma_ret ret;

  /* The legacy format cannot flush: it simply keeps running. */
  if (!decompressing && (flags & G_CONVERTER_INPUT_AT_END) != 0)
    action = LZMA_FINISH;
  else if (!decompressing && (flags & G_CONVERTER_FLUSH) != 0 && self->xz)
    action = LZMA_SYNC_FLUSH;

  self->strm.next_in = inbuf;
  self->strm.avail_in = inbuf_size;
  self->strm.next_out = outbuf;
  self->strm.avail_out = outbuf_size;
  ret = lzma_code (&self->strm, action);
  if (ret != LZMA_OK && ret != LZMA_STREAM_END && ret != LZMA_BUF_ERROR)
    {
      job_codec_set_error (error, decompressing, lzma_name (converter),
                           ret == LZMA_MEM_ERROR ? "out of memory" :
                           ret == LZMA_MEMLIMIT_ERROR ? "the stream needs more than 256 MiB of memory to decode" :
                           "corrupt stream");
      return FALSE;
    }

  step->consumed = inbuf_size - self->strm.avail_in;
  step->produced = outbuf_size - self->strm.avail_out;
  if (action == LZMA_SYNC_FLUSH)
    step->flushed = ret == LZMA_STREAM_END;
  else
    {
      step->stream_end = ret == LZMA_STREAM_END;
      step->flushed = self->strm.avail_in == 0;
    }
  return TRUE;
}

static void
lzma_stop (JobCodecConverter *converter,
           gboolean           decompressing)
{
  lzma_end (&JOB_LZMA_CONVERTER (converter)->strm);
}

/* lzma and xz share their levels (presets) */
static const JobCodec lzma_codec = {
  "xz", 0, 9, 3, lzma_start, lzma_step, lzma_stop, lzma_name,
};

static void
job_lzma_converter_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  JobLzmaConverter *self = JOB_LZMA_CONVERTER (object);

  switch (prop_id)
    {
    case PROP_XZ:
      g_value_set_boolean (value, self->xz);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
job_lzma_converter_set_property (GObject      *object,
                                 guint         prop_id,
                                 const GValue *value,
                                 GParamSpec   *pspec)
{
  JobLzmaConverter *self = JOB_LZMA_CONVERTER (object);

  switch (prop_id)
    {
    case PROP_XZ:
      self->xz = g_value_get_boolean (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
job_lzma_converter_class_init (JobLzmaConverterClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  job_codec_converter_class_set_codec (JOB_CODEC_CONVERTER_CLASS (klass), &lzma_codec);
  object_class->get_property = job_lzma_converter_get_property;
  object_class->set_property = job_lzma_converter_set_property;

  /**
   * JobLzmaConverter:xz:
   *
   * When compressing, whether to write the xz container (%TRUE) or the
   * legacy `.lzma` format (%FALSE). Decompression reads both.
   */
  properties[PROP_XZ] =
    g_param_spec_boolean ("xz", NULL, NULL,
                          TRUE,
                          (G_PARAM_READWRITE |
                           G_PARAM_CONSTRUCT_ONLY |
                           G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
job_lzma_converter_init (JobLzmaConverter *self)
{
  self->xz = TRUE;
}

/**
 * job_lzma_converter_new:
 * @mode: compress or decompress
 * @xz: write the xz container rather than the legacy `.lzma` format
 * @level: the compression level, 0 to 9, or
 *   %JOB_COMPRESSION_DEFAULT_LEVEL; ignored when decompressing
 *
 * Creates an xz or `.lzma` converter.
 *
 * Returns: (transfer full): a new #JobLzmaConverter
 */
JobLzmaConverter *
job_lzma_converter_new (JobConverterMode mode,
                        gboolean         xz,
                        int              level)
{
  return g_object_new (JOB_TYPE_LZMA_CONVERTER,
                       "mode", mode,
                       "xz", xz,
                       "level", CLAMP (level, -1, 9),
                       NULL);
}
