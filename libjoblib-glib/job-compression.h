/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (JOBLIB_GLIB_INSIDE) && !defined (JOBLIB_GLIB_COMPILATION)
# error "Only <joblib-glib.h> can be included directly."
#endif

#include <gio/gio.h>

#include "job-version-macros.h"

G_BEGIN_DECLS

/**
 * JobCompression:
 * @JOB_COMPRESSION_NONE: no compression
 * @JOB_COMPRESSION_ZLIB: zlib (RFC 1950), as joblib's `"zlib"` (`.z`)
 * @JOB_COMPRESSION_GZIP: gzip (RFC 1952), as joblib's `"gzip"` (`.gz`)
 * @JOB_COMPRESSION_BZ2: bzip2 (`.bz2`)
 * @JOB_COMPRESSION_LZMA: the legacy `.lzma` ("LZMA alone") format
 * @JOB_COMPRESSION_XZ: the xz container (`.xz`)
 * @JOB_COMPRESSION_LZ4: the LZ4 frame format (`.lz4`)
 * @JOB_COMPRESSION_ZSTD: Zstandard (`.zst`)
 * @JOB_COMPRESSION_AUTO: choose from the file name extension, as
 *   [func@Joblib.Compression.from_filename]; no compression when there is
 *   no file name or no known extension
 *
 * The compression methods of [func@Joblib.dump]. The files they write are
 * the standard formats of each codec, so the command-line tools (`gzip -d`,
 * `zstd -d`…) can decompress them.
 */
typedef enum
{
  JOB_COMPRESSION_NONE,
  JOB_COMPRESSION_ZLIB,
  JOB_COMPRESSION_GZIP,
  JOB_COMPRESSION_BZ2,
  JOB_COMPRESSION_LZMA,
  JOB_COMPRESSION_XZ,
  JOB_COMPRESSION_LZ4,
  JOB_COMPRESSION_ZSTD,
  JOB_COMPRESSION_AUTO,
} JobCompression;

/**
 * JOB_COMPRESSION_DEFAULT_LEVEL:
 *
 * Passed as a level, selects the default level of the codec (the level
 * joblib uses for it, 3 for most).
 */
#define JOB_COMPRESSION_DEFAULT_LEVEL (-1)

JOB_AVAILABLE_IN_ALL
const char     *job_compression_get_name          (JobCompression   compression);
JOB_AVAILABLE_IN_ALL
gboolean        job_compression_from_name         (const char      *name,
                                                   JobCompression  *compression);
JOB_AVAILABLE_IN_ALL
gboolean        job_compression_parse             (const char      *spec,
                                                   JobCompression  *compression,
                                                   int             *level,
                                                   GError         **error);
JOB_AVAILABLE_IN_ALL
JobCompression  job_compression_from_filename     (const char      *filename);
JOB_AVAILABLE_IN_ALL
JobCompression  job_compression_detect            (const guint8    *data,
                                                   gsize            size);
JOB_AVAILABLE_IN_ALL
gboolean        job_compression_get_level_range   (JobCompression   compression,
                                                   int             *min_level,
                                                   int             *max_level,
                                                   int             *default_level);
JOB_AVAILABLE_IN_ALL
GConverter     *job_compression_new_compressor    (JobCompression   compression,
                                                   int              level,
                                                   GError         **error);
JOB_AVAILABLE_IN_ALL
GConverter     *job_compression_new_decompressor  (JobCompression   compression,
                                                   GError         **error);

G_END_DECLS
