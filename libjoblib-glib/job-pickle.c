/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-error.h"
#include "job-i18n-private.h"
#include "job-persist-private.h"
#include "job-pickle-plain.h"
#include "job-pickle-private.h"

/* Takes @budget's nodes. */
static GVariant *
convert (JobPickleNode   *root,
         JobPickleBudget *budget,
         GError         **error)
{
  GVariant *value = NULL;

  if (root != NULL)
    {
      /* plain trees straight to serialized form; the rest node by node */
      value = job_pickle_node_serialize (root, budget);
      if (value == NULL)
        value = job_pickle_node_to_variant (root, budget, error);
    }
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

/**
 * job_variant_from_pickle:
 * @pickle: a pickle (protocol 2 to 5) of plain Python values
 * @error: return location for a #GError
 *
 * Reads a pickle of plain values (None, bool, int, float, complex, str,
 * bytes, bytearray, list, tuple, dict, set, frozenset) into the GVariant
 * mapping of `docs/joblib-files.md`, the inverse of
 * [func@Joblib.variant_to_pickle]. It runs no code: the safe reader of
 * joblib's files, restricted further.
 *
 * A binding turns a whole tree of small values into a GVariant this way
 * with its language's own pickler and one call, instead of one call per
 * node. Thread-safe.
 *
 * Errors: [error@Joblib.Error.UNSUPPORTED] when the pickle needs any class
 * but `complex` (numpy arrays, subclasses, objects) or holds a container
 * twice (shared or self-referencing structure, whose identity a GVariant
 * cannot keep): the caller converts such values another way;
 * [error@Joblib.Error.INVALID_DATA] for malformed data;
 * [error@Joblib.Error.TOO_LARGE] past the default size limit of loads.
 *
 * Returns: (transfer full): the value, or %NULL with @error set
 */
GVariant *
job_variant_from_pickle (GBytes  *pickle,
                         GError **error)
{
  JobPickleBudget budget;
  gsize size;
  const guint8 *data;

  g_return_val_if_fail (pickle != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  data = g_bytes_get_data (pickle, &size);
  if (!job_pickle_is_pickle (data, size))
    {
      g_set_error_literal (error, JOB_ERROR, JOB_ERROR_INVALID_DATA,
                           _("The data is not a pickle of protocol 2 to 5"));
      return NULL;
    }
  budget_init (&budget, 0);
  return convert (job_pickle_read_full (NULL, NULL, 0, pickle, TRUE, &budget, NULL, error),
                  &budget, error);
}
