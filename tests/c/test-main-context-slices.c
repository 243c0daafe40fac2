/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Work that runs on a caller's main context (main-thread-only functions,
 * the sequential backend) leaves that context's loop free between two
 * tasks longer than a slice, whatever the batch size: a timer attached to
 * the context runs between every two of them, as a window's frame clock
 * would. Results, their order, errors and cancellation stay as they were.
 *
 * No timing threshold: each task sleeps 10 ms, longer than both the 1 ms
 * timer interval (so the timer is due when the task returns) and a slice
 * (so a slice holds one such task); the timer's default priority puts it
 * before the next slice, whatever the machine's load. */
#include <string.h>

#include <joblib-glib.h>

#define TASK_USEC 10000
#define N_TASKS 6

typedef struct
{
  guint         ticks;         /* timer dispatches so far */
  GArray       *ticks_before;  /* (element-type guint): ticks when each task started */
  GArray       *order;         /* (element-type int): task arguments, as they ran */
  GThread      *thread;        /* (nullable): where every task must run */
  int           fail_at;       /* this argument fails, -1: none */
  GCancellable *cancel;        /* (nullable): cancelled by the timer ... */
  guint         cancel_after;  /* ... once this many tasks ran */
} State;

static State state;

static void
reset_state (void)
{
  g_clear_pointer (&state.ticks_before, g_array_unref);
  g_clear_pointer (&state.order, g_array_unref);
  memset (&state, 0, sizeof state);
  state.ticks_before = g_array_new (FALSE, FALSE, sizeof (guint));
  state.order = g_array_new (FALSE, FALSE, sizeof (int));
  state.fail_at = -1;
}

static gboolean
tick (gpointer user_data)
{
  state.ticks++;
  if (state.cancel != NULL && state.order->len == state.cancel_after)
    g_cancellable_cancel (state.cancel);
  return G_SOURCE_CONTINUE;
}

/* args (i): sleeps TASK_USEC, returns i * 10 */
static GVariant *
slow_task (GVariant      *args,
           GCancellable  *cancellable,
           gpointer       user_data,
           GError       **error)
{
  int i;

  g_variant_get (args, "(i)", &i);
  if (state.thread != NULL)
    g_assert_true (g_thread_self () == state.thread);
  g_array_append_val (state.ticks_before, state.ticks);
  g_array_append_val (state.order, i);
  g_usleep (TASK_USEC);
  if (i == state.fail_at)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "input %d is bad", i);
      return NULL;
    }
  return g_variant_new_int32 (i * 10);
}

static GPtrArray *
make_calls (JobFunction *function,
            guint        n)
{
  GPtrArray *calls = g_ptr_array_new_with_free_func ((GDestroyNotify) job_call_unref);

  for (guint i = 0; i < n; i++)
    g_ptr_array_add (calls, job_call_new (function, g_variant_new ("(i)", (int) i)));
  return calls;
}

static void
on_done (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static GSource *
attach_timer (GMainContext *context)
{
  GSource *timer = g_timeout_source_new (1);

  g_source_set_callback (timer, tick, NULL, NULL);
  g_source_attach (timer, context);
  return timer;
}

/* Every task after the first started after the timer ran again. */
static void
assert_timer_between_tasks (void)
{
  for (guint i = 1; i < state.ticks_before->len; i++)
    g_assert_cmpuint (g_array_index (state.ticks_before, guint, i), >,
                      g_array_index (state.ticks_before, guint, i - 1));
}

/* Runs @calls with @parallel from a loop on a new thread-default context
 * with a 1 ms timer; returns the run's result. */
static GAsyncResult *
run_with_timer (JobParallel *parallel,
                GPtrArray   *calls,
                gboolean     outcomes)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GSource) timer = NULL;
  GAsyncResult *result = NULL;

  g_main_context_push_thread_default (context);
  timer = attach_timer (context);
  if (outcomes)
    job_parallel_run_outcomes_async (parallel, (JobCall **) calls->pdata, calls->len,
                                     state.cancel, on_done, &result);
  else
    job_parallel_run_async (parallel, (JobCall **) calls->pdata, calls->len,
                            state.cancel, on_done, &result);
  while (result == NULL)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (timer);
  g_main_context_pop_thread_default (context);
  return result;
}

