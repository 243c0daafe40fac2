/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <zstd.h>

#include "job-codec-private.h"
#include "job-zstd-converter.h"

/**
 * JobZstdConverter:
 *
 * A [iface@Gio.Converter] that compresses to or decompresses from the
 * Zstandard format with libzstd, in streaming fashion. Decompression reads
 * concatenated frames as one stream, as the `zstd` tool does (large dumps
 * are written as several frames), and ends with the input: bytes after
 * the last frame that are not a frame are invalid data.
 *
 * With [property@Joblib.ZstdConverter:workers] above 0, compression runs
 * on that many threads of libzstd's own (the output is the same whatever
 * the number, and is read back by any Zstandard decoder).
 */
struct _JobZstdConverter
{
  JobCodecConverter  parent_instance;
  ZSTD_CCtx        *cctx;  /* (owned) (nullable) */
  ZSTD_DCtx        *dctx;  /* (owned) (nullable) */
  gboolean          between_frames;  /* decoding: the last frame is complete */
  guint             workers;
};

enum {
  PROP_0,
  PROP_WORKERS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (JobZstdConverter, job_zstd_converter, JOB_TYPE_CODEC_CONVERTER)

static gboolean
zstd_start (JobCodecConverter  *converter,
            gboolean            decompressing,
            int                 level,
            GError            **error)
{
  JobZstdConverter *self = JOB_ZSTD_CONVERTER (converter);

  if (decompressing)
    {
      self->dctx = ZSTD_createDCtx ();
      self->between_frames = FALSE;
      return TRUE;
    }

  self->cctx = ZSTD_createCCtx ();
  ZSTD_CCtx_setParameter (self->cctx, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter (self->cctx, ZSTD_c_checksumFlag,
                          job_codec_converter_get_frame_checksum (converter) ? 1 : 0);
  /* A libzstd built without threads refuses: it then compresses on this
   * thread, which is still right. */
  if (self->workers > 0 &&
      !ZSTD_isError (ZSTD_CCtx_setParameter (self->cctx, ZSTD_c_nbWorkers, (int) self->workers)))
    /* 2 MiB pieces: each thread holds one piece and its output (libzstd's
     * default at level 3, 8 MiB, needs ~60 MiB more for two threads, for
     * the same speed). */
    ZSTD_CCtx_setParameter (self->cctx, ZSTD_c_jobSize, 2 * 1024 * 1024);
  return TRUE;
}

static gboolean
zstd_step (JobCodecConverter  *converter,
           gboolean            decompressing,
           const void         *inbuf,
           gsize               inbuf_size,
           void               *outbuf,
           gsize               outbuf_size,
           GConverterFlags     flags,
           JobCodecStep       *step,
           GError            **error)
{
  JobZstdConverter *self = JOB_ZSTD_CONVERTER (converter);
  ZSTD_inBuffer in = { inbuf, inbuf_size, 0 };
  ZSTD_outBuffer out = { outbuf, outbuf_size, 0 };
  size_t ret;

  if (decompressing)
    {
      ret = ZSTD_decompressStream (self->dctx, &out, &in);
      if (ZSTD_isError (ret))
        {
          job_codec_set_error (error, TRUE, "zstd", ZSTD_getErrorName (ret));
          return FALSE;
        }
      /* At the end of a frame, another may follow: the stream ends
       * only with the input, between frames. */
      if (in.pos > 0 || out.pos > 0)
        self->between_frames = ret == 0;
      step->stream_end = self->between_frames && in.pos == in.size &&
                         (flags & G_CONVERTER_INPUT_AT_END) != 0;
    }
  else
    {
      ZSTD_EndDirective directive = ZSTD_e_continue;

      if ((flags & G_CONVERTER_INPUT_AT_END) != 0)
        directive = ZSTD_e_end;
      else if ((flags & G_CONVERTER_FLUSH) != 0)
        directive = ZSTD_e_flush;
      ret = ZSTD_compressStream2 (self->cctx, &out, &in, directive);
      if (ZSTD_isError (ret))
        {
          job_codec_set_error (error, FALSE, "zstd", ZSTD_getErrorName (ret));
          return FALSE;
        }
      step->stream_end = directive == ZSTD_e_end && ret == 0;
      step->flushed = directive == ZSTD_e_flush && ret == 0;
    }

  step->consumed = in.pos;
  step->produced = out.pos;
  return TRUE;
}

static void
zstd_end (JobCodecConverter *converter,
          gboolean           decompressing)
{
  JobZstdConverter *self = JOB_ZSTD_CONVERTER (converter);

  g_clear_pointer (&self->cctx, ZSTD_freeCCtx);
  g_clear_pointer (&self->dctx, ZSTD_freeDCtx);
}

static const JobCodec zstd_codec = {
  "zstd", 1, 19, 3, zstd_start, zstd_step, zstd_end,
};

static void
job_zstd_converter_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  JobZstdConverter *self = JOB_ZSTD_CONVERTER (object);

  switch (prop_id)
    {
    case PROP_WORKERS:
      g_value_set_uint (value, self->workers);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
job_zstd_converter_set_property (GObject      *object,
                                 guint         prop_id,
                                 const GValue *value,
                                 GParamSpec   *pspec)
{
  JobZstdConverter *self = JOB_ZSTD_CONVERTER (object);

  switch (prop_id)
    {
    case PROP_WORKERS:
      job_zstd_converter_set_workers (self, g_value_get_uint (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
job_zstd_converter_class_init (JobZstdConverterClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = job_zstd_converter_get_property;
  object_class->set_property = job_zstd_converter_set_property;
  job_codec_converter_class_set_codec (JOB_CODEC_CONVERTER_CLASS (klass), &zstd_codec);

  /**
   * JobZstdConverter:workers:
   *
   * How many threads compress, besides the caller's: 0 (the default)
   * compresses on the calling thread. Read when compression starts; no
   * effect on decompression.
   */
  properties[PROP_WORKERS] =
    g_param_spec_uint ("workers", NULL, NULL,
                       0, JOB_ZSTD_CONVERTER_MAX_WORKERS, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
job_zstd_converter_init (JobZstdConverter *self)
{
}

/**
 * job_zstd_converter_new:
 * @mode: compress or decompress
 * @level: the compression level, 1 to 19, or
 *   %JOB_COMPRESSION_DEFAULT_LEVEL; ignored when decompressing
 *
 * Creates a Zstandard converter.
 *
 * Returns: (transfer full): a new #JobZstdConverter
 */
JobZstdConverter *
job_zstd_converter_new (JobConverterMode mode,
                        int              level)
{
  return g_object_new (JOB_TYPE_ZSTD_CONVERTER,
                       "mode", mode,
                       "level", CLAMP (level, -1, 19),
                       NULL);
}

/**
 * job_zstd_converter_get_workers:
 * @self: a #JobZstdConverter
 *
 * Gets how many threads compress; see
 * [property@Joblib.ZstdConverter:workers].
 *
 * Returns: the number of compression threads, 0 for the calling thread
 */
guint
job_zstd_converter_get_workers (JobZstdConverter *self)
{
  g_return_val_if_fail (JOB_IS_ZSTD_CONVERTER (self), 0);

  return self->workers;
}

/**
 * job_zstd_converter_set_workers:
 * @self: a #JobZstdConverter
 * @workers: the number of compression threads, at most
 *   %JOB_ZSTD_CONVERTER_MAX_WORKERS; 0 compresses on the calling thread
 *
 * Sets how many threads compress. Worth it for inputs of several
 * megabytes: each thread takes its own piece of the input. Set it before
 * the first conversion; from then on the value is kept until
 * [method@Gio.Converter.reset].
 */
void
job_zstd_converter_set_workers (JobZstdConverter *self,
                                guint             workers)
{
  g_return_if_fail (JOB_IS_ZSTD_CONVERTER (self));
  g_return_if_fail (workers <= JOB_ZSTD_CONVERTER_MAX_WORKERS);

  if (self->workers == workers)
    return;
  self->workers = workers;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_WORKERS]);
}
