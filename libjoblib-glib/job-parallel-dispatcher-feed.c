/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A run's feed, above the dispatcher's core (job-parallel-dispatcher.c):
 * it starts the run, cuts its input (an array of calls, or a source pulled
 * lazily) into batches by the batch size, within the window of batches in
 * flight; each batch goes to the backend, to its worker pool's inbox, or
 * (main-thread-only functions) to the owner context; the batches that
 * come back go to job_dispatcher_batch_done(), and then more are cut. On
 * the run's context only, as the core. */
#include "config.h"

#include "job-error.h"
#include "job-i18n-private.h"
#include "job-parallel-dispatcher-state-private.h"
#include "job-slice-runner-private.h"

typedef struct
{
  JobDispatcher *run;    /* (owned) */
  JobBatch       *batch;  /* (owned) */
} BatchInFlight;

static void dispatch_more (JobDispatcher *run);

static void
on_backend_batch_done (GObject      *source_object,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  BatchInFlight *flight = user_data;
  g_autoptr(JobDispatcher) run = flight->run;
  g_autoptr(JobBatch) batch = flight->batch;
  g_autoptr(GError) error = NULL;

  g_free (flight);
  if (!job_backend_run_batch_finish (JOB_BACKEND (source_object), result, &error) &&
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) && run->stopping)
    g_clear_error (&error);

  job_dispatcher_batch_done (run, batch, g_steal_pointer (&error));
  dispatch_more (run);
}

/* Batches of a worker pool: the pool gives every task an outcome (a
 * cancelled run's tasks get the cancellation), so the batch itself
 * never fails. */
static void
on_pool_batch_done (JobBatch *batch,
                    gpointer  user_data)
{
  BatchInFlight *flight = user_data;
  g_autoptr(JobDispatcher) run = flight->run;
  g_autoptr(JobBatch) owned = flight->batch;

  g_free (flight);
  job_dispatcher_batch_done (run, owned, NULL);
  dispatch_more (run);
}

static void
on_owner_batch_done (GObject      *source_object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  BatchInFlight *flight = user_data;
  g_autoptr(JobDispatcher) run = flight->run;
  g_autoptr(JobBatch) batch = flight->batch;

  g_free (flight);
  g_task_propagate_boolean (G_TASK (result), NULL);
  job_dispatcher_batch_done (run, batch, NULL);
  dispatch_more (run);
}

/* Main-thread-only calls never go to the backend: they run on their
 * function's owner context. When this thread can own that context (it is
 * the caller's, or nobody iterates it), they run on the run's context, so
 * that a synchronous run on the main thread works without a main loop.
 * Either way in slices of about a frame, with the loop free between them,
 * whatever the batch size: that context is usually a window's. */
static void
submit_to_owner (JobDispatcher *run,
                 JobBatch      *batch,
                 BatchInFlight *flight)
{
  JobFunction *function = job_call_get_function (job_batch_get_call (batch, 0));
  GMainContext *owner = job_function_get_owner_context (function);
  GMainContext *target = owner;
  g_autoptr(GTask) task = NULL;

  if (g_main_context_acquire (owner))
    {
      g_main_context_release (owner);
      target = run->context;
    }

  task = g_task_new (NULL, NULL, on_owner_batch_done, flight);
  g_task_set_source_tag (task, submit_to_owner);
  job_slice_runner_run (target, batch, task);
}

/* Main-thread-only functions (JS closures) run on their owner context,
 * unless the backend runs every call of the batch in other processes
 * through the functions' references (GJS workers): the closure is then
 * never called here, and the run is really parallel. */
static gboolean
runs_on_owner (JobDispatcher *run,
               JobBatch      *batch)
{
  guint n_tasks = job_batch_get_n_tasks (batch);

  if (!job_batch_get_main_thread_only (batch))
    return FALSE;
  if ((job_backend_get_flags (run->options.backend) & JOB_BACKEND_FLAGS_NEEDS_REFERENCE) == 0)
    return TRUE;
  for (guint i = 0; i < n_tasks; i++)
    if (job_function_get_reference (job_call_get_function (job_batch_get_call (batch, i))) == NULL)
      return TRUE;
  return FALSE;
}

