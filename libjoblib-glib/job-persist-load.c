/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "job-bounded-converter-private.h"
#include "job-error.h"
#include "job-i18n-private.h"
#include "job-persist-buffer-private.h"
#include "job-persist-private.h"
#include "job-persist-zstd-private.h"
#include "job-pickle-private.h"
#include "job-xxhash-private.h"

/* Reads exactly @size bytes; a short read means the file is truncated,
 * and the codecs' complaints become JOB_ERROR_INVALID_DATA. */
static gboolean
read_exact (GInputStream  *stream,
            void          *buffer,
            gsize          size,
            GCancellable  *cancellable,
            GError       **error)
{
  GError *local_error = NULL;
  gsize n_read = 0;

  if (g_input_stream_read_all (stream, buffer, size, &n_read, cancellable, &local_error) &&
      n_read == size)
    return TRUE;

  return job_persist_read_failed (error, local_error);
}

static gboolean
skip_padding (GInputStream  *stream,
              gsize          size,
              GCancellable  *cancellable,
              GError       **error)
{
  guint8 padding[JOB_PERSIST_ALIGNMENT];

  g_assert (size < sizeof padding);
  return read_exact (stream, padding, size, cancellable, error);
}

static gboolean
check_max_size (JobPersistLayout  *layout,
                guint64            max_size,
                GError           **error)
{
  if (max_size == 0)
    max_size = job_persist_default_max_size ();
  if (layout->data_end <= max_size)
    return TRUE;
  g_set_error (error, JOB_ERROR, JOB_ERROR_TOO_LARGE,
               _("The value needs %" PRIu64 " bytes, more than the "
                 "limit of %" PRIu64),
               layout->data_end, max_size);
  return FALSE;
}

/* The header bound: @max_size when given, else JOB_LOAD_DEFAULT_MAX_HEADER. */
static gboolean
check_header_size (guint64   header_size,
                   guint64   max_size,
                   GError  **error)
{
  guint64 limit = max_size != 0 ? max_size : JOB_LOAD_DEFAULT_MAX_HEADER;

  if (header_size <= limit)
    return TRUE;
  g_set_error (error, JOB_ERROR, JOB_ERROR_TOO_LARGE,
               _("The header needs %" PRIu64 " bytes, more than the "
                 "limit of %" PRIu64),
               header_size, limit);
  return FALSE;
}

/* Wraps @base in the decompressor its first bytes call for. Without an
 * explicit @max_size, the decompressor is bounded by the physical memory
 * and by JOB_LOAD_MAX_RATIO; with one, the layout checks bound it.
 * *@out_raw_peeked: how many of the first JOB_PERSIST_MAGIC_SIZE bytes
 * @base held (fewer only when it ends there). */
GInputStream *
job_persist_open_decoded (GInputStream  *base,
                          guint64        max_size,
                          gsize         *out_raw_peeked,
                          GCancellable  *cancellable,
                          GError       **error)
{
  g_autoptr(GInputStream) buffered = NULL;
  g_autoptr(GConverter) decompressor = NULL;
  JobCompression compression;
  const guint8 *peek;
  gsize available;

  /* The caller keeps its stream: closing ours must not close it. */
  buffered = g_buffered_input_stream_new_sized (base, 256 * 1024);
  g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (buffered), FALSE);
  if (g_buffered_input_stream_fill (G_BUFFERED_INPUT_STREAM (buffered),
                                    JOB_PERSIST_MAGIC_SIZE, cancellable, error) < 0)
    return NULL;
  peek = g_buffered_input_stream_peek_buffer (G_BUFFERED_INPUT_STREAM (buffered), &available);
  if (out_raw_peeked != NULL)
    *out_raw_peeked = MIN (available, JOB_PERSIST_MAGIC_SIZE);
  compression = job_compression_detect (peek, available);
  if (compression == JOB_COMPRESSION_NONE)
    return g_steal_pointer (&buffered);

  decompressor = job_compression_new_decompressor (compression, error);
  if (decompressor == NULL)
    return NULL;
  if (max_size == 0)
    {
      GConverter *bounded = job_bounded_converter_new (decompressor,
                                                       job_persist_default_max_size (),
                                                       JOB_LOAD_MAX_RATIO,
                                                       JOB_LOAD_RATIO_ALLOWANCE);

      g_object_unref (decompressor);
      decompressor = bounded;
    }
  return g_converter_input_stream_new (buffered, decompressor);
}

