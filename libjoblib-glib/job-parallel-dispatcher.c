/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One run of a JobParallel, the dispatcher's core: the run made ready, the
 * results and errors of the batches that come back, cancellation, timeouts
 * and completion. The feed above it (job-parallel-dispatcher-feed.c)
 * starts the run, cuts the input into batches, hands them out and brings
 * them back here; this file never calls up into it. The run's state is in
 * job-parallel-dispatcher-state-private.h. */
#include "config.h"

#include <string.h>

#include "job-auto-batch-private.h"
#include "job-batch-inbox-private.h"
#include "job-batch-private.h"
#include "job-cancel-watch-private.h"
#include "job-error.h"
#include "job-i18n-private.h"
#include "job-outcome.h"
#include "job-parallel-dispatcher-state-private.h"
#include "job-progress-printer-private.h"
#include "job-time-private.h"
#include "job-worker-pool-private.h"

/* The result slots of tasks that did not complete stay NULL. */
static void
clear_value (gpointer value)
{
  if (value != NULL)
    g_variant_unref (value);
}

static void
clear_error (gpointer error)
{
  if (error != NULL)
    g_error_free (error);
}

JobDispatcher *
job_dispatcher_ref (JobDispatcher *run)
{
  g_ref_count_inc (&run->ref_count);
  return run;
}

void
job_dispatcher_unref (JobDispatcher *run)
{
  if (!g_ref_count_dec (&run->ref_count))
    return;

  g_assert (run->task == NULL);
  g_assert (run->cancel_watch == NULL && run->timeout_source == NULL);

  if (run->source_destroy != NULL)
    run->source_destroy (run->source_data);
  g_clear_pointer (&run->pending_call, job_call_unref);
  g_clear_pointer (&run->calls, g_ptr_array_unref);
  g_clear_pointer (&run->values, g_ptr_array_unref);
  g_clear_pointer (&run->errors, g_ptr_array_unref);
  g_clear_pointer (&run->in_flight, g_ptr_array_unref);
  g_clear_pointer (&run->inbox, job_batch_inbox_unref);
  g_clear_error (&run->error);
  g_clear_object (&run->tasks_cancellable);
  g_clear_object (&run->cancellable);
  g_clear_pointer (&run->printer, job_progress_printer_free);
  g_clear_pointer (&run->context, g_main_context_unref);
  job_run_options_clear (&run->options);
  g_free (run);
}


static void
write_verbose_line (const char *line,
                    gpointer    user_data)
{
  JobDispatcher *run = user_data;

  /* to the starter's handler (JobParallel::verbose-line), else stderr */
  if (run->options.verbose_line == NULL ||
      !run->options.verbose_line (line, run->options.callback_data))
    g_printerr ("%s", line);
}

static void
destroy_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

/* The error that ends the run names the task and the function, keeping
 * the original domain and code so that callers can still match on them. */
static GError *
describe_task_error (JobDispatcher *run,
                     JobBatch      *batch,
                     guint          position,
                     const GError  *error)
{
  JobCall *call = job_batch_get_call (batch, position);
  GError *copy = g_error_copy (error);

  /* Raised by the innermost run, it would get one prefix per level. */
  if (g_error_matches (error, JOB_ERROR, JOB_ERROR_NESTING_TOO_DEEP))
    return copy;
  g_prefix_error (&copy, _("task %u (%s): "),
                  job_batch_get_first_index (batch) + position,
                  job_function_get_name (job_call_get_function (call)));
  return copy;
}

/* @tasks plus the tasks of @call, saturated */
guint
job_dispatcher_add_tasks (guint    tasks,
                          JobCall *call)
{
  guint count = job_call_get_task_count (call);

  return tasks > G_MAXUINT - count ? G_MAXUINT : tasks + count;
}

static guint
count_tasks (JobBatch *batch)
{
  guint n_calls = job_batch_get_n_tasks (batch);
  guint tasks = 0;

  for (guint i = 0; i < n_calls; i++)
    tasks = job_dispatcher_add_tasks (tasks, job_batch_get_call (batch, i));
  return tasks;
}

static int
known_total (JobDispatcher *run)
{
  if (run->calls != NULL)
    return (int) MIN (run->total_tasks, (guint) G_MAXINT);
  if (run->exhausted)
    return (int) MIN (run->n_dispatched_tasks, (guint) G_MAXINT);
  return -1;
}

