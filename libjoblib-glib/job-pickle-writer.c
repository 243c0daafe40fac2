/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "job-pickle-plain.h"

/* Pickle opcodes (protocol 5, Python's Lib/pickle.py names). */
#define OP_MARK           '('
#define OP_STOP           '.'
#define OP_INT            'I'
#define OP_BININT         'J'
#define OP_NONE           'N'
#define OP_BINPERSID      'Q'
#define OP_REDUCE         'R'
#define OP_BINUNICODE     'X'
#define OP_BINBYTES       'B'
#define OP_EMPTY_LIST     ']'
#define OP_APPENDS        'e'
#define OP_BINFLOAT       'G'
#define OP_TUPLE          't'
#define OP_EMPTY_TUPLE    ')'
#define OP_EMPTY_DICT     '}'
#define OP_SETITEMS       'u'
#define OP_PROTO          0x80
#define OP_TUPLE2         0x86
#define OP_NEWTRUE        0x88
#define OP_NEWFALSE       0x89
#define OP_LONG1          0x8a
#define OP_BINUNICODE8    0x8d
#define OP_BINBYTES8      0x8e
#define OP_EMPTY_SET      0x8f
#define OP_ADDITEMS       0x90
#define OP_FROZENSET      0x91
#define OP_STACK_GLOBAL   0x93
#define OP_BYTEARRAY8     0x96

/* The tag-and-payload pair that stands for Python values GVariant has no
 * type of its own for (docs/joblib-files.md). */
#define TAGGED "(sv)"

typedef struct
{
  GByteArray      *out;       /* (owned) */
  GVariantBuilder  deferred;  /* av */
  guint            n_deferred;
  GBytes          *root;      /* (nullable): the serialized value walked raw */
  const guint8    *root_data;
} Writer;

static inline void
put_byte (Writer *w,
          guint8  byte)
{
  g_byte_array_append (w->out, &byte, 1);
}

static void
put_le (Writer  *w,
        guint64  value,
        guint    n_bytes)
{
  guint8 bytes[8];

  for (guint i = 0; i < n_bytes; i++)
    bytes[i] = (guint8) (value >> (8 * i));
  g_byte_array_append (w->out, bytes, n_bytes);
}

static void
put_int (Writer *w,
         gint64  value)
{
  if (value >= G_MININT32 && value <= G_MAXINT32)
    {
      put_byte (w, OP_BININT);
      put_le (w, (guint64) value, 4);
    }
  else
    {
      /* LONG1: little-endian two's complement, read back as signed */
      put_byte (w, OP_LONG1);
      put_byte (w, 8);
      put_le (w, (guint64) value, 8);
    }
}

static void
put_sized (Writer       *w,
           guint8        op4,
           guint8        op8,
           const guint8 *data,
           gsize         size)
{
  if (size <= G_MAXUINT32)
    {
      put_byte (w, op4);
      put_le (w, size, 4);
    }
  else
    {
      put_byte (w, op8);
      put_le (w, size, 8);
    }
  if (size > 0)
    g_byte_array_append (w->out, data, size);
}

static void
put_string (Writer     *w,
            const char *text,
            gsize       length)
{
  put_sized (w, OP_BINUNICODE, OP_BINUNICODE8, (const guint8 *) text, length);
}

static void
put_bytes_of (Writer   *w,
              guint8    op4,
              guint8    op8,
              GVariant *bytes)
{
  put_sized (w, op4, op8, g_variant_get_data (bytes), g_variant_get_size (bytes));
}

static void
put_float (Writer *w,
           double  value)
{
  guint64 bits;

  memcpy (&bits, &value, sizeof bits);
  bits = GUINT64_TO_BE (bits);
  put_byte (w, OP_BINFLOAT);
  g_byte_array_append (w->out, (const guint8 *) &bits, 8);
}

/* The subvalue is rebuilt by the unpickler's persistent_load(n). */
static void
put_deferred (Writer   *w,
              GVariant *value)
{
  g_variant_builder_add (&w->deferred, "v", value);
  put_int (w, w->n_deferred++);
  put_byte (w, OP_BINPERSID);
}

static void put_value (Writer *w, GVariant *value);

