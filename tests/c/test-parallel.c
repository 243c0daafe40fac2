/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <joblib-glib.h>

/* Shared state of the task functions below; reset by each test. */
static struct
{
  gint     started;          /* (atomic) */
  gint     finished;         /* (atomic) */
  gint     running;          /* (atomic) */
  gint     pulled;           /* (atomic) lazy input: calls handed out */
  gint     max_pulled_seen;  /* (atomic) */
  GMutex   lock;
  GArray  *stamps;           /* (element-type Stamp) guarded by lock */
  GThread *main_thread;
} state;

typedef struct
{
  int     index;
  gint64  start;
  gint64  end;
  GThread *thread;
} Stamp;

static void
reset_state (void)
{
  g_atomic_int_set (&state.started, 0);
  g_atomic_int_set (&state.finished, 0);
  g_atomic_int_set (&state.running, 0);
  g_atomic_int_set (&state.pulled, 0);
  g_atomic_int_set (&state.max_pulled_seen, 0);
  g_clear_pointer (&state.stamps, g_array_unref);
  state.stamps = g_array_new (FALSE, FALSE, sizeof (Stamp));
  state.main_thread = g_thread_self ();
}

static GVariant *
square (GVariant      *args,
        GCancellable  *cancellable,
        gpointer       user_data,
        GError       **error)
{
  gint64 x;

  g_variant_get (args, "(x)", &x);
  return g_variant_new_int64 (x * x);
}

/* Sleeps args[1] ms, waking up early when cancelled, and records when and
 * where it ran. Fails when args[0] equals the user_data index. */
static GVariant *
stamped_sleep (GVariant      *args,
               GCancellable  *cancellable,
               gpointer       user_data,
               GError       **error)
{
  int index, sleep_ms;
  Stamp stamp = { 0 };

  g_variant_get (args, "(ii)", &index, &sleep_ms);
  g_atomic_int_inc (&state.started);
  g_atomic_int_inc (&state.running);
  stamp.index = index;
  stamp.thread = g_thread_self ();
  stamp.start = g_get_monotonic_time ();

  if (sleep_ms > 0)
    {
      /* wait for the time or for cancellation, whichever comes first */
      gint64 deadline = stamp.start + sleep_ms * 1000;

      while (g_get_monotonic_time () < deadline &&
             !g_cancellable_is_cancelled (cancellable))
        g_usleep (1000);
    }

  stamp.end = g_get_monotonic_time ();
  g_mutex_lock (&state.lock);
  g_array_append_val (state.stamps, stamp);
  g_mutex_unlock (&state.lock);
  g_atomic_int_add (&state.running, -1);
  g_atomic_int_inc (&state.finished);

  if (GPOINTER_TO_INT (user_data) == index)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "model %d diverged", index);
      return NULL;
    }

  return g_variant_new_int32 (index);
}

static GVariant *
returns_null_silently (GVariant      *args,
                       GCancellable  *cancellable,
                       gpointer       user_data,
                       GError       **error)
{
  return NULL;
}

static GVariant *
record_thread (GVariant      *args,
               GCancellable  *cancellable,
               gpointer       user_data,
               GError       **error)
{
  int index;
  Stamp stamp = { 0 };

  g_variant_get (args, "(i)", &index);
  stamp.index = index;
  stamp.thread = g_thread_self ();
  g_mutex_lock (&state.lock);
  g_array_append_val (state.stamps, stamp);
  g_mutex_unlock (&state.lock);

  return g_variant_new_int32 (index * 10);
}

static GPtrArray *
make_calls (JobFunction *function,
            guint        n,
            const char  *format,
            int          sleep_ms)
{
  GPtrArray *calls = g_ptr_array_new_with_free_func ((GDestroyNotify) job_call_unref);

  for (guint i = 0; i < n; i++)
    {
      GVariant *args;

      if (g_str_equal (format, "(x)"))
        args = g_variant_new ("(x)", (gint64) i);
      else if (g_str_equal (format, "(i)"))
        args = g_variant_new ("(i)", (int) i);
      else
        args = g_variant_new ("(ii)", (int) i, sleep_ms);
      g_ptr_array_add (calls, job_call_new (function, args));
    }

  return calls;
}

