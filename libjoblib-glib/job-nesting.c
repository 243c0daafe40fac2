/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Nested runs: how deep a task stands and what a run started from it may
 * use. See job-nesting-private.h for the rules. */
#include "config.h"

#include "job-cpu.h"
#include "job-nesting-private.h"

struct _JobNesting
{
  gatomicrefcount  ref_count;
  JobNesting      *parent;          /* (owned) (nullable) */
  gconstpointer    pool;            /* compared by address only, never used */
  guint            depth;           /* runs enclosing the tasks */
  guint            parallel_levels; /* of those, runs with more than one worker */
  int              cpu_share;       /* CPUs left to each task, at least 1 */
};

/* (owned by the thread's running task) */
static GPrivate current_nesting;

JobNesting *
job_nesting_new (JobNesting    *parent,
                 gconstpointer  pool,
                 int            n_workers)
{
  JobNesting *self = g_new0 (JobNesting, 1);
  int cpus = parent != NULL ? parent->cpu_share : job_cpu_count ();

  n_workers = MAX (n_workers, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->parent = parent != NULL ? job_nesting_ref (parent) : NULL;
  self->pool = pool;
  self->depth = (parent != NULL ? parent->depth : 0) + 1;
  self->parallel_levels = (parent != NULL ? parent->parallel_levels : 0) + (n_workers > 1);
  self->cpu_share = MAX (cpus / n_workers, 1);
  return self;
}

JobNesting *
job_nesting_ref (JobNesting *self)
{
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
job_nesting_unref (JobNesting *self)
{
  /* A chain is as long as the nesting is deep: release it in a loop. */
  while (self != NULL && g_atomic_ref_count_dec (&self->ref_count))
    {
      JobNesting *parent = self->parent;

      g_free (self);
      self = parent;
    }
}

JobNesting *
job_nesting_get_current (void)
{
  return g_private_get (&current_nesting);
}

JobNesting *
job_nesting_enter (JobNesting *self)
{
  JobNesting *previous = g_private_get (&current_nesting);

  if (self != NULL)
    g_private_set (&current_nesting, self);
  return previous;
}

void
job_nesting_leave (JobNesting *previous)
{
  g_private_set (&current_nesting, previous);
}

guint
job_nesting_get_depth (const JobNesting *self)
{
  return self != NULL ? self->depth : 0;
}

int
job_nesting_limit_workers (const JobNesting *parent,
                           int               n_workers)
{
  if (parent == NULL)
    return n_workers;
  /* joblib: the first nested level may use threads, deeper ones run
   * sequentially. Levels that ran sequentially do not count. */
  if (parent->parallel_levels >= 2)
    return 1;
  return MIN (n_workers, parent->cpu_share);
}

gboolean
job_nesting_uses_pool (const JobNesting *parent,
                       gconstpointer     pool)
{
  for (const JobNesting *n = parent; n != NULL; n = n->parent)
    if (n->pool == pool)
      return TRUE;
  return FALSE;
}
