/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-outcome.h"

/**
 * JobOutcome:
 *
 * What became of one task of a run: its value or its error.
 *
 * [method@Joblib.Parallel.run_outcomes] returns one per task, in input
 * order, so that a run can report every failure instead of stopping at the
 * first one. Outcomes are immutable and safe to share between threads.
 */
struct _JobOutcome
{
  gatomicrefcount  ref_count;
  guint            index;
  GVariant        *value;  /* (owned) (nullable) */
  GError          *error;  /* (owned) (nullable) */
};

G_DEFINE_BOXED_TYPE (JobOutcome, job_outcome, job_outcome_ref, job_outcome_unref)

/**
 * job_outcome_new_value:
 * @index: the task's position in the input
 * @value: the task's result (a floating reference is sunk)
 *
 * Creates the outcome of a task that succeeded with @value.
 *
 * Returns: (transfer full): a successful outcome
 */
JobOutcome *
job_outcome_new_value (guint     index,
                       GVariant *value)
{
  JobOutcome *self;

  g_return_val_if_fail (value != NULL, NULL);

  self = g_new0 (JobOutcome, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->index = index;
  self->value = g_variant_ref_sink (value);

  return self;
}

/**
 * job_outcome_new_error:
 * @index: the task's position in the input
 * @error: the task's error (copied)
 *
 * Creates the outcome of a task that failed with @error.
 *
 * Returns: (transfer full): a failed outcome
 */
JobOutcome *
job_outcome_new_error (guint         index,
                       const GError *error)
{
  JobOutcome *self;

  g_return_val_if_fail (error != NULL, NULL);

  self = g_new0 (JobOutcome, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->index = index;
  self->error = g_error_copy (error);

  return self;
}

/**
 * job_outcome_ref:
 * @self: a #JobOutcome
 *
 * Takes a reference on @self. Thread-safe: the count is atomic.
 *
 * Returns: (transfer full): @self
 */
JobOutcome *
job_outcome_ref (JobOutcome *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

/**
 * job_outcome_unref:
 * @self: (transfer full): a #JobOutcome
 *
 * Releases a reference.
 */
void
job_outcome_unref (JobOutcome *self)
{
  g_return_if_fail (self != NULL);

  if (g_atomic_ref_count_dec (&self->ref_count))
    {
      g_clear_pointer (&self->value, g_variant_unref);
      g_clear_error (&self->error);
      g_free (self);
    }
}

/**
 * job_outcome_get_index:
 * @self: a #JobOutcome
 *
 * Gets the task's position in the input.
 *
 * Returns: the task's position in the input
 */
guint
job_outcome_get_index (JobOutcome *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->index;
}

/**
 * job_outcome_is_success:
 * @self: a #JobOutcome
 *
 * Tells whether the task succeeded.
 *
 * Returns: %TRUE if the task returned a value
 */
gboolean
job_outcome_is_success (JobOutcome *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->error == NULL;
}

/**
 * job_outcome_get_value:
 * @self: a #JobOutcome
 *
 * Gets the value, or %NULL if the task failed.
 *
 * Returns: (transfer none) (nullable): the value, or %NULL if the task failed
 */
GVariant *
job_outcome_get_value (JobOutcome *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->value;
}

/**
 * job_outcome_get_error:
 * @self: a #JobOutcome
 *
 * Gets the error of a failed task.
 *
 * Returns: (transfer none) (nullable): the error, or %NULL if the task
 *   succeeded
 */
const GError *
job_outcome_get_error (JobOutcome *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->error;
}

/**
 * job_outcome_propagate:
 * @self: a #JobOutcome
 * @value: (out) (optional) (transfer full): the value
 * @error: return location for a #GError
 *
 * Turns the outcome back into the usual value-or-error form: bindings get
 * the value, or an exception carrying the task's error.
 *
 * Returns: %TRUE if the task succeeded
 */
gboolean
job_outcome_propagate (JobOutcome  *self,
                       GVariant   **value,
                       GError     **error)
{
  g_return_val_if_fail (self != NULL, FALSE);

  if (self->error != NULL)
    {
      if (value != NULL)
        *value = NULL;
      g_propagate_error (error, g_error_copy (self->error));
      return FALSE;
    }

  if (value != NULL)
    *value = g_variant_ref (self->value);
  return TRUE;
}
