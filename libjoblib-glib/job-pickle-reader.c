/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "job-i18n-private.h"
#include "job-pickle-reader-private.h"

/* The pickle virtual machine, restricted to what joblib.dump writes
 * (docs/joblib-files.md lists the opcodes and classes). Every size read
 * from the file is checked against what is left of the input or of the
 * budget before anything is allocated. */

/* A piece of a compressed array: see read_array_data() in the loader. */
#define DECODED_PIECE_SIZE (1024 * 1024)
/* Longer module or class names are not in the allow-list anyway. */
#define MAX_NAME_SIZE 256
/* Integers of more bytes than this (about 20 000 digits) are refused. */
#define MAX_LONG_SIZE 8192

gboolean
job_pickle_truncated (GError **error)
{
  g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_DATA, _("The file is truncated"));
  return FALSE;
}

gboolean
job_pickle_malformed (GError     **error,
           const char  *what)
{
  g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_DATA,
               _("Malformed pickle data: %s"), what);
  return FALSE;
}

static gboolean
stream_read (JobPickleSource   *source,
             guint8   *dest,
             gsize     size,
             GError  **error)
{
  gsize n_read = 0;
  GError *local_error = NULL;

  if (g_input_stream_read_all (source->stream, dest, size, &n_read,
                               source->cancellable, &local_error) && n_read == size)
    return TRUE;
  if (local_error == NULL)
    return job_pickle_truncated (error);
  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA) ||
      g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT))
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_DATA,
                   _("Corrupt compressed data: %s"), local_error->message);
      g_error_free (local_error);
    }
  else
    g_propagate_error (error, local_error);
  return FALSE;
}

/* Copies the next @size bytes into @dest. */
gboolean
job_pickle_source_read (JobPickleSource   *source,
             void     *dest,
             gsize     size,
             GError  **error)
{
  guint8 *out = dest;
  gsize taken;

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
    gssize n;
    GError *local_error = NULL;

    source->buffer_pos = 0;
    source->buffer_len = 0;
    while (source->buffer_len < size)
      {
        n = g_input_stream_read (source->stream, source->buffer + source->buffer_len,
                                 JOB_PICKLE_STREAM_BUFFER_SIZE - source->buffer_len,
                                 source->cancellable, &local_error);
        if (n < 0)
          {
            g_propagate_error (error, local_error);
            return FALSE;
          }
        if (n == 0)
          return job_pickle_truncated (error);
        source->buffer_len += n;
      }
  }
  memcpy (out, source->buffer, size);
  source->buffer_pos = size;
  return TRUE;
}

static gboolean
source_byte (JobPickleSource  *source,
             guint8  *byte,
             GError **error)
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
job_pickle_source_bytes (JobPickleSource           *source,
              guint64           size,
              gboolean          view,
              JobPickleBudget  *budget,
              GError          **error)
{
  guint8 *data;

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
  data = size <= G_MAXSIZE ? g_try_malloc (size) : NULL;
  if (data == NULL)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_TOO_LARGE,
                   _("Cannot allocate %" G_GUINT64_FORMAT " bytes"), size);
      return NULL;
    }
  if (!job_pickle_source_read (source, data, size, error))
    {
      g_free (data);
      return NULL;
    }
  return g_bytes_new_take (data, size);
}

static guint64
read_le (const guint8 *data,
         guint         size)
{
  guint64 value = 0;

  for (guint i = size; i > 0; i--)
    value = (value << 8) | data[i - 1];
  return value;
}

static gboolean
read_uint (JobPickleReader   *r,
           guint     size,
           guint64  *value,
           GError  **error)
{
  guint8 data[8];

  if (!job_pickle_source_read (r->source, data, size, error))
    return FALSE;
  *value = read_le (data, size);
  return TRUE;
}

/* Stack and marks. */

JobPickleNode *
job_pickle_reader_new_node (JobPickleReader         *r,
          JobPickleKind   kind,
          GError        **error)
{
  if (!job_pickle_budget_spend (r->budget, JOB_PICKLE_NODE_COST, error))
    return NULL;
  return job_pickle_node_new (r->budget, kind);
}

