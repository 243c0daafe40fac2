/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Lazy inputs of JobParallel: run_iterate (end and failure told apart)
 * and run_source (a NULL without an error is the end). */
#include <joblib-glib.h>

#include <string.h>

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

/* Gives calls 0 … n-1, then the end; at @fail_at it fails the way @mode
 * says. Counts how many times it was called after it reported the end or
 * a failure (never, the contract says) and whether its data was freed. */
typedef enum
{
  FAIL_NEVER,
  FAIL_WITH_ERROR,
  FAIL_WITHOUT_ERROR,    /* what a binding returns after an exception */
  FAIL_WITH_CALL,        /* FALSE with a call: the call is dropped */
  SUCCEED_WITH_ERROR,    /* TRUE with an error: a failure too */
} FailMode;

typedef struct
{
  JobFunction *function;
  guint        n;
  guint        fail_at;
  FailMode     mode;
  guint        next;
  guint        calls_after_end;
  gboolean     ended;
  gboolean     freed;
} Input;

static gboolean
iterate_input (gpointer   user_data,
               JobCall  **call,
               GError   **error)
{
  Input *input = user_data;
  guint index = input->next++;

  if (input->ended)
    input->calls_after_end++;

  if (input->mode != FAIL_NEVER && index == input->fail_at)
    {
      input->ended = TRUE;
      switch (input->mode)
        {
        case FAIL_WITH_ERROR:
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "bad row %u", index);
          return FALSE;
        case FAIL_WITHOUT_ERROR:
          return FALSE;
        case FAIL_WITH_CALL:
          *call = job_call_new (input->function, g_variant_new ("(x)", (gint64) index));
          return FALSE;
        case SUCCEED_WITH_ERROR:
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "odd row %u", index);
          return TRUE;
        case FAIL_NEVER:
        default:
          g_assert_not_reached ();
        }
    }

  if (index >= input->n)
    {
      input->ended = TRUE;
      *call = NULL;
      return TRUE;
    }
  *call = job_call_new (input->function, g_variant_new ("(x)", (gint64) index));
  return TRUE;
}

static void
free_input (gpointer data)
{
  Input *input = data;

  g_assert_false (input->freed);
  input->freed = TRUE;
}

