/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "job-file-format.h"
#include "job-persist-private.h"
#include "job-pickle-private.h"

/**
 * job_file_format_detect:
 * @file: the file to look at
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Reads the first bytes of @file, decompressed when they are compressed
 * with one of the [enum@Joblib.Compression] codecs, and says which of the
 * formats that [func@Joblib.load] reads it holds. Only the start is
 * looked at: the file may still be truncated or corrupt after it. This
 * is how a program tells a file written by Python's joblib, whose values
 * follow the mapping of the "joblib files" documentation page, from one
 * written by [func@Joblib.dump].
 *
 * This function blocks; it may be called from any thread.
 *
 * Returns: the format; %JOB_FILE_FORMAT_UNKNOWN with @error set when the
 *   file cannot be read, without when it holds something else (a file too
 *   short to tell, data that fails to decompress)
 */
JobFileFormat
job_file_format_detect (GFile        *file,
                        GCancellable *cancellable,
                        GError      **error)
{
  g_autoptr (GFileInputStream) stream = NULL;
  g_autoptr (GInputStream)     decoded = NULL;
  guint8                       head[JOB_PERSIST_MAGIC_SIZE];
  gsize                        n_read = 0;

  g_return_val_if_fail (G_IS_FILE (file), JOB_FILE_FORMAT_UNKNOWN);
  g_return_val_if_fail (error == NULL || *error == NULL, JOB_FILE_FORMAT_UNKNOWN);

  stream = g_file_read (file, cancellable, error);
  if (stream == NULL)
    return JOB_FILE_FORMAT_UNKNOWN;
  decoded = job_persist_open_decoded (G_INPUT_STREAM (stream), 0, NULL, cancellable, error);
  if (decoded == NULL)
    return JOB_FILE_FORMAT_UNKNOWN;
  /* A decoder's complaint means "not one of ours", not an I/O error. */
  if (!g_input_stream_read_all (decoded, head, sizeof head, &n_read, cancellable, NULL))
    return JOB_FILE_FORMAT_UNKNOWN;
  if (job_pickle_is_pickle (head, n_read))
    return JOB_FILE_FORMAT_JOBLIB;
  if (n_read == sizeof head && memcmp (head, JOB_PERSIST_MAGIC, JOB_PERSIST_MAGIC_SIZE) == 0)
    return JOB_FILE_FORMAT_JOBLIB_GLIB;
  return JOB_FILE_FORMAT_UNKNOWN;
}