static void
complete (JobDispatcher *run)
{
  g_autoptr(GTask) task = g_steal_pointer (&run->task);

  g_assert (task != NULL);

  g_clear_pointer (&run->cancel_watch, job_cancel_watch_free);
  destroy_source (&run->timeout_source);

  if (run->error != NULL)
    {
      g_task_return_error (task, g_steal_pointer (&run->error));
      return;
    }

  job_progress_printer_finished (run->printer, run->n_completed);

  if (run->options.collect)
    {
      GPtrArray *outcomes = g_ptr_array_new_full (run->values->len,
                                                  (GDestroyNotify) job_outcome_unref);

      for (guint i = 0; i < run->values->len; i++)
        {
          GVariant *value = g_ptr_array_index (run->values, i);
          GError *error = run->errors ? g_ptr_array_index (run->errors, i) : NULL;

          if (value != NULL)
            g_ptr_array_add (outcomes, job_outcome_new_value (i, value));
          else if (error != NULL)
            g_ptr_array_add (outcomes, job_outcome_new_error (i, error));
          else
            {
              g_autoptr(GError) missing =
                g_error_new_literal (JOB_ERROR, JOB_ERROR_FAILED,
                                     _("The backend reported no outcome for this task"));
              g_ptr_array_add (outcomes, job_outcome_new_error (i, missing));
            }
        }
      g_task_return_pointer (task, outcomes, (GDestroyNotify) g_ptr_array_unref);
    }
  else
    {
      g_task_return_pointer (task, g_steal_pointer (&run->values),
                             (GDestroyNotify) g_ptr_array_unref);
    }
}

void
job_dispatcher_maybe_complete (JobDispatcher *run)
{
  if (run->task == NULL || run->dispatching)
    return;
  if (run->in_flight->len > 0)
    return;
  if (run->stopping || (run->exhausted && run->pending_call == NULL))
    complete (run);
}

/* Stops dispatching and tells running tasks to stop. The first reason
 * given wins. With @now, the run completes at once even though batches are
 * still running (a timeout on threads, which cannot be killed). */
void
job_dispatcher_stop (JobDispatcher *run,
                     GError        *reason,
                     gboolean       now)
{
  if (run->error == NULL)
    run->error = reason;
  else
    g_error_free (reason);

  if (!run->stopping)
    {
      run->stopping = TRUE;
      g_cancellable_cancel (run->tasks_cancellable);
      job_backend_abort (run->options.backend, run->error);
    }

  if (now && run->task != NULL)
    complete (run);
  else
    job_dispatcher_maybe_complete (run);
}

static gboolean
on_cancelled (gpointer user_data)
{
  JobDispatcher *run = user_data;
  GError *error = NULL;

  g_set_error_literal (&error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                       _("The parallel run was cancelled"));
  g_clear_pointer (&run->cancel_watch, job_cancel_watch_free);
  job_dispatcher_stop (run, error, FALSE);

  return G_SOURCE_REMOVE;
}

static gboolean
check_timeouts (gpointer user_data)
{
  JobDispatcher *run = user_data;
  gint64 now = g_get_monotonic_time ();
  gint64 limit = job_seconds_to_usec (run->options.timeout);

  for (guint i = 0; i < run->in_flight->len; i++)
    {
      JobBatch *batch = g_ptr_array_index (run->in_flight, i);
      guint position = 0;
      gint64 since = job_batch_get_running_since (batch, &position);

      if (since != 0 && now - since > limit)
        {
          JobCall *call = job_batch_get_call (batch, position);
          GError *error = NULL;
          gboolean can_kill;

          g_set_error (&error, JOB_ERROR, JOB_ERROR_TIMEOUT,
                       _("task %u (%s): still running after the timeout of %g s"),
                       job_batch_get_first_index (batch) + position,
                       job_function_get_name (job_call_get_function (call)),
                       run->options.timeout);
          /* Killable workers end their batches at once; threads may not,
           * and a timeout that waits for them would not be one. */
          can_kill = (job_backend_get_flags (run->options.backend) &
                      JOB_BACKEND_FLAGS_CAN_KILL) != 0;
          g_clear_pointer (&run->timeout_source, g_source_unref);
          job_dispatcher_stop (run, error, !can_kill);
          return G_SOURCE_REMOVE;
        }
    }

  return G_SOURCE_CONTINUE;
}

static void
record_batch (JobDispatcher *run,
              JobBatch      *batch,
              const GError  *batch_error)
{
  guint first = job_batch_get_first_index (batch);
  guint n_tasks = job_batch_get_n_tasks (batch);
  gboolean emit = run->options.result != NULL &&
                  (run->options.wants_results == NULL ||
                   run->options.wants_results (run->options.callback_data));

  for (guint i = 0; i < n_tasks; i++)
    {
      GVariant *value = job_batch_steal_result (batch, i);
      const GError *error = job_batch_get_error (batch, i);
      g_autoptr(GError) missing = NULL;

      if (value != NULL)
        {
          g_ptr_array_index (run->values, first + i) = value;
          run->n_completed += job_call_get_task_count (job_batch_get_call (batch, i));
          if (emit)
            run->options.result (first + i, value, run->options.callback_data);
          continue;
        }

      if (error == NULL)
        {
          if (batch_error != NULL)
            error = batch_error;
          else
            {
              g_set_error_literal (&missing, JOB_ERROR, JOB_ERROR_FAILED,
                                   _("The backend reported no outcome for this task"));
              error = missing;
            }
        }

      /* Tasks skipped because the run was stopping are not failures of
       * their own. */
      if (run->stopping)
        continue;

      if (run->options.collect)
        {
          if (run->errors == NULL)
            {
              run->errors = g_ptr_array_new_with_free_func (clear_error);
              g_ptr_array_set_size (run->errors, run->values->len);
            }
          else if (run->errors->len < run->values->len)
            g_ptr_array_set_size (run->errors, run->values->len);
          g_ptr_array_index (run->errors, first + i) =
            describe_task_error (run, batch, i, error);
          run->n_completed += job_call_get_task_count (job_batch_get_call (batch, i));
        }
      else
        {
          job_dispatcher_stop (run, describe_task_error (run, batch, i, error), FALSE);
        }
    }
}

