/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "job-pickle-writer-private.h"

/* The opcode emitters of the pickle writer: the bottom of the writer,
 * used by the walk over GVariant nodes (job-pickle-writer.c) and the walk
 * over serialized bytes (job-pickle-writer-raw.c). */
void
job_pickle_writer_le (JobPickleWriter *w,
                      guint64          value,
                      guint            n_bytes)
{
  guint8 bytes[8];

  for (guint i = 0; i < n_bytes; i++)
    bytes[i] = (guint8) (value >> (8 * i));
  g_byte_array_append (w->out, bytes, n_bytes);
}

void
job_pickle_writer_int (JobPickleWriter *w,
                       gint64           value)
{
  if (value >= G_MININT32 && value <= G_MAXINT32)
    {
      job_pickle_writer_byte (w, OP_BININT);
      job_pickle_writer_le (w, (guint64) value, 4);
    }
  else
    {
      /* LONG1: little-endian two's complement, read back as signed */
      job_pickle_writer_byte (w, OP_LONG1);
      job_pickle_writer_byte (w, 8);
      job_pickle_writer_le (w, (guint64) value, 8);
    }
}

void
job_pickle_writer_sized (JobPickleWriter *w,
                         guint8           op4,
                         guint8           op8,
                         const guint8    *data,
                         gsize            size)
{
  if (size <= G_MAXUINT32)
    {
      job_pickle_writer_byte (w, op4);
      job_pickle_writer_le (w, size, 4);
    }
  else
    {
      job_pickle_writer_byte (w, op8);
      job_pickle_writer_le (w, size, 8);
    }
  if (size > 0)
    g_byte_array_append (w->out, data, size);
}

void
job_pickle_writer_string (JobPickleWriter *w,
                          const char      *text,
                          gsize            length)
{
  job_pickle_writer_sized (w, OP_BINUNICODE, OP_BINUNICODE8, (const guint8 *) text, length);
}


void
job_pickle_writer_float (JobPickleWriter *w,
                         double           value)
{
  guint64 bits;

  memcpy (&bits, &value, sizeof bits);
  bits = GUINT64_TO_BE (bits);
  job_pickle_writer_byte (w, OP_BINFLOAT);
  g_byte_array_append (w->out, (const guint8 *) &bits, 8);
}

/* The subvalue is rebuilt by the unpickler's persistent_load(n). */
void
job_pickle_writer_deferred (JobPickleWriter *w,
                            GVariant        *value)
{
  g_variant_builder_add (&w->deferred, "v", value);
  job_pickle_writer_int (w, w->n_deferred++);
  job_pickle_writer_byte (w, OP_BINPERSID);
}