/* Arrays are read in pieces, each hashed as soon as it is read, while it
 * is still in the CPU's cache: hashing the whole array afterwards read
 * it from memory a second time. The pieces also bound what
 * GConverterInputStream reads ahead into a buffer of its own (one read of
 * 80 MiB would cost a second 80 MiB of memory and its page faults); they
 * are larger than the buffer of job_persist_open_decoded(), so that
 * GBufferedInputStream reads them straight into the array. */
#define ARRAY_PIECE_SIZE (1024 * 1024)

static gboolean
read_array_data (GInputStream  *stream,
                 guint8        *buffer,
                 guint64        size,
                 guint64       *checksum,
                 GCancellable  *cancellable,
                 GError       **error)
{
  XXH3_state_t *state = XXH3_createState ();
  guint64 done = 0;

  g_assert (state != NULL);
  XXH3_64bits_reset (state);
  while (done < size)
    {
      gsize piece = (gsize) MIN (size - done, ARRAY_PIECE_SIZE);

      if (!read_exact (stream, buffer + done, piece, cancellable, error))
        {
          XXH3_freeState (state);
          return FALSE;
        }
      XXH3_64bits_update (state, buffer + done, piece);
      done += piece;
    }
  *checksum = XXH3_64bits_digest (state);
  XXH3_freeState (state);
  return TRUE;
}

static GBytes *
read_array (GInputStream     *stream,
            JobPersistEntry  *entry,
            GCancellable     *cancellable,
            GError          **error)
{
  gpointer mapping = NULL;
  guint64 checksum;
  guint8 *buffer;

  if (entry->size == 0)
    return g_bytes_new (NULL, 0);

  buffer = entry->size <= G_MAXSIZE ? job_persist_buffer_alloc (entry->size, &mapping) : NULL;
  if (buffer == NULL)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_TOO_LARGE,
                   _("Cannot allocate %" PRIu64 " bytes for an array"),
                   entry->size);
      return NULL;
    }
  if (!read_array_data (stream, buffer, entry->size, &checksum, cancellable, error))
    goto failed;
  if (checksum != entry->checksum)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_DATA,
                   _("An array at offset %" PRIu64 " fails its checksum"),
                   entry->offset);
      goto failed;
    }
  return job_persist_buffer_take (buffer, entry->size, mapping);

failed:
  job_persist_buffer_free (buffer, mapping);
  return NULL;
}

/* A compressed stream must end where the value ends: reading on makes the
 * codec check its own trailer (CRC, frame checksum), so a cut there is
 * noticed too. An uncompressed stream may go on: the caller's business. */
static gboolean
check_end (GInputStream  *stream,
           GCancellable  *cancellable,
           GError       **error)
{
  GError *local_error = NULL;
  guint8 extra;
  gssize n;

  if (!G_IS_CONVERTER_INPUT_STREAM (stream))
    return TRUE;
  n = g_input_stream_read (stream, &extra, 1, cancellable, &local_error);
  if (n == 0)
    return TRUE;
  if (n > 0)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_DATA,
                   _("Unexpected data after the end of the value"));
      return FALSE;
    }
  return job_persist_read_failed (error, local_error);
}

static void
free_buffers (GBytes **buffers,
              guint    n)
{
  for (guint i = 0; i < n; i++)
    g_clear_pointer (&buffers[i], g_bytes_unref);
  g_free (buffers);
}

/* The header's first piece; it grows by doubling as its bytes arrive. */
#define HEADER_FIRST_PIECE (1024 * 1024)

/* Reads a header of @size bytes into a buffer that grows with what the
 * stream really holds: a file announcing a huge header but holding a few
 * bytes costs a few bytes. */
static GBytes *
read_header (GInputStream  *stream,
             guint64        size,
             GCancellable  *cancellable,
             GError       **error)
{
  g_autofree guint8 *data = NULL;
  gsize capacity = 0;
  gsize done = 0;

  while (done < size || capacity == 0)
    {
      gsize want = (gsize) MIN (size, MAX ((guint64) capacity * 2, HEADER_FIRST_PIECE));
      guint8 *grown;

      want = MAX (want, 1);
      grown = g_try_realloc (data, want);
      if (grown == NULL)
        {
          g_set_error (error, JOB_ERROR, JOB_ERROR_TOO_LARGE,
                       _("Cannot allocate %" PRIu64 " bytes for the header"),
                       size);
          return NULL;
        }
      data = grown;
      capacity = want;
      if (!read_exact (stream, data + done, MIN (capacity, size) - done, cancellable, error))
        return NULL;
      done = MIN (capacity, size);
    }
  return g_bytes_new_take (g_steal_pointer (&data), size);
}