static void
test_ordered_results (void)
{
  g_autoptr(JobFunction) function = job_function_new ("square", square, NULL, NULL);
  g_autoptr(GPtrArray) calls = make_calls (function, 5000, "(x)", 0);
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;

  job_parallel_set_backend_name (parallel, "threading");
  results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (results->len, ==, 5000);
  for (guint i = 0; i < results->len; i++)
    g_assert_cmpint (g_variant_get_int64 (g_ptr_array_index (results, i)), ==, (gint64) i * i);
}

static void
test_empty_input (void)
{
  g_autoptr(GPtrArray) calls = g_ptr_array_new ();
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;

  results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (results->len, ==, 0);
}

/* Two workers really run two tasks at once: some pair of tasks on
 * different threads has overlapping [start, end] intervals. */
static void
test_tasks_overlap (void)
{
  g_autoptr(JobFunction) function = job_function_new ("nap", stamped_sleep, GINT_TO_POINTER (-1), NULL);
  g_autoptr(GPtrArray) calls = NULL;
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;
  gboolean overlapped = FALSE;

  reset_state ();
  calls = make_calls (function, 6, "(ii)", 100);
  results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (results->len, ==, 6);
  g_assert_cmpuint (state.stamps->len, ==, 6);

  for (guint i = 0; i < state.stamps->len; i++)
    for (guint j = i + 1; j < state.stamps->len; j++)
      {
        Stamp *a = &g_array_index (state.stamps, Stamp, i);
        Stamp *b = &g_array_index (state.stamps, Stamp, j);

        g_assert_true (a->thread != state.main_thread);
        if (a->thread != b->thread && a->start < b->end && b->start < a->end)
          overlapped = TRUE;
      }
  g_assert_true (overlapped);
}

static void
test_n_jobs_one_runs_inline (void)
{
  g_autoptr(JobFunction) function = job_function_new ("record", record_thread, NULL, NULL);
  g_autoptr(GPtrArray) calls = NULL;
  g_autoptr(JobParallel) parallel = job_parallel_new (1);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;

  reset_state ();
  calls = make_calls (function, 50, "(i)", 0);
  job_parallel_set_backend_name (parallel, "threading");
  results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (state.stamps->len, ==, 50);
  for (guint i = 0; i < state.stamps->len; i++)
    {
      Stamp *stamp = &g_array_index (state.stamps, Stamp, i);

      g_assert_true (stamp->thread == state.main_thread);
      /* sequential: in input order */
      g_assert_cmpint (stamp->index, ==, (int) i);
      g_assert_cmpint (g_variant_get_int32 (g_ptr_array_index (results, i)), ==, (int) i * 10);
    }
}

static void
test_n_jobs_zero (void)
{
  g_autoptr(JobFunction) function = job_function_new ("square", square, NULL, NULL);
  g_autoptr(GPtrArray) calls = make_calls (function, 3, "(x)", 0);
  g_autoptr(JobParallel) parallel = job_parallel_new (0);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;

  results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, &error);
  g_assert_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT);
  g_assert_null (results);
}

static void
test_n_jobs_negative (void)
{
  GError *error = NULL;
  int cpus = job_cpu_count ();

  g_assert_cmpint (cpus, >=, 1);
  g_assert_cmpint (job_effective_n_jobs (-1, &error), ==, cpus);
  g_assert_cmpint (job_effective_n_jobs (-2, &error), ==, MAX (cpus - 1, 1));
  g_assert_cmpint (job_effective_n_jobs (-1000, &error), ==, 1);
  g_assert_cmpint (job_effective_n_jobs (3, &error), ==, 3);
  g_assert_no_error (error);
  g_assert_cmpint (job_effective_n_jobs (0, &error), ==, 0);
  g_assert_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
}

