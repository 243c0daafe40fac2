/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-call.h"
#include "job-function-private.h"

/**
 * JobCall:
 *
 * A function and the tuple of arguments to call it with: joblib's
 * `delayed(f)(*args)`.
 *
 * Calls are immutable and reference counted atomically, so they can be
 * shared between threads freely.
 *
 * A call usually is one task. Bindings that group several of their tasks
 * in one call, to cross into C once per group rather than once per task
 * (the Python bindings do), make it with
 * [ctor@Joblib.Call.new_with_task_count]: progress, verbose output and
 * automatic batch sizing then count the tasks, not the calls.
 */
struct _JobCall
{
  gatomicrefcount  ref_count;
  guint            task_count;
  JobFunction     *function;  /* (owned) */
  GVariant        *args;      /* (owned) */
};

G_DEFINE_BOXED_TYPE (JobCall, job_call, job_call_ref, job_call_unref)

/**
 * job_call_new:
 * @function: the function to call
 * @args: (nullable): the arguments, a tuple (a floating reference is sunk);
 *   %NULL means no arguments
 *
 * Creates a call of @function on @args. Passing arguments that are not a
 * tuple is a programmer error.
 *
 * Returns: (transfer full): a new #JobCall
 */
JobCall *
job_call_new (JobFunction *function,
              GVariant    *args)
{
  JobCall *self;

  g_return_val_if_fail (JOB_IS_FUNCTION (function), NULL);
  g_return_val_if_fail (args == NULL ||
                        g_variant_is_of_type (args, G_VARIANT_TYPE_TUPLE), NULL);

  self = g_new0 (JobCall, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->task_count = 1;
  self->function = g_object_ref (function);
  if (args != NULL)
    self->args = g_variant_ref_sink (args);
  else
    self->args = g_variant_ref_sink (g_variant_new_tuple (NULL, 0));

  return self;
}

/**
 * job_call_new_with_task_count:
 * @function: the function to call
 * @args: (nullable): the arguments, a tuple (a floating reference is sunk);
 *   %NULL means no arguments
 * @task_count: how many of the caller's tasks the call stands for, at
 *   least 1
 *
 * Creates a call of @function on @args that does the work of @task_count
 * tasks: typically @function runs a list of tasks held in @args and
 * returns the list of their results. [class@Joblib.Parallel] still runs
 * and returns it as one call (one result, one index), but counts
 * @task_count tasks in its progress, its verbose output and its automatic
 * batch size.
 *
 * Returns: (transfer full): a new #JobCall
 */
JobCall *
job_call_new_with_task_count (JobFunction *function,
                              GVariant    *args,
                              guint        task_count)
{
  JobCall *self;

  g_return_val_if_fail (task_count >= 1, NULL);

  self = job_call_new (function, args);
  if (self != NULL)
    self->task_count = task_count;
  return self;
}

/**
 * job_call_get_task_count:
 * @self: a #JobCall
 *
 * Gets how many tasks the call stands for; see
 * [ctor@Joblib.Call.new_with_task_count].
 *
 * Returns: the number of tasks, 1 for a call made with [ctor@Joblib.Call.new]
 */
guint
job_call_get_task_count (JobCall *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->task_count;
}

/**
 * job_call_ref:
 * @self: a #JobCall
 *
 * Acquires a reference. Thread-safe.
 *
 * Returns: (transfer full): @self
 */
JobCall *
job_call_ref (JobCall *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

/**
 * job_call_unref:
 * @self: (transfer full): a #JobCall
 *
 * Releases a reference. Thread-safe.
 */
void
job_call_unref (JobCall *self)
{
  g_return_if_fail (self != NULL);

  if (g_atomic_ref_count_dec (&self->ref_count))
    {
      g_clear_object (&self->function);
      g_clear_pointer (&self->args, g_variant_unref);
      g_free (self);
    }
}

/**
 * job_call_get_function:
 * @self: a #JobCall
 *
 * Gets the function.
 *
 * Returns: (transfer none): the function
 */
JobFunction *
job_call_get_function (JobCall *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->function;
}

/**
 * job_call_get_args:
 * @self: a #JobCall
 *
 * Gets the arguments, a tuple.
 *
 * Returns: (transfer none): the arguments, a tuple
 */
GVariant *
job_call_get_args (JobCall *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->args;
}

/**
 * job_call_invoke:
 * @self: a #JobCall
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Runs the call in the calling thread, as [method@Joblib.Function.invoke].
 *
 * Returns: (transfer full): the result
 */
GVariant *
job_call_invoke (JobCall       *self,
                 GCancellable  *cancellable,
                 GError       **error)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* the call owns its checked argument tuple for its whole life */
  return job_function_invoke_owned (self->function, self->args, cancellable, error);
}