/* @head: the first JOB_PERSIST_HEAD_SIZE bytes, already read: the magic */
static GVariant *
load_decoded (GInputStream  *stream,
              const guint8  *head,
              guint64        max_size,
              GCancellable  *cancellable,
              GError       **error)
{
  guint8 preamble[JOB_PERSIST_PREAMBLE_SIZE];
  g_autoptr(JobPersistLayout) layout = NULL;
  g_autoptr(GBytes) header = NULL;
  guint64 header_size, header_checksum, offset;
  GBytes **buffers;
  GVariant *value = NULL;
  guint i;

  memcpy (preamble, head, JOB_PERSIST_HEAD_SIZE);
  if (!read_exact (stream, preamble + JOB_PERSIST_HEAD_SIZE,
                   sizeof preamble - JOB_PERSIST_HEAD_SIZE, cancellable, error) ||
      !job_persist_parse_preamble (preamble, &header_size, &header_checksum, error))
    return NULL;

  if (!check_header_size (header_size, max_size, error))
    return NULL;
  header = read_header (stream, header_size, cancellable, error);
  if (header == NULL)
    return NULL;
  layout = job_persist_parse_header (header, header_checksum, error);
  if (layout == NULL || !check_max_size (layout, max_size, error))
    return NULL;

  buffers = g_new0 (GBytes *, layout->entries->len + 1);
  offset = JOB_PERSIST_PREAMBLE_SIZE + header_size;
  for (i = 0; i < layout->entries->len; i++)
    {
      JobPersistEntry *entry = &g_array_index (layout->entries, JobPersistEntry, i);

      if (!skip_padding (stream, entry->offset - offset, cancellable, error))
        break;
      buffers[i] = read_array (stream, entry, cancellable, error);
      if (buffers[i] == NULL)
        break;
      offset = entry->offset + entry->size;
    }
  if (i == layout->entries->len && check_end (stream, cancellable, error))
    value = job_persist_rebuild (layout, buffers, error);
  free_buffers (buffers, layout->entries->len);
  return value;
}

/**
 * job_load_from_stream:
 * @stream: the stream to read, positioned at the start of a dump
 * @max_size: the largest uncompressed size to accept, in bytes, or 0 for
 *   the default bounds (below)
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Reads a value written by [func@Joblib.dump_to_stream] or
 * [func@Joblib.dump], or a file written by Python's `joblib.dump`
 * (a pickle: only the standard values and numpy arrays that it holds are
 * rebuilt, never any code; see [func@Joblib.FileFormat.detect] and the
 * "joblib files" documentation page for the mapping to #GVariant). The
 * compression is recognized by its magic bytes
 * ([func@Joblib.Compression.detect]). A joblib file is read ahead: do not
 * read on from @stream after it.
 *
 * Loading is safe on untrusted input: it runs no code, checks every
 * checksum and size before use, and reports bad input as
 * [error@Joblib.Error.INVALID_DATA] (wrong magic, truncated, corrupt,
 * failed checksum, malformed header), [error@Joblib.Error.UNSUPPORTED]
 * (another format version) or [error@Joblib.Error.TOO_LARGE] (more than
 * @max_size bytes, or nesting deeper than %JOB_PERSIST_MAX_DEPTH).
 *
 * With a @max_size of 0 the bounds are those a hostile file cannot push:
 * the whole value at most the physical memory, its header at most
 * %JOB_LOAD_DEFAULT_MAX_HEADER, and a compressed stream may not expand more
 * than %JOB_LOAD_MAX_RATIO times its compressed size beyond its first
 * %JOB_LOAD_RATIO_ALLOWANCE bytes; so a small file can never make the load
 * fill much memory before a checksum fails. A file that really expands
 * more (large arrays of zeros compressed with zstd, xz or bzip2) loads
 * with an explicit @max_size, which then is the only bound.
 *
 * This function blocks; it may be called from any thread, but @stream
 * must not be used elsewhere at the same time. It does not close @stream.
 *
 * Returns: (transfer full): the value, or %NULL with @error set
 */