JobPickleNode *
job_pickle_reader_new_container (JobPickleReader         *r,
               JobPickleKind   kind,
               GError        **error)
{
  JobPickleNode *node = job_pickle_reader_new_node (r, kind, error);

  if (node == NULL)
    return NULL;
  node->items = g_ptr_array_new_with_free_func (NULL);
  if (kind == JOB_PICKLE_DICT || kind == JOB_PICKLE_ORDERED_DICT)
    node->values = g_ptr_array_new_with_free_func (NULL);
  return node;
}

/* Takes @node. */
static gboolean
push (JobPickleReader         *r,
      JobPickleNode  *node)
{
  if (node == NULL)
    return FALSE;
  g_ptr_array_add (r->stack, node);
  return TRUE;
}

/* Where the items above the last mark start. */
static guint
stack_floor (JobPickleReader *r)
{
  return r->marks->len > 0 ? g_array_index (r->marks, guint, r->marks->len - 1) : 0;
}

static JobPickleNode *
top (JobPickleReader  *r,
     GError          **error)
{
  if (r->stack->len <= stack_floor (r))
    {
      job_pickle_malformed (error, "stack underflow");
      return NULL;
    }
  return r->stack->pdata[r->stack->len - 1];
}

/* Returns: (transfer full) */
JobPickleNode *
job_pickle_reader_pop (JobPickleReader  *r,
     GError **error)
{
  if (top (r, error) == NULL)
    return NULL;
  return g_ptr_array_steal_index (r->stack, r->stack->len - 1);
}

/* Pops the items above the last mark and the mark. Returns: (transfer
 * full): them, or NULL */
static GPtrArray *
pop_mark (JobPickleReader  *r,
          GError **error)
{
  GPtrArray *items;
  guint start;

  if (r->marks->len == 0)
    {
      job_pickle_malformed (error, "no mark");
      return NULL;
    }
  start = g_array_index (r->marks, guint, r->marks->len - 1);
  g_array_set_size (r->marks, r->marks->len - 1);
  items = g_ptr_array_new_full (r->stack->len - start,
                                NULL);
  for (guint i = start; i < r->stack->len; i++)
    g_ptr_array_add (items, r->stack->pdata[i]);
  g_ptr_array_set_size (r->stack, start);
  return items;
}

/* Scalars and strings. */

static gboolean
push_int (JobPickleReader  *r,
          gint64   value,
          GError **error)
{
  JobPickleNode *node = job_pickle_reader_new_node (r, JOB_PICKLE_INT, error);

  if (node != NULL)
    node->integer = value;
  return push (r, node);
}

/* Python's LONG1/LONG4: little-endian two's complement of @size bytes. */
static gboolean
push_long (JobPickleReader  *r,
           guint64  size,
           GError **error)
{
  g_autofree guint8 *data = NULL;
  g_autoptr(GString) digits = NULL;
  JobPickleNode *node;
  gboolean negative;

  if (size > MAX_LONG_SIZE)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_UNSUPPORTED,
                   _("An integer of %" G_GUINT64_FORMAT " bytes is too large"), size);
      return FALSE;
    }
  if (size == 0)
    return push_int (r, 0, error);
  data = g_malloc (size);
  if (!job_pickle_source_read (r->source, data, size, error))
    return FALSE;
  negative = (data[size - 1] & 0x80) != 0;
  if (size <= 8)
    {
      guint64 bits = read_le (data, size);

      if (negative && size < 8)
        bits |= G_MAXUINT64 << (8 * size);
      return push_int (r, (gint64) bits, error);
    }

  /* Magnitude, then decimal digits by repeated division by 10. */
  if (negative)
    {
      guint carry = 1;

      for (guint64 i = 0; i < size; i++)
        {
          guint value = (guint8) ~data[i] + carry;

          data[i] = value & 0xff;
          carry = value >> 8;
        }
    }
  digits = g_string_new (NULL);
  for (;;)
    {
      guint remainder = 0;
      gboolean zero = TRUE;

      for (guint64 i = size; i > 0; i--)
        {
          guint value = (remainder << 8) | data[i - 1];

          data[i - 1] = value / 10;
          remainder = value % 10;
          zero = zero && data[i - 1] == 0;
        }
      g_string_prepend_c (digits, '0' + remainder);
      if (zero)
        break;
    }
  if (negative)
    g_string_prepend_c (digits, '-');

  node = job_pickle_reader_new_node (r, JOB_PICKLE_BIGINT, error);
  if (node == NULL)
    return FALSE;
  node->str_len = digits->len;
  node->str = g_string_free (g_steal_pointer (&digits), FALSE);
  /* 64-bit values that LONG1 wrote as 9 bytes still fit an INT. */
  if (node->str_len <= 20)
    {
      gint64 value;

      if (g_ascii_string_to_signed (node->str, 10, G_MININT64, G_MAXINT64, &value, NULL))
        {
          g_clear_pointer (&node->str, g_free);
          node->str_len = 0;
          node->kind = JOB_PICKLE_INT;
          node->integer = value;
        }
    }
  return push (r, node);
}

