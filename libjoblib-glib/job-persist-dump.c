/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-codec-private.h"
#include "job-cpu.h"
#include "job-error.h"
#include "job-i18n-private.h"
#include "job-persist-private.h"
#include "job-persist-zstd-private.h"
#include "job-zstd-converter.h"

/* From this size on a zstd dump is written as independent frames,
 * compressed on every CPU (and decoded on every CPU by a load): below
 * it, starting threads costs more than they save (a Memory entry is
 * often a few bytes). */
#define ZSTD_THREADED_MIN_SIZE (8 * 1024 * 1024)

/* Large buffers go to the stream in pieces this big, so that a
 * compressing stream never holds more than one piece's output. */
#define WRITE_CHUNK (1024 * 1024)

static const guint8 zeros[JOB_PERSIST_ALIGNMENT];

static gboolean
write_chunked (GOutputStream  *stream,
               const guint8   *data,
               gsize           size,
               GCancellable   *cancellable,
               GError        **error)
{
  while (size > 0)
    {
      gsize n = MIN (size, WRITE_CHUNK);

      if (!g_output_stream_write_all (stream, data, n, NULL, cancellable, error))
        return FALSE;
      data += n;
      size -= n;
    }
  return TRUE;
}

/* Writes the file format to @stream, uncompressed. */
static gboolean
write_value (GVariant       *value,
             GOutputStream  *stream,
             GCancellable   *cancellable,
             GError        **error)
{
  g_autoptr(GPtrArray) externals = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  g_autoptr(GBytes) header = NULL;
  guint64 offset;

  header = job_persist_encode (value, externals, error);
  if (header == NULL)
    return FALSE;

  if (!write_chunked (stream, g_bytes_get_data (header, NULL),
                      g_bytes_get_size (header), cancellable, error))
    return FALSE;
  offset = g_bytes_get_size (header);

  for (guint i = 0; i < externals->len; i++)
    {
      GVariant *array = externals->pdata[i];
      guint64 aligned = job_persist_align (offset);

      if (!g_output_stream_write_all (stream, zeros, aligned - offset, NULL,
                                      cancellable, error) ||
          !write_chunked (stream, g_variant_get_data (array),
                          g_variant_get_size (array), cancellable, error))
        return FALSE;
      offset = aligned + g_variant_get_size (array);
    }
  return TRUE;
}

/* A large zstd dump: independent frames, compressed on every CPU. */
static gboolean
write_zstd_frames (GVariant       *value,
                   GOutputStream  *stream,
                   int             level,
                   GCancellable   *cancellable,
                   GError        **error)
{
  g_autoptr(GPtrArray) externals = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  g_autoptr(GBytes) header = NULL;
  int default_level;

  header = job_persist_encode (value, externals, error);
  if (header == NULL)
    return FALSE;
  job_compression_get_level_range (JOB_COMPRESSION_ZSTD, NULL, NULL, &default_level);
  return job_persist_zstd_write (stream, header, externals,
                                 level == JOB_COMPRESSION_DEFAULT_LEVEL ? default_level : level,
                                 (guint) MIN (job_cpu_count (), JOB_ZSTD_CONVERTER_MAX_WORKERS),
                                 cancellable, error);
}

/**
 * job_dump_to_stream:
 * @value: the value to store (a floating reference is sunk): any
 *   #GVariant, typically a tuple or `a{sv}` holding arrays (see
 *   [method@Joblib.Array.to_variant]), strings and numbers
 * @stream: where to write; it is flushed but not closed
 * @compression: the codec; %JOB_COMPRESSION_AUTO means none here, as a
 *   stream has no file name
 * @level: the codec's level, or %JOB_COMPRESSION_DEFAULT_LEVEL
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Writes @value to @stream in the format [func@Joblib.load_from_stream]
 * reads. Arrays of fixed-size elements (byte arrays, `ad`, the data of a
 * [struct@Joblib.Array]…) are written straight from their buffers: no
 * second copy of the data is made, compressed or not, and a compressing
 * dump holds at most about one megabyte of compressed output. A zstd
 * dump of 8 MiB or more is written as independent frames of 2 MiB,
 * compressed on as many threads as there are CPUs
 * ([func@Joblib.cpu_count]) and decoded on as many by a load; any zstd
 * decoder reads them as one stream.
 *
 * This function blocks; it may be called from any thread, but @value and
 * @stream must not be used elsewhere at the same time.
 *
 * Returns: %TRUE on success; %FALSE with @error set, for example
 *   [error@Joblib.Error.TOO_LARGE] for a value nested deeper than
 *   %JOB_PERSIST_MAX_DEPTH or [error@Joblib.Error.INVALID_ARGUMENT] for a
 *   bad level
 */
