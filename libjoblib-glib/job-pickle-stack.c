/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-pickle-reader-private.h"

/* The state of the pickle machine that every opcode shares: new nodes,
 * the stack and its marks, and nested runs. It knows no opcode: the loop
 * (job-pickle-reader.c) hands itself down as JobPickleReader.run, and a
 * nested run (an object array's pickle, job-pickle-objects.c) goes back
 * through that callback. */

void
job_pickle_stack_init (JobPickleReader *r,
                       JobPickleSource *source,
                       JobPickleBudget *budget,
                       JobPickleRunFunc run)
{
  *r = (JobPickleReader) {
    .source = source,
    .budget = budget,
    .run = run,
    .stack = g_ptr_array_new_with_free_func (NULL),
    .marks = g_array_new (FALSE, FALSE, sizeof (guint)),
    .memo = g_hash_table_new_full (NULL, NULL, NULL, NULL),
  };
}

void
job_pickle_stack_clear (JobPickleReader *r)
{
  g_clear_pointer (&r->stack, g_ptr_array_unref);
  g_clear_pointer (&r->marks, g_array_unref);
  g_clear_pointer (&r->memo, g_hash_table_unref);
}

JobPickleNode *
job_pickle_stack_new_node (JobPickleReader *r,
                           JobPickleKind    kind,
                           GError         **error)
{
  if (!job_pickle_budget_spend (r->budget, JOB_PICKLE_NODE_COST, error))
    return NULL;
  return job_pickle_node_new (r->budget, kind);
}

JobPickleNode *
job_pickle_stack_new_container (JobPickleReader *r,
                                JobPickleKind    kind,
                                GError         **error)
{
  JobPickleNode *node = job_pickle_stack_new_node (r, kind, error);

  if (node == NULL)
    return NULL;
  node->items = g_ptr_array_new_with_free_func (NULL);
  if (kind == JOB_PICKLE_DICT || kind == JOB_PICKLE_ORDERED_DICT)
    node->values = g_ptr_array_new_with_free_func (NULL);
  return node;
}

/* Takes @node. */
gboolean
job_pickle_stack_push (JobPickleReader *r,
                       JobPickleNode   *node)
{
  if (node == NULL)
    return FALSE;
  g_ptr_array_add (r->stack, node);
  return TRUE;
}

/* Where the items above the last mark start. */
guint
job_pickle_stack_floor (JobPickleReader *r)
{
  return r->marks->len > 0 ? g_array_index (r->marks, guint, r->marks->len - 1) : 0;
}

JobPickleNode *
job_pickle_stack_top (JobPickleReader *r,
                      GError         **error)
{
  if (r->stack->len <= job_pickle_stack_floor (r))
    {
      job_pickle_malformed (error, "stack underflow");
      return NULL;
    }
  return r->stack->pdata[r->stack->len - 1];
}

/* Returns: (transfer full) */
JobPickleNode *
job_pickle_stack_pop (JobPickleReader *r,
                      GError         **error)
{
  if (job_pickle_stack_top (r, error) == NULL)
    return NULL;
  return g_ptr_array_steal_index (r->stack, r->stack->len - 1);
}

/* Pops the items above the last mark and the mark. Returns: (transfer
 * full): them, or NULL */
GPtrArray *
job_pickle_stack_pop_mark (JobPickleReader *r,
                           GError         **error)
{
  GPtrArray *items;
  guint      start;

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

/* The @n items on top of the stack, as if a mark were under them.
 * Returns: (transfer full): them, or NULL */
GPtrArray *
job_pickle_stack_pop_n (JobPickleReader *r,
                        guint            n,
                        GError         **error)
{
  GPtrArray *items = g_ptr_array_new_with_free_func (NULL);

  for (guint i = 0; i < n; i++)
    {
      JobPickleNode *node = job_pickle_stack_pop (r, error);

      if (node == NULL)
        {
          g_ptr_array_unref (items);
          return NULL;
        }
      g_ptr_array_insert (items, 0, node);
    }
  return items;
}

/* The value of a nested pickle (an object array's) read from the same
 * source with a stack and memo of its own, by the parent's loop.
 * Returns: (transfer full) */
JobPickleNode *
job_pickle_stack_run_nested (JobPickleReader *parent,
                             GError         **error)
{
  JobPickleReader r;
  JobPickleNode  *value;

  job_pickle_stack_init (&r, parent->source, parent->budget, parent->run);
  r.nested = TRUE;
  value = r.run (&r, error);
  job_pickle_stack_clear (&r);
  return value;
}