static void
test_first_error_stops (void)
{
  /* task 17 fails; the others take a while, so that dispatch can stop */
  g_autoptr(JobFunction) function = job_function_new ("fit_model", stamped_sleep, GINT_TO_POINTER (17), NULL);
  g_autoptr(GPtrArray) calls = NULL;
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;

  reset_state ();
  calls = make_calls (function, 400, "(ii)", 2);
  job_parallel_set_batch_size (parallel, 1);
  results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, &error);
  g_assert_null (results);
  /* the task's own domain and code, its index and function in the message */
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
  g_assert_nonnull (strstr (error->message, "task 17 (fit_model): model 17 diverged"));
  /* dispatch stopped early and nothing runs after the run returned */
  g_assert_cmpint (g_atomic_int_get (&state.started), <, 400);
  g_assert_cmpint (g_atomic_int_get (&state.running), ==, 0);
}

static void
test_null_without_error (void)
{
  g_autoptr(JobFunction) function = job_function_new ("silent", returns_null_silently, NULL, NULL);
  g_autoptr(GPtrArray) calls = make_calls (function, 4, "(i)", 0);
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;

  results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, &error);
  g_assert_null (results);
  g_assert_error (error, JOB_ERROR, JOB_ERROR_TASK_FAILED);
  g_assert_nonnull (strstr (error->message, "(silent)"));
  /* what to do about it, for binding users */
  g_assert_nonnull (strstr (error->message, "Python exception"));
  g_assert_nonnull (strstr (error->message, "main-thread-only"));
  g_assert_nonnull (strstr (error->message, "GLib.Variant"));
}

static void
test_outcomes_collect_every_failure (void)
{
  g_autoptr(JobFunction) ok = job_function_new ("nap", stamped_sleep, GINT_TO_POINTER (-1), NULL);
  g_autoptr(JobFunction) bad = job_function_new ("silent", returns_null_silently, NULL, NULL);
  g_autoptr(GPtrArray) calls = g_ptr_array_new_with_free_func ((GDestroyNotify) job_call_unref);
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  g_autoptr(GPtrArray) outcomes = NULL;
  g_autoptr(GError) error = NULL;

  reset_state ();
  for (int i = 0; i < 30; i++)
    g_ptr_array_add (calls, job_call_new (i % 3 == 1 ? bad : ok, g_variant_new ("(ii)", i, 0)));

  outcomes = job_parallel_run_outcomes (parallel, (JobCall **) calls->pdata, calls->len, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (outcomes->len, ==, 30);
  for (guint i = 0; i < outcomes->len; i++)
    {
      JobOutcome *outcome = g_ptr_array_index (outcomes, i);
      g_autoptr(GVariant) value = NULL;
      g_autoptr(GError) task_error = NULL;

      g_assert_cmpuint (job_outcome_get_index (outcome), ==, i);
      if (i % 3 == 1)
        {
          g_assert_false (job_outcome_is_success (outcome));
          g_assert_false (job_outcome_propagate (outcome, &value, &task_error));
          g_assert_error (task_error, JOB_ERROR, JOB_ERROR_TASK_FAILED);
          g_assert_null (value);
        }
      else
        {
          g_assert_true (job_outcome_propagate (outcome, &value, &task_error));
          g_assert_no_error (task_error);
          g_assert_cmpint (g_variant_get_int32 (value), ==, (int) i);
        }
    }
  /* every good task ran: failures did not stop the run */
  g_assert_cmpint (g_atomic_int_get (&state.finished), ==, 20);
}

static gboolean
cancel_later (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

static gpointer
cancel_from_thread (gpointer data)
{
  g_usleep (150 * 1000);
  g_cancellable_cancel (data);
  return NULL;
}

static void
test_cancel_stops_promptly (void)
{
  g_autoptr(JobFunction) function = job_function_new ("nap", stamped_sleep, GINT_TO_POINTER (-1), NULL);
  g_autoptr(GPtrArray) calls = NULL;
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GThread) canceller = NULL;
  int started_at_return;

  reset_state ();
  /* 200 tasks of 50 ms: 5 s of work on 2 workers */
  calls = make_calls (function, 200, "(ii)", 50);
  job_parallel_set_batch_size (parallel, 1);
  canceller = g_thread_new ("canceller", cancel_from_thread, cancellable);
  results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, cancellable, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (results);

  /* no task is left running, and none starts afterwards */
  g_assert_cmpint (g_atomic_int_get (&state.running), ==, 0);
  started_at_return = g_atomic_int_get (&state.started);
  g_assert_cmpint (started_at_return, <, 200);
  g_usleep (200 * 1000);
  g_assert_cmpint (g_atomic_int_get (&state.started), ==, started_at_return);
}

typedef struct
{
  GCancellable *cancellable;
  GArray       *done;    /* guint: each progress emission's count */
} ProgressLog;

static void
log_progress_then_cancel (JobParallel *parallel,
                          guint        done,
                          int          total,
                          gpointer     user_data)
{
  ProgressLog *log = user_data;

  g_array_append_val (log->done, done);
  if (log->done->len == 2)
    g_cancellable_cancel (log->cancellable);
}

/* Progress is reported when the count changes: the batches that end
 * cancelled after a cancel add nothing and are not reported. */
static void
test_progress_only_on_change (void)
{
  g_autoptr(JobFunction) function = job_function_new ("nap", stamped_sleep, GINT_TO_POINTER (-1), NULL);
  g_autoptr(GPtrArray) calls = NULL;
  g_autoptr(JobParallel) parallel = job_parallel_new (4);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) done = g_array_new (FALSE, FALSE, sizeof (guint));
  ProgressLog log = { cancellable, done };

  reset_state ();
  calls = make_calls (function, 40, "(ii)", 30);
  job_parallel_set_batch_size (parallel, 1);
  g_signal_connect (parallel, "progress", G_CALLBACK (log_progress_then_cancel), &log);
  results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, cancellable, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (results);
  g_assert_cmpuint (done->len, >=, 2);
  for (guint i = 1; i < done->len; i++)
    g_assert_cmpuint (g_array_index (done, guint, i), >, g_array_index (done, guint, i - 1));
}