static JobPickleNode *
read_string_node (JobPickleReader         *r,
                  JobPickleKind   kind,
                  guint64         size,
                  gboolean        ascii,
                  GError        **error)
{
  JobPickleNode *node = NULL;

  if (r->source->stream == NULL && size > r->source->map_size - r->source->position)
    {
      job_pickle_truncated (error);
      return NULL;
    }
  if (size >= G_MAXSIZE || !job_pickle_budget_spend (r->budget, size, error))
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, JOB_ERROR, JOB_ERROR_TOO_LARGE, _("A string is too large"));
      return NULL;
    }
  node = job_pickle_reader_new_node (r, kind, error);
  if (node == NULL)
    return NULL;
  node->str = g_try_malloc (size + 1);
  if (node->str == NULL)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_TOO_LARGE, _("A string is too large"));
      return NULL;
    }
  node->str_len = size;
  if (!job_pickle_source_read (r->source, node->str, size, error))
    return NULL;
  node->str[size] = '\0';
  if (ascii)
    {
      for (gsize i = 0; i < size; i++)
        if ((guint8) node->str[i] > 127)
          {
            job_pickle_malformed (error, "non-ASCII byte string");
            return NULL;
          }
    }
  else if (!g_utf8_validate_len (node->str, size, NULL))
    {
      /* Python writes lone surrogates as 3-byte sequences that GLib's
       * validation rejects; anything else is not text. */
      for (gsize i = 0; i < size; i++)
        if ((guint8) node->str[i] == 0xc0 || (guint8) node->str[i] == 0xc1 ||
            (guint8) node->str[i] >= 0xf5)
          {
            job_pickle_malformed (error, "invalid UTF-8 in a string");
            return NULL;
          }
    }
  return g_steal_pointer (&node);
}

static gboolean
push_bytes (JobPickleReader         *r,
            JobPickleKind   kind,
            guint64         size,
            GError        **error)
{
  JobPickleNode *node = job_pickle_reader_new_node (r, kind, error);

  if (node == NULL)
    return FALSE;
  node->bytes = job_pickle_source_bytes (r->source, size, FALSE, r->budget, error);
  if (node->bytes == NULL)
    return FALSE;
  return push (r, node);
}

/* Globals: a fixed allow-list, nothing is imported. */

