/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "job-pickle-writer-private.h"
#include "job-variant-framing-private.h"

/* The raw walk: normal-form values are read straight from their
 * serialized bytes (GVariant's format: children at aligned offsets,
 * little-endian framing offsets at the end of each container), because
 * g_variant_get_child_value() allocates a GVariant per node and that was
 * most of the cost. Every offset is checked against its container, so
 * that data wrongly marked trusted cannot make the walk read outside it:
 * a subvalue that does not add up is deferred, and GLib's own accessors
 * read it as they read any value. */

typedef struct
{
  const guint8 *data;
  gsize         size;
} Span;

static inline gsize
align8 (gsize offset)
{
  return (offset + 7) & ~(gsize) 7;
}

/* Splits the elements of an array of variable-size, 8-aligned elements. */
static gboolean
array_elements (Span    array,
                GArray *spans)
{
  gsize osz, table, n;
  gsize start = 0;

  if (array.size == 0)
    return TRUE;
  osz = job_variant_offset_size (array.size);
  if (array.size < osz)
    return FALSE;
  table = job_variant_read_offset (array.data + array.size - osz, osz);
  if (table > array.size || (array.size - table) % osz != 0)
    return FALSE;
  n = (array.size - table) / osz;
  for (gsize i = 0; i < n; i++)
    {
      gsize end = job_variant_read_offset (array.data + table + i * osz, osz);
      Span span;

      if (start > end || end > table)
        return FALSE;
      span.data = array.data + start;
      span.size = end - start;
      g_array_append_val (spans, span);
      start = align8 (end);
    }
  return TRUE;
}

/* Splits a tuple of @n variable-size, 8-aligned members (v, or s then v:
 * the first members' ends are framing offsets, last first, at its end). */
static gboolean
tuple_members (Span   tuple,
               guint  n,
               Span  *members)
{
  /* an empty tuple still spaces its offsets a byte apart */
  gsize osz = MAX (job_variant_offset_size (tuple.size), 1);
  gsize start = 0, table_start;

  if (n == 0 || tuple.size < (n - 1) * osz)
    return FALSE;
  table_start = tuple.size - (n - 1) * osz;
  for (guint i = 0; i < n; i++)
    {
      gsize end = i + 1 < n
        ? job_variant_read_offset (tuple.data + tuple.size - (i + 1) * osz, osz)
        : table_start;

      if (start > end || end > table_start)
        return FALSE;
      members[i].data = tuple.data + start;
      members[i].size = end - start;
      start = align8 (end);
    }
  return TRUE;
}

/* A 'v': the child, then a NUL, then the child's type string. */
static gboolean
variant_content (Span         variant,
                 Span        *child,
                 const char **type,
                 gsize       *type_len)
{
  gsize z = variant.size;

  while (z > 0 && variant.data[z - 1] != 0)
    z--;
  if (z == 0)
    return FALSE;
  child->data = variant.data;
  child->size = z - 1;
  *type = (const char *) variant.data + z;
  *type_len = variant.size - z;
  return *type_len > 0;
}

/* A NUL-terminated string with no NUL inside. */
static gboolean
string_content (Span   span,
                gsize *length)
{
  if (span.size == 0 || span.data[span.size - 1] != 0 ||
      memchr (span.data, 0, span.size - 1) != NULL)
    return FALSE;
  *length = span.size - 1;
  return TRUE;
}

static gboolean
defer_raw (JobPickleWriter *w,
           const char      *type,
           gsize            type_len,
           Span             span)
{
  g_autofree char *type_string = g_strndup (type, type_len);
  g_autoptr(GBytes) bytes = NULL;
  GVariant *value;

  if (!g_variant_type_string_is_valid (type_string))
    return FALSE;
  bytes = g_bytes_new_from_bytes (w->root, span.data - w->root_data, span.size);
  /* not trusted: GLib reads it as it reads any serialized value */
  value = g_variant_new_from_bytes (G_VARIANT_TYPE (type_string), bytes, FALSE);
  job_pickle_writer_deferred (w, value);
  return TRUE;
}

static gboolean put_raw (JobPickleWriter *w, const char *type, gsize type_len, Span span);