typedef struct
{
  GCancellable *cancellable;
  gint          handler_done;  /* (atomic) */
} SlowCancel;

static void
slow_cancelled_handler (GCancellable *cancellable,
                        gpointer      user_data)
{
  SlowCancel *slow = user_data;

  g_usleep (300 * 1000);
  g_atomic_int_set (&slow->handler_done, 1);
}

/* Connects its handler once the run has connected its own, so that it
 * runs after the run's, then cancels. */
static gpointer
cancel_slowly_from_thread (gpointer data)
{
  SlowCancel *slow = data;

  g_usleep (150 * 1000);
  g_signal_connect (slow->cancellable, "cancelled", G_CALLBACK (slow_cancelled_handler), slow);
  g_cancellable_cancel (slow->cancellable);
  return NULL;
}

/* The run is woken while the cancelling thread is still inside
 * g_cancellable_cancel(). The run watched its cancellable with a
 * GCancellableSource once, which GLib 2.74 leaks when it is dropped at
 * that moment (seen by the valgrind step). It now disconnects its own
 * handler, which waits for the emission: when the run returns, nothing of
 * it runs on the cancelling thread any more. */
static void
test_cancel_while_cancelling (void)
{
  g_autoptr(JobFunction) function = job_function_new ("nap", stamped_sleep, GINT_TO_POINTER (-1), NULL);
  g_autoptr(GPtrArray) calls = NULL;
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;
  SlowCancel slow = { cancellable, 0 };
  GThread *canceller;

  reset_state ();
  calls = make_calls (function, 200, "(ii)", 50);
  job_parallel_set_batch_size (parallel, 1);
  canceller = g_thread_new ("canceller", cancel_slowly_from_thread, &slow);
  results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, cancellable, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (results);
  g_assert_cmpint (g_atomic_int_get (&slow.handler_done), ==, 1);
  g_thread_join (canceller);
}

static void
test_cancel_before_start (void)
{
  g_autoptr(JobFunction) function = job_function_new ("nap", stamped_sleep, GINT_TO_POINTER (-1), NULL);
  g_autoptr(GPtrArray) calls = NULL;
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;

  reset_state ();
  calls = make_calls (function, 10, "(ii)", 10);
  g_cancellable_cancel (cancellable);
  results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, cancellable, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (g_atomic_int_get (&state.started), ==, 0);
}

