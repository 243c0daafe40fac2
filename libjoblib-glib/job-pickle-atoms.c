/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "job-i18n-private.h"
#include "job-pickle-reader-private.h"

/* The opcodes that push one new value: numbers, strings, bytes, and the
 * class references of GLOBAL and STACK_GLOBAL, from a fixed allow-list
 * (nothing is imported). */

/* Longer module or class names are not in the allow-list anyway. */
#define MAX_NAME_SIZE 256
/* Integers of more bytes than this (about 20 000 digits) are refused. */
#define MAX_LONG_SIZE 8192

gboolean
job_pickle_push_int (JobPickleReader *r,
                     gint64           value,
                     GError         **error)
{
  JobPickleNode *node = job_pickle_stack_new_node (r, JOB_PICKLE_INT, error);

  if (node != NULL)
    node->integer = value;
  return job_pickle_stack_push (r, node);
}

/* Python's LONG1/LONG4: little-endian two's complement of @size bytes. */
gboolean
job_pickle_push_long (JobPickleReader *r,
                      guint64          size,
                      GError         **error)
{
  g_autofree guint8  *data = NULL;
  g_autoptr (GString) digits = NULL;
  JobPickleNode      *node;
  gboolean            negative;

  if (size > MAX_LONG_SIZE)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_UNSUPPORTED,
                   _("An integer of %" G_GUINT64_FORMAT " bytes is too large"), size);
      return FALSE;
    }
  if (size == 0)
    return job_pickle_push_int (r, 0, error);
  data = g_malloc (size);
  if (!job_pickle_source_read (r->source, data, size, error))
    return FALSE;
  negative = (data[size - 1] & 0x80) != 0;
  if (size <= 8)
    {
      guint64 bits = job_pickle_read_le (data, size);

      if (negative && size < 8)
        bits |= G_MAXUINT64 << (8 * size);
      return job_pickle_push_int (r, (gint64) bits, error);
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
      guint    remainder = 0;
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

  node = job_pickle_stack_new_node (r, JOB_PICKLE_BIGINT, error);
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
  return job_pickle_stack_push (r, node);
}

JobPickleNode *
job_pickle_read_string (JobPickleReader *r,
                        JobPickleKind    kind,
                        guint64          size,
                        gboolean         ascii,
                        GError         **error)
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
  node = job_pickle_stack_new_node (r, kind, error);
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

gboolean
job_pickle_push_bytes (JobPickleReader *r,
                       JobPickleKind    kind,
                       guint64          size,
                       GError         **error)
{
  JobPickleNode *node = job_pickle_stack_new_node (r, kind, error);

  if (node == NULL)
    return FALSE;
  node->bytes = job_pickle_source_bytes (r->source, size, FALSE, r->budget, error);
  if (node->bytes == NULL)
    return FALSE;
  return job_pickle_stack_push (r, node);
}

/* Globals: a fixed allow-list, nothing is imported. */

static gboolean
push_global (JobPickleReader *r,
             const char      *module,
             const char      *name,
             GError         **error)
{
  static const struct
  {
    const char     *module;
    const char     *name;
    JobPickleGlobal global;
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
    if (strcmp (module, allowed[i].module) == 0 && strcmp (name, allowed[i].name) == 0 &&
        (!r->plain_only || allowed[i].global == JOB_PICKLE_GLOBAL_COMPLEX))
      {
        node = job_pickle_stack_new_node (r, JOB_PICKLE_GLOBAL, error);
        if (node != NULL)
          node->global = allowed[i].global;
        return job_pickle_stack_push (r, node);
      }
  g_set_error (error, JOB_ERROR, JOB_ERROR_UNSUPPORTED,
               _("The file needs the Python object “%s.%s”, which the safe "
                 "reader does not rebuild"),
                  g_utf8_validate (module, -1, NULL) ? module : "?",
                  g_utf8_validate (name, -1, NULL) ? name : "?");
  return FALSE;
}

static gboolean
read_line (JobPickleReader *r,
           char            *line,
           GError         **error)
{
  for (guint i = 0; i < MAX_NAME_SIZE; i++)
    {
      guint8 byte;

      if (!job_pickle_source_byte (r->source, &byte, error))
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

gboolean
job_pickle_op_global (JobPickleReader *r,
                      GError         **error)
{
  char module[MAX_NAME_SIZE + 1], name[MAX_NAME_SIZE + 1];

  return read_line (r, module, error) && read_line (r, name, error) &&
         push_global (r, module, name, error);
}

gboolean
job_pickle_op_stack_global (JobPickleReader *r,
                            GError         **error)
{
  JobPickleNode *name = job_pickle_stack_pop (r, error);
  JobPickleNode *module = name ? job_pickle_stack_pop (r, error) : NULL;

  if (module == NULL)
    return FALSE;
  if (name->kind != JOB_PICKLE_STR || module->kind != JOB_PICKLE_STR ||
      strlen (name->str) != name->str_len || strlen (module->str) != module->str_len)
    return job_pickle_malformed (error, "STACK_GLOBAL needs two strings");
  return push_global (r, module->str, name->str, error);
}
