/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-batch-private.h"
#include "job-error.h"
#include "job-i18n-private.h"

/**
 * JobBatch:
 *
 * A run of consecutive tasks that a [iface@Joblib.Backend] executes as one
 * unit, with a slot for each task's result or error.
 *
 * [class@Joblib.Parallel] groups calls into batches to hide the cost of
 * handing work to a worker (joblib's auto batching). A backend either calls
 * [method@Joblib.Batch.execute] in the thread or process that runs the
 * work, or fills the slots itself with [method@Joblib.Batch.set_result] and
 * [method@Joblib.Batch.set_error].
 *
 * Thread safety: a batch is filled by one thread at a time (the one
 * executing it) and read by the dispatcher only after the backend reports
 * it complete. Reference counting is atomic.
 */
struct _JobBatch
{
  gatomicrefcount  ref_count;
  guint            first_index;
  guint            n_tasks;
  JobCall        **calls;        /* (owned) (array length=n_tasks) */
  GVariant       **results;      /* (owned) (array length=n_tasks) */
  GError         **errors;       /* (owned) (array length=n_tasks) */
  GCancellable    *cancellable;  /* (owned) (nullable) */
  JobNesting      *nesting;      /* (owned) (nullable) */
  double           duration;
  gint64           running_since;     /* (atomic) */
  guint            running_position;  /* (atomic) */
  guint            next;              /* the first task not run yet */
  guint            main_thread_only : 1;
  guint            stop_on_error : 1;
  guint            track_running : 1;
  guint            started : 1;
  guint            stopped : 1;       /* the remaining tasks are skipped */
};

G_DEFINE_BOXED_TYPE (JobBatch, job_batch, job_batch_ref, job_batch_unref)

/**
 * job_batch_new:
 * @first_index: the input position of the first call
 * @calls: (array length=n_calls): the calls, each referenced
 * @n_calls: the number of calls, at least one
 * @cancellable: (nullable): cancelled when the run stops
 *
 * Creates a batch. Backends do not need this; it is public so that custom
 * backends can be tested on their own.
 *
 * Returns: (transfer full): a new batch
 */
JobBatch *
job_batch_new (guint          first_index,
               JobCall      **calls,
               guint          n_calls,
               GCancellable  *cancellable)
{
  JobBatch *self;

  g_return_val_if_fail (calls != NULL, NULL);
  g_return_val_if_fail (n_calls > 0, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);

  self = g_new0 (JobBatch, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->first_index = first_index;
  self->n_tasks = n_calls;
  self->calls = g_new (JobCall *, n_calls);
  self->results = g_new0 (GVariant *, n_calls);
  self->errors = g_new0 (GError *, n_calls);
  self->cancellable = cancellable ? g_object_ref (cancellable) : NULL;
  self->stop_on_error = TRUE;
  self->main_thread_only =
    job_function_get_main_thread_only (job_call_get_function (calls[0]));

  for (guint i = 0; i < n_calls; i++)
    self->calls[i] = job_call_ref (calls[i]);

  return self;
}

/**
 * job_batch_ref:
 * @self: a #JobBatch
 *
 * Takes a reference on @self. Thread-safe: the count is atomic.
 *
 * Returns: (transfer full): @self
 */
JobBatch *
job_batch_ref (JobBatch *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

/**
 * job_batch_unref:
 * @self: (transfer full): a #JobBatch
 *
 * Releases a reference.
 */
void
job_batch_unref (JobBatch *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;

  for (guint i = 0; i < self->n_tasks; i++)
    {
      job_call_unref (self->calls[i]);
      g_clear_pointer (&self->results[i], g_variant_unref);
      g_clear_error (&self->errors[i]);
    }
  g_free (self->calls);
  g_free (self->results);
  g_free (self->errors);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->nesting, job_nesting_unref);
  g_free (self);
}

/**
 * job_batch_get_first_index:
 * @self: a #JobBatch
 *
 * Gets the input position of the batch's first task.
 *
 * Returns: the input position of the batch's first task
 */
guint
job_batch_get_first_index (JobBatch *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->first_index;
}

/**
 * job_batch_get_n_tasks:
 * @self: a #JobBatch
 *
 * Gets the number of tasks in the batch.
 *
 * Returns: the number of tasks in the batch
 */
guint
job_batch_get_n_tasks (JobBatch *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->n_tasks;
}

/**
 * job_batch_get_call:
 * @self: a #JobBatch
 * @position: a position in the batch, below its number of tasks
 *
 * Gets the call at @position.
 *
 * Returns: (transfer none): the call at @position
 */
JobCall *
job_batch_get_call (JobBatch *self,
                    guint     position)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (position < self->n_tasks, NULL);

  return self->calls[position];
}