static void
test_timeout (void)
{
  g_autoptr(JobFunction) function = job_function_new ("slow_fit", stamped_sleep, GINT_TO_POINTER (-1), NULL);
  g_autoptr(GPtrArray) calls = g_ptr_array_new_with_free_func ((GDestroyNotify) job_call_unref);
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;

  reset_state ();
  g_ptr_array_add (calls, job_call_new (function, g_variant_new ("(ii)", 0, 1)));
  g_ptr_array_add (calls, job_call_new (function, g_variant_new ("(ii)", 1, 10000)));
  g_ptr_array_add (calls, job_call_new (function, g_variant_new ("(ii)", 2, 1)));
  job_parallel_set_timeout (parallel, 0.2);
  results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, &error);
  g_assert_error (error, JOB_ERROR, JOB_ERROR_TIMEOUT);
  g_assert_nonnull (strstr (error->message, "task 1 (slow_fit)"));
  /* the task saw its cancellable and stops; wait for it to leave */
  while (g_atomic_int_get (&state.running) > 0)
    g_usleep (1000);
}

typedef struct
{
  GMainLoop *loop;
  GPtrArray *results;
  GError    *error;
  guint      n_result_signals;
  guint      n_progress_signals;
  guint      last_done;
  int        last_total;
  gboolean   seen[64];
  gboolean   off_thread;
} AsyncData;

static void
on_result (JobParallel *parallel,
           guint        index,
           GVariant    *value,
           AsyncData   *data)
{
  if (g_thread_self () != state.main_thread)
    data->off_thread = TRUE;
  g_assert_cmpuint (index, <, G_N_ELEMENTS (data->seen));
  g_assert_false (data->seen[index]);
  data->seen[index] = TRUE;
  g_assert_cmpint (g_variant_get_int32 (value), ==, (int) index * 10);
  data->n_result_signals++;
}

static void
on_progress (JobParallel *parallel,
             guint        done,
             int          total,
             AsyncData   *data)
{
  if (g_thread_self () != state.main_thread)
    data->off_thread = TRUE;
  g_assert_cmpuint (done, >=, data->last_done);
  data->last_done = done;
  data->last_total = total;
  data->n_progress_signals++;
}

static void
on_run_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  AsyncData *data = user_data;

  if (g_thread_self () != state.main_thread)
    data->off_thread = TRUE;
  data->results = job_parallel_run_finish (JOB_PARALLEL (source), result, &data->error);
  g_main_loop_quit (data->loop);
}

static void
test_async_signals_on_caller_context (void)
{
  g_autoptr(JobFunction) function = job_function_new ("record", record_thread, NULL, NULL);
  g_autoptr(GPtrArray) calls = NULL;
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  AsyncData data = { 0 };

  reset_state ();
  calls = make_calls (function, 64, "(i)", 0);
  data.loop = g_main_loop_new (NULL, FALSE);
  g_signal_connect (parallel, "result", G_CALLBACK (on_result), &data);
  g_signal_connect (parallel, "progress", G_CALLBACK (on_progress), &data);
  job_parallel_run_async (parallel, (JobCall **) calls->pdata, calls->len, NULL, on_run_done, &data);
  g_main_loop_run (data.loop);

  g_assert_no_error (data.error);
  g_assert_cmpuint (data.results->len, ==, 64);
  g_assert_cmpuint (data.n_result_signals, ==, 64);
  g_assert_cmpuint (data.n_progress_signals, >=, 1);
  g_assert_cmpuint (data.last_done, ==, 64);
  g_assert_cmpint (data.last_total, ==, 64);
  g_assert_false (data.off_thread);
  /* the work itself ran on worker threads */
  for (guint i = 0; i < state.stamps->len; i++)
    g_assert_true (g_array_index (state.stamps, Stamp, i).thread != state.main_thread);

  g_ptr_array_unref (data.results);
  g_main_loop_unref (data.loop);
}