static gboolean
push_global (JobPickleReader      *r,
             const char  *module,
             const char  *name,
             GError     **error)
{
  static const struct
  {
    const char      *module;
    const char      *name;
    JobPickleGlobal  global;
  } allowed[] = {
    { "joblib.numpy_pickle", "NumpyArrayWrapper", JOB_PICKLE_GLOBAL_WRAPPER },
    { "numpy", "ndarray", JOB_PICKLE_GLOBAL_NDARRAY },
    { "numpy", "memmap", JOB_PICKLE_GLOBAL_MEMMAP },
    { "numpy.core.memmap", "memmap", JOB_PICKLE_GLOBAL_MEMMAP },
    { "numpy._core.memmap", "memmap", JOB_PICKLE_GLOBAL_MEMMAP },
    { "numpy", "dtype", JOB_PICKLE_GLOBAL_DTYPE },
    { "numpy.core.multiarray", "_reconstruct", JOB_PICKLE_GLOBAL_RECONSTRUCT },
    { "numpy._core.multiarray", "_reconstruct", JOB_PICKLE_GLOBAL_RECONSTRUCT },
    { "numpy.core.multiarray", "scalar", JOB_PICKLE_GLOBAL_SCALAR },
    { "numpy._core.multiarray", "scalar", JOB_PICKLE_GLOBAL_SCALAR },
    { "collections", "OrderedDict", JOB_PICKLE_GLOBAL_ORDERED_DICT },
    { "builtins", "complex", JOB_PICKLE_GLOBAL_COMPLEX },
    { "__builtin__", "complex", JOB_PICKLE_GLOBAL_COMPLEX },
    { "builtins", "set", JOB_PICKLE_GLOBAL_SET },
    { "__builtin__", "set", JOB_PICKLE_GLOBAL_SET },
    { "builtins", "frozenset", JOB_PICKLE_GLOBAL_FROZENSET },
    { "__builtin__", "frozenset", JOB_PICKLE_GLOBAL_FROZENSET },
    { "builtins", "bytearray", JOB_PICKLE_GLOBAL_BYTEARRAY },
    { "__builtin__", "bytearray", JOB_PICKLE_GLOBAL_BYTEARRAY },
    { "builtins", "bytes", JOB_PICKLE_GLOBAL_BYTES },
    { "__builtin__", "bytes", JOB_PICKLE_GLOBAL_BYTES },
    { "_codecs", "encode", JOB_PICKLE_GLOBAL_ENCODE },
  };
  JobPickleNode *node;

  for (guint i = 0; i < G_N_ELEMENTS (allowed); i++)
    if (strcmp (module, allowed[i].module) == 0 && strcmp (name, allowed[i].name) == 0)
      {
        node = job_pickle_reader_new_node (r, JOB_PICKLE_GLOBAL, error);
        if (node != NULL)
          node->global = allowed[i].global;
        return push (r, node);
      }
  g_set_error (error, JOB_ERROR, JOB_ERROR_UNSUPPORTED,
               _("The file needs the Python object “%s.%s”, which the safe "
                 "reader does not rebuild"),
               g_utf8_validate (module, -1, NULL) ? module : "?",
               g_utf8_validate (name, -1, NULL) ? name : "?");
  return FALSE;
}

static gboolean
read_line (JobPickleReader  *r,
           char    *line,
           GError **error)
{
  for (guint i = 0; i < MAX_NAME_SIZE; i++)
    {
      guint8 byte;

      if (!source_byte (r->source, &byte, error))
        return FALSE;
      if (byte == '\n')
        {
          line[i] = '\0';
          return TRUE;
        }
      if (byte == '\0')
        return job_pickle_malformed (error, "NUL in a name");
      line[i] = byte;
    }
  return job_pickle_malformed (error, "name too long");
}

static gboolean
op_global (JobPickleReader  *r,
           GError **error)
{
  char module[MAX_NAME_SIZE + 1], name[MAX_NAME_SIZE + 1];

  return read_line (r, module, error) && read_line (r, name, error) &&
         push_global (r, module, name, error);
}

static gboolean
op_stack_global (JobPickleReader  *r,
                 GError **error)
{
  JobPickleNode *name = job_pickle_reader_pop (r, error);
  JobPickleNode *module = name ? job_pickle_reader_pop (r, error) : NULL;

  if (module == NULL)
    return FALSE;
  if (name->kind != JOB_PICKLE_STR || module->kind != JOB_PICKLE_STR ||
      strlen (name->str) != name->str_len || strlen (module->str) != module->str_len)
    return job_pickle_malformed (error, "STACK_GLOBAL needs two strings");
  return push_global (r, module->str, name->str, error);
}


/* Containers. */

static gboolean
op_tuple (JobPickleReader  *r,
          guint             n,
          GError          **error)
{
  JobPickleNode *tuple = job_pickle_reader_new_container (r, JOB_PICKLE_TUPLE, error);

  if (tuple == NULL)
    return FALSE;
  if (n == G_MAXUINT)
    {
      GPtrArray *items = pop_mark (r, error);

      if (items == NULL)
        return FALSE;
      g_ptr_array_unref (tuple->items);
      tuple->items = items;
      return push (r, tuple);
    }
  if (r->stack->len < stack_floor (r) + n)
    return job_pickle_malformed (error, "stack underflow");
  for (guint i = r->stack->len - n; i < r->stack->len; i++)
    g_ptr_array_add (tuple->items, r->stack->pdata[i]);
  g_ptr_array_set_size (r->stack, r->stack->len - n);
  return push (r, tuple);
}