/* MARK, each child (unwrapping variants), then @op. */
static void
put_children (Writer   *w,
              GVariant *container,
              guint8    op)
{
  gsize n = g_variant_n_children (container);

  put_byte (w, OP_MARK);
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) child = g_variant_get_child_value (container, i);

      put_value (w, child);
    }
  put_byte (w, op);
}

static gboolean
put_tagged (Writer   *w,
            GVariant *value)
{
  g_autoptr(GVariant) tag_value = g_variant_get_child_value (value, 0);
  g_autoptr(GVariant) boxed = g_variant_get_child_value (value, 1);
  g_autoptr(GVariant) payload = g_variant_get_variant (boxed);
  const char *tag = g_variant_get_string (tag_value, NULL);
  const char *type = g_variant_get_type_string (payload);

  if (strcmp (tag, "bigint") == 0 && strcmp (type, "s") == 0)
    {
      gsize length;
      const char *digits = g_variant_get_string (payload, &length);
      gsize sign = digits[0] == '-';

      /* INT reads any decimal; str(int) never writes "00" or "01", the
       * two spellings INT takes for booleans. Anything else is left to
       * the caller, which reports it. */
      if (length <= sign || strspn (digits + sign, "0123456789") != length - sign ||
          (length == 2 && digits[0] == '0'))
        return FALSE;
      put_byte (w, OP_INT);
      g_byte_array_append (w->out, (const guint8 *) digits, length);
      put_byte (w, '\n');
      return TRUE;
    }
  if (strcmp (tag, "complex") == 0 && strcmp (type, "(dd)") == 0)
    {
      double real, imag;

      g_variant_get (payload, "(dd)", &real, &imag);
      put_string (w, "builtins", 8);
      put_string (w, "complex", 7);
      put_byte (w, OP_STACK_GLOBAL);
      put_float (w, real);
      put_float (w, imag);
      put_byte (w, OP_TUPLE2);
      put_byte (w, OP_REDUCE);
      return TRUE;
    }
  if (strcmp (tag, "str") == 0 && strcmp (type, "ay") == 0)
    {
      /* the unpickler decodes with "surrogatepass", as the tag says */
      put_bytes_of (w, OP_BINUNICODE, OP_BINUNICODE8, payload);
      return TRUE;
    }
  if (strcmp (tag, "bytearray") == 0 && strcmp (type, "ay") == 0)
    {
      put_byte (w, OP_BYTEARRAY8);
      put_le (w, g_variant_get_size (payload), 8);
      g_byte_array_append (w->out, g_variant_get_data (payload),
                           g_variant_get_size (payload));
      return TRUE;
    }
  if ((strcmp (tag, "set") == 0 || strcmp (tag, "frozenset") == 0) &&
      strcmp (type, "av") == 0)
    {
      if (tag[0] == 's')
        {
          put_byte (w, OP_EMPTY_SET);
          put_children (w, payload, OP_ADDITEMS);
        }
      else
        put_children (w, payload, OP_FROZENSET);
      return TRUE;
    }
  if (strcmp (tag, "dict") == 0 && strcmp (type, "a(vv)") == 0)
    {
      gsize n = g_variant_n_children (payload);

      put_byte (w, OP_EMPTY_DICT);
      put_byte (w, OP_MARK);
      for (gsize i = 0; i < n; i++)
        {
          g_autoptr(GVariant) pair = g_variant_get_child_value (payload, i);
          g_autoptr(GVariant) key = g_variant_get_child_value (pair, 0);
          g_autoptr(GVariant) item = g_variant_get_child_value (pair, 1);

          put_value (w, key);
          put_value (w, item);
        }
      put_byte (w, OP_SETITEMS);
      return TRUE;
    }
  return FALSE;
}