gboolean
job_dump_to_stream (GVariant       *value,
                    GOutputStream  *stream,
                    JobCompression  compression,
                    int             level,
                    GCancellable   *cancellable,
                    GError        **error)
{
  g_autoptr(GVariant) owned = NULL;
  g_autoptr(GConverter) compressor = NULL;
  g_autoptr(GOutputStream) converter_stream = NULL;

  g_return_val_if_fail (value != NULL, FALSE);
  g_return_val_if_fail (G_IS_OUTPUT_STREAM (stream), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  owned = g_variant_ref_sink (value);

  if (compression == JOB_COMPRESSION_NONE || compression == JOB_COMPRESSION_AUTO)
    {
      gboolean handled;
      gboolean ok = job_persist_file_write (value, stream, &handled, cancellable, error);

      if (!handled)
        ok = write_value (value, stream, cancellable, error);
      return ok && g_output_stream_flush (stream, cancellable, error);
    }

  compressor = job_compression_new_compressor (compression, level, error);
  if (compressor == NULL)
    return FALSE;
  /* The format checksums its header and every stored array (xxh3), and
   * a load checks both: a frame checksum over the same bytes would only
   * hash them a second time. The codecs' own framing checks stay. */
  if (JOB_IS_CODEC_CONVERTER (compressor))
    job_codec_converter_set_frame_checksum (JOB_CODEC_CONVERTER (compressor), FALSE);
  if (JOB_IS_ZSTD_CONVERTER (compressor) && g_variant_get_size (value) >= ZSTD_THREADED_MIN_SIZE)
    return write_zstd_frames (value, stream, level, cancellable, error) &&
           g_output_stream_flush (stream, cancellable, error);
  converter_stream = g_converter_output_stream_new (stream, compressor);
  g_filter_output_stream_set_close_base_stream (G_FILTER_OUTPUT_STREAM (converter_stream),
                                                FALSE);
  /* Closing the converter stream writes the codec's end of stream. */
  return write_value (value, converter_stream, cancellable, error) &&
         g_output_stream_close (converter_stream, cancellable, error) &&
         g_output_stream_flush (stream, cancellable, error);
}

/**
 * job_dump:
 * @value: the value to store (a floating reference is sunk)
 * @file: the file to write; it is replaced atomically when it exists
 * @compression: the codec, or %JOB_COMPRESSION_AUTO to choose from the
 *   file name's extension ([func@Joblib.Compression.from_filename])
 * @level: the codec's level, or %JOB_COMPRESSION_DEFAULT_LEVEL
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Stores @value in @file, as joblib's `dump(value, filename, compress)`;
 * see [func@Joblib.dump_to_stream]. On failure an existing @file is left
 * as it was and a new one is removed.
 *
 * This function blocks; it may be called from any thread.
 *
 * Returns: %TRUE on success; %FALSE with @error set
 */
gboolean
job_dump (GVariant        *value,
          GFile           *file,
          JobCompression   compression,
          int              level,
          GCancellable    *cancellable,
          GError         **error)
{
  g_autoptr(GVariant) owned = NULL;
  g_autoptr(GFileOutputStream) stream = NULL;
  g_autoptr(GCancellable) abort = NULL;
  g_autofree char *basename = NULL;
  gboolean existed;

  g_return_val_if_fail (value != NULL, FALSE);
  g_return_val_if_fail (G_IS_FILE (file), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  owned = g_variant_ref_sink (value);

  if (compression == JOB_COMPRESSION_AUTO)
    {
      basename = g_file_get_basename (file);
      compression = basename ? job_compression_from_filename (basename)
                             : JOB_COMPRESSION_NONE;
    }

  existed = g_file_query_exists (file, cancellable);
  stream = g_file_replace (file, NULL, FALSE, G_FILE_CREATE_NONE, cancellable, error);
  if (stream == NULL)
    return FALSE;

  if (job_dump_to_stream (value, G_OUTPUT_STREAM (stream), compression, level,
                          cancellable, error) &&
      g_output_stream_close (G_OUTPUT_STREAM (stream), cancellable, error))
    return TRUE;

  /* A cancelled close makes g_file_replace() drop its temporary file and
   * leave the old contents in place. */
  abort = g_cancellable_new ();
  g_cancellable_cancel (abort);
  g_output_stream_close (G_OUTPUT_STREAM (stream), abort, NULL);
  if (!existed)
    g_file_delete (file, NULL, NULL);
  return FALSE;
}

typedef struct
{
  GVariant       *value;   /* (owned) */
  GObject        *target;  /* (owned) GFile or GOutputStream */
  JobCompression  compression;
  int             level;
} DumpData;

static void
dump_data_free (DumpData *data)
{
  g_variant_unref (data->value);
  g_object_unref (data->target);
  g_free (data);
}

static void
dump_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  DumpData *data = task_data;
  GError *error = NULL;
  gboolean ok;

  if (G_IS_FILE (data->target))
    ok = job_dump (data->value, G_FILE (data->target), data->compression,
                   data->level, cancellable, &error);
  else
    ok = job_dump_to_stream (data->value, G_OUTPUT_STREAM (data->target),
                             data->compression, data->level, cancellable, &error);
  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
dump_async (GVariant            *value,
            GObject             *target,
            JobCompression       compression,
            int                  level,
            GCancellable        *cancellable,
            GAsyncReadyCallback  callback,
            gpointer             user_data,
            gpointer             source_tag)
{
  g_autoptr(GTask) task = NULL;
  DumpData *data;

  data = g_new0 (DumpData, 1);
  data->value = g_variant_ref_sink (value);
  data->target = g_object_ref (target);
  data->compression = compression;
  data->level = level;

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, data, (GDestroyNotify) dump_data_free);
  g_task_run_in_thread (task, dump_thread);
}

/**
 * job_dump_async:
 * @value: the value to store (a floating reference is sunk)
 * @file: the file to write
 * @compression: the codec, or %JOB_COMPRESSION_AUTO
 * @level: the codec's level, or %JOB_COMPRESSION_DEFAULT_LEVEL
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the dump is done
 * @user_data: (closure): data for @callback
 *
 * Runs [func@Joblib.dump] in a GIO worker thread. @callback runs in the
 * thread-default main context of the caller; call
 * [func@Joblib.dump_finish] there. @value must not change meanwhile
 * (GVariants are immutable; the buffers of arrays must stay untouched).
 */
void
job_dump_async (GVariant            *value,
                GFile               *file,
                JobCompression       compression,
                int                  level,
                GCancellable        *cancellable,
                GAsyncReadyCallback  callback,
                gpointer             user_data)
{
  g_return_if_fail (value != NULL);
  g_return_if_fail (G_IS_FILE (file));

  dump_async (value, G_OBJECT (file), compression, level, cancellable,
              callback, user_data, job_dump_async);
}

/**
 * job_dump_finish:
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [func@Joblib.dump_async].
 *
 * Returns: %TRUE on success; %FALSE with @error set
 */
gboolean
job_dump_finish (GAsyncResult  *result,
                 GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == job_dump_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * job_dump_to_stream_async:
 * @value: the value to store (a floating reference is sunk)
 * @stream: where to write
 * @compression: the codec
 * @level: the codec's level, or %JOB_COMPRESSION_DEFAULT_LEVEL
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the dump is done
 * @user_data: (closure): data for @callback
 *
 * Runs [func@Joblib.dump_to_stream] in a GIO worker thread. @callback runs
 * in the thread-default main context of the caller; call
 * [func@Joblib.dump_to_stream_finish] there. Do not use @stream meanwhile.
 */
void
job_dump_to_stream_async (GVariant            *value,
                          GOutputStream       *stream,
                          JobCompression       compression,
                          int                  level,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_return_if_fail (value != NULL);
  g_return_if_fail (G_IS_OUTPUT_STREAM (stream));

  dump_async (value, G_OBJECT (stream), compression, level, cancellable,
              callback, user_data, job_dump_to_stream_async);
}

/**
 * job_dump_to_stream_finish:
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [func@Joblib.dump_to_stream_async].
 *
 * Returns: %TRUE on success; %FALSE with @error set
 */
gboolean
job_dump_to_stream_finish (GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == job_dump_to_stream_async,
                        FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