void
job_dispatcher_batch_done (JobDispatcher *run,
                           JobBatch      *batch,
                           GError        *batch_error)
{
  g_ptr_array_remove_fast (run->in_flight, batch);

  /* A run that already completed (timeout) only drops late batches. */
  if (run->task == NULL)
    return;

  /* Nothing else may complete the run while this batch is recorded. */
  run->dispatching = TRUE;
  record_batch (run, batch, batch_error);
  if (batch_error == NULL && run->options.batch_size == 0)
    job_auto_batch_completed (&run->sizer, count_tasks (batch),
                                     job_batch_get_duration (batch));
  run->dispatching = FALSE;

  if (run->task == NULL)
    return;

  /* Only when the count moved: batches that end cancelled or failed
   * (after a cancel, several in a row) complete no task. */
  if (run->n_completed != run->n_progress)
    {
      run->n_progress = run->n_completed;
      if (run->options.progress != NULL)
        run->options.progress (run->n_completed, known_total (run), run->options.callback_data);
    }
  /* The final "finished" line is printed on completion instead. */
  if ((int) run->n_completed != known_total (run))
    job_progress_printer_batch_done (run->printer, run->n_completed,
                                     run->n_dispatched_batches,
                                     known_total (run),
                                     run->options.pre_dispatch == G_MAXUINT
                                       ? 0 : run->options.pre_dispatch);
}

JobDispatcher *
job_dispatcher_new (JobRunOptions      *options,
                    GPtrArray          *calls,
                    JobCallIterateFunc  source,
                    gpointer            source_data,
                    GDestroyNotify      source_destroy,
                    GCancellable       *cancellable,
                    GTask              *task)
{
  g_autoptr(JobDispatcher) run = g_new0 (JobDispatcher, 1);

  g_assert ((calls == NULL) != (source == NULL));

  g_ref_count_init (&run->ref_count);
  run->task = g_object_ref (task);
  run->context = g_main_context_ref_thread_default ();
  run->options = *options;
  memset (options, 0, sizeof *options);
  job_auto_batch_init (&run->sizer);

  run->calls = calls ? g_ptr_array_ref (calls) : NULL;
  run->source = source;
  run->source_data = source_data;
  run->source_destroy = source_destroy;

  run->values = g_ptr_array_new_with_free_func (clear_value);
  if (calls != NULL)
    {
      g_ptr_array_set_size (run->values, calls->len);
      for (guint i = 0; i < calls->len; i++)
        run->total_tasks = job_dispatcher_add_tasks (run->total_tasks, g_ptr_array_index (calls, i));
    }
  run->in_flight = g_ptr_array_new_with_free_func ((GDestroyNotify) job_batch_unref);
  run->pool = job_worker_pool_for_backend (run->options.backend);
  run->tasks_cancellable = g_cancellable_new ();
  run->cancellable = cancellable ? g_object_ref (cancellable) : NULL;
  run->printer = job_progress_printer_new (run->options.n_jobs_requested,
                                           run->options.verbose,
                                           write_verbose_line, run);

  job_progress_printer_started (run->printer,
                                job_backend_get_display_name (run->options.backend),
                                run->options.n_workers);

  if (cancellable != NULL)
    {
      if (g_cancellable_is_cancelled (cancellable))
        {
          on_cancelled (run);
          return g_steal_pointer (&run);
        }
      run->cancel_watch = job_cancel_watch_new (cancellable, run->context,
                                                "[joblib-glib] run cancelled", on_cancelled,
                                                job_dispatcher_ref (run),
                                                (GDestroyNotify) job_dispatcher_unref);
    }

  /* An infinite (or absurdly long) timeout is no timeout. */
  if (run->options.timeout > 0 && !job_seconds_unlimited (run->options.timeout))
    {
      guint interval = CLAMP (job_seconds_to_msec (run->options.timeout) / 10, 5, 100);

      run->timeout_source = g_timeout_source_new (interval);
      g_source_set_static_name (run->timeout_source, "[joblib-glib] task timeout watch");
      g_source_set_callback (run->timeout_source, check_timeouts,
                             job_dispatcher_ref (run),
                             (GDestroyNotify) job_dispatcher_unref);
      g_source_attach (run->timeout_source, run->context);
    }

  return g_steal_pointer (&run);
}