GVariant *
job_load_from_stream (GInputStream  *stream,
                      guint64        max_size,
                      GCancellable  *cancellable,
                      GError       **error)
{
  g_autoptr(GInputStream) decoded = NULL;
  guint8 head[JOB_PERSIST_HEAD_SIZE];
  GError *local_error = NULL;
  gsize raw_size = 0, n_read = 0;

  g_return_val_if_fail (G_IS_INPUT_STREAM (stream), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* An uncompressed dump in a local file: read straight into place. A
   * large zstd dump in a local file: decoded on every CPU. */
  {
    gboolean handled;
    GVariant *value = job_persist_file_load (stream, max_size, &handled, cancellable, error);

    if (handled)
      return value;
    value = job_persist_zstd_load (stream, max_size, &handled, cancellable, error);
    if (handled)
      return value;
  }

  decoded = job_persist_open_decoded (stream, max_size, &raw_size, cancellable, error);
  if (decoded == NULL)
    return NULL;
  if (raw_size < JOB_PERSIST_MIN_FILE_SIZE)
    {
      job_persist_error_too_short (error, raw_size);
      return NULL;
    }
  /* Only the end of the data may cut the head short: what is there tells
   * a cut dump from other bytes. */
  if (!g_input_stream_read_all (decoded, head, sizeof head, &n_read, cancellable, &local_error))
    {
      job_persist_read_failed (error, local_error);
      return NULL;
    }
  switch (job_persist_classify_head (head, n_read))
    {
    case JOB_PERSIST_HEAD_PICKLE:
      {
        g_autoptr(GVariant) value = job_pickle_load_stream (decoded, head, n_read, max_size,
                                                            cancellable, error);

        /* Compressed, it must end there too: the codec's trailer (CRC,
         * checksum) is checked, and a cut in it is "truncated". */
        if (value == NULL || !check_end (decoded, cancellable, error))
          return NULL;
        return g_steal_pointer (&value);
      }
    case JOB_PERSIST_HEAD_JOBLIB_GLIB:
      return load_decoded (decoded, head, max_size, cancellable, error);
    case JOB_PERSIST_HEAD_PARTIAL:
      job_persist_error_truncated (error);
      return NULL;
    case JOB_PERSIST_HEAD_UNKNOWN:
    default:
      job_persist_error_not_a_dump (error);
      return NULL;
    }
}

/* A whole uncompressed dump already in memory, such as a small cache
 * output read in one call: the checks of load_decoded() (array
 * checksums included) without its stream objects, which cost a small
 * load more than the parsing. @contents starts with our magic. */
GVariant *
job_persist_load_bytes (GBytes   *contents,
                        guint64   max_size,
                        GError  **error)
{
  g_autoptr(JobPersistLayout) layout = NULL;
  g_autoptr(GBytes) header = NULL;
  guint64 header_size, header_checksum;
  const guint8 *data;
  gsize length;
  GBytes **buffers;
  GVariant *value = NULL;
  guint i;

  data = g_bytes_get_data (contents, &length);
  if (length < JOB_PERSIST_PREAMBLE_SIZE)
    {
      job_persist_error_truncated (error);
      return NULL;
    }
  if (!job_persist_parse_preamble (data, &header_size, &header_checksum, error) ||
      !check_header_size (header_size, max_size, error))
    return NULL;
  if (header_size > length - JOB_PERSIST_PREAMBLE_SIZE)
    {
      job_persist_error_truncated (error);
      return NULL;
    }

  header = g_bytes_new_from_bytes (contents, JOB_PERSIST_PREAMBLE_SIZE, header_size);
  layout = job_persist_parse_header (header, header_checksum, error);
  if (layout == NULL || !check_max_size (layout, max_size, error))
    return NULL;
  if (layout->data_end > length)
    {
      job_persist_error_truncated (error);
      return NULL;
    }

  buffers = g_new0 (GBytes *, layout->entries->len + 1);
  for (i = 0; i < layout->entries->len; i++)
    {
      JobPersistEntry *entry = &g_array_index (layout->entries, JobPersistEntry, i);

      if (job_persist_checksum (data + entry->offset, entry->size) != entry->checksum)
        {
          g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_DATA,
                       _("An array at offset %" PRIu64 " fails its checksum"),
                       entry->offset);
          break;
        }
      buffers[i] = g_bytes_new_from_bytes (contents, entry->offset, entry->size);
    }
  if (i == layout->entries->len)
    value = job_persist_rebuild (layout, buffers, error);
  free_buffers (buffers, layout->entries->len);
  return value;
}