/* Adds @items to the container under them (APPEND(S), SETITEM(S),
 * ADDITEMS); takes @items. */
static gboolean
add_items (JobPickleReader  *r,
           GPtrArray        *items,
           GError          **error)
{
  g_autoptr(GPtrArray) owned = items;
  JobPickleNode *target;

  if (items == NULL || (target = top (r, error)) == NULL)
    return FALSE;

  if (target->kind == JOB_PICKLE_LIST)
    {
      for (guint i = 0; i < items->len; i++)
        g_ptr_array_add (target->items, items->pdata[i]);
      return TRUE;
    }
  if (target->kind == JOB_PICKLE_SET)
    {
      for (guint i = 0; i < items->len; i++)
        if (!job_pickle_set_add (target, items->pdata[i], r->budget, error))
          return FALSE;
      return TRUE;
    }
  if (target->kind == JOB_PICKLE_DICT || target->kind == JOB_PICKLE_ORDERED_DICT)
    {
      if (items->len % 2 != 0)
        return job_pickle_malformed (error, "odd number of dictionary items");
      for (guint i = 0; i < items->len; i += 2)
        if (!job_pickle_dict_set (target, items->pdata[i], items->pdata[i + 1],
                                  r->budget, error))
          return FALSE;
      return TRUE;
    }
  g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_DATA,
               _("Malformed pickle data: cannot add items to a %s"),
               job_pickle_kind_name (target->kind));
  return FALSE;
}

/* The @n items on top of the stack, as if a mark were under them. */
static GPtrArray *
pop_n (JobPickleReader  *r,
       guint             n,
       GError          **error)
{
  GPtrArray *items = g_ptr_array_new_with_free_func (NULL);

  for (guint i = 0; i < n; i++)
    {
      JobPickleNode *node = job_pickle_reader_pop (r, error);

      if (node == NULL)
        {
          g_ptr_array_unref (items);
          return NULL;
        }
      g_ptr_array_insert (items, 0, node);
    }
  return items;
}

static gboolean
op_dict_from_mark (JobPickleReader  *r,
                   JobPickleKind     kind,
                   GError          **error)
{
  g_autoptr(GPtrArray) items = pop_mark (r, error);
  JobPickleNode *node = NULL;

  if (items == NULL)
    return FALSE;
  node = job_pickle_reader_new_container (r, kind, error);
  if (node == NULL)
    return FALSE;
  push (r, node);
  return add_items (r, g_steal_pointer (&items), error);
}

static gboolean
op_frozenset (JobPickleReader  *r,
              GError          **error)
{
  g_autoptr(GPtrArray) items = pop_mark (r, error);
  JobPickleNode *node = NULL;

  if (items == NULL)
    return FALSE;
  node = job_pickle_reader_new_container (r, JOB_PICKLE_FROZENSET, error);
  if (node == NULL)
    return FALSE;
  for (guint i = 0; i < items->len; i++)
    if (!job_pickle_set_add (node, items->pdata[i], r->budget, error))
      return FALSE;
  return push (r, g_steal_pointer (&node));
}

/* Memo. */

static gboolean
op_put (JobPickleReader  *r,
        guint64           index,
        GError          **error)
{
  JobPickleNode *node = top (r, error);

  if (node == NULL || !job_pickle_budget_spend (r->budget, JOB_PICKLE_NODE_COST, error))
    return FALSE;
  g_hash_table_insert (r->memo, GUINT_TO_POINTER ((guint) index), node);
  return TRUE;
}

static gboolean
op_get (JobPickleReader  *r,
        guint64           index,
        GError          **error)
{
  JobPickleNode *node = g_hash_table_lookup (r->memo, GUINT_TO_POINTER ((guint) index));

  if (node == NULL)
    return job_pickle_malformed (error, "memo key not found");
  return push (r, node);
}

/* Objects. */

