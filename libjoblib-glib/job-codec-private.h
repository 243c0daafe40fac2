/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "job-codec-converter.h"

G_BEGIN_DECLS

/* What one call into a streaming codec library did. */
typedef struct
{
  gsize    consumed;    /* input bytes taken */
  gsize    produced;    /* output bytes written */
  gboolean stream_end;  /* the codec says the stream is complete */
  gboolean flushed;     /* a requested flush is complete */
} JobCodecStep;

/*
 * A codec of JobCodecConverter: its name (in messages), its level range,
 * and the three calls into its library. JobCodecConverter implements
 * GConverter around them (start on the first conversion, one step per
 * convert(), end on reset and finalize), so that a codec class holds
 * only its library calls. Each subclass sets one in its class_init with
 * job_codec_converter_class_set_codec().
 *
 * @start: makes the library's stream state for the direction, at @level
 *   (already clamped to the range; unused when decompressing)
 * @step: one call into the library; fills @step; an error of the library
 *   is reported with job_codec_set_error()
 * @end: frees the library's stream state (only called after a start)
 * @instance_name: (nullable) the name of one converter in messages, when
 *   it is not @name
 */
typedef struct
{
  const char *name;
  int         min_level;
  int         max_level;
  int         default_level;
  gboolean  (*start) (JobCodecConverter  *self,
                      gboolean            decompressing,
                      int                 level,
                      GError            **error);
  gboolean  (*step)  (JobCodecConverter  *self,
                      gboolean            decompressing,
                      const void         *inbuf,
                      gsize               inbuf_size,
                      void               *outbuf,
                      gsize               outbuf_size,
                      GConverterFlags     flags,
                      JobCodecStep       *step,
                      GError            **error);
  void      (*end)   (JobCodecConverter  *self,
                      gboolean            decompressing);
  const char *(*instance_name) (JobCodecConverter *self);
} JobCodec;

void            job_codec_converter_class_set_codec (JobCodecConverterClass  *klass,
                                                     const JobCodec          *codec);
/* The codec of a JobCodecConverter subclass. */
const JobCodec *job_codec_converter_type_get_codec  (GType                    type);

/* Whether a compressor writes its frame format's checksum of the content
 * (lz4, zstd; on by default). A caller that checksums every byte it
 * reads back itself, as the dump format does, turns it off: the same
 * bytes need not be hashed twice per load. Set before the first
 * conversion. Decompressors check a checksum wherever a frame has one. */
void            job_codec_converter_set_frame_checksum (JobCodecConverter *self,
                                                        gboolean           checksum);
gboolean        job_codec_converter_get_frame_checksum (JobCodecConverter *self);

void            job_codec_set_error                 (GError                 **error,
                                                     gboolean                 decompressing,
                                                     const char              *codec_name,
                                                     const char              *detail);

G_END_DECLS