static void
assert_values (GPtrArray *results,
               guint      n)
{
  g_assert_cmpuint (results->len, ==, n);
  for (guint i = 0; i < n; i++)
    g_assert_cmpint (g_variant_get_int32 (g_ptr_array_index (results, i)), ==, (int) i * 10);
}

/* args: batch size; main-thread-only functions on the thread backend */
static void
test_main_thread_only (gconstpointer data)
{
  guint batch_size = GPOINTER_TO_UINT (data);
  g_autoptr(JobFunction) function = NULL;
  g_autoptr(GPtrArray) calls = NULL;
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;

  reset_state ();
  state.thread = g_thread_self ();
  function = job_function_new ("slow_closure", slow_task, NULL, NULL);
  job_function_set_main_thread_only (function, TRUE);
  calls = make_calls (function, N_TASKS);
  job_parallel_set_backend_name (parallel, "threading");
  job_parallel_set_batch_size (parallel, batch_size);

  result = run_with_timer (parallel, calls, FALSE);
  results = job_parallel_run_finish (parallel, result, &error);
  g_assert_no_error (error);
  assert_values (results, N_TASKS);
  g_assert_cmpuint (state.order->len, ==, N_TASKS);
  for (guint i = 0; i < N_TASKS; i++)
    g_assert_cmpint (g_array_index (state.order, int, i), ==, (int) i);
  assert_timer_between_tasks ();
}

/* n_jobs=1 runs plain functions in the caller, on its main context */
static void
test_sequential (void)
{
  g_autoptr(JobFunction) function = job_function_new ("slow", slow_task, NULL, NULL);
  g_autoptr(GPtrArray) calls = make_calls (function, N_TASKS);
  g_autoptr(JobParallel) parallel = job_parallel_new (1);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;

  reset_state ();
  state.thread = g_thread_self ();
  job_parallel_set_batch_size (parallel, 100);

  result = run_with_timer (parallel, calls, FALSE);
  results = job_parallel_run_finish (parallel, result, &error);
  g_assert_no_error (error);
  assert_values (results, N_TASKS);
  assert_timer_between_tasks ();
}

/* The first error still ends the run and names its task; the tasks after
 * it in the batch do not run. */
static void
test_error (void)
{
  g_autoptr(JobFunction) function = job_function_new ("slow_closure", slow_task, NULL, NULL);
  g_autoptr(GPtrArray) calls = NULL;
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;

  reset_state ();
  state.fail_at = 2;
  job_function_set_main_thread_only (function, TRUE);
  calls = make_calls (function, N_TASKS);
  job_parallel_set_batch_size (parallel, 100);

  result = run_with_timer (parallel, calls, FALSE);
  results = job_parallel_run_finish (parallel, result, &error);
  g_assert_null (results);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_cmpstr (error->message, ==, "task 2 (slow_closure): input 2 is bad");
  g_assert_cmpuint (state.order->len, ==, 3);
  assert_timer_between_tasks ();
}

