/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (JOBLIB_GLIB_INSIDE) && !defined (JOBLIB_GLIB_COMPILATION)
# error "Only <joblib-glib.h> can be included directly."
#endif

#include <gio/gio.h>

#include "job-compression.h"
#include "job-version-macros.h"

G_BEGIN_DECLS

/**
 * JOB_PERSIST_FORMAT_VERSION:
 *
 * The version of the file format that [func@Joblib.dump] writes. Loading
 * refuses other versions with [error@Joblib.Error.UNSUPPORTED].
 */
#define JOB_PERSIST_FORMAT_VERSION 1

/**
 * JOB_PERSIST_MAX_DEPTH:
 *
 * The deepest nesting of containers that dump and load accept, the same
 * as GVariant's own limit.
 */
#define JOB_PERSIST_MAX_DEPTH 128

/**
 * JOB_LOAD_MAX_RATIO:
 *
 * How many times its compressed size a compressed file may expand to when
 * it is loaded with a `max_size` of 0, beyond its first
 * %JOB_LOAD_RATIO_ALLOWANCE bytes: the default guard against
 * decompression bombs (a 66 KB file that would fill gigabytes). zlib and
 * gzip never expand more than about 1030 times, LZ4 255 times; zstd, xz,
 * lzma and bzip2 can expand 10 000 times and more, which only data such
 * as large arrays of zeros does. To load such a file, give an explicit
 * `max_size`: it then bounds the size alone.
 */
#define JOB_LOAD_MAX_RATIO 1024

/**
 * JOB_LOAD_RATIO_ALLOWANCE:
 *
 * The decompressed bytes (64 MiB) that a file may produce whatever its
 * compression ratio; see %JOB_LOAD_MAX_RATIO.
 */
#define JOB_LOAD_RATIO_ALLOWANCE (64 * 1024 * 1024)

/**
 * JOB_LOAD_DEFAULT_MAX_HEADER:
 *
 * The largest header (the value without its arrays, 256 MiB) that a load
 * with a `max_size` of 0 accepts. An explicit `max_size` bounds the header
 * too. The header is read in growing pieces, so a file announcing a header
 * larger than what it holds costs no more than what it holds.
 */
#define JOB_LOAD_DEFAULT_MAX_HEADER (256 * 1024 * 1024)

/**
 * JobLoadFlags:
 * @JOB_LOAD_NONE: read the file into memory
 * @JOB_LOAD_MMAP: map an uncompressed file with #GMappedFile and return
 *   arrays as zero-copy views of the mapping, which stays alive as long as
 *   any of them; load time does not depend on the size of the arrays.
 *   Their checksums are not verified (that would read every page). A
 *   compressed file, or a file without a local path, falls back to a normal
 *   load with a warning. As with numpy's memmap, truncating the file while
 *   views exist makes reading them crash with `SIGBUS`.
 *
 * Flags of [func@Joblib.load].
 */
typedef enum /*< flags >*/
{
  JOB_LOAD_NONE = 0,
  JOB_LOAD_MMAP = 1 << 0,
} JobLoadFlags;

JOB_AVAILABLE_IN_ALL
gboolean  job_dump                      (GVariant             *value,
                                         GFile                *file,
                                         JobCompression        compression,
                                         int                   level,
                                         GCancellable         *cancellable,
                                         GError              **error);
JOB_AVAILABLE_IN_ALL
void      job_dump_async                (GVariant             *value,
                                         GFile                *file,
                                         JobCompression        compression,
                                         int                   level,
                                         GCancellable         *cancellable,
                                         GAsyncReadyCallback   callback,
                                         gpointer              user_data);
JOB_AVAILABLE_IN_ALL
gboolean  job_dump_finish               (GAsyncResult         *result,
                                         GError              **error);
JOB_AVAILABLE_IN_ALL
gboolean  job_dump_to_stream            (GVariant             *value,
                                         GOutputStream        *stream,
                                         JobCompression        compression,
                                         int                   level,
                                         GCancellable         *cancellable,
                                         GError              **error);
JOB_AVAILABLE_IN_ALL
void      job_dump_to_stream_async      (GVariant             *value,
                                         GOutputStream        *stream,
                                         JobCompression        compression,
                                         int                   level,
                                         GCancellable         *cancellable,
                                         GAsyncReadyCallback   callback,
                                         gpointer              user_data);
JOB_AVAILABLE_IN_ALL
gboolean  job_dump_to_stream_finish     (GAsyncResult         *result,
                                         GError              **error);
JOB_AVAILABLE_IN_ALL
GVariant *job_load                      (GFile                *file,
                                         JobLoadFlags          flags,
                                         guint64               max_size,
                                         GCancellable         *cancellable,
                                         GError              **error);
JOB_AVAILABLE_IN_ALL
void      job_load_async                (GFile                *file,
                                         JobLoadFlags          flags,
                                         guint64               max_size,
                                         GCancellable         *cancellable,
                                         GAsyncReadyCallback   callback,
                                         gpointer              user_data);
JOB_AVAILABLE_IN_ALL
GVariant *job_load_finish               (GAsyncResult         *result,
                                         GError              **error);
JOB_AVAILABLE_IN_ALL
GVariant *job_load_from_stream          (GInputStream         *stream,
                                         guint64               max_size,
                                         GCancellable         *cancellable,
                                         GError              **error);
JOB_AVAILABLE_IN_ALL
void      job_load_from_stream_async    (GInputStream         *stream,
                                         guint64               max_size,
                                         GCancellable         *cancellable,
                                         GAsyncReadyCallback   callback,
                                         gpointer              user_data);
JOB_AVAILABLE_IN_ALL
GVariant *job_load_from_stream_finish   (GAsyncResult         *result,
                                         GError              **error);

G_END_DECLS