static void
test_async_cancel (void)
{
  g_autoptr(JobFunction) function = job_function_new ("nap", stamped_sleep, GINT_TO_POINTER (-1), NULL);
  g_autoptr(GPtrArray) calls = NULL;
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  AsyncData data = { 0 };

  reset_state ();
  calls = make_calls (function, 100, "(ii)", 20);
  data.loop = g_main_loop_new (NULL, FALSE);
  job_parallel_set_batch_size (parallel, 1);
  job_parallel_run_async (parallel, (JobCall **) calls->pdata, calls->len, cancellable, on_run_done, &data);
  g_timeout_add (100, cancel_later, cancellable);
  g_main_loop_run (data.loop);

  g_assert_error (data.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (data.results);
  g_assert_cmpint (g_atomic_int_get (&state.running), ==, 0);
  g_clear_error (&data.error);
  g_main_loop_unref (data.loop);
}

typedef struct
{
  JobFunction *function;
  guint        n;
} LazyInput;

static JobCall *
next_lazy_call (gpointer   user_data,
                GError   **error)
{
  LazyInput *input = user_data;
  int index = g_atomic_int_get (&state.pulled);

  if ((guint) index >= input->n)
    return NULL;
  g_atomic_int_inc (&state.pulled);
  return job_call_new (input->function, g_variant_new ("(ii)", index, 0));
}

static GVariant *
note_pulled (GVariant      *args,
             GCancellable  *cancellable,
             gpointer       user_data,
             GError       **error)
{
  int index, unused;
  int pulled = g_atomic_int_get (&state.pulled);
  int seen;

  g_variant_get (args, "(ii)", &index, &unused);
  /* remember how far the input was read when the first task ran */
  if (index == 0)
    g_atomic_int_set (&state.max_pulled_seen, pulled);
  do
    seen = g_atomic_int_get (&state.started);
  while (!g_atomic_int_compare_and_exchange (&state.started, seen, seen + 1));
  g_usleep (2000);
  return g_variant_new_int32 (index);
}

static void
test_lazy_source_respects_pre_dispatch (void)
{
  g_autoptr(JobFunction) function = job_function_new ("note", note_pulled, NULL, NULL);
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;
  LazyInput input = { function, 100 };

  reset_state ();
  job_parallel_set_batch_size (parallel, 1);
  /* 2*n_jobs = 4 batches of 1 in flight at most */
  results = job_parallel_run_source (parallel, next_lazy_call, &input, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (results->len, ==, 100);
  for (guint i = 0; i < results->len; i++)
    g_assert_cmpint (g_variant_get_int32 (g_ptr_array_index (results, i)), ==, (int) i);
  g_assert_cmpint (g_atomic_int_get (&state.max_pulled_seen), <=, 4);
  g_assert_cmpint (g_atomic_int_get (&state.max_pulled_seen), >=, 1);
}

static JobCall *
failing_source (gpointer   user_data,
                GError   **error)
{
  LazyInput *input = user_data;
  int index = g_atomic_int_add (&state.pulled, 1);

  if (index == 5)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "bad row 5");
      return NULL;
    }
  return job_call_new (input->function, g_variant_new ("(ii)", index, 0));
}

static void
test_lazy_source_error (void)
{
  g_autoptr(JobFunction) function = job_function_new ("nap", stamped_sleep, GINT_TO_POINTER (-1), NULL);
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;
  LazyInput input = { function, 100 };

  reset_state ();
  results = job_parallel_run_source (parallel, failing_source, &input, NULL, NULL, &error);
  g_assert_null (results);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "bad row 5"));
  g_assert_cmpint (g_atomic_int_get (&state.running), ==, 0);
}

