/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* What one call into a streaming codec library did. */
typedef struct
{
  gsize    consumed;    /* input bytes taken */
  gsize    produced;    /* output bytes written */
  gboolean stream_end;  /* the codec says the stream is complete */
  gboolean flushed;     /* a requested flush is complete */
} JobCodecStep;

GConverterResult job_codec_step_result (const JobCodecStep  *step,
                                        gboolean             decompressing,
                                        gsize                inbuf_size,
                                        gsize                outbuf_size,
                                        GConverterFlags      flags,
                                        const char          *codec_name,
                                        GError             **error);

void             job_codec_set_error   (GError             **error,
                                        gboolean             decompressing,
                                        const char          *codec_name,
                                        const char          *detail);

int              job_codec_clamp_level (const char          *codec_name,
                                        int                  level);

G_END_DECLS