static gboolean
put_raw_variant (JobPickleWriter *w,
                 Span             variant)
{
  Span child;
  const char *type;
  gsize type_len;

  if (!variant_content (variant, &child, &type, &type_len))
    return FALSE;
  return put_raw (w, type, type_len, child);
}

static gboolean
put_raw_list (JobPickleWriter *w,
              Span             array,
              guint8           op)
{
  g_autoptr(GArray) spans = g_array_new (FALSE, FALSE, sizeof (Span));

  if (!array_elements (array, spans))
    return FALSE;
  job_pickle_writer_byte (w, OP_MARK);
  for (guint i = 0; i < spans->len; i++)
    if (!put_raw_variant (w, g_array_index (spans, Span, i)))
      return FALSE;
  job_pickle_writer_byte (w, op);
  return TRUE;
}

#define IS(literal) (type_len == sizeof (literal) - 1 && memcmp (type, literal, type_len) == 0)

static gboolean
put_raw_tagged (JobPickleWriter *w,
                Span             span)
{
  Span members[2], payload;
  gsize tag_len, type_len;
  const char *tag, *type;

  if (!tuple_members (span, 2, members) ||
      !string_content (members[0], &tag_len) ||
      !variant_content (members[1], &payload, &type, &type_len))
    return FALSE;
  tag = (const char *) members[0].data;

  if (strcmp (tag, "bigint") == 0 && IS ("s"))
    {
      gsize length, sign;
      const char *digits = (const char *) payload.data;

      if (!string_content (payload, &length))
        return FALSE;
      sign = length > 0 && digits[0] == '-';
      if (length <= sign || strspn (digits + sign, "0123456789") != length - sign ||
          (length == 2 && digits[0] == '0'))
        return FALSE;
      job_pickle_writer_byte (w, OP_INT);
      g_byte_array_append (w->out, payload.data, length);
      job_pickle_writer_byte (w, '\n');
      return TRUE;
    }
  if (strcmp (tag, "complex") == 0 && IS ("(dd)") && payload.size == 16)
    {
      double parts[2];

      memcpy (parts, payload.data, sizeof parts);
      job_pickle_writer_string (w, "builtins", 8);
      job_pickle_writer_string (w, "complex", 7);
      job_pickle_writer_byte (w, OP_STACK_GLOBAL);
      job_pickle_writer_float (w, parts[0]);
      job_pickle_writer_float (w, parts[1]);
      job_pickle_writer_byte (w, OP_TUPLE2);
      job_pickle_writer_byte (w, OP_REDUCE);
      return TRUE;
    }
  if (strcmp (tag, "str") == 0 && IS ("ay"))
    {
      job_pickle_writer_sized (w, OP_BINUNICODE, OP_BINUNICODE8, payload.data, payload.size);
      return TRUE;
    }
  if (strcmp (tag, "bytearray") == 0 && IS ("ay"))
    {
      job_pickle_writer_byte (w, OP_BYTEARRAY8);
      job_pickle_writer_le (w, payload.size, 8);
      g_byte_array_append (w->out, payload.data, payload.size);
      return TRUE;
    }
  if (strcmp (tag, "set") == 0 && IS ("av"))
    {
      job_pickle_writer_byte (w, OP_EMPTY_SET);
      return put_raw_list (w, payload, OP_ADDITEMS);
    }
  if (strcmp (tag, "frozenset") == 0 && IS ("av"))
    return put_raw_list (w, payload, OP_FROZENSET);
  if (strcmp (tag, "dict") == 0 && IS ("a(vv)"))
    {
      g_autoptr(GArray) spans = g_array_new (FALSE, FALSE, sizeof (Span));

      if (!array_elements (payload, spans))
        return FALSE;
      job_pickle_writer_byte (w, OP_EMPTY_DICT);
      job_pickle_writer_byte (w, OP_MARK);
      for (guint i = 0; i < spans->len; i++)
        {
          Span pair[2];

          if (!tuple_members (g_array_index (spans, Span, i), 2, pair) ||
              !put_raw_variant (w, pair[0]) || !put_raw_variant (w, pair[1]))
            return FALSE;
        }
      job_pickle_writer_byte (w, OP_SETITEMS);
      return TRUE;
    }
  return FALSE;
}

