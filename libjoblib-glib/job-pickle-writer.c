/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "job-pickle-plain.h"
#include "job-pickle-writer-private.h"

static void
put_bytes_of (JobPickleWriter *w,
              guint8           op4,
              guint8           op8,
              GVariant        *bytes)
{
  job_pickle_writer_sized (w, op4, op8, g_variant_get_data (bytes), g_variant_get_size (bytes));
}

static void put_value (JobPickleWriter *w, GVariant *value);

/* MARK, each child (unwrapping variants), then @op. */
static void
put_children (JobPickleWriter *w,
              GVariant        *container,
              guint8           op)
{
  gsize n = g_variant_n_children (container);

  job_pickle_writer_byte (w, OP_MARK);
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) child = g_variant_get_child_value (container, i);

      put_value (w, child);
    }
  job_pickle_writer_byte (w, op);
}

static gboolean
put_tagged (JobPickleWriter *w,
            GVariant        *value)
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
      job_pickle_writer_byte (w, OP_INT);
      g_byte_array_append (w->out, (const guint8 *) digits, length);
      job_pickle_writer_byte (w, '\n');
      return TRUE;
    }
  if (strcmp (tag, "complex") == 0 && strcmp (type, "(dd)") == 0)
    {
      double real, imag;

      g_variant_get (payload, "(dd)", &real, &imag);
      job_pickle_writer_string (w, "builtins", 8);
      job_pickle_writer_string (w, "complex", 7);
      job_pickle_writer_byte (w, OP_STACK_GLOBAL);
      job_pickle_writer_float (w, real);
      job_pickle_writer_float (w, imag);
      job_pickle_writer_byte (w, OP_TUPLE2);
      job_pickle_writer_byte (w, OP_REDUCE);
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
      job_pickle_writer_byte (w, OP_BYTEARRAY8);
      job_pickle_writer_le (w, g_variant_get_size (payload), 8);
      g_byte_array_append (w->out, g_variant_get_data (payload),
                           g_variant_get_size (payload));
      return TRUE;
    }
  if ((strcmp (tag, "set") == 0 || strcmp (tag, "frozenset") == 0) &&
      strcmp (type, "av") == 0)
    {
      if (tag[0] == 's')
        {
          job_pickle_writer_byte (w, OP_EMPTY_SET);
          put_children (w, payload, OP_ADDITEMS);
        }
      else
        put_children (w, payload, OP_FROZENSET);
      return TRUE;
    }
  if (strcmp (tag, "dict") == 0 && strcmp (type, "a(vv)") == 0)
    {
      gsize n = g_variant_n_children (payload);

      job_pickle_writer_byte (w, OP_EMPTY_DICT);
      job_pickle_writer_byte (w, OP_MARK);
      for (gsize i = 0; i < n; i++)
        {
          g_autoptr(GVariant) pair = g_variant_get_child_value (payload, i);
          g_autoptr(GVariant) key = g_variant_get_child_value (pair, 0);
          g_autoptr(GVariant) item = g_variant_get_child_value (pair, 1);

          put_value (w, key);
          put_value (w, item);
        }
      job_pickle_writer_byte (w, OP_SETITEMS);
      return TRUE;
    }
  return FALSE;
}

static void
put_value (JobPickleWriter *w,
           GVariant        *value)
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
      job_pickle_writer_int (w, g_variant_get_int64 (value));
      return;
    case 'd':
      job_pickle_writer_float (w, g_variant_get_double (value));
      return;
    case 'b':
      job_pickle_writer_byte (w, g_variant_get_boolean (value) ? OP_NEWTRUE : OP_NEWFALSE);
      return;
    case 's':
      {
        gsize length;
        const char *text = g_variant_get_string (value, &length);

        job_pickle_writer_string (w, text, length);
      }
      return;
    case 'm':
      if (strcmp (type, "mv") == 0)
        {
          g_autoptr(GVariant) inner = g_variant_get_maybe (value);

          if (inner == NULL)
            job_pickle_writer_byte (w, OP_NONE);
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
          job_pickle_writer_byte (w, OP_EMPTY_LIST);
          if (g_variant_n_children (value) > 0)
            put_children (w, value, OP_APPENDS);
          return;
        }
      if (strcmp (type, "a{sv}") == 0)
        {
          gsize n = g_variant_n_children (value);

          job_pickle_writer_byte (w, OP_EMPTY_DICT);
          if (n == 0)
            return;
          job_pickle_writer_byte (w, OP_MARK);
          for (gsize i = 0; i < n; i++)
            {
              g_autoptr(GVariant) entry = g_variant_get_child_value (value, i);
              g_autoptr(GVariant) key = g_variant_get_child_value (entry, 0);
              g_autoptr(GVariant) item = g_variant_get_child_value (entry, 1);
              gsize length;
              const char *text = g_variant_get_string (key, &length);

              job_pickle_writer_string (w, text, length);
              put_value (w, item);
            }
          job_pickle_writer_byte (w, OP_SETITEMS);
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
          job_pickle_writer_byte (w, OP_EMPTY_TUPLE);
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

  job_pickle_writer_deferred (w, value);
}

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
  JobPickleWriter w;

  g_return_val_if_fail (value != NULL, NULL);
  g_return_val_if_fail (out_deferred != NULL, NULL);

  w.out = g_byte_array_sized_new (64 + g_variant_get_size (value));
  w.n_deferred = 0;
  w.root = NULL;
  g_variant_builder_init (&w.deferred, G_VARIANT_TYPE ("av"));

  job_pickle_writer_byte (&w, OP_PROTO);
  job_pickle_writer_byte (&w, 5);
  if (g_variant_is_normal_form (value))
    {
      if (!job_pickle_writer_raw (&w, value))
        {
          /* bytes that do not add up: start again with GLib's accessors */
          g_byte_array_set_size (w.out, 2);
          g_variant_builder_clear (&w.deferred);
          g_variant_builder_init (&w.deferred, G_VARIANT_TYPE ("av"));
          w.n_deferred = 0;
          put_value (&w, value);
        }
    }
  else
    put_value (&w, value);
  job_pickle_writer_byte (&w, OP_STOP);

  *out_deferred = g_variant_ref_sink (g_variant_builder_end (&w.deferred));
  return g_byte_array_free_to_bytes (w.out);
}