/**
 * job_batch_get_cancellable:
 * @self: a #JobBatch
 *
 * Gets the cancellable of the run: it is cancelled when the run stops, and
 * tasks should stop then.
 *
 * Returns: (transfer none) (nullable): the cancellable
 */
GCancellable *
job_batch_get_cancellable (JobBatch *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->cancellable;
}

/**
 * job_batch_get_main_thread_only:
 * @self: a #JobBatch
 *
 * Whether the batch's calls must run on their function's owner context.
 * A batch never mixes such calls with others.
 *
 * Returns: %TRUE for a batch of main-thread-only calls
 */
gboolean
job_batch_get_main_thread_only (JobBatch *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->main_thread_only;
}

/**
 * job_batch_set_result:
 * @self: a #JobBatch
 * @position: a position in the batch
 * @value: the task's result (a floating reference is sunk)
 *
 * Records the result of the task at @position, replacing any error.
 */
void
job_batch_set_result (JobBatch *self,
                      guint     position,
                      GVariant *value)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (position < self->n_tasks);
  g_return_if_fail (value != NULL);

  g_clear_error (&self->errors[position]);
  g_clear_pointer (&self->results[position], g_variant_unref);
  self->results[position] = g_variant_ref_sink (value);
}

/**
 * job_batch_set_error:
 * @self: a #JobBatch
 * @position: a position in the batch
 * @error: the task's error (copied)
 *
 * Records the failure of the task at @position, replacing any result.
 */
void
job_batch_set_error (JobBatch     *self,
                     guint         position,
                     const GError *error)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (position < self->n_tasks);
  g_return_if_fail (error != NULL);

  g_clear_pointer (&self->results[position], g_variant_unref);
  g_clear_error (&self->errors[position]);
  self->errors[position] = g_error_copy (error);
}

/**
 * job_batch_get_result:
 * @self: a #JobBatch
 * @position: a position in the batch
 *
 * Gets the result recorded at @position.
 *
 * Returns: (transfer none) (nullable): the result recorded at @position
 */
GVariant *
job_batch_get_result (JobBatch *self,
                      guint     position)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (position < self->n_tasks, NULL);

  return self->results[position];
}

/**
 * job_batch_get_error:
 * @self: a #JobBatch
 * @position: a position in the batch
 *
 * Gets the error recorded at @position.
 *
 * Returns: (transfer none) (nullable): the error recorded at @position
 */
const GError *
job_batch_get_error (JobBatch *self,
                     guint     position)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (position < self->n_tasks, NULL);

  return self->errors[position];
}

/**
 * job_batch_execute:
 * @self: a #JobBatch
 *
 * Runs every task of the batch in the calling thread, in order, and
 * records each result or error and the batch's duration. Once the batch's
 * cancellable is cancelled, or after a task fails, the remaining tasks are
 * not run and get %G_IO_ERROR_CANCELLED.
 *
 * Thread safety: call it from the one thread that executes the batch; for
 * a main-thread-only batch, that is the thread of the functions' owner
 * context.
 */
void
job_batch_execute (JobBatch *self)
{
  g_return_if_fail (self != NULL);

  job_batch_execute_slice (self, G_MAXINT64);
}

/* Whether a slice that started at @slice_start, and whose last task started
 * at @task_start, may start another task at @now. The next task is
 * expected to take as long as the last one: a slice of long tasks runs one
 * of them, a slice of short ones as many as fit. */
static gboolean
slice_has_room (gint64 slice_start,
                gint64 task_start,
                gint64 now,
                gint64 budget_usec)
{
  return (now - slice_start) + (now - task_start) <= budget_usec;
}

/* Runs the batch's next tasks in the calling thread, as
 * job_batch_execute() does for all of them: at least one, then more while
 * the slice, with one more task as long as the last, stays within
 * @budget_usec (G_MAXINT64: every task). The batch's duration adds up the
 * time of its slices. Returns TRUE once no task is left to run. */