static void
test_iterate_to_the_end (void)
{
  g_autoptr(JobFunction) function = job_function_new ("square", square, NULL, NULL);
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;
  Input input = { function, 50, 0, FAIL_NEVER };

  job_parallel_set_batch_size (parallel, 3);
  results = job_parallel_run_iterate (parallel, iterate_input, &input, free_input, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (results->len, ==, 50);
  for (guint i = 0; i < results->len; i++)
    g_assert_cmpint (g_variant_get_int64 (g_ptr_array_index (results, i)), ==, (gint64) i * i);
  g_assert_true (input.freed);
  g_assert_cmpuint (input.calls_after_end, ==, 0);
}

static void
test_iterate_empty (void)
{
  g_autoptr(JobFunction) function = job_function_new ("square", square, NULL, NULL);
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;
  Input input = { function, 0, 0, FAIL_NEVER };

  results = job_parallel_run_iterate (parallel, iterate_input, &input, free_input, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (results->len, ==, 0);
  g_assert_true (input.freed);
}

/* Each way of failing fails the run, whichever backend runs the calls,
 * and the input is not called again. */
static void
test_iterate_failures (void)
{
  const FailMode modes[] = { FAIL_WITH_ERROR, FAIL_WITHOUT_ERROR, FAIL_WITH_CALL,
                             SUCCEED_WITH_ERROR };
  const guint fail_at[] = { 0, 1, 7 };
  const int n_jobs[] = { 1, 2 };

  for (guint m = 0; m < G_N_ELEMENTS (modes); m++)
    for (guint f = 0; f < G_N_ELEMENTS (fail_at); f++)
      for (guint j = 0; j < G_N_ELEMENTS (n_jobs); j++)
        {
          g_autoptr(JobFunction) function = job_function_new ("square", square, NULL, NULL);
          g_autoptr(JobParallel) parallel = job_parallel_new (n_jobs[j]);
          g_autoptr(GPtrArray) results = NULL;
          g_autoptr(GError) error = NULL;
          Input input = { function, 20, fail_at[f], modes[m] };

          results = job_parallel_run_iterate (parallel, iterate_input, &input, free_input,
                                              NULL, &error);
          g_assert_null (results);
          g_assert_nonnull (error);
          g_assert_true (g_str_has_prefix (error->message,
                                           "The input of the parallel run failed: "));
          switch (modes[m])
            {
            case FAIL_WITH_ERROR:
              g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
              g_assert_nonnull (strstr (error->message, "bad row"));
              break;
            case SUCCEED_WITH_ERROR:
              g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
              g_assert_nonnull (strstr (error->message, "odd row"));
              break;
            case FAIL_WITHOUT_ERROR:
            case FAIL_WITH_CALL:
              g_assert_error (error, JOB_ERROR, JOB_ERROR_FAILED);
              g_assert_nonnull (strstr (error->message, "without an error"));
              g_assert_nonnull (strstr (error->message, "Python exception"));
              break;
            case FAIL_NEVER:
            default:
              g_assert_not_reached ();
            }
          g_assert_true (input.freed);
          g_assert_cmpuint (input.calls_after_end, ==, 0);
        }
}

typedef struct
{
  GMainLoop *loop;
  GPtrArray *results;
  GError    *error;
  guint      n_results;
} AsyncData;

static void
on_iterate_done (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  AsyncData *data = user_data;

  data->results = job_parallel_run_iterate_finish (JOB_PARALLEL (object), result, &data->error);
  g_main_loop_quit (data->loop);
}

static void
on_result (JobParallel *parallel,
           guint        index,
           GVariant    *value,
           gpointer     user_data)
{
  AsyncData *data = user_data;

  data->n_results++;
}

static void
test_iterate_async (void)
{
  g_autoptr(JobFunction) function = job_function_new ("square", square, NULL, NULL);
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  Input input = { function, 30, 0, FAIL_NEVER };
  Input failing = { function, 30, 12, FAIL_WITH_ERROR };
  AsyncData data = { g_main_loop_new (NULL, FALSE) };

  g_signal_connect (parallel, "result", G_CALLBACK (on_result), &data);
  job_parallel_set_batch_size (parallel, 1);
  job_parallel_run_iterate_async (parallel, iterate_input, &input, free_input, NULL,
                                  on_iterate_done, &data);
  g_main_loop_run (data.loop);
  g_assert_no_error (data.error);
  g_assert_cmpuint (data.results->len, ==, 30);
  g_assert_cmpint (g_variant_get_int64 (g_ptr_array_index (data.results, 29)), ==, 29 * 29);
  g_assert_cmpuint (data.n_results, ==, 30);
  g_assert_true (input.freed);
  g_clear_pointer (&data.results, g_ptr_array_unref);

  /* run_finish completes it too, as for the other lazy form */
  job_parallel_run_iterate_async (parallel, iterate_input, &failing, free_input, NULL,
                                  on_iterate_done, &data);
  g_main_loop_run (data.loop);
  g_assert_null (data.results);
  g_assert_error (data.error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_true (failing.freed);
  g_clear_error (&data.error);
  g_main_loop_unref (data.loop);
}

static void
test_iterate_cancelled (void)
{
  g_autoptr(JobFunction) function = job_function_new ("square", square, NULL, NULL);
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;
  Input input = { function, 1000000, 0, FAIL_NEVER };

  g_cancellable_cancel (cancellable);
  results = job_parallel_run_iterate (parallel, iterate_input, &input, free_input,
                                      cancellable, &error);
  g_assert_null (results);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_true (input.freed);
  g_assert_cmpuint (input.next, <, 1000);
}

/* run_source: NULL with an error fails, NULL alone ends, and a call
 * returned with an error set counts as a failure, not as a call. */
typedef struct
{
  JobFunction *function;
  guint        next;
  guint        fail_at;
  gboolean     with_call;
} SourceInput;

static JobCall *
next_source_call (gpointer   user_data,
                  GError   **error)
{
  SourceInput *input = user_data;
  guint index = input->next++;

  if (index == input->fail_at)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "bad row %u", index);
      if (!input->with_call)
        return NULL;
    }
  if (index >= 10)
    return NULL;
  return job_call_new (input->function, g_variant_new ("(x)", (gint64) index));
}

static void
test_source_end_and_failure (void)
{
  g_autoptr(JobFunction) function = job_function_new ("square", square, NULL, NULL);
  g_autoptr(JobParallel) parallel = job_parallel_new (2);

  for (guint i = 0; i < 3; i++)
    {
      SourceInput input = { function, 0, i == 0 ? G_MAXUINT : 4, i == 2 };
      g_autoptr(GPtrArray) results = NULL;
      g_autoptr(GError) error = NULL;

      results = job_parallel_run_source (parallel, next_source_call, &input, NULL, NULL, &error);
      if (i == 0)
        {
          g_assert_no_error (error);
          g_assert_cmpuint (results->len, ==, 10);
          g_assert_cmpint (g_variant_get_int64 (g_ptr_array_index (results, 9)), ==, 81);
        }
      else
        {
          g_assert_null (results);
          g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
          g_assert_nonnull (strstr (error->message, "bad row 4"));
        }
    }
}

static void
test_iterate_null_is_critical (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(JobParallel) parallel = job_parallel_new (2);

      job_parallel_run_iterate (parallel, NULL, NULL, NULL, NULL, NULL);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*job_parallel_run_iterate*iterate != NULL*");
}

static void
test_iterate_async_null_is_critical (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(JobParallel) parallel = job_parallel_new (2);

      job_parallel_run_iterate_async (parallel, NULL, NULL, NULL, NULL, NULL, NULL);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*job_parallel_run_iterate_async*iterate != NULL*");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/joblib/parallel-input/iterate", test_iterate_to_the_end);
  g_test_add_func ("/joblib/parallel-input/iterate-empty", test_iterate_empty);
  g_test_add_func ("/joblib/parallel-input/iterate-failures", test_iterate_failures);
  g_test_add_func ("/joblib/parallel-input/iterate-async", test_iterate_async);
  g_test_add_func ("/joblib/parallel-input/iterate-cancelled", test_iterate_cancelled);
  g_test_add_func ("/joblib/parallel-input/source-end-and-failure", test_source_end_and_failure);
  g_test_add_func ("/joblib/parallel-input/iterate-null", test_iterate_null_is_critical);
  g_test_add_func ("/joblib/parallel-input/iterate-async-null",
                   test_iterate_async_null_is_critical);

  return g_test_run ();
}