static gboolean
op_reduce (JobPickleReader  *r,
           gboolean          newobj,
           gboolean          with_kwargs,
           GError          **error)
{
  JobPickleNode *kwargs = with_kwargs ? job_pickle_reader_pop (r, error) : NULL;
  JobPickleNode *args = NULL;
  JobPickleNode *callable = NULL;

  if (with_kwargs && kwargs == NULL)
    return FALSE;
  if (kwargs != NULL && (kwargs->kind != JOB_PICKLE_DICT || kwargs->items->len > 0))
    return job_pickle_malformed (error, "keyword arguments");
  args = job_pickle_reader_pop (r, error);
  callable = args ? job_pickle_reader_pop (r, error) : NULL;
  if (callable == NULL)
    return FALSE;
  if (args->kind != JOB_PICKLE_TUPLE)
    return job_pickle_malformed (error, "arguments are not a tuple");
  if (callable->kind != JOB_PICKLE_GLOBAL)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_DATA,
                   _("Malformed pickle data: a %s is called"),
                   job_pickle_kind_name (callable->kind));
      return FALSE;
    }
  if (newobj)
    return push (r, job_pickle_new_object (r, callable, args, error));
  return push (r, job_pickle_reduce (r, callable, args, error));
}

static gboolean
op_build (JobPickleReader  *r,
          GError          **error)
{
  JobPickleNode *state = job_pickle_reader_pop (r, error);
  JobPickleNode *target = state ? job_pickle_reader_pop (r, error) : NULL;

  if (target == NULL)
    return FALSE;
  return push (r, job_pickle_build (r, target, state, error));
}

static gboolean
unsupported_opcode (guint8   op,
                    GError **error)
{
  g_set_error (error, JOB_ERROR, JOB_ERROR_UNSUPPORTED,
               _("The pickle opcode 0x%02x is not supported"), op);
  return FALSE;
}

