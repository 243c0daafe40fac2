/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "job-error.h"
#include "job-i18n-private.h"
#include "job-worker-protocol-private.h"
#include "job-variant-framing-private.h"

static const struct
{
  const char *name;
  const char *type;
} messages[] = {
  [JOB_WORKER_MESSAGE_HELLO]   = { "hello",   "(sxa{sv})" },
  [JOB_WORKER_MESSAGE_CALL]    = { "call",    "(tba(sa{sv})auava(uusst))" },
  [JOB_WORKER_MESSAGE_RESULTS] = { "results", "(tuav)" },
  [JOB_WORKER_MESSAGE_ERROR]   = { "error",   "(tusis)" },
  [JOB_WORKER_MESSAGE_DONE]    = { "done",    "(td)" },
  [JOB_WORKER_MESSAGE_GOODBYE] = { "goodbye", "(s)" },
  [JOB_WORKER_MESSAGE_INIT]    = { "init",    "((sa{sv})v)" },
};

static gboolean
message_is_valid (guint message)
{
  return message >= JOB_WORKER_MESSAGE_HELLO &&
         message <= JOB_WORKER_MESSAGE_INIT;
}

const GVariantType *
job_worker_message_get_type (JobWorkerMessage message)
{
  g_return_val_if_fail (message_is_valid (message), NULL);

  return G_VARIANT_TYPE (messages[message].type);
}

const char *
job_worker_message_get_name (JobWorkerMessage message)
{
  return message_is_valid (message) ? messages[message].name : "unknown";
}

/* GLib 2.74 frees the type information of a container type (a frame's
 * tuple type, and the array and tuple types inside it) when the last
 * value of that type goes, and builds it again, under a global lock, for
 * the next one: with one small frame per call that was a fifth of a
 * worker's time. One empty value of each message type, kept for the life
 * of the process, keeps them all. The array is volatile: nothing reads
 * it, and an optimizer would otherwise drop the stores (the values would
 * then show as leaked under valgrind). */
static GVariant *volatile type_keepers[G_N_ELEMENTS (messages)];

static void
keep_message_types (void)
{
  static gsize kept = 0;

  if (g_once_init_enter (&kept))
    {
      g_autoptr(GBytes) empty = g_bytes_new_static (NULL, 0);

      for (gsize i = 0; i < G_N_ELEMENTS (messages); i++)
        if (message_is_valid (i))
          type_keepers[i] = g_variant_ref_sink (g_variant_new_from_bytes (
                                             G_VARIANT_TYPE (messages[i].type), empty, FALSE));
      g_once_init_leave (&kept, 1);
    }
}

/* Appends header and payload to @out: one copy of the serialized body,
 * which the caller then writes in as few syscalls as it can. */
void
job_worker_frame_append (GByteArray       *out,
                         JobWorkerMessage  message,
                         GVariant         *body)
{
  g_autoptr(GVariant) owned = g_variant_ref_sink (body);
  g_autoptr(GVariant) wire = NULL;
  guint8 header[JOB_WORKER_FRAME_HEADER_SIZE];
  gsize size;
  guint32 le_size;

  keep_message_types ();
  g_return_if_fail (g_variant_is_of_type (owned, job_worker_message_get_type (message)));

#if G_BYTE_ORDER == G_BIG_ENDIAN
  wire = g_variant_byteswap (owned);
#else
  wire = g_variant_ref (owned);
#endif
  size = g_variant_get_size (wire);
  g_return_if_fail (size <= G_MAXUINT32);

  le_size = GUINT32_TO_LE ((guint32) size);
  memcpy (header, &le_size, 4);
  header[4] = JOB_WORKER_PROTOCOL_VERSION;
  header[5] = message;
  header[6] = 0;
  header[7] = 0;

  g_byte_array_append (out, header, sizeof header);
  if (size > 0 && out->len % 8 == 0)
    {
      guint old_len = out->len;

      /* g_variant_store() needs a destination aligned for the type: the
       * array's data is malloc-aligned, so an offset multiple of 8 is. */
      g_byte_array_set_size (out, old_len + size);
      g_variant_store (wire, out->data + old_len);
    }
  else if (size > 0)
    g_byte_array_append (out, g_variant_get_data (wire), size);
}

/* Serializing a CALL by hand. GLib serializes a value built in tree form
 * through per-node type-info lookups and callbacks, thousands of
 * instructions per call frame even for one task; this writes the bytes
 * of the same normal form directly (the GVariant specification's
 * framing: members and elements aligned from the start of the payload,
 * framing offsets of the smallest width that fits the container). The
 * worker checks the result for normal form like any frame. */