static void
put_value (Writer   *w,
           GVariant *value)
{
  const char *type = g_variant_get_type_string (value);

  switch (type[0])
    {
    case 'v':
      {
        g_autoptr(GVariant) inner = g_variant_get_variant (value);

        put_value (w, inner);
      }
      return;
    case 'x':
      put_int (w, g_variant_get_int64 (value));
      return;
    case 'd':
      put_float (w, g_variant_get_double (value));
      return;
    case 'b':
      put_byte (w, g_variant_get_boolean (value) ? OP_NEWTRUE : OP_NEWFALSE);
      return;
    case 's':
      {
        gsize length;
        const char *text = g_variant_get_string (value, &length);

        put_string (w, text, length);
      }
      return;
    case 'm':
      if (strcmp (type, "mv") == 0)
        {
          g_autoptr(GVariant) inner = g_variant_get_maybe (value);

          if (inner == NULL)
            put_byte (w, OP_NONE);
          else
            put_value (w, inner);
          return;
        }
      break;
    case 'a':
      if (strcmp (type, "ay") == 0)
        {
          put_bytes_of (w, OP_BINBYTES, OP_BINBYTES8, value);
          return;
        }
      if (strcmp (type, "av") == 0)
        {
          put_byte (w, OP_EMPTY_LIST);
          if (g_variant_n_children (value) > 0)
            put_children (w, value, OP_APPENDS);
          return;
        }
      if (strcmp (type, "a{sv}") == 0)
        {
          gsize n = g_variant_n_children (value);

          put_byte (w, OP_EMPTY_DICT);
          if (n == 0)
            return;
          put_byte (w, OP_MARK);
          for (gsize i = 0; i < n; i++)
            {
              g_autoptr(GVariant) entry = g_variant_get_child_value (value, i);
              g_autoptr(GVariant) key = g_variant_get_child_value (entry, 0);
              g_autoptr(GVariant) item = g_variant_get_child_value (entry, 1);
              gsize length;
              const char *text = g_variant_get_string (key, &length);

              put_string (w, text, length);
              put_value (w, item);
            }
          put_byte (w, OP_SETITEMS);
          return;
        }
      break;
    case '(':
      if (strcmp (type, TAGGED) == 0)
        {
          gsize mark = w->out->len;

          if (put_tagged (w, value))
            return;
          g_byte_array_set_size (w->out, mark);
          break;
        }
      if (strcmp (type, "()") == 0)
        {
          put_byte (w, OP_EMPTY_TUPLE);
          return;
        }
      /* a Python tuple is a tuple of v; any other tuple (arrays'
       * "(ssatay)" among them) is the caller's to rebuild */
      if (strspn (type + 1, "v") == strlen (type) - 2)
        {
          put_children (w, value, OP_TUPLE);
          return;
        }
      break;
    default:
      break;
    }

  put_deferred (w, value);
}

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

static gsize
offset_size (gsize container_size)
{
  if (container_size <= G_MAXUINT8)
    return 1;
  if (container_size <= G_MAXUINT16)
    return 2;
  if (container_size <= G_MAXUINT32)
    return 4;
  return 8;
}