static gboolean
step (JobPickleReader  *r,
      guint8            op,
      GError          **error)
{
  guint64 value;
  guint8 byte;

  switch (op)
    {
    case 0x80: /* PROTO */
      if (!job_pickle_source_read (r->source, &byte, 1, error))
        return FALSE;
      if (byte < 2 || byte > 5)
        {
          g_set_error (error, JOB_ERROR, JOB_ERROR_UNSUPPORTED,
                       _("Pickle protocol %u is not supported"), byte);
          return FALSE;
        }
      return TRUE;
    case 0x95: /* FRAME: a size hint, the data follows anyway */
      return read_uint (r, 8, &value, error);
    case '(': /* MARK */
      if (!job_pickle_budget_spend (r->budget, sizeof (guint), error))
        return FALSE;
      g_array_append_val (r->marks, r->stack->len);
      return TRUE;
    case '0': /* POP */
      {
        JobPickleNode *node;

        /* Python pops a mark when the stack is at one. */
        if (r->marks->len > 0 &&
            g_array_index (r->marks, guint, r->marks->len - 1) == r->stack->len)
          {
            g_array_set_size (r->marks, r->marks->len - 1);
            return TRUE;
          }
        node = job_pickle_reader_pop (r, error);
        return node != NULL;
      }
    case '1': /* POP_MARK */
      {
        GPtrArray *items = pop_mark (r, error);

        if (items != NULL)
          g_ptr_array_unref (items);
        return items != NULL;
      }
    case '2': /* DUP */
      {
        JobPickleNode *node = top (r, error);

        return node != NULL && push (r, node);
      }
    case 'N':
      return push (r, job_pickle_reader_new_node (r, JOB_PICKLE_NONE, error));
    case 0x88: /* NEWTRUE */
    case 0x89: /* NEWFALSE */
      {
        JobPickleNode *node = job_pickle_reader_new_node (r, JOB_PICKLE_BOOL, error);

        if (node != NULL)
          node->boolean = op == 0x88;
        return push (r, node);
      }
    case 'J': /* BININT */
      return read_uint (r, 4, &value, error) && push_int (r, (gint32) (guint32) value, error);
    case 'K': /* BININT1 */
      return read_uint (r, 1, &value, error) && push_int (r, value, error);
    case 'M': /* BININT2 */
      return read_uint (r, 2, &value, error) && push_int (r, value, error);
    case 0x8a: /* LONG1 */
      return read_uint (r, 1, &value, error) && push_long (r, value, error);
    case 0x8b: /* LONG4: the size is signed */
      if (!read_uint (r, 4, &value, error))
        return FALSE;
      if (value > G_MAXINT32)
        return job_pickle_malformed (error, "negative integer size");
      return push_long (r, value, error);
    case 'G': /* BINFLOAT, big-endian */
      {
        guint8 data[8];
        JobPickleNode *node;
        guint64 bits = 0;

        if (!job_pickle_source_read (r->source, data, 8, error))
          return FALSE;
        for (guint i = 0; i < 8; i++)
          bits = (bits << 8) | data[i];
        node = job_pickle_reader_new_node (r, JOB_PICKLE_FLOAT, error);
        if (node != NULL)
          memcpy (&node->real, &bits, sizeof bits);
        return push (r, node);
      }
    case 0x8c: /* SHORT_BINUNICODE */
    case 'X': /* BINUNICODE */
    case 0x8d: /* BINUNICODE8 */
    case 'U': /* SHORT_BINSTRING: Python 3 reads it as ASCII text */
    case 'T': /* BINSTRING */
      {
        guint size = op == 0x8c || op == 'U' ? 1 : op == 0x8d ? 8 : 4;

        if (!read_uint (r, size, &value, error))
          return FALSE;
        if (op == 'T' && value > G_MAXINT32)
          return job_pickle_malformed (error, "negative string size");
        return push (r, read_string_node (r, JOB_PICKLE_STR, value,
                                          op == 'U' || op == 'T', error));
      }
    case 'C': /* SHORT_BINBYTES */
    case 'B': /* BINBYTES */
    case 0x8e: /* BINBYTES8 */
    case 0x96: /* BYTEARRAY8 */
      {
        guint size = op == 'C' ? 1 : op == 'B' ? 4 : 8;

        return read_uint (r, size, &value, error) &&
               push_bytes (r, op == 0x96 ? JOB_PICKLE_BYTEARRAY : JOB_PICKLE_BYTES,
                           value, error);
      }
    case ')': /* EMPTY_TUPLE */
      return op_tuple (r, 0, error);
    case 0x85: /* TUPLE1 */
    case 0x86: /* TUPLE2 */
    case 0x87: /* TUPLE3 */
      return op_tuple (r, op - 0x84, error);
    case 't': /* TUPLE */
      return op_tuple (r, G_MAXUINT, error);
    case ']': /* EMPTY_LIST */
      return push (r, job_pickle_reader_new_container (r, JOB_PICKLE_LIST, error));
    case 'l': /* LIST */
      {
        GPtrArray *items = pop_mark (r, error);
        JobPickleNode *node;

        if (items == NULL)
          return FALSE;
        node = job_pickle_reader_new_container (r, JOB_PICKLE_LIST, error);
        if (node == NULL)
          {
            g_ptr_array_unref (items);
            return FALSE;
          }
        g_ptr_array_unref (node->items);
        node->items = items;
        return push (r, node);
      }
    case 'a': /* APPEND */
      return add_items (r, pop_n (r, 1, error), error);
    case 'e': /* APPENDS */
    case 'u': /* SETITEMS */
    case 0x90: /* ADDITEMS */
      return add_items (r, pop_mark (r, error), error);
    case '}': /* EMPTY_DICT */
      return push (r, job_pickle_reader_new_container (r, JOB_PICKLE_DICT, error));
    case 'd': /* DICT */
      return op_dict_from_mark (r, JOB_PICKLE_DICT, error);
    case 's': /* SETITEM */
      return add_items (r, pop_n (r, 2, error), error);
    case 0x8f: /* EMPTY_SET */
      return push (r, job_pickle_reader_new_container (r, JOB_PICKLE_SET, error));
    case 0x91: /* FROZENSET */
      return op_frozenset (r, error);
    case 'q': /* BINPUT */
      return read_uint (r, 1, &value, error) && op_put (r, value, error);
    case 'r': /* LONG_BINPUT */
      return read_uint (r, 4, &value, error) && op_put (r, value, error);
    case 0x94: /* MEMOIZE */
      return op_put (r, g_hash_table_size (r->memo), error);
    case 'h': /* BINGET */
      return read_uint (r, 1, &value, error) && op_get (r, value, error);
    case 'j': /* LONG_BINGET */
      return read_uint (r, 4, &value, error) && op_get (r, value, error);
    case 'c': /* GLOBAL */
      return op_global (r, error);
    case 0x93: /* STACK_GLOBAL */
      return op_stack_global (r, error);
    case 'R': /* REDUCE */
      return op_reduce (r, FALSE, FALSE, error);
    case 0x81: /* NEWOBJ */
      return op_reduce (r, TRUE, FALSE, error);
    case 0x92: /* NEWOBJ_EX */
      return op_reduce (r, TRUE, TRUE, error);
    case 'b': /* BUILD */
      return op_build (r, error);
    default:
      /* Text opcodes of protocols 0 and 1, extension registry, persistent
       * ids, out-of-band buffers: never written by joblib.dump. */
      return unsupported_opcode (op, error);
    }
}