/* Per-task outcomes: every task runs, the failed one has its error. */
static void
test_outcomes (void)
{
  g_autoptr(JobFunction) function = job_function_new ("slow_closure", slow_task, NULL, NULL);
  g_autoptr(GPtrArray) calls = NULL;
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GPtrArray) outcomes = NULL;
  g_autoptr(GError) error = NULL;

  reset_state ();
  state.fail_at = 3;
  job_function_set_main_thread_only (function, TRUE);
  calls = make_calls (function, N_TASKS);
  job_parallel_set_batch_size (parallel, 100);

  result = run_with_timer (parallel, calls, TRUE);
  outcomes = job_parallel_run_outcomes_finish (parallel, result, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (outcomes->len, ==, N_TASKS);
  for (guint i = 0; i < N_TASKS; i++)
    {
      JobOutcome *outcome = g_ptr_array_index (outcomes, i);

      g_assert_cmpuint (job_outcome_get_index (outcome), ==, i);
      if (i == 3)
        {
          g_assert_null (job_outcome_get_value (outcome));
          g_assert_error (job_outcome_get_error (outcome), G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
        }
      else
        g_assert_cmpint (g_variant_get_int32 (job_outcome_get_value (outcome)), ==, (int) i * 10);
    }
  g_assert_cmpuint (state.order->len, ==, N_TASKS);
  assert_timer_between_tasks ();
}

/* A cancel between two slices stops the batch there. */
static void
test_cancel (void)
{
  g_autoptr(JobFunction) function = job_function_new ("slow_closure", slow_task, NULL, NULL);
  g_autoptr(GPtrArray) calls = NULL;
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  g_autoptr(GCancellable) cancel = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;

  reset_state ();
  state.cancel = cancel;
  state.cancel_after = 2;
  job_function_set_main_thread_only (function, TRUE);
  calls = make_calls (function, N_TASKS);
  job_parallel_set_batch_size (parallel, 100);

  result = run_with_timer (parallel, calls, FALSE);
  results = job_parallel_run_finish (parallel, result, &error);
  g_assert_null (results);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (state.order->len, ==, 2);
}

typedef struct
{
  JobFunction  *function;  /* (unowned) */
  GPtrArray    *results;   /* (owned) (nullable) */
  GError       *error;     /* (owned) (nullable) */
  GMainContext *owner;     /* (unowned): woken when the run ends */
  gint          done;      /* (atomic) */
} ThreadRun;

static gpointer
run_in_thread (gpointer data)
{
  ThreadRun *run = data;
  g_autoptr(GPtrArray) calls = make_calls (run->function, N_TASKS);
  g_autoptr(JobParallel) parallel = job_parallel_new (2);

  job_parallel_set_batch_size (parallel, 100);
  run->results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL,
                                   &run->error);
  g_atomic_int_set (&run->done, TRUE);
  g_main_context_wakeup (run->owner);
  return NULL;
}

/* A run started on another thread sends main-thread-only calls to their
 * owner context, whose loop stays free between them. */
static void
test_from_another_thread (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(JobFunction) function = NULL;
  g_autoptr(GSource) timer = NULL;
  g_autoptr(GThread) thread = NULL;
  ThreadRun run = { NULL };

  reset_state ();
  state.thread = g_thread_self ();
  g_main_context_push_thread_default (context);
  function = job_function_new ("slow_closure", slow_task, NULL, NULL);
  job_function_set_main_thread_only (function, TRUE);
  g_assert_true (job_function_get_owner_context (function) == context);
  /* Owned by this thread for the whole run: the run's thread cannot take
   * it, so the calls come here. */
  g_assert_true (g_main_context_acquire (context));
  timer = attach_timer (context);

  run.function = function;
  run.owner = context;
  thread = g_thread_new ("run", run_in_thread, &run);
  while (!g_atomic_int_get (&run.done))
    g_main_context_iteration (context, TRUE);
  g_thread_join (g_steal_pointer (&thread));

  g_source_destroy (timer);
  g_main_context_release (context);
  g_main_context_pop_thread_default (context);

  g_assert_no_error (run.error);
  assert_values (run.results, N_TASKS);
  assert_timer_between_tasks ();
  g_ptr_array_unref (run.results);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_data_func ("/joblib/slices/main-thread-only/one-batch", GUINT_TO_POINTER (100),
                        test_main_thread_only);
  g_test_add_data_func ("/joblib/slices/main-thread-only/auto-batch", GUINT_TO_POINTER (0),
                        test_main_thread_only);
  g_test_add_func ("/joblib/slices/sequential", test_sequential);
  g_test_add_func ("/joblib/slices/error", test_error);
  g_test_add_func ("/joblib/slices/outcomes", test_outcomes);
  g_test_add_func ("/joblib/slices/cancel", test_cancel);
  g_test_add_func ("/joblib/slices/from-another-thread", test_from_another_thread);

  return g_test_run ();
}