static void
test_pre_dispatch_invalid (void)
{
  g_autoptr(JobFunction) function = job_function_new ("square", square, NULL, NULL);
  g_autoptr(GPtrArray) calls = make_calls (function, 3, "(x)", 0);
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  const char *good[] = { "all", "n_jobs", "3*n_jobs", "3 * n_jobs", "7" };
  const char *bad[] = { "bogus", "0", "-1*n_jobs", "2*jobs", "" };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(GPtrArray) results = NULL;
      g_autoptr(GError) error = NULL;

      job_parallel_set_pre_dispatch (parallel, good[i]);
      results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (g_variant_get_int64 (g_ptr_array_index (results, 2)), ==, 4);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GPtrArray) results = NULL;
      g_autoptr(GError) error = NULL;

      job_parallel_set_pre_dispatch (parallel, bad[i]);
      results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, &error);
      g_assert_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT);
    }
}

static void
test_main_thread_only (void)
{
  g_autoptr(JobFunction) js_like = job_function_new ("js_closure", record_thread, NULL, NULL);
  g_autoptr(JobFunction) native = job_function_new ("native", record_thread, NULL, NULL);
  g_autoptr(GPtrArray) calls = g_ptr_array_new_with_free_func ((GDestroyNotify) job_call_unref);
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;
  guint n_main = 0;

  reset_state ();
  job_function_set_main_thread_only (js_like, TRUE);
  /* interleave: indices < 1000 odd are main-thread-only */
  for (int i = 0; i < 200; i++)
    g_ptr_array_add (calls, job_call_new (i % 2 ? js_like : native, g_variant_new ("(i)", i)));

  results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < results->len; i++)
    g_assert_cmpint (g_variant_get_int32 (g_ptr_array_index (results, i)), ==, (int) i * 10);

  for (guint i = 0; i < state.stamps->len; i++)
    {
      Stamp *stamp = &g_array_index (state.stamps, Stamp, i);

      if (stamp->index % 2)
        {
          g_assert_true (stamp->thread == state.main_thread);
          n_main++;
        }
      else
        g_assert_true (stamp->thread != state.main_thread);
    }
  g_assert_cmpuint (n_main, ==, 100);
}

static void
test_config_scope (void)
{
  g_autoptr(JobFunction) function = job_function_new ("record", record_thread, NULL, NULL);
  g_autoptr(GPtrArray) calls = make_calls (function, 20, "(i)", 0);
  g_autoptr(JobParallelConfig) outer = job_parallel_config_new ();
  g_autoptr(JobParallelConfig) inner = job_parallel_config_new ();
  g_autoptr(JobParallel) parallel = job_parallel_new (JOB_N_JOBS_DEFAULT);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;

  /* no config: n_jobs defaults to 1, in the caller */
  reset_state ();
  results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < state.stamps->len; i++)
    g_assert_true (g_array_index (state.stamps, Stamp, i).thread == state.main_thread);
  g_clear_pointer (&results, g_ptr_array_unref);

  /* outer: 2 threads */
  job_parallel_config_set_n_jobs (outer, 2);
  job_parallel_config_set_backend_name (outer, "threading");
  job_parallel_config_push (outer);
  reset_state ();
  results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < state.stamps->len; i++)
    g_assert_true (g_array_index (state.stamps, Stamp, i).thread != state.main_thread);
  g_clear_pointer (&results, g_ptr_array_unref);

  /* inner: sequential backend, n_jobs inherited from outer */
  job_parallel_config_set_backend_name (inner, "sequential");
  job_parallel_config_push (inner);
  {
    g_autoptr(JobParallelConfig) current = job_parallel_config_get_current ();

    g_assert_cmpint (job_parallel_config_get_n_jobs (current), ==, 2);
    g_assert_cmpstr (job_parallel_config_get_backend_name (current), ==, "sequential");
  }
  reset_state ();
  {
    g_autoptr(JobParallel) fresh = job_parallel_new (JOB_N_JOBS_DEFAULT);

    results = job_parallel_run (fresh, (JobCall **) calls->pdata, calls->len, NULL, &error);
  }
  g_assert_no_error (error);
  for (guint i = 0; i < state.stamps->len; i++)
    g_assert_true (g_array_index (state.stamps, Stamp, i).thread == state.main_thread);
  g_clear_pointer (&results, g_ptr_array_unref);

  job_parallel_config_pop (inner);
  job_parallel_config_pop (outer);
  {
    g_autoptr(JobParallelConfig) current = job_parallel_config_get_current ();

    g_assert_cmpint (job_parallel_config_get_n_jobs (current), ==, JOB_N_JOBS_DEFAULT);
  }
}