/* Runs the machine to STOP. Returns: (transfer full): the value */
JobPickleNode *
job_pickle_reader_run (JobPickleReader  *r,
                       GError          **error)
{
  guint8 op;

  if (!job_pickle_source_read (r->source, &op, 1, error))
    return NULL;
  if (op != 0x80)
    {
      job_pickle_malformed (error, "no protocol opcode at the start");
      return NULL;
    }
  if (!step (r, op, error))
    return NULL;

  for (;;)
    {
      if (!job_pickle_source_read (r->source, &op, 1, error))
        return NULL;
      if (op == '.') /* STOP */
        {
          if (r->stack->len == 0)
            {
              job_pickle_malformed (error, "STOP on an empty stack");
              return NULL;
            }
          return g_ptr_array_steal_index (r->stack, r->stack->len - 1);
        }
      if (!step (r, op, error))
        return NULL;
      if (r->source->cancellable != NULL &&
          g_cancellable_set_error_if_cancelled (r->source->cancellable, error))
        return NULL;
    }
}

static void
reader_clear (JobPickleReader *r)
{
  g_ptr_array_unref (r->stack);
  g_array_unref (r->marks);
  g_hash_table_unref (r->memo);
}

/* The value of a nested pickle (an object array's) read from the same
 * source with a memo of its own. Returns: (transfer full) */
JobPickleNode *
job_pickle_reader_run_nested (JobPickleReader  *parent,
                              GError          **error)
{
  JobPickleReader r = {
    .source = parent->source,
    .budget = parent->budget,
    .stack = g_ptr_array_new_with_free_func (NULL),
    .marks = g_array_new (FALSE, FALSE, sizeof (guint)),
    .memo = g_hash_table_new_full (NULL, NULL, NULL, NULL),
    .nested = TRUE,
  };
  JobPickleNode *value = job_pickle_reader_run (&r, error);

  reader_clear (&r);
  return value;
}

JobPickleNode *
job_pickle_read (GInputStream     *stream,
                 const guint8     *prefix,
                 gsize             prefix_size,
                 GBytes           *mapped,
                 JobPickleBudget  *budget,
                 GCancellable     *cancellable,
                 GError          **error)
{
  JobPickleSource source = {
    .stream = stream,
    .cancellable = cancellable,
    .mapped = mapped,
  };
  JobPickleReader r = {
    .source = &source,
    .budget = budget,
    .stack = g_ptr_array_new_with_free_func (NULL),
    .marks = g_array_new (FALSE, FALSE, sizeof (guint)),
    .memo = g_hash_table_new_full (NULL, NULL, NULL, NULL),
  };
  JobPickleNode *value;

  g_return_val_if_fail ((stream == NULL) != (mapped == NULL), NULL);

  if (mapped != NULL)
    source.map_data = g_bytes_get_data (mapped, &source.map_size);
  else
    {
      g_return_val_if_fail (prefix_size <= JOB_PICKLE_STREAM_BUFFER_SIZE, NULL);
      source.buffer = g_malloc (JOB_PICKLE_STREAM_BUFFER_SIZE);
      memcpy (source.buffer, prefix, prefix_size);
      source.buffer_len = prefix_size;
    }
  value = job_pickle_reader_run (&r, error);
  reader_clear (&r);
  g_free (source.buffer);
  return value;
}
