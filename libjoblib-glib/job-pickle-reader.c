/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "job-i18n-private.h"
#include "job-pickle-reader-private.h"

/* The pickle virtual machine, restricted to what joblib.dump writes
 * (docs/joblib-files.md lists the opcodes and classes): containers, the
 * memo and the loop, over the stack of job-pickle-stack.c. Every size read from the file is
 * checked against what is left of the input or of the budget before
 * anything is allocated (job-pickle-source.c, job-pickle-atoms.c). */

/* Containers. */

static gboolean
op_tuple (JobPickleReader *r,
          guint            n,
          GError         **error)
{
  JobPickleNode *tuple = job_pickle_stack_new_container (r, JOB_PICKLE_TUPLE, error);

  if (tuple == NULL)
    return FALSE;
  if (n == G_MAXUINT)
    {
      GPtrArray *items = job_pickle_stack_pop_mark (r, error);

      if (items == NULL)
        return FALSE;
      g_ptr_array_unref (tuple->items);
      tuple->items = items;
      return job_pickle_stack_push (r, tuple);
    }
  if (r->stack->len < job_pickle_stack_floor (r) + n)
    return job_pickle_malformed (error, "stack underflow");
  for (guint i = r->stack->len - n; i < r->stack->len; i++)
    g_ptr_array_add (tuple->items, r->stack->pdata[i]);
  g_ptr_array_set_size (r->stack, r->stack->len - n);
  return job_pickle_stack_push (r, tuple);
}

/* Adds @items to the container under them (APPEND(S), SETITEM(S),
 * ADDITEMS); takes @items. */