static void
pad_to (GByteArray *out,
        gsize       base,
        gsize       alignment)
{
  static const guint8 zeros[8];
  gsize misalignment = (out->len - base) & (alignment - 1);

  if (misalignment != 0)
    g_byte_array_append (out, zeros, alignment - misalignment);
}

/* g_variant_store() needs a destination aligned for the value's type;
 * a frame appended after others (a worker's answers) may start anywhere,
 * and the value's own serialized bytes are copied there instead. */
static void
append_value (GByteArray *out,
              GVariant   *value)
{
  gsize size = g_variant_get_size (value);
  guint old_len = out->len;

  g_byte_array_set_size (out, old_len + size);
  if (size == 0)
    return;
  if (((guintptr) (out->data + old_len) & 7) == 0)
    g_variant_store (value, out->data + old_len);
  else
    memcpy (out->data + old_len, g_variant_get_data (value), size);
}

/* An array of variable-size elements of alignment 8 (the (sa{sv})
 * references, the v arguments), starting at an aligned offset. */
static void
append_variable_array (GByteArray       *out,
                       gsize             base,
                       GVariant * const *children,
                       gsize             n,
                       gboolean          boxed)
{
  gsize start = out->len - base;
  gsize *ends = g_newa (gsize, MAX (n, 1));

  for (gsize i = 0; i < n; i++)
    {
      pad_to (out, base, 8);
      append_value (out, children[i]);
      if (boxed)
        {
          const char *type = g_variant_get_type_string (children[i]);

          g_byte_array_append (out, (const guint8 *) "", 1);
          g_byte_array_append (out, (const guint8 *) type, strlen (type));
        }
      ends[i] = out->len - base - start;
    }
  job_variant_append_offsets (out, ends, n,
                              job_variant_offset_size_for_body (out->len - base - start, n),
                              FALSE);
}

void
job_worker_frame_append_call (GByteArray        *out,
                              guint64            call_id,
                              gboolean           stop_on_error,
                              GVariant * const  *references,
                              guint              n_references,
                              const guint32     *indexes,
                              GVariant * const  *args,
                              guint              n_tasks,
                              GVariant          *shared)
{
  guint8 header[JOB_WORKER_FRAME_HEADER_SIZE];
  gsize ends[3];
  gsize base;
  guint64 le_id = GUINT64_TO_LE (call_id);
  guint8 stop = stop_on_error ? 1 : 0;
  guint32 le_size;

  g_return_if_fail (shared == NULL ||
                    g_variant_is_of_type (shared, G_VARIANT_TYPE ("a(uusst)")));

  /* Alignment counts from the payload's start; @out must start 8-aligned
   * for the values stored in it to be aligned in memory too. */
  g_byte_array_append (out, (const guint8 *) "\0\0\0\0\0\0\0\0", JOB_WORKER_FRAME_HEADER_SIZE);
  base = out->len;

  g_byte_array_append (out, (const guint8 *) &le_id, 8);            /* t */
  g_byte_array_append (out, &stop, 1);                               /* b */
  pad_to (out, base, 8);
  append_variable_array (out, base, references, n_references, FALSE); /* a(sa{sv}) */
  ends[0] = out->len - base;
  pad_to (out, base, 4);
  for (guint i = 0; i < n_tasks; i++)                                /* au */
    {
      guint32 le = GUINT32_TO_LE (indexes[i]);

      g_byte_array_append (out, (const guint8 *) &le, 4);
    }
  ends[1] = out->len - base;
  pad_to (out, base, 8);
  append_variable_array (out, base, args, n_tasks, TRUE);           /* av */
  ends[2] = out->len - base;
  pad_to (out, base, 8);                                            /* a(uusst) */
  if (shared != NULL)
    append_value (out, shared);
  /* the tuple's framing offsets, last member's first */
  job_variant_append_offsets (out, ends, 3,
                              job_variant_offset_size_for_body (out->len - base, 3), TRUE);

  le_size = GUINT32_TO_LE ((guint32) (out->len - base));
  memcpy (header, &le_size, 4);
  header[4] = JOB_WORKER_PROTOCOL_VERSION;
  header[5] = JOB_WORKER_MESSAGE_CALL;
  header[6] = 0;
  header[7] = 0;
  memcpy (out->data + base - JOB_WORKER_FRAME_HEADER_SIZE, header, sizeof header);
}

/* Fills in the header of the frame whose payload starts at @base. */
static void
finish_header (GByteArray       *out,
               gsize             base,
               JobWorkerMessage  message)
{
  guint8 header[JOB_WORKER_FRAME_HEADER_SIZE];
  guint32 le_size = GUINT32_TO_LE ((guint32) (out->len - base));

  memcpy (header, &le_size, 4);
  header[4] = JOB_WORKER_PROTOCOL_VERSION;
  header[5] = message;
  header[6] = 0;
  header[7] = 0;
  memcpy (out->data + base - JOB_WORKER_FRAME_HEADER_SIZE, header, sizeof header);
}

