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
