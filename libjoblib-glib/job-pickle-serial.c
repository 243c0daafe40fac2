/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "job-persist.h"
#include "job-pickle-private.h"
#include "job-variant-framing-private.h"

/*
 * The GVariant of a tree of plain pickle nodes (None, bool, int, float,
 * text, list, tuple, dict with text keys), written straight in GVariant's
 * serialized form: the same bytes as job_pickle_node_to_variant() gives
 * once serialized, without a GVariant per node and without GLib's
 * serializer walking that tree twice (most of a dump of small values
 * from Python). Any other node, and any value that one would refuse
 * (too deep, too large, a cycle), makes it give up: the caller then
 * converts the tree node by node, which says what is wrong. So does a
 * container met twice, and output far larger than what the reader made
 * of the pickle: the conversion shares what the pickle shares, where
 * writing it out would copy it each time (a few bytes of pickle can
 * name a subtree a billion times).
 *
 * The rules written here are GVariant's (see GLib's
 * gvariant-serialiser.c): a container holds its children each aligned
 * to its type's alignment, then the ends of its variable-size children
 * as framing offsets, as wide as the container's total size requires;
 * in a tuple or dict entry, for every variable-size member but the
 * last, from the last slot backwards; in an array, for every element,
 * in order. A variant is its child, a zero byte and the child's type.
 */

#define NODE_COST 64

typedef struct
{
  GByteArray *out;
  guint64     budget;
  gsize       max_out;  /* give up beyond: a tree that shares nodes */
  GString    *type;   /* scratch for a tuple's type */
} Writer;

static gboolean write_node (Writer        *self,
                            JobPickleNode *node,
                            guint          depth);

static void
pad (Writer *self,
     guint   alignment)
{
  static const guint8 zeros[8];
  guint n = (alignment - self->out->len % alignment) % alignment;

  g_byte_array_append (self->out, zeros, n);
}

/* Appends @ends (relative to @start), @n of them, as framing offsets. */
static void
write_offsets (Writer      *self,
               gsize        start,
               const gsize *ends,
               gsize        n,
               gboolean     backwards)
{
  job_variant_append_offsets (self->out, ends, n,
                              job_variant_offset_size_for_body (self->out->len - start, n),
                              backwards);
}

static gboolean
is_plain_string (JobPickleNode *node)
{
  return node->kind == JOB_PICKLE_STR &&
         g_utf8_validate (node->str, node->str_len, NULL);
}

/* The type of @node's GVariant, appended to @type; FALSE for a node this
 * writer leaves to the converter. */
static gboolean
append_type (JobPickleNode *node,
             GString       *type)
{
  switch (node->kind)
    {
    case JOB_PICKLE_NONE:
      g_string_append (type, "mv");
      return TRUE;
    case JOB_PICKLE_BOOL:
      g_string_append_c (type, 'b');
      return TRUE;
    case JOB_PICKLE_INT:
      g_string_append_c (type, 'x');
      return TRUE;
    case JOB_PICKLE_FLOAT:
      g_string_append_c (type, 'd');
      return TRUE;
    case JOB_PICKLE_STR:
      g_string_append_c (type, 's');
      return is_plain_string (node);
    case JOB_PICKLE_LIST:
      g_string_append (type, "av");
      return TRUE;
    case JOB_PICKLE_TUPLE:
      g_string_append_c (type, '(');
      for (guint i = 0; i < node->items->len; i++)
        g_string_append_c (type, 'v');
      g_string_append_c (type, ')');
      return TRUE;
    case JOB_PICKLE_DICT:
      g_string_append (type, "a{sv}");
      for (guint i = 0; i < node->items->len; i++)
        if (!is_plain_string (node->items->pdata[i]))
          return FALSE;
      return TRUE;
    case JOB_PICKLE_BIGINT:
    case JOB_PICKLE_COMPLEX:
    case JOB_PICKLE_BYTES:
    case JOB_PICKLE_BYTEARRAY:
    case JOB_PICKLE_SET:
    case JOB_PICKLE_FROZENSET:
    case JOB_PICKLE_ORDERED_DICT:
    case JOB_PICKLE_GLOBAL:
    case JOB_PICKLE_DTYPE:
    case JOB_PICKLE_WRAPPER:
    case JOB_PICKLE_ARRAY:
    case JOB_PICKLE_SCALAR:
    default:
      return FALSE;
    }
}

/* A variant holding @node: aligned to 8, the child, 0, its type. */
static gboolean
write_variant (Writer        *self,
               JobPickleNode *node,
               guint          depth)
{
  gsize type_start;

  pad (self, 8);
  if (!write_node (self, node, depth))
    return FALSE;
  g_byte_array_append (self->out, (const guint8 *) "", 1);
  g_string_truncate (self->type, 0);
  type_start = self->type->len;
  if (!append_type (node, self->type))
    return FALSE;
  g_byte_array_append (self->out, (const guint8 *) self->type->str + type_start,
                       self->type->len - type_start);
  return TRUE;
}

static gboolean
write_string (Writer     *self,
              const char *str,
              gsize       len)
{
  g_byte_array_append (self->out, (const guint8 *) str, len);
  g_byte_array_append (self->out, (const guint8 *) "", 1);
  return TRUE;
}