static void
submit (JobDispatcher  *run,
        JobCall       **calls,
        guint           n_calls)
{
  JobBatch *batch = job_batch_new (run->n_dispatched_calls, calls, n_calls,
                                   run->tasks_cancellable);
  BatchInFlight *flight = g_new0 (BatchInFlight, 1);

  job_batch_set_stop_on_error (batch, !run->options.collect);
  job_batch_set_track_running (batch, run->options.timeout > 0);
  job_batch_set_nesting (batch, run->options.nesting);

  run->n_dispatched_calls += n_calls;
  for (guint i = 0; i < n_calls; i++)
    run->n_dispatched_tasks = job_dispatcher_add_tasks (run->n_dispatched_tasks, calls[i]);
  run->n_dispatched_batches++;
  if (run->values->len < run->n_dispatched_calls)
    g_ptr_array_set_size (run->values, run->n_dispatched_calls);
  g_ptr_array_add (run->in_flight, job_batch_ref (batch));

  flight->run = job_dispatcher_ref (run);
  flight->batch = batch;

  if (runs_on_owner (run, batch))
    submit_to_owner (run, batch, flight);
  else if (run->pool != NULL)
    job_worker_pool_submit_to_inbox (run->pool, batch, run->inbox, flight);
  else
    job_backend_run_batch_async (run->options.backend, batch, run->tasks_cancellable,
                                 on_backend_batch_done, flight);
}

/* The next call of a lazy input: TRUE with a call, or with NULL at its
 * end; FALSE with @error set when the input failed. */
static gboolean
next_call (JobDispatcher  *run,
           JobCall       **call,
           GError        **error)
{
  g_autoptr(JobCall) pulled = NULL;
  GError *local_error = NULL;

  if (run->pending_call != NULL)
    {
      *call = g_steal_pointer (&run->pending_call);
      return TRUE;
    }

  if (run->source (run->source_data, &pulled, &local_error) && local_error == NULL)
    {
      *call = g_steal_pointer (&pulled);
      return TRUE;
    }

  /* Bindings end up without an error when their callback raised an
   * exception they could not turn into a GError: name that cause. */
  if (local_error == NULL)
    local_error = g_error_new_literal (JOB_ERROR, JOB_ERROR_FAILED,
                                       _("its function reported a failure without an "
                                         "error. From a binding, this usually means a "
                                         "Python exception other than GLib.Error (printed "
                                         "above; joblib_glib passes every exception on) or "
                                         "a return value that is not a (success, call) "
                                         "pair"));
  g_propagate_error (error, local_error);
  return FALSE;
}

static guint
next_batch_size (JobDispatcher *run)
{
  guint size;

  if (run->options.batch_size > 0)
    return run->options.batch_size;

  size = job_auto_batch_get_size (&run->sizer);
  if (run->calls != NULL)
    size = job_auto_batch_tail_size (&run->sizer,
                                      run->total_tasks - run->n_dispatched_tasks,
                                      run->options.n_workers);
  return size;
}

/* Array input: the calls are already there, a batch is a slice of them
 * holding the batch size in tasks (at least one call); it only ends early
 * where main-thread-only calls start or stop. */
static gboolean
dispatch_slice (JobDispatcher *run)
{
  guint start = run->n_dispatched_calls;
  guint available = run->calls->len - start;
  guint size = next_batch_size (run);
  JobCall **calls = (JobCall **) run->calls->pdata + start;
  gboolean main_thread_only;
  guint tasks, n = 1;

  if (available == 0)
    {
      run->exhausted = TRUE;
      return FALSE;
    }

  main_thread_only = job_function_get_main_thread_only (job_call_get_function (calls[0]));
  tasks = job_call_get_task_count (calls[0]);
  while (n < available && tasks < size &&
         job_function_get_main_thread_only (job_call_get_function (calls[n])) == main_thread_only)
    tasks = job_dispatcher_add_tasks (tasks, calls[n++]);

  submit (run, calls, n);
  if (run->n_dispatched_calls == run->calls->len)
    run->exhausted = TRUE;
  return TRUE;
}