gboolean
job_batch_execute_slice (JobBatch *self,
                         gint64    budget_usec)
{
  gboolean timed = self->track_running || budget_usec != G_MAXINT64;
  gint64 slice_start;
  gint64 now;
  JobNesting *outer_nesting;

  if (self->next >= self->n_tasks)
    return TRUE;

  /* A run started by one of the tasks sees that it is nested. */
  outer_nesting = job_nesting_enter (self->nesting);
  self->started = TRUE;
  slice_start = g_get_monotonic_time ();
  now = slice_start;

  while (self->next < self->n_tasks)
    {
      guint i = self->next++;
      GError *task_error = NULL;
      gint64 task_start = now;

      if (!self->stopped && g_cancellable_is_cancelled (self->cancellable))
        self->stopped = TRUE;

      if (self->stopped)
        {
          if (self->results[i] == NULL && self->errors[i] == NULL)
            g_set_error_literal (&self->errors[i], G_IO_ERROR,
                                 G_IO_ERROR_CANCELLED,
                                 _("The run was stopped before this task started"));
          continue;
        }

      if (self->track_running)
        {
          g_atomic_int_set (&self->running_position, i);
          __atomic_store_n (&self->running_since, now, __ATOMIC_RELEASE);
        }

      self->results[i] = job_call_invoke (self->calls[i], self->cancellable,
                                          &task_error);
      if (self->results[i] == NULL)
        {
          self->errors[i] = task_error;
          if (self->stop_on_error)
            self->stopped = TRUE;
        }

      if (timed)
        {
          now = g_get_monotonic_time ();
          if (!slice_has_room (slice_start, task_start, now, budget_usec))
            break;
        }
    }

  if (self->track_running)
    __atomic_store_n (&self->running_since, 0, __ATOMIC_RELEASE);
  if (!timed)
    now = g_get_monotonic_time ();

  self->duration += (now - slice_start) / (double) G_USEC_PER_SEC;
  job_nesting_leave (outer_nesting);

  return self->next >= self->n_tasks;
}

/**
 * job_batch_get_duration:
 * @self: a #JobBatch
 *
 * Gets how long the batch took to execute, in seconds.
 *
 * Returns: how long the batch took to execute, in seconds
 */
double
job_batch_get_duration (JobBatch *self)
{
  g_return_val_if_fail (self != NULL, 0.0);

  return self->duration;
}

/**
 * job_batch_set_duration:
 * @self: a #JobBatch
 * @seconds: how long the batch took to execute
 *
 * Records the execution time, for backends that do not use
 * [method@Joblib.Batch.execute]. It drives auto batching.
 */
void
job_batch_set_duration (JobBatch *self,
                        double    seconds)
{
  g_return_if_fail (self != NULL);

  self->duration = MAX (seconds, 0.0);
}

gint64
job_batch_get_running_since (JobBatch *self,
                             guint    *position)
{
  gint64 since = __atomic_load_n (&self->running_since, __ATOMIC_ACQUIRE);

  if (position != NULL)
    *position = g_atomic_int_get (&self->running_position);
  return since;
}

void
job_batch_set_stop_on_error (JobBatch *self,
                             gboolean  stop_on_error)
{
  self->stop_on_error = !!stop_on_error;
}

void
job_batch_set_track_running (JobBatch *self,
                             gboolean  track_running)
{
  self->track_running = !!track_running;
}

void
job_batch_set_nesting (JobBatch   *self,
                       JobNesting *nesting)
{
  g_clear_pointer (&self->nesting, job_nesting_unref);
  self->nesting = nesting != NULL ? job_nesting_ref (nesting) : NULL;
}

gboolean
job_batch_get_started (JobBatch *self)
{
  return self->started;
}

/* Marks the task at @position as running since @since (monotonic µs; 0:
 * none runs), when the batch tracks running tasks. */
void
job_batch_set_running (JobBatch *self,
                       guint     position,
                       gint64    since)
{
  if (!self->track_running)
    return;

  g_atomic_int_set (&self->running_position, position);
  __atomic_store_n (&self->running_since, since, __ATOMIC_RELEASE);
}

gboolean
job_batch_get_stop_on_error (JobBatch *self)
{
  return self->stop_on_error;
}

GVariant *
job_batch_steal_result (JobBatch *self,
                        guint     position)
{
  return g_steal_pointer (&self->results[position]);
}