static gboolean
add_items (JobPickleReader *r,
           GPtrArray       *items,
           GError         **error)
{
  g_autoptr (GPtrArray) owned = items;
  JobPickleNode        *target;

  if (items == NULL || (target = job_pickle_stack_top (r, error)) == NULL)
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

static gboolean
op_dict_from_mark (JobPickleReader *r,
                   JobPickleKind    kind,
                   GError         **error)
{
  g_autoptr (GPtrArray) items = job_pickle_stack_pop_mark (r, error);
  JobPickleNode        *node = NULL;

  if (items == NULL)
    return FALSE;
  node = job_pickle_stack_new_container (r, kind, error);
  if (node == NULL)
    return FALSE;
  job_pickle_stack_push (r, node);
  return add_items (r, g_steal_pointer (&items), error);
}

static gboolean
op_frozenset (JobPickleReader *r,
              GError         **error)
{
  g_autoptr (GPtrArray) items = job_pickle_stack_pop_mark (r, error);
  JobPickleNode        *node = NULL;

  if (items == NULL)
    return FALSE;
  node = job_pickle_stack_new_container (r, JOB_PICKLE_FROZENSET, error);
  if (node == NULL)
    return FALSE;
  for (guint i = 0; i < items->len; i++)
    if (!job_pickle_set_add (node, items->pdata[i], r->budget, error))
      return FALSE;
  return job_pickle_stack_push (r, g_steal_pointer (&node));
}

/* Memo. */

static gboolean
op_put (JobPickleReader *r,
        guint64          index,
        GError         **error)
{
  JobPickleNode *node = job_pickle_stack_top (r, error);

  if (node == NULL || !job_pickle_budget_spend (r->budget, JOB_PICKLE_NODE_COST, error))
    return FALSE;
  g_hash_table_insert (r->memo, GUINT_TO_POINTER ((guint) index), node);
  return TRUE;
}

static gboolean
op_get (JobPickleReader *r,
        guint64          index,
        GError         **error)
{
  JobPickleNode *node = g_hash_table_lookup (r->memo, GUINT_TO_POINTER ((guint) index));

  if (node == NULL)
    return job_pickle_malformed (error, "memo key not found");
  /* A container met twice: its identity would be lost. */
  if (r->plain_only &&
      !(node->kind == JOB_PICKLE_STR || node->kind == JOB_PICKLE_BYTES ||
        node->kind == JOB_PICKLE_BIGINT || node->kind == JOB_PICKLE_INT ||
        node->kind == JOB_PICKLE_FLOAT || node->kind == JOB_PICKLE_GLOBAL ||
        (node->kind == JOB_PICKLE_TUPLE && node->items->len == 0)))
    {
      g_set_error_literal (error, JOB_ERROR, JOB_ERROR_UNSUPPORTED,
                           _("The pickle holds a container twice"));
      return FALSE;
    }
  return job_pickle_stack_push (r, node);
}

/* Objects. */

static gboolean
op_reduce (JobPickleReader *r,
           gboolean         newobj,
           gboolean         with_kwargs,
           GError         **error)
{
  JobPickleNode *kwargs = with_kwargs ? job_pickle_stack_pop (r, error) : NULL;
  JobPickleNode *args = NULL;
  JobPickleNode *callable = NULL;

  if (with_kwargs && kwargs == NULL)
    return FALSE;
  if (kwargs != NULL && (kwargs->kind != JOB_PICKLE_DICT || kwargs->items->len > 0))
    return job_pickle_malformed (error, "keyword arguments");
  args = job_pickle_stack_pop (r, error);
  callable = args ? job_pickle_stack_pop (r, error) : NULL;
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
    return job_pickle_stack_push (r, job_pickle_new_object (r, callable, args, error));
  return job_pickle_stack_push (r, job_pickle_reduce (r, callable, args, error));
}

static gboolean
op_build (JobPickleReader *r,
          GError         **error)
{
  JobPickleNode *state = job_pickle_stack_pop (r, error);
  JobPickleNode *target = state ? job_pickle_stack_pop (r, error) : NULL;

  if (target == NULL)
    return FALSE;
  return job_pickle_stack_push (r, job_pickle_build (r, target, state, error));
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
step (JobPickleReader *r,
      guint8           op,
      GError         **error)
{
  guint64 value;
  guint8  byte;

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
      return job_pickle_source_uint (r->source, 8, &value, error);
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
        node = job_pickle_stack_pop (r, error);
        return node != NULL;
      }
    case '1': /* POP_MARK */
      {
        GPtrArray *items = job_pickle_stack_pop_mark (r, error);

        if (items != NULL)
          g_ptr_array_unref (items);
        return items != NULL;
      }
    case '2': /* DUP */
      {
        JobPickleNode *node = job_pickle_stack_top (r, error);

        return node != NULL && job_pickle_stack_push (r, node);
      }
    case 'N':
      return job_pickle_stack_push (r, job_pickle_stack_new_node (r, JOB_PICKLE_NONE, error));
    case 0x88: /* NEWTRUE */
    case 0x89: /* NEWFALSE */
      {
        JobPickleNode *node = job_pickle_stack_new_node (r, JOB_PICKLE_BOOL, error);

        if (node != NULL)
          node->boolean = op == 0x88;
        return job_pickle_stack_push (r, node);
      }
    case 'J': /* BININT */
      return job_pickle_source_uint (r->source, 4, &value, error) && job_pickle_push_int (r, (gint32) (guint32) value, error);
    case 'K': /* BININT1 */
      return job_pickle_source_uint (r->source, 1, &value, error) && job_pickle_push_int (r, value, error);
    case 'M': /* BININT2 */
      return job_pickle_source_uint (r->source, 2, &value, error) && job_pickle_push_int (r, value, error);
    case 0x8a: /* LONG1 */
      return job_pickle_source_uint (r->source, 1, &value, error) && job_pickle_push_long (r, value, error);
    case 0x8b: /* LONG4: the size is signed */
      if (!job_pickle_source_uint (r->source, 4, &value, error))
        return FALSE;
      if (value > G_MAXINT32)
        return job_pickle_malformed (error, "negative integer size");
      return job_pickle_push_long (r, value, error);
    case 'G': /* BINFLOAT, big-endian */
      {
        guint8         data[8];
        JobPickleNode *node;
        guint64        bits = 0;

        if (!job_pickle_source_read (r->source, data, 8, error))
          return FALSE;
        for (guint i = 0; i < 8; i++)
          bits = (bits << 8) | data[i];
        node = job_pickle_stack_new_node (r, JOB_PICKLE_FLOAT, error);
        if (node != NULL)
          memcpy (&node->real, &bits, sizeof bits);
        return job_pickle_stack_push (r, node);
      }
    case 0x8c: /* SHORT_BINUNICODE */
    case 'X':  /* BINUNICODE */
    case 0x8d: /* BINUNICODE8 */
    case 'U':  /* SHORT_BINSTRING: Python 3 reads it as ASCII text */
    case 'T':  /* BINSTRING */
      {
        guint size = op == 0x8c || op == 'U' ? 1 : op == 0x8d ? 8
                                                              : 4;

        if (!job_pickle_source_uint (r->source, size, &value, error))
          return FALSE;
        if (op == 'T' && value > G_MAXINT32)
          return job_pickle_malformed (error, "negative string size");
        return job_pickle_stack_push (r, job_pickle_read_string (r, JOB_PICKLE_STR, value,
                                                                 op == 'U' || op == 'T', error));
      }
    case 'C':  /* SHORT_BINBYTES */
    case 'B':  /* BINBYTES */
    case 0x8e: /* BINBYTES8 */
    case 0x96: /* BYTEARRAY8 */
      {
        guint size = op == 'C' ? 1 : op == 'B' ? 4
                                               : 8;

        return job_pickle_source_uint (r->source, size, &value, error) &&
               job_pickle_push_bytes (r, op == 0x96 ? JOB_PICKLE_BYTEARRAY : JOB_PICKLE_BYTES,
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
      return job_pickle_stack_push (r, job_pickle_stack_new_container (r, JOB_PICKLE_LIST, error));
    case 'l': /* LIST */
      {
        GPtrArray     *items = job_pickle_stack_pop_mark (r, error);
        JobPickleNode *node;

        if (items == NULL)
          return FALSE;
        node = job_pickle_stack_new_container (r, JOB_PICKLE_LIST, error);
        if (node == NULL)
          {
            g_ptr_array_unref (items);
            return FALSE;
          }
        g_ptr_array_unref (node->items);
        node->items = items;
        return job_pickle_stack_push (r, node);
      }
    case 'a': /* APPEND */
      return add_items (r, job_pickle_stack_pop_n (r, 1, error), error);
    case 'e':  /* APPENDS */
    case 'u':  /* SETITEMS */
    case 0x90: /* ADDITEMS */
      return add_items (r, job_pickle_stack_pop_mark (r, error), error);
    case '}': /* EMPTY_DICT */
      return job_pickle_stack_push (r, job_pickle_stack_new_container (r, JOB_PICKLE_DICT, error));
    case 'd': /* DICT */
      return op_dict_from_mark (r, JOB_PICKLE_DICT, error);
    case 's': /* SETITEM */
      return add_items (r, job_pickle_stack_pop_n (r, 2, error), error);
    case 0x8f: /* EMPTY_SET */
      return job_pickle_stack_push (r, job_pickle_stack_new_container (r, JOB_PICKLE_SET, error));
    case 0x91: /* FROZENSET */
      return op_frozenset (r, error);
    case 'q': /* BINPUT */
      return job_pickle_source_uint (r->source, 1, &value, error) && op_put (r, value, error);
    case 'r': /* LONG_BINPUT */
      return job_pickle_source_uint (r->source, 4, &value, error) && op_put (r, value, error);
    case 0x94: /* MEMOIZE */
      return op_put (r, g_hash_table_size (r->memo), error);
    case 'h': /* BINGET */
      return job_pickle_source_uint (r->source, 1, &value, error) && op_get (r, value, error);
    case 'j': /* LONG_BINGET */
      return job_pickle_source_uint (r->source, 4, &value, error) && op_get (r, value, error);
    case 'c': /* GLOBAL */
      return job_pickle_op_global (r, error);
    case 0x93: /* STACK_GLOBAL */
      return job_pickle_op_stack_global (r, error);
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
static JobPickleNode *
run (JobPickleReader *r,
     GError         **error)
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

JobPickleNode *
job_pickle_read (GInputStream    *stream,
                 const guint8    *prefix,
                 gsize            prefix_size,
                 GBytes          *mapped,
                 JobPickleBudget *budget,
                 GCancellable    *cancellable,
                 GError         **error)
{
  return job_pickle_read_full (stream, prefix, prefix_size, mapped, FALSE, budget,
                               cancellable, error);
}

JobPickleNode *
job_pickle_read_full (GInputStream    *stream,
                      const guint8    *prefix,
                      gsize            prefix_size,
                      GBytes          *mapped,
                      gboolean         plain_only,
                      JobPickleBudget *budget,
                      GCancellable    *cancellable,
                      GError         **error)
{
  JobPickleSource source = {
    .stream = stream,
    .cancellable = cancellable,
    .mapped = mapped,
  };
  JobPickleReader r;
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
  job_pickle_stack_init (&r, &source, budget, run);
  r.plain_only = plain_only;
  value = run (&r, error);
  job_pickle_stack_clear (&r);
  g_free (source.buffer);
  return value;
}