static gsize
read_offset (const guint8 *p,
             gsize         n_bytes)
{
  guint64 value = 0;

  for (gsize i = 0; i < n_bytes; i++)
    value |= (guint64) p[i] << (8 * i);
  return (gsize) value;
}

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
  osz = offset_size (array.size);
  if (array.size < osz)
    return FALSE;
  table = read_offset (array.data + array.size - osz, osz);
  if (table > array.size || (array.size - table) % osz != 0)
    return FALSE;
  n = (array.size - table) / osz;
  for (gsize i = 0; i < n; i++)
    {
      gsize end = read_offset (array.data + table + i * osz, osz);
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
tuple_members (Span  tuple,
               guint n,
               Span *members)
{
  gsize osz = offset_size (tuple.size);
  gsize start = 0, table_start;

  if (n == 0 || tuple.size < (n - 1) * osz)
    return FALSE;
  table_start = tuple.size - (n - 1) * osz;
  for (guint i = 0; i < n; i++)
    {
      gsize end = i + 1 < n
        ? read_offset (tuple.data + tuple.size - (i + 1) * osz, osz)
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
defer_raw (Writer     *w,
           const char *type,
           gsize       type_len,
           Span        span)
{
  g_autofree char *type_string = g_strndup (type, type_len);
  g_autoptr(GBytes) bytes = NULL;
  GVariant *value;

  if (!g_variant_type_string_is_valid (type_string))
    return FALSE;
  bytes = g_bytes_new_from_bytes (w->root, span.data - w->root_data, span.size);
  /* not trusted: GLib reads it as it reads any serialized value */
  value = g_variant_new_from_bytes (G_VARIANT_TYPE (type_string), bytes, FALSE);
  put_deferred (w, value);
  return TRUE;
}

static gboolean put_raw (Writer *w, const char *type, gsize type_len, Span span);

static gboolean
put_raw_variant (Writer *w,
                 Span    variant)
{
  Span child;
  const char *type;
  gsize type_len;

  if (!variant_content (variant, &child, &type, &type_len))
    return FALSE;
  return put_raw (w, type, type_len, child);
}

static gboolean
put_raw_list (Writer *w,
              Span    array,
              guint8  op)
{
  g_autoptr(GArray) spans = g_array_new (FALSE, FALSE, sizeof (Span));

  if (!array_elements (array, spans))
    return FALSE;
  put_byte (w, OP_MARK);
  for (guint i = 0; i < spans->len; i++)
    if (!put_raw_variant (w, g_array_index (spans, Span, i)))
      return FALSE;
  put_byte (w, op);
  return TRUE;
}

#define IS(literal) (type_len == sizeof (literal) - 1 && memcmp (type, literal, type_len) == 0)

static gboolean
put_raw_tagged (Writer *w,
                Span    span)
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
      put_byte (w, OP_INT);
      g_byte_array_append (w->out, payload.data, length);
      put_byte (w, '\n');
      return TRUE;
    }
  if (strcmp (tag, "complex") == 0 && IS ("(dd)") && payload.size == 16)
    {
      double parts[2];

      memcpy (parts, payload.data, sizeof parts);
      put_string (w, "builtins", 8);
      put_string (w, "complex", 7);
      put_byte (w, OP_STACK_GLOBAL);
      put_float (w, parts[0]);
      put_float (w, parts[1]);
      put_byte (w, OP_TUPLE2);
      put_byte (w, OP_REDUCE);
      return TRUE;
    }
  if (strcmp (tag, "str") == 0 && IS ("ay"))
    {
      put_sized (w, OP_BINUNICODE, OP_BINUNICODE8, payload.data, payload.size);
      return TRUE;
    }
  if (strcmp (tag, "bytearray") == 0 && IS ("ay"))
    {
      put_byte (w, OP_BYTEARRAY8);
      put_le (w, payload.size, 8);
      g_byte_array_append (w->out, payload.data, payload.size);
      return TRUE;
    }
  if (strcmp (tag, "set") == 0 && IS ("av"))
    {
      put_byte (w, OP_EMPTY_SET);
      return put_raw_list (w, payload, OP_ADDITEMS);
    }
  if (strcmp (tag, "frozenset") == 0 && IS ("av"))
    return put_raw_list (w, payload, OP_FROZENSET);
  if (strcmp (tag, "dict") == 0 && IS ("a(vv)"))
    {
      g_autoptr(GArray) spans = g_array_new (FALSE, FALSE, sizeof (Span));

      if (!array_elements (payload, spans))
        return FALSE;
      put_byte (w, OP_EMPTY_DICT);
      put_byte (w, OP_MARK);
      for (guint i = 0; i < spans->len; i++)
        {
          Span pair[2];

          if (!tuple_members (g_array_index (spans, Span, i), 2, pair) ||
              !put_raw_variant (w, pair[0]) || !put_raw_variant (w, pair[1]))
            return FALSE;
        }
      put_byte (w, OP_SETITEMS);
      return TRUE;
    }
  return FALSE;
}

/* Writes the value of type @type serialized in @span; a subvalue it has
 * no opcode for is deferred. FALSE: the bytes do not add up. */
static gboolean
put_raw (Writer     *w,
         const char *type,
         gsize       type_len,
         Span        span)
{
  gsize mark = w->out->len;

  if (IS ("v"))
    return put_raw_variant (w, span);
  if (IS ("x") && span.size == 8)
    {
      gint64 value;

      memcpy (&value, span.data, 8);
      put_int (w, value);
      return TRUE;
    }
  if (IS ("d") && span.size == 8)
    {
      double value;

      memcpy (&value, span.data, 8);
      put_float (w, value);
      return TRUE;
    }
  if (IS ("b") && span.size == 1)
    {
      put_byte (w, span.data[0] ? OP_NEWTRUE : OP_NEWFALSE);
      return TRUE;
    }
  if (IS ("s"))
    {
      gsize length;

      if (!string_content (span, &length))
        return FALSE;
      put_string (w, (const char *) span.data, length);
      return TRUE;
    }
  if (IS ("mv"))
    {
      if (span.size == 0)
        {
          put_byte (w, OP_NONE);
          return TRUE;
        }
      /* Just: the child then one zero byte */
      span.size--;
      return put_raw_variant (w, span);
    }
  if (IS ("ay"))
    {
      put_sized (w, OP_BINBYTES, OP_BINBYTES8, span.data, span.size);
      return TRUE;
    }
  if (IS ("av"))
    {
      put_byte (w, OP_EMPTY_LIST);
      if (span.size == 0)
        return TRUE;
      return put_raw_list (w, span, OP_APPENDS);
    }
  if (IS ("a{sv}"))
    {
      g_autoptr(GArray) spans = g_array_new (FALSE, FALSE, sizeof (Span));

      if (!array_elements (span, spans))
        return FALSE;
      put_byte (w, OP_EMPTY_DICT);
      if (spans->len == 0)
        return TRUE;
      put_byte (w, OP_MARK);
      for (guint i = 0; i < spans->len; i++)
        {
          Span entry[2];
          gsize key_len;

          if (!tuple_members (g_array_index (spans, Span, i), 2, entry) ||
              !string_content (entry[0], &key_len))
            return FALSE;
          put_string (w, (const char *) entry[0].data, key_len);
          if (!put_raw_variant (w, entry[1]))
            return FALSE;
        }
      put_byte (w, OP_SETITEMS);
      return TRUE;
    }
  if (IS ("()"))
    {
      put_byte (w, OP_EMPTY_TUPLE);
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
      put_byte (w, OP_MARK);
      for (guint i = 0; i < n; i++)
        if (!put_raw_variant (w, members[i]))
          return FALSE;
      put_byte (w, OP_TUPLE);
      return TRUE;
    }

  return defer_raw (w, type, type_len, span);
}

#undef IS

/**
 * job_variant_to_pickle:
 * @value: a value in the mapping of Python values that `joblib_glib` and
 *   the reader of joblib files use (`docs/joblib-files.md`)
 * @out_deferred: (out) (transfer full): the subvalues the pickle leaves to
 *   the caller, an `av`
 *
 * Writes a pickle (protocol 5) that rebuilds @value as Python values:
 * `x` an int, `d` a float, `s` a str, `b` a bool, `mv` None (or its
 * content), `ay` bytes, `av` a list, a tuple of `v` a tuple, `a{sv}` a
 * dict, and the tagged pairs `(sv)` for big ints, complex numbers,
 * strings with surrogates, bytearrays, sets, frozensets and dicts with
 * other keys. Any other subvalue (arrays, pickled payloads, unknown tags)
 * is written as a persistent id `n`, the position of that subvalue in
 * the deferred values: the unpickler's `persistent_load(n)` rebuilds it.
 *
 * This lets a binding rebuild a whole tree of small values with one call
 * and its language's own unpickler instead of one call per node. The
 * pickle only holds the opcodes above and one global, `builtins.complex`;
 * restrict the unpickler's `find_class` to that. Thread-safe.
 *
 * Returns: (transfer full): the pickle
 */
GBytes *
job_variant_to_pickle (GVariant  *value,
                       GVariant **out_deferred)
{
  Writer w;

  g_return_val_if_fail (value != NULL, NULL);
  g_return_val_if_fail (out_deferred != NULL, NULL);

  w.out = g_byte_array_sized_new (64 + g_variant_get_size (value));
  w.n_deferred = 0;
  w.root = NULL;
  g_variant_builder_init (&w.deferred, G_VARIANT_TYPE ("av"));

  put_byte (&w, OP_PROTO);
  put_byte (&w, 5);
  if (g_variant_is_normal_form (value))
    {
      const char *type = g_variant_get_type_string (value);
      Span span;

      w.root = g_variant_get_data_as_bytes (value);
      w.root_data = g_bytes_get_data (w.root, &span.size);
      span.data = w.root_data;
      if (!put_raw (&w, type, strlen (type), span))
        {
          /* bytes that do not add up: start again with GLib's accessors */
          g_byte_array_set_size (w.out, 2);
          g_variant_builder_clear (&w.deferred);
          g_variant_builder_init (&w.deferred, G_VARIANT_TYPE ("av"));
          w.n_deferred = 0;
          put_value (&w, value);
        }
      g_bytes_unref (w.root);
    }
  else
    put_value (&w, value);
  put_byte (&w, OP_STOP);

  *out_deferred = g_variant_ref_sink (g_variant_builder_end (&w.deferred));
  return g_byte_array_free_to_bytes (w.out);
}
