/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "job-i18n-private.h"
#include "job-persist-buffer-private.h"
#include "job-persist-private.h"
#include "job-pickle-reader-private.h"
#include "job-variant-framing-private.h"

/* The input of the pickle machine: a decoded stream read ahead through a
 * buffer of its own, or a mapped file whose arrays become views. */

/* A piece of a compressed array: see read_array_data() in the loader. */
#define DECODED_PIECE_SIZE (1024 * 1024)

gboolean
job_pickle_truncated (GError **error)
{
  return job_persist_error_truncated (error);
}

gboolean
job_pickle_malformed (GError    **error,
                      const char *what)
{
  g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_DATA,
               _("Malformed pickle data: %s"), what);
  return FALSE;
}

static gboolean
stream_read (JobPickleSource *source,
             guint8          *dest,
             gsize            size,
             GError         **error)
{
  gsize   n_read = 0;
  GError *local_error = NULL;

  if (g_input_stream_read_all (source->stream, dest, size, &n_read,
                               source->cancellable, &local_error) &&
      n_read == size)
    return TRUE;
  return job_persist_read_failed (error, local_error);
}

/* Copies the next @size bytes into @dest. */
gboolean
job_pickle_source_read (JobPickleSource *source,
                        void            *dest,
                        gsize            size,
                        GError         **error)
{
  guint8 *out = dest;
  gsize   taken;

  if (source->stream == NULL)
    {
      if (size > source->map_size - source->position)
        return job_pickle_truncated (error);
      memcpy (dest, source->map_data + source->position, size);
      source->position += size;
      return TRUE;
    }

  taken = MIN (size, source->buffer_len - source->buffer_pos);
  memcpy (out, source->buffer + source->buffer_pos, taken);
  source->buffer_pos += taken;
  if (taken == size)
    return TRUE;
  out += taken;
  size -= taken;
  if (size >= JOB_PICKLE_STREAM_BUFFER_SIZE / 2)
    {
      /* Big reads go straight to @dest, in pieces for a decoder. */
      while (size > 0)
        {
          gsize piece = MIN (size, DECODED_PIECE_SIZE);

          if (!stream_read (source, out, piece, error))
            return FALSE;
          out += piece;
          size -= piece;
        }
      return TRUE;
    }
  {
    gssize  n;
    GError *local_error = NULL;

    source->buffer_pos = 0;
    source->buffer_len = 0;
    while (source->buffer_len < size)
      {
        n = g_input_stream_read (source->stream, source->buffer + source->buffer_len,
                                 JOB_PICKLE_STREAM_BUFFER_SIZE - source->buffer_len,
                                 source->cancellable, &local_error);
        if (n < 0)
          return job_persist_read_failed (error, local_error);
        if (n == 0)
          return job_pickle_truncated (error);
        source->buffer_len += n;
      }
  }
  memcpy (out, source->buffer, size);
  source->buffer_pos = size;
  return TRUE;
}

gboolean
job_pickle_source_byte (JobPickleSource *source,
                        guint8          *byte,
                        GError         **error)
{
  if (source->stream != NULL && source->buffer_pos < source->buffer_len)
    {
      *byte = source->buffer[source->buffer_pos++];
      return TRUE;
    }
  return job_pickle_source_read (source, byte, 1, error);
}

/* The next @size bytes, as a view of the mapping when @view and the file
 * is mapped, else as a copy that the budget pays for. */
GBytes *
job_pickle_source_bytes (JobPickleSource *source,
                         guint64          size,
                         gboolean         view,
                         JobPickleBudget *budget,
                         GError         **error)
{
  guint8  *data;
  gpointer mapping = NULL;

  if (source->stream == NULL && size > source->map_size - source->position)
    {
      job_pickle_truncated (error);
      return NULL;
    }
  if (source->stream == NULL && view)
    {
      GBytes *bytes = g_bytes_new_from_bytes (source->mapped, source->position, size);

      source->position += size;
      return bytes;
    }
  if (!job_pickle_budget_spend (budget, size, error))
    return NULL;
  if (size == 0)
    return g_bytes_new (NULL, 0);
  data = size <= G_MAXSIZE ? job_persist_buffer_alloc (size, &mapping) : NULL;
  if (data == NULL)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_TOO_LARGE,
                   _("Cannot allocate %" G_GUINT64_FORMAT " bytes"), size);
      return NULL;
    }
  if (!job_pickle_source_read (source, data, size, error))
    {
      job_persist_buffer_free (data, mapping);
      return NULL;
    }
  return job_persist_buffer_take (data, size, mapping);
}

guint64
job_pickle_read_le (const guint8 *data,
                    guint         size)
{
  return job_variant_read_offset (data, size);
}

gboolean
job_pickle_source_uint (JobPickleSource *source,
                        guint            size,
                        guint64         *value,
                        GError         **error)
{
  guint8 data[8];

  g_assert (size <= sizeof data);
  if (!job_pickle_source_read (source, data, size, error))
    return FALSE;
  *value = job_pickle_read_le (data, size);
  return TRUE;
}