static void
test_unknown_backend (void)
{
  g_autoptr(JobFunction) function = job_function_new ("square", square, NULL, NULL);
  g_autoptr(GPtrArray) calls = make_calls (function, 3, "(x)", 0);
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;

  job_parallel_set_backend_name (parallel, "spark");
  results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, &error);
  g_assert_error (error, JOB_ERROR, JOB_ERROR_UNKNOWN_BACKEND);
  g_assert_nonnull (strstr (error->message, "spark"));
}

static void
test_null_call_is_critical (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(GPtrArray) calls = g_ptr_array_new ();
      g_autoptr(JobParallel) parallel = job_parallel_new (2);

      g_ptr_array_add (calls, NULL);
      job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, NULL);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*check_calls*");
}

static void
test_verbose_lines (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(JobFunction) function = job_function_new ("nap", stamped_sleep, GINT_TO_POINTER (-1), NULL);
      g_autoptr(GPtrArray) calls = NULL;
      g_autoptr(JobParallel) parallel = job_parallel_new (2);
      g_autoptr(GPtrArray) results = NULL;

      reset_state ();
      calls = make_calls (function, 6, "(ii)", 1);
      job_parallel_set_verbose (parallel, 10);
      results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, NULL);
      g_assert_nonnull (results);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*[Parallel(n_jobs=2)]: Using backend ThreadingBackend with 2 concurrent workers.\n*");
  /* the elapsed time depends on the machine's load */
  g_test_trap_assert_stderr ("*[Parallel(n_jobs=2)]: Done   6 out of   6 | elapsed: *s finished\n*");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/joblib/parallel/ordered-results", test_ordered_results);
  g_test_add_func ("/joblib/parallel/empty-input", test_empty_input);
  g_test_add_func ("/joblib/parallel/tasks-overlap", test_tasks_overlap);
  g_test_add_func ("/joblib/parallel/n-jobs-one-inline", test_n_jobs_one_runs_inline);
  g_test_add_func ("/joblib/parallel/n-jobs-zero", test_n_jobs_zero);
  g_test_add_func ("/joblib/parallel/n-jobs-negative", test_n_jobs_negative);
  g_test_add_func ("/joblib/parallel/first-error-stops", test_first_error_stops);
  g_test_add_func ("/joblib/parallel/null-without-error", test_null_without_error);
  g_test_add_func ("/joblib/parallel/outcomes", test_outcomes_collect_every_failure);
  g_test_add_func ("/joblib/parallel/cancel", test_cancel_stops_promptly);
  g_test_add_func ("/joblib/parallel/progress-only-on-change", test_progress_only_on_change);
  g_test_add_func ("/joblib/parallel/cancel-while-cancelling", test_cancel_while_cancelling);
  g_test_add_func ("/joblib/parallel/cancel-before-start", test_cancel_before_start);
  g_test_add_func ("/joblib/parallel/timeout", test_timeout);
  g_test_add_func ("/joblib/parallel/async-signals", test_async_signals_on_caller_context);
  g_test_add_func ("/joblib/parallel/async-cancel", test_async_cancel);
  g_test_add_func ("/joblib/parallel/lazy-source", test_lazy_source_respects_pre_dispatch);
  g_test_add_func ("/joblib/parallel/lazy-source-error", test_lazy_source_error);
  g_test_add_func ("/joblib/parallel/pre-dispatch", test_pre_dispatch_invalid);
  g_test_add_func ("/joblib/parallel/main-thread-only", test_main_thread_only);
  g_test_add_func ("/joblib/parallel/config-scope", test_config_scope);
  g_test_add_func ("/joblib/parallel/unknown-backend", test_unknown_backend);
  g_test_add_func ("/joblib/parallel/null-call", test_null_call_is_critical);
  g_test_add_func ("/joblib/parallel/verbose", test_verbose_lines);

  return g_test_run ();
}