/**
 * job_load:
 * @file: the file to read
 * @flags: %JOB_LOAD_MMAP to map an uncompressed file instead of reading it
 * @max_size: the largest uncompressed size to accept, in bytes, or 0 for
 *   the default bounds of [func@Joblib.load_from_stream]; with
 *   %JOB_LOAD_MMAP mapped arrays do not count
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Loads a value stored by [func@Joblib.dump] or by Python's `joblib.dump`,
 * as joblib's `load(filename, mmap_mode="r")`, whatever the file is
 * called; with %JOB_LOAD_MMAP the numpy arrays of an uncompressed joblib
 * file are views of the mapping too (joblib's own rule: not object
 * arrays, and a copy when the byte order must change); see
 * [func@Joblib.load_from_stream] for the checks made on the way.
 *
 * This function blocks; it may be called from any thread.
 *
 * Returns: (transfer full): the value, or %NULL with @error set
 */
GVariant *
job_load (GFile         *file,
          JobLoadFlags   flags,
          guint64        max_size,
          GCancellable  *cancellable,
          GError       **error)
{
  g_autoptr(GFileInputStream) stream = NULL;

  g_return_val_if_fail (G_IS_FILE (file), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if ((flags & JOB_LOAD_MMAP) != 0)
    {
      gboolean fallback;
      GVariant *value = job_persist_file_load_mapped (file, max_size, &fallback, error);

      if (!fallback)
        return value;
    }

  stream = g_file_read (file, cancellable, error);
  if (stream == NULL)
    return NULL;
  return job_load_from_stream (G_INPUT_STREAM (stream), max_size, cancellable, error);
}

typedef struct
{
  GObject      *source;  /* (owned) GFile or GInputStream */
  JobLoadFlags  flags;
  guint64       max_size;
} LoadData;

static void
load_data_free (LoadData *data)
{
  g_object_unref (data->source);
  g_free (data);
}

static void
load_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  LoadData *data = task_data;
  GError *error = NULL;
  GVariant *value;

  if (G_IS_FILE (data->source))
    value = job_load (G_FILE (data->source), data->flags, data->max_size,
                      cancellable, &error);
  else
    value = job_load_from_stream (G_INPUT_STREAM (data->source), data->max_size,
                                  cancellable, &error);
  if (value != NULL)
    g_task_return_pointer (task, value, (GDestroyNotify) g_variant_unref);
  else
    g_task_return_error (task, error);
}

static void
load_async (GObject             *source,
            JobLoadFlags         flags,
            guint64              max_size,
            GCancellable        *cancellable,
            GAsyncReadyCallback  callback,
            gpointer             user_data,
            gpointer             source_tag)
{
  g_autoptr(GTask) task = NULL;
  LoadData *data;

  data = g_new0 (LoadData, 1);
  data->source = g_object_ref (source);
  data->flags = flags;
  data->max_size = max_size;

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, data, (GDestroyNotify) load_data_free);
  g_task_run_in_thread (task, load_thread);
}

/**
 * job_load_async:
 * @file: the file to read
 * @flags: load flags
 * @max_size: the largest uncompressed size to accept, or 0
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the value is loaded
 * @user_data: (closure): data for @callback
 *
 * Runs [func@Joblib.load] in a GIO worker thread. @callback runs in the
 * thread-default main context of the caller; call
 * [func@Joblib.load_finish] there.
 */
void
job_load_async (GFile               *file,
                JobLoadFlags         flags,
                guint64              max_size,
                GCancellable        *cancellable,
                GAsyncReadyCallback  callback,
                gpointer             user_data)
{
  g_return_if_fail (G_IS_FILE (file));

  load_async (G_OBJECT (file), flags, max_size, cancellable, callback,
              user_data, job_load_async);
}

/**
 * job_load_finish:
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [func@Joblib.load_async].
 *
 * Returns: (transfer full): the value, or %NULL with @error set
 */
GVariant *
job_load_finish (GAsyncResult  *result,
                 GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == job_load_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * job_load_from_stream_async:
 * @stream: the stream to read
 * @max_size: the largest uncompressed size to accept, or 0
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the value is loaded
 * @user_data: (closure): data for @callback
 *
 * Runs [func@Joblib.load_from_stream] in a GIO worker thread. @callback
 * runs in the thread-default main context of the caller; call
 * [func@Joblib.load_from_stream_finish] there. Do not use @stream
 * meanwhile.
 */
void
job_load_from_stream_async (GInputStream        *stream,
                            guint64              max_size,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_return_if_fail (G_IS_INPUT_STREAM (stream));

  load_async (G_OBJECT (stream), JOB_LOAD_NONE, max_size, cancellable, callback,
              user_data, job_load_from_stream_async);
}

/**
 * job_load_from_stream_finish:
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [func@Joblib.load_from_stream_async].
 *
 * Returns: (transfer full): the value, or %NULL with @error set
 */
GVariant *
job_load_from_stream_finish (GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == job_load_from_stream_async,
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
