/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <lz4frame.h>

#include "job-codec-private.h"
#include "job-lz4-converter.h"

/* Input handed to LZ4F_compressUpdate() at once. */
#define CHUNK_SIZE (256 * 1024)

/**
 * JobLz4Converter:
 *
 * A [iface@Gio.Converter] that compresses to or decompresses from the LZ4
 * frame format (what Python's `lz4.frame` and the `lz4` tool use) with
 * liblz4, in streaming fashion. Decompression stops at the end of the
 * first frame.
 */
struct _JobLz4Converter
{
  JobCodecConverter   parent_instance;
  LZ4F_cctx          *cctx;      /* (owned) (nullable) */
  LZ4F_dctx          *dctx;      /* (owned) (nullable) */
  LZ4F_preferences_t  prefs;
  gboolean            begun;     /* frame header emitted */
  gboolean            ended;     /* frame footer emitted */
  guint8             *pending;   /* (owned) compressed bytes not yet handed out */
  gsize               pending_alloc;
  gsize               pending_start;
  gsize               pending_end;
};

G_DEFINE_FINAL_TYPE (JobLz4Converter, job_lz4_converter, JOB_TYPE_CODEC_CONVERTER)

static gboolean
lz4_start (JobCodecConverter  *converter,
           gboolean            decompressing,
           int                 level,
           GError            **error)
{
  JobLz4Converter *self = JOB_LZ4_CONVERTER (converter);

  if (decompressing
      ? LZ4F_isError (LZ4F_createDecompressionContext (&self->dctx, LZ4F_VERSION))
      : LZ4F_isError (LZ4F_createCompressionContext (&self->cctx, LZ4F_VERSION)))
    {
      job_codec_set_error (error, FALSE, "lz4", "out of memory");
      return FALSE;
    }
  memset (&self->prefs, 0, sizeof self->prefs);
  self->prefs.compressionLevel = level;
  if (job_codec_converter_get_frame_checksum (converter))
    self->prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
  /* Independent blocks: the decoder keeps no copy of the last 64 KiB of
   * output between blocks. */
  self->prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  return TRUE;
}

static void
lz4_end (JobCodecConverter *converter,
         gboolean           decompressing)
{
  JobLz4Converter *self = JOB_LZ4_CONVERTER (converter);

  g_clear_pointer (&self->cctx, LZ4F_freeCompressionContext);
  g_clear_pointer (&self->dctx, LZ4F_freeDecompressionContext);
  self->begun = self->ended = FALSE;
  self->pending_start = self->pending_end = 0;
}

static gboolean
decompress (JobLz4Converter  *self,
            const void       *inbuf,
            gsize             inbuf_size,
            void             *outbuf,
            gsize             outbuf_size,
            JobCodecStep     *step,
            GError          **error)
{
  size_t src_size = inbuf_size;
  size_t dst_size = outbuf_size;
  size_t ret;

  ret = LZ4F_decompress (self->dctx, outbuf, &dst_size, inbuf, &src_size, NULL);
  if (LZ4F_isError (ret))
    {
      job_codec_set_error (error, TRUE, "lz4", LZ4F_getErrorName (ret));
      return FALSE;
    }

  step->consumed = src_size;
  step->produced = dst_size;
  step->stream_end = ret == 0;
  return TRUE;
}

/* Makes room for @needed more bytes after the pending ones. */
static guint8 *
job_lz4_converter_reserve (JobLz4Converter *self,
                           gsize            needed)
{
  if (self->pending_start == self->pending_end)
    self->pending_start = self->pending_end = 0;
  if (self->pending_alloc - self->pending_end < needed)
    {
      self->pending_alloc = self->pending_end + needed;
      self->pending = g_realloc (self->pending, self->pending_alloc);
    }
  return self->pending + self->pending_end;
}