/* Writes the value of type @type serialized in @span; a subvalue it has
 * no opcode for is deferred. FALSE: the bytes do not add up. */
static gboolean
put_raw (JobPickleWriter *w,
         const char      *type,
         gsize            type_len,
         Span             span)
{
  gsize mark = w->out->len;

  if (IS ("v"))
    return put_raw_variant (w, span);
  if (IS ("x") && span.size == 8)
    {
      gint64 value;

      memcpy (&value, span.data, 8);
      job_pickle_writer_int (w, value);
      return TRUE;
    }
  if (IS ("d") && span.size == 8)
    {
      double value;

      memcpy (&value, span.data, 8);
      job_pickle_writer_float (w, value);
      return TRUE;
    }
  if (IS ("b") && span.size == 1)
    {
      job_pickle_writer_byte (w, span.data[0] ? OP_NEWTRUE : OP_NEWFALSE);
      return TRUE;
    }
  if (IS ("s"))
    {
      gsize length;

      if (!string_content (span, &length))
        return FALSE;
      job_pickle_writer_string (w, (const char *) span.data, length);
      return TRUE;
    }
  if (IS ("mv"))
    {
      if (span.size == 0)
        {
          job_pickle_writer_byte (w, OP_NONE);
          return TRUE;
        }
      /* Just: the child then one zero byte */
      span.size--;
      return put_raw_variant (w, span);
    }
  if (IS ("ay"))
    {
      job_pickle_writer_sized (w, OP_BINBYTES, OP_BINBYTES8, span.data, span.size);
      return TRUE;
    }
  if (IS ("av"))
    {
      job_pickle_writer_byte (w, OP_EMPTY_LIST);
      if (span.size == 0)
        return TRUE;
      return put_raw_list (w, span, OP_APPENDS);
    }
  if (IS ("a{sv}"))
    {
      g_autoptr(GArray) spans = g_array_new (FALSE, FALSE, sizeof (Span));

      if (!array_elements (span, spans))
        return FALSE;
      job_pickle_writer_byte (w, OP_EMPTY_DICT);
      if (spans->len == 0)
        return TRUE;
      job_pickle_writer_byte (w, OP_MARK);
      for (guint i = 0; i < spans->len; i++)
        {
          Span entry[2];
          gsize key_len;

          if (!tuple_members (g_array_index (spans, Span, i), 2, entry) ||
              !string_content (entry[0], &key_len))
            return FALSE;
          job_pickle_writer_string (w, (const char *) entry[0].data, key_len);
          if (!put_raw_variant (w, entry[1]))
            return FALSE;
        }
      job_pickle_writer_byte (w, OP_SETITEMS);
      return TRUE;
    }
  if (IS ("()"))
    {
      job_pickle_writer_byte (w, OP_EMPTY_TUPLE);
      return TRUE;
    }
  if (IS (TAGGED))
    {
      if (put_raw_tagged (w, span))
        return TRUE;
      g_byte_array_set_size (w->out, mark);
      return defer_raw (w, type, type_len, span);
    }
  if (type_len >= 3 && type[0] == '(' && type[type_len - 1] == ')' &&
      strspn (type + 1, "v") == type_len - 2)
    {
      guint n = type_len - 2;
      g_autofree Span *members = g_new (Span, n);

      if (!tuple_members (span, n, members))
        return FALSE;
      job_pickle_writer_byte (w, OP_MARK);
      for (guint i = 0; i < n; i++)
        if (!put_raw_variant (w, members[i]))
          return FALSE;
      job_pickle_writer_byte (w, OP_TUPLE);
      return TRUE;
    }

  return defer_raw (w, type, type_len, span);
}

#undef IS

gboolean
job_pickle_writer_raw (JobPickleWriter *w,
                       GVariant        *value)
{
  const char *type = g_variant_get_type_string (value);
  gboolean ok;
  Span span;

  w->root = g_variant_get_data_as_bytes (value);
  w->root_data = g_bytes_get_data (w->root, &span.size);
  span.data = w->root_data;
  ok = put_raw (w, type, strlen (type), span);
  g_clear_pointer (&w->root, g_bytes_unref);
  return ok;
}