/* Lazy input: pull calls from the source, one batch at a time. */
static gboolean
dispatch_pulled (JobDispatcher *run)
{
  guint size = next_batch_size (run);
  g_autoptr(GPtrArray) chunk = g_ptr_array_new_with_free_func ((GDestroyNotify) job_call_unref);
  gboolean main_thread_only = FALSE;
  guint tasks = 0;

  while (tasks < size)
    {
      GError *error = NULL;
      JobCall *call = NULL;
      gboolean call_main_thread_only;

      if (!next_call (run, &call, &error))
        {
          g_prefix_error (&error, _("The input of the parallel run failed: "));
          job_dispatcher_stop (run, error, FALSE);
          break;
        }
      if (call == NULL)
        {
          run->exhausted = TRUE;
          break;
        }

      call_main_thread_only = job_function_get_main_thread_only (job_call_get_function (call));
      if (chunk->len == 0)
        main_thread_only = call_main_thread_only;
      else if (call_main_thread_only != main_thread_only)
        {
          run->pending_call = call;
          break;
        }
      tasks = job_dispatcher_add_tasks (tasks, call);
      g_ptr_array_add (chunk, call);
    }

  if (chunk->len == 0 || run->stopping)
    return FALSE;

  submit (run, (JobCall **) chunk->pdata, chunk->len);
  return TRUE;
}

/* Batches in flight at most. pre_dispatch bounds how far a lazy source
 * is read ahead, as in joblib; calls given as an array are all built
 * already, and with a fixed batch size a process worker that has only
 * its next call waiting pays a wake-up per call (~25 µs each way here):
 * those runs keep at least PIPELINE_DEPTH batches per worker in flight.
 * The worker pool decides how many of them one worker holds. */
#define PIPELINE_DEPTH 16

static guint
window (JobDispatcher *run)
{
  guint pipeline = PIPELINE_DEPTH * (guint) MAX (run->options.n_workers, 1);

  if (run->calls == NULL || run->options.batch_size == 0)
    return run->options.pre_dispatch;
  return MAX (run->options.pre_dispatch, pipeline);
}

/* Cuts batches from the input while the window has room. */
static void
dispatch_more (JobDispatcher *run)
{
  guint limit;

  if (run->dispatching || run->task == NULL)
    return;
  limit = window (run);

  run->dispatching = TRUE;
  g_main_context_push_thread_default (run->context);

  while (!run->stopping &&
         !(run->exhausted && run->pending_call == NULL) &&
         run->in_flight->len < limit)
    {
      gboolean dispatched = run->calls != NULL ? dispatch_slice (run)
                                               : dispatch_pulled (run);
      if (!dispatched)
        break;
    }

  g_main_context_pop_thread_default (run->context);
  run->dispatching = FALSE;
  job_dispatcher_maybe_complete (run);
}

void
job_dispatcher_start (JobRunOptions      *options,
                      GPtrArray          *calls,
                      JobCallIterateFunc  source,
                      gpointer            source_data,
                      GDestroyNotify      source_destroy,
                      GCancellable       *cancellable,
                      GTask              *task)
{
  g_autoptr(JobDispatcher) run = job_dispatcher_new (options, calls, source, source_data,
                                                     source_destroy, cancellable, task);

  if (run->task == NULL)
    return;  /* cancelled before it started */
  if (run->pool != NULL)
    run->inbox = job_batch_inbox_new (run->context, on_pool_batch_done);
  dispatch_more (run);
}
