/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-persist-private.h"
#include "job-pickle-private.h"

/* joblib.dump's files are pickles of protocol 2 or more: PROTO first. */
gboolean
job_pickle_is_pickle (const guint8 *data,
                      gsize         size)
{
  return size >= 2 && data[0] == 0x80 && data[1] >= 2 && data[1] <= 5;
}

/* Takes @budget's nodes. */
static GVariant *
convert (JobPickleNode   *root,
         JobPickleBudget *budget,
         GError         **error)
{
  GVariant *value = NULL;

  if (root != NULL)
    value = job_pickle_node_to_variant (root, budget, error);
  job_pickle_budget_clear (budget);
  return value;
}

static void
budget_init (JobPickleBudget *budget,
             guint64          max_size)
{
  job_pickle_budget_init (budget, max_size != 0 ? max_size : job_persist_default_max_size ());
}

GVariant *
job_pickle_load_stream (GInputStream *stream,
                        const guint8 *prefix,
                        gsize         prefix_size,
                        guint64       max_size,
                        GCancellable *cancellable,
                        GError      **error)
{
  JobPickleBudget budget;

  budget_init (&budget, max_size);
  return convert (job_pickle_read (stream, prefix, prefix_size, NULL, &budget,
                                   cancellable, error),
                  &budget, error);
}

GVariant *
job_pickle_load_mapped (GBytes  *contents,
                        guint64  max_size,
                        GError **error)
{
  JobPickleBudget budget;

  budget_init (&budget, max_size);
  return convert (job_pickle_read (NULL, NULL, 0, contents, &budget, NULL, error),
                  &budget, error);
}