/* av, or a tuple of variants (their ends but the last's, backwards). */
static gboolean
write_variants (Writer        *self,
                JobPickleNode *node,
                gboolean       tuple,
                guint          depth)
{
  guint n = node->items->len;
  g_autofree gsize *ends = g_new (gsize, MAX (n, 1));
  gsize start;

  if (tuple && n == 0)
    {
      /* the unit type: one zero byte */
      g_byte_array_append (self->out, (const guint8 *) "", 1);
      return TRUE;
    }
  pad (self, 8);
  start = self->out->len;
  for (guint i = 0; i < n; i++)
    {
      if (!write_variant (self, node->items->pdata[i], depth + 1))
        return FALSE;
      ends[i] = self->out->len - start;
    }
  write_offsets (self, start, ends, tuple ? n - 1 : n, tuple);
  return TRUE;
}

/* a{sv}: each entry aligned to 8, the key, the value variant aligned to
 * 8, the key's end; then every entry's end. */
static gboolean
write_dict (Writer        *self,
            JobPickleNode *node,
            guint          depth)
{
  guint n = node->items->len;
  g_autofree gsize *ends = g_new (gsize, MAX (n, 1));
  gsize start;

  pad (self, 8);
  start = self->out->len;
  for (guint i = 0; i < n; i++)
    {
      JobPickleNode *key = node->items->pdata[i];
      gsize entry_start, key_end;

      if (!is_plain_string (key))
        return FALSE;
      pad (self, 8);
      entry_start = self->out->len;
      write_string (self, key->str, key->str_len);
      key_end = self->out->len - entry_start;
      if (!write_variant (self, node->values->pdata[i], depth + 1))
        return FALSE;
      write_offsets (self, entry_start, &key_end, 1, TRUE);
      ends[i] = self->out->len - start;
    }
  write_offsets (self, start, ends, n, FALSE);
  return TRUE;
}

static gboolean
write_node (Writer        *self,
            JobPickleNode *node,
            guint          depth)
{
  guint64 cost = NODE_COST + node->str_len;
  gboolean ok;

  /* the converter's limits: it says what they are */
  if (depth > JOB_PERSIST_MAX_DEPTH || node->visiting || cost > self->budget ||
      self->out->len > self->max_out)
    return FALSE;
  self->budget -= cost;

  switch (node->kind)
    {
    case JOB_PICKLE_NONE:
      return TRUE;
    case JOB_PICKLE_BOOL:
      {
        guint8 b = node->boolean ? 1 : 0;

        g_byte_array_append (self->out, &b, 1);
        return TRUE;
      }
    case JOB_PICKLE_INT:
      {
        gint64 v = node->integer;  /* GVariant's numbers are in host order */

        pad (self, 8);
        g_byte_array_append (self->out, (const guint8 *) &v, 8);
        return TRUE;
      }
    case JOB_PICKLE_FLOAT:
      {
        double v = node->real;

        pad (self, 8);
        g_byte_array_append (self->out, (const guint8 *) &v, 8);
        return TRUE;
      }
    case JOB_PICKLE_STR:
      return is_plain_string (node) && write_string (self, node->str, node->str_len);
    case JOB_PICKLE_LIST:
    case JOB_PICKLE_TUPLE:
    case JOB_PICKLE_DICT:
      if (node->written)
        return FALSE;
      node->written = TRUE;
      node->visiting = TRUE;
      ok = node->kind == JOB_PICKLE_DICT
             ? write_dict (self, node, depth)
             : write_variants (self, node, node->kind == JOB_PICKLE_TUPLE, depth);
      node->visiting = FALSE;
      return ok;
    case JOB_PICKLE_BIGINT:
    case JOB_PICKLE_COMPLEX:
    case JOB_PICKLE_BYTES:
    case JOB_PICKLE_BYTEARRAY:
    case JOB_PICKLE_SET:
    case JOB_PICKLE_FROZENSET:
    case JOB_PICKLE_ORDERED_DICT:
    case JOB_PICKLE_GLOBAL:
    case JOB_PICKLE_DTYPE:
    case JOB_PICKLE_WRAPPER:
    case JOB_PICKLE_ARRAY:
    case JOB_PICKLE_SCALAR:
    default:
      return FALSE;
    }
}

/* Returns: (transfer full) (nullable): the value, or NULL when @root
 * must go through job_pickle_node_to_variant() */
GVariant *
job_pickle_node_serialize (JobPickleNode   *root,
                           JobPickleBudget *budget)
{
  g_autoptr(GString) root_type = g_string_new (NULL);
  /* what the reader spent: about 64 bytes per node and the text */
  guint64 read = budget->limit - budget->budget;
  Writer self = { g_byte_array_new (), budget->budget, (gsize) MIN (8 * read + 65536, G_MAXSIZE / 2),
                  g_string_new (NULL) };
  GVariant *value;
  GBytes *bytes;
  gboolean ok;

  ok = append_type (root, root_type) && write_node (&self, root, 0);
  g_string_free (self.type, TRUE);
  if (!ok)
    {
      /* a node left half-visited would read as a cycle */
      for (guint i = 0; i < budget->nodes->len; i++)
        {
          JobPickleNode *node = budget->nodes->pdata[i];

          node->visiting = FALSE;
          node->written = FALSE;
        }
      g_byte_array_unref (self.out);
      return NULL;
    }
  bytes = g_byte_array_free_to_bytes (self.out);
  value = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE (root_type->str), bytes,
                                                        TRUE));
  g_bytes_unref (bytes);
  return value;
}