static gboolean
compress (JobLz4Converter  *self,
          const guint8     *inbuf,
          gsize             inbuf_size,
          guint8           *outbuf,
          gsize             outbuf_size,
          GConverterFlags   flags,
          JobCodecStep     *out_step,
          GError          **error)
{
  JobCodecStep step = { 0, };
  size_t ret = 0;

  /* Compressed bytes go to a pending buffer, then out as space allows:
   * liblz4 wants room for the worst case of each update. */
  for (;;)
    {
      gsize n = MIN (self->pending_end - self->pending_start,
                     outbuf_size - step.produced);

      if (n > 0)  /* pending is NULL before the first update */
        memcpy (outbuf + step.produced, self->pending + self->pending_start, n);
      self->pending_start += n;
      step.produced += n;
      if (self->pending_start < self->pending_end || self->ended)
        break;

      if (!self->begun)
        {
          ret = LZ4F_compressBegin (self->cctx,
                                    job_lz4_converter_reserve (self, LZ4F_HEADER_SIZE_MAX),
                                    LZ4F_HEADER_SIZE_MAX, &self->prefs);
          self->begun = TRUE;
        }
      else if (step.consumed < inbuf_size)
        {
          gsize chunk = MIN (inbuf_size - step.consumed, CHUNK_SIZE);
          gsize bound = LZ4F_compressBound (chunk, &self->prefs);

          ret = LZ4F_compressUpdate (self->cctx, job_lz4_converter_reserve (self, bound),
                                     bound, inbuf + step.consumed, chunk, NULL);
          step.consumed += chunk;
        }
      else if ((flags & G_CONVERTER_INPUT_AT_END) != 0)
        {
          gsize bound = LZ4F_compressBound (0, &self->prefs);

          ret = LZ4F_compressEnd (self->cctx, job_lz4_converter_reserve (self, bound),
                                  bound, NULL);
          self->ended = TRUE;
        }
      else if ((flags & G_CONVERTER_FLUSH) != 0 && !step.flushed)
        {
          gsize bound = LZ4F_compressBound (0, &self->prefs);

          ret = LZ4F_flush (self->cctx, job_lz4_converter_reserve (self, bound),
                            bound, NULL);
          step.flushed = TRUE;
        }
      else
        break;

      if (LZ4F_isError (ret))
        {
          job_codec_set_error (error, FALSE, "lz4", LZ4F_getErrorName (ret));
          return FALSE;
        }
      self->pending_end += ret;
      if (step.produced == outbuf_size)
        break;
    }

  step.stream_end = self->ended && self->pending_start == self->pending_end;
  step.flushed = step.flushed && self->pending_start == self->pending_end;
  *out_step = step;
  return TRUE;
}

static gboolean
lz4_step (JobCodecConverter  *converter,
          gboolean            decompressing,
          const void         *inbuf,
          gsize               inbuf_size,
          void               *outbuf,
          gsize               outbuf_size,
          GConverterFlags     flags,
          JobCodecStep       *step,
          GError            **error)
{
  JobLz4Converter *self = JOB_LZ4_CONVERTER (converter);

  if (decompressing)
    return decompress (self, inbuf, inbuf_size, outbuf, outbuf_size, step, error);
  return compress (self, inbuf, inbuf_size, outbuf, outbuf_size, flags, step, error);
}

static const JobCodec lz4_codec = {
  "lz4", 0, 12, 0, lz4_start, lz4_step, lz4_end,
};

static void
job_lz4_converter_finalize (GObject *object)
{
  g_free (JOB_LZ4_CONVERTER (object)->pending);

  G_OBJECT_CLASS (job_lz4_converter_parent_class)->finalize (object);
}

static void
job_lz4_converter_class_init (JobLz4ConverterClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = job_lz4_converter_finalize;
  job_codec_converter_class_set_codec (JOB_CODEC_CONVERTER_CLASS (klass), &lz4_codec);
}

static void
job_lz4_converter_init (JobLz4Converter *self)
{
}

/**
 * job_lz4_converter_new:
 * @mode: compress or decompress
 * @level: the compression level, 0 to 12, or
 *   %JOB_COMPRESSION_DEFAULT_LEVEL; ignored when decompressing
 *
 * Creates an LZ4 frame converter.
 *
 * Returns: (transfer full): a new #JobLz4Converter
 */
JobLz4Converter *
job_lz4_converter_new (JobConverterMode mode,
                       int              level)
{
  return g_object_new (JOB_TYPE_LZ4_CONVERTER,
                       "mode", mode,
                       "level", CLAMP (level, -1, 12),
                       NULL);
}
