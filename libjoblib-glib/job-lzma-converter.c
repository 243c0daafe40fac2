/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <lzma.h>

#include "job-codec-private.h"
#include "job-codec-converter.h"
#include "job-lzma-converter.h"

/**
 * JobLzmaConverter:
 *
 * A [iface@Gio.Converter] over liblzma. It compresses to the xz container
 * or to the legacy `.lzma` format ([property@Joblib.LzmaConverter:xz]);
 * it decompresses either, recognizing the format by itself.
 *
 * A converter is used by one stream at a time; it is not thread-safe.
 */
struct _JobLzmaConverter
{
  JobCodecConverter  parent_instance;
  gboolean          xz;
  gboolean          started;
  lzma_stream       strm;
};

enum {
  PROP_0,
  PROP_XZ,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void job_lzma_converter_iface_init (GConverterIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (JobLzmaConverter, job_lzma_converter, JOB_TYPE_CODEC_CONVERTER,
                               G_IMPLEMENT_INTERFACE (G_TYPE_CONVERTER,
                                                      job_lzma_converter_iface_init))

/* The decoder allocates what the stream header asks for (the dictionary
 * size), before any data: a crafted 20-byte header can ask for 4 GiB.
 * Every preset we write (9e at most, a 64 MiB dictionary) decodes in
 * about 65 MiB; 256 MiB leaves room for files made by other tools. */
#define JOB_LZMA_DECODER_MEMORY_LIMIT (G_GUINT64_CONSTANT (256) * 1024 * 1024)

static void
job_lzma_converter_end (JobLzmaConverter *self)
{
  if (self->started)
    lzma_end (&self->strm);
  self->started = FALSE;
}

static gboolean
job_lzma_converter_start (JobLzmaConverter  *self,
                          GError           **error)
{
  const lzma_stream init = LZMA_STREAM_INIT;
  guint32 preset = job_codec_clamp_level ("xz", job_codec_converter_get_level (JOB_CODEC_CONVERTER (self)));
  lzma_ret ret;

  self->strm = init;
  if (job_codec_converter_get_mode (JOB_CODEC_CONVERTER (self)) == JOB_CONVERTER_DECOMPRESS)
    ret = lzma_auto_decoder (&self->strm, JOB_LZMA_DECODER_MEMORY_LIMIT, 0);
  else if (self->xz)
    ret = lzma_easy_encoder (&self->strm, preset, LZMA_CHECK_CRC64);
  else
    {
      lzma_options_lzma options;

      lzma_lzma_preset (&options, preset);
      ret = lzma_alone_encoder (&self->strm, &options);
    }
  if (ret != LZMA_OK)
    {
      job_codec_set_error (error, FALSE, "lzma", "cannot initialize the codec");
      return FALSE;
    }
  self->started = TRUE;
  return TRUE;
}

static GConverterResult
job_lzma_converter_convert (GConverter       *converter,
                            const void       *inbuf,
                            gsize             inbuf_size,
                            void             *outbuf,
                            gsize             outbuf_size,
                            GConverterFlags   flags,
                            gsize            *bytes_read,
                            gsize            *bytes_written,
                            GError          **error)
{
  JobLzmaConverter *self = JOB_LZMA_CONVERTER (converter);
  gboolean decompressing = job_codec_converter_get_mode (JOB_CODEC_CONVERTER (self)) == JOB_CONVERTER_DECOMPRESS;
  const char *name = self->xz ? "xz" : "lzma";
  lzma_action action = LZMA_RUN;
  JobCodecStep step = { 0, };
  lzma_ret ret;

  if (!self->started && !job_lzma_converter_start (self, error))
    return G_CONVERTER_ERROR;

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
      job_codec_set_error (error, decompressing, name,
                           ret == LZMA_MEM_ERROR ? "out of memory" :
                           ret == LZMA_MEMLIMIT_ERROR ? "the stream needs more than 256 MiB of memory to decode" :
                           "corrupt stream");
      return G_CONVERTER_ERROR;
    }

  step.consumed = inbuf_size - self->strm.avail_in;
  step.produced = outbuf_size - self->strm.avail_out;
  if (action == LZMA_SYNC_FLUSH)
    step.flushed = ret == LZMA_STREAM_END;
  else
    {
      step.stream_end = ret == LZMA_STREAM_END;
      step.flushed = self->strm.avail_in == 0;
    }
  *bytes_read = step.consumed;
  *bytes_written = step.produced;

  return job_codec_step_result (&step, decompressing, inbuf_size, outbuf_size,
                                flags, name, error);
}

static void
job_lzma_converter_reset (GConverter *converter)
{
  job_lzma_converter_end (JOB_LZMA_CONVERTER (converter));
}

static void
job_lzma_converter_iface_init (GConverterIface *iface)
{
  iface->convert = job_lzma_converter_convert;
  iface->reset = job_lzma_converter_reset;
}

static void
job_lzma_converter_finalize (GObject *object)
{
  job_lzma_converter_end (JOB_LZMA_CONVERTER (object));

  G_OBJECT_CLASS (job_lzma_converter_parent_class)->finalize (object);
}

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

  object_class->finalize = job_lzma_converter_finalize;
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