/* The answers of a worker, serialized by hand as CALL is: with small
 * tasks, building them as GVariant trees (a boxed `v` per value, a
 * tuple, type information looked up per node) cost a worker more than
 * its tasks. RESULTS is `(tuav)`: no framing offset of its own (the
 * array is its last member), the array at offset 16. */
void
job_worker_frame_append_results (GByteArray        *out,
                                 guint64            call_id,
                                 guint32            first,
                                 GVariant * const  *values,
                                 guint              n_values)
{
  guint64 le_id = GUINT64_TO_LE (call_id);
  guint32 le_first = GUINT32_TO_LE (first);
  gsize base;

  g_byte_array_append (out, (const guint8 *) "\0\0\0\0\0\0\0\0", JOB_WORKER_FRAME_HEADER_SIZE);
  base = out->len;
  g_byte_array_append (out, (const guint8 *) &le_id, 8);      /* t */
  g_byte_array_append (out, (const guint8 *) &le_first, 4);   /* u */
  pad_to (out, base, 8);
  append_variable_array (out, base, values, n_values, TRUE);   /* av */
  finish_header (out, base, JOB_WORKER_MESSAGE_RESULTS);
}

/* DONE is `(td)`: 16 bytes, no framing. */
void
job_worker_frame_append_done (GByteArray *out,
                              guint64     call_id,
                              double      seconds)
{
  guint64 le_id = GUINT64_TO_LE (call_id);
  guint64 bits;
  gsize base;

  memcpy (&bits, &seconds, sizeof bits);
  bits = GUINT64_TO_LE (bits);
  g_byte_array_append (out, (const guint8 *) "\0\0\0\0\0\0\0\0", JOB_WORKER_FRAME_HEADER_SIZE);
  base = out->len;
  g_byte_array_append (out, (const guint8 *) &le_id, 8);
  g_byte_array_append (out, (const guint8 *) &bits, 8);
  finish_header (out, base, JOB_WORKER_MESSAGE_DONE);
}

gboolean
job_worker_frame_parse_header (const guint8      *header,
                               gsize              max_length,
                               guint32           *length,
                               JobWorkerMessage  *message,
                               GError           **error)
{
  guint32 le_size;

  memcpy (&le_size, header, 4);
  *length = GUINT32_FROM_LE (le_size);

  if (header[4] != JOB_WORKER_PROTOCOL_VERSION)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_PROTOCOL,
                   _("Frame of protocol version %u, expected %u"),
                   header[4], JOB_WORKER_PROTOCOL_VERSION);
      return FALSE;
    }
  if (!message_is_valid (header[5]) || header[6] != 0 || header[7] != 0)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_PROTOCOL,
                   _("Frame with unknown message type %u"), header[5]);
      return FALSE;
    }
  if (*length > max_length)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_PROTOCOL,
                   _("Frame of %u bytes is larger than the limit of %zu"),
                   *length, max_length);
      return FALSE;
    }

  *message = header[5];
  return TRUE;
}

/* GLib checks the normal form of an array of bytes (or numbers) one
 * element at a time, about 10 ns each: three quarters of a worker's time
 * on a call carrying 1 MB arguments, and as much of the parent's pool
 * thread for results holding big arrays. So in a CALL or RESULTS frame of
 * more than 64 KiB, the bulk (the argument tuples, the result values) is
 * left to GVariant's bounds-checked reads and only the other parts are
 * checked, each on its own; smaller frames are checked whole (which also
 * makes GLib trust the value: reading its parts is then cheap; the parts
 * of an unchecked value are checked again at every read). */
#define FULL_CHECK_MAX (64 * 1024)

static gboolean
is_normal_frame (JobWorkerMessage  message,
                 GVariant         *body)
{
  gsize n_children, bulk, expected;

  switch ((int) message)
    {
    case JOB_WORKER_MESSAGE_CALL:
      bulk = 4;       /* (tba(sa{sv})au @av a(uusst)) */
      expected = 6;
      break;
    case JOB_WORKER_MESSAGE_RESULTS:
      bulk = 2;       /* (tu @av) */
      expected = 3;
      break;
    default:
      return g_variant_is_normal_form (body);
    }
  if (g_variant_get_size (body) <= FULL_CHECK_MAX)
    return g_variant_is_normal_form (body);

  n_children = g_variant_n_children (body);
  for (gsize i = 0; i < n_children; i++)
    {
      g_autoptr(GVariant) child = g_variant_get_child_value (body, i);

      if (i != bulk && !g_variant_is_normal_form (child))
        return FALSE;
    }
  return n_children == expected;
}

/* Peers are not trusted. GVariant never reads outside a payload whatever
 * its bytes (trusted = FALSE), so a malformed frame cannot crash the
 * reader; @check_normal also refuses a payload that is not in normal form,
 * so that it is an error rather than values silently replaced by
 * defaults. That check walks every value of the frame, so readers skip it
 * for bulk frames whose structure they check themselves. */
GVariant *
job_worker_frame_decode (JobWorkerMessage   message,
                         GBytes            *payload,
                         gboolean           check_normal,
                         GError           **error)
{
  g_autoptr(GVariant) body = NULL;

  keep_message_types ();

  body = g_variant_new_from_bytes (job_worker_message_get_type (message),
                                   payload, FALSE);
  g_variant_ref_sink (body);
  if (check_normal && !is_normal_frame (message, body))
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_PROTOCOL,
                   _("Malformed “%s” frame (%zu bytes)"),
                   job_worker_message_get_name (message),
                   g_bytes_get_size (payload));
      return NULL;
    }

#if G_BYTE_ORDER == G_BIG_ENDIAN
  return g_variant_byteswap (body);
#else
  return g_steal_pointer (&body);
#endif
}

/* The first read of a payload; later ones double. */
#define READ_STEP (64 * 1024)

static gboolean
stream_read_all (gpointer       source,
                 void          *buffer,
                 gsize          count,
                 gsize         *n_read,
                 GCancellable  *cancellable,
                 GError       **error)
{
  return g_input_stream_read_all (source, buffer, count, n_read, cancellable, error);
}

GVariant *
job_worker_read_frame (GInputStream      *in,
                       gsize              max_length,
                       JobWorkerMessage  *message,
                       GCancellable      *cancellable,
                       GError           **error)
{
  return job_worker_read_frame_from (stream_read_all, in, max_length, message,
                                     cancellable, error);
}

GVariant *
job_worker_read_frame_from (JobWorkerReadAllFunc   read_all,
                            gpointer               source,
                            gsize                  max_length,
                            JobWorkerMessage      *message,
                            GCancellable          *cancellable,
                            GError               **error)
{
  guint8 header[JOB_WORKER_FRAME_HEADER_SIZE];
  g_autoptr(GBytes) payload = NULL;
  guint32 length;
  gsize n_read = 0;
  guint8 *data;

  if (!read_all (source, header, sizeof header, &n_read, cancellable, error))
    return NULL;
  if (n_read == 0)
    return NULL;
  if (n_read < sizeof header)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_PROTOCOL,
                   _("The stream ended inside a frame header"));
      return NULL;
    }
  if (!job_worker_frame_parse_header (header, max_length, &length, message, error))
    return NULL;

  /* The buffer grows as the payload arrives (doubling), not to what the
   * header announces: a header promising 1 GiB followed by one byte
   * costs little, and a failed allocation is an error, not an abort.
   * An empty payload (bad for every message type) still reaches the
   * decoder's check. */
  data = g_malloc (MAX (MIN (length, READ_STEP), 1));
  for (gsize have = 0, size = MAX (MIN (length, READ_STEP), 1); have < length; )
    {
      gsize want = MIN (length - have, size - have);

      n_read = 0;
      if (!read_all (source, data + have, want, &n_read, cancellable, error))
        {
          g_free (data);
          return NULL;
        }
      have += n_read;
      if (n_read < want)
        {
          g_free (data);
          g_set_error (error, JOB_ERROR, JOB_ERROR_PROTOCOL,
                       _("The stream ended inside a “%s” frame (%zu of %u bytes)"),
                       job_worker_message_get_name (*message), have, length);
          return NULL;
        }
      if (have == size && have < length)
        {
          guint8 *grown;

          size = MIN ((gsize) length, size * 2);
          grown = g_try_realloc (data, size);
          if (grown == NULL)
            {
              g_free (data);
              g_set_error (error, JOB_ERROR, JOB_ERROR_PROTOCOL,
                           _("Out of memory for a “%s” frame of %u bytes"),
                           job_worker_message_get_name (*message), length);
              return NULL;
            }
          data = grown;
        }
    }

  payload = g_bytes_new_take (data, length);
  return job_worker_frame_decode (*message, payload, TRUE, error);
}

gboolean
job_worker_write_frame (GOutputStream     *out,
                        JobWorkerMessage   message,
                        GVariant          *body,
                        GCancellable      *cancellable,
                        GError           **error)
{
  g_autoptr(GByteArray) frame = g_byte_array_new ();

  job_worker_frame_append (frame, message, body);
  return g_output_stream_write_all (out, frame->data, frame->len, NULL,
                                    cancellable, error);
}
