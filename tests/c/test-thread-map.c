/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The thread backend's bulk maps: every item once, values, layouts, errors. */
#include <string.h>

#include <joblib-glib.h>

#define N_ITEMS 100003

typedef struct
{
  gint *visits;   /* (array length=n) */
  gsize n;
} Visits;

static gboolean
count_visits (gsize          start,
              gsize          end,
              gpointer       user_data,
              GCancellable  *cancellable,
              GError       **error)
{
  Visits *visits = user_data;

  g_assert_cmpuint (start, <, end);
  g_assert_cmpuint (end, <=, visits->n);
  for (gsize i = start; i < end; i++)
    g_atomic_int_inc (&visits->visits[i]);
  return TRUE;
}

static void
test_range_every_item_once (void)
{
  g_autoptr(JobBackend) backend = job_thread_backend_new ();
  const int n_jobs[] = { 1, 2, -1, 7 };

  for (gsize j = 0; j < G_N_ELEMENTS (n_jobs); j++)
    {
      g_autofree gint *counts = g_new0 (gint, N_ITEMS);
      Visits visits = { counts, N_ITEMS };
      g_autoptr(GError) error = NULL;

      g_assert_true (job_thread_backend_map_range (JOB_THREAD_BACKEND (backend), n_jobs[j],
                                                   N_ITEMS, count_visits, &visits,
                                                   NULL, &error));
      g_assert_no_error (error);
      for (gsize i = 0; i < N_ITEMS; i++)
        g_assert_cmpint (counts[i], ==, 1);
    }
}

static gboolean
never_called (gsize          start,
              gsize          end,
              gpointer       user_data,
              GCancellable  *cancellable,
              GError       **error)
{
  g_assert_not_reached ();
}

static void
test_range_empty (void)
{
  g_autoptr(JobBackend) backend = job_thread_backend_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (job_thread_backend_map_range (JOB_THREAD_BACKEND (backend), 2, 0,
                                               never_called, NULL, NULL, &error));
  g_assert_no_error (error);
}

static gboolean
square_int64_to_double (gconstpointer   input,
                        gpointer        output,
                        gsize           index,
                        gpointer        user_data,
                        GError        **error)
{
  gint64 x;

  memcpy (&x, input, sizeof x);
  *(double *) output = (double) x * (double) x;
  return TRUE;
}

static void
test_array_elements (void)
{
  g_autoptr(JobBackend) backend = job_thread_backend_new ();
  g_autofree gint64 *values = g_new (gint64, N_ITEMS);
  gsize shape[] = { N_ITEMS };
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(JobArray) input = NULL;
  g_autoptr(JobArray) output = NULL;
  g_autoptr(GError) error = NULL;
  guint n_dims;

  for (gsize i = 0; i < N_ITEMS; i++)
    values[i] = (gint64) i - 50000;
  bytes = g_bytes_new_static (values, N_ITEMS * sizeof (gint64));
  input = job_array_new ("<i8", shape, 1, bytes, &error);
  g_assert_no_error (error);

  output = job_thread_backend_map_array (JOB_THREAD_BACKEND (backend), 2, input, "<f8",
                                         NULL, 0, square_int64_to_double, NULL,
                                         NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (output);
  g_assert_cmpstr (job_array_get_typestr (output), ==, "<f8");
  g_assert_cmpuint (job_array_get_shape (output, &n_dims)[0], ==, N_ITEMS);
  g_assert_cmpuint (n_dims, ==, 1);
  for (gsize i = 0; i < N_ITEMS; i++)
    g_assert_cmpfloat (job_array_get_double (output, i), ==,
                       (double) values[i] * (double) values[i]);
}

/* A row of 3 doubles to its sum and its maximum. */
static gboolean
row_sum_max (gconstpointer   input,
             gpointer        output,
             gsize           index,
             gpointer        user_data,
             GError        **error)
{
  const double *row = input;
  double *out = output;

  out[0] = row[0] + row[1] + row[2];
  out[1] = MAX (row[0], MAX (row[1], row[2]));
  return TRUE;
}

static void
test_array_rows (void)
{
  g_autoptr(JobBackend) backend = job_thread_backend_new ();
  const gsize n_rows = 1001;
  g_autofree double *values = g_new (double, n_rows * 3);
  gsize shape[] = { n_rows, 3 };
  gsize out_row[] = { 2 };
  gsize empty_shape[] = { 0, 3 };
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(JobArray) input = NULL;
  g_autoptr(JobArray) output = NULL;
  g_autoptr(JobArray) empty = NULL;
  g_autoptr(JobArray) empty_output = NULL;
  g_autoptr(GError) error = NULL;
  const gsize *out_shape;
  guint n_dims;

  for (gsize i = 0; i < n_rows * 3; i++)
    values[i] = (double) ((i * 7919) % 1000);
  bytes = g_bytes_new_static (values, n_rows * 3 * sizeof (double));
  input = job_array_new ("<f8", shape, 2, bytes, &error);
  g_assert_no_error (error);

  output = job_thread_backend_map_array (JOB_THREAD_BACKEND (backend), -1, input, "<f8",
                                         out_row, 1, row_sum_max, NULL, NULL, &error);
  g_assert_no_error (error);
  out_shape = job_array_get_shape (output, &n_dims);
  g_assert_cmpuint (n_dims, ==, 2);
  g_assert_cmpuint (out_shape[0], ==, n_rows);
  g_assert_cmpuint (out_shape[1], ==, 2);
  for (gsize r = 0; r < n_rows; r++)
    {
      const double *row = values + 3 * r;

      g_assert_cmpfloat (job_array_get_double (output, 2 * r), ==, row[0] + row[1] + row[2]);
      g_assert_cmpfloat (job_array_get_double (output, 2 * r + 1), ==,
                         MAX (row[0], MAX (row[1], row[2])));
    }

  /* No rows: an empty result of the right shape, and no call. */
  empty = job_array_new_zeros ("<f8", empty_shape, 2, &error);
  g_assert_no_error (error);
  empty_output = job_thread_backend_map_array (JOB_THREAD_BACKEND (backend), 2, empty, "<i4",
                                               out_row, 1, row_sum_max, NULL, NULL, &error);
  g_assert_no_error (error);
  out_shape = job_array_get_shape (empty_output, &n_dims);
  g_assert_cmpuint (n_dims, ==, 2);
  g_assert_cmpuint (out_shape[0], ==, 0);
  g_assert_cmpuint (out_shape[1], ==, 2);
  g_assert_cmpstr (job_array_get_typestr (empty_output), ==, "<i4");
}

/* (yd) → d: the byte sits at offset 0, the double at offset 8. */
static gboolean
scale_pair (gconstpointer   input,
            gpointer        output,
            gsize           index,
            gpointer        user_data,
            GError        **error)
{
  const guint8 *element = input;
  double value;

  memcpy (&value, element + 8, sizeof value);
  *(double *) output = element[0] * value;
  return TRUE;
}

static gboolean
int32_to_int64 (gconstpointer   input,
                gpointer        output,
                gsize           index,
                gpointer        user_data,
                GError        **error)
{
  *(gint64 *) output = (gint64) *(const gint32 *) input + (gint64) index;
  return TRUE;
}

static void
test_variant (void)
{
  g_autoptr(JobBackend) backend = job_thread_backend_new ();
  g_auto(GVariantBuilder) pairs = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a(yd)"));
  g_autofree gint32 *ints = g_new (gint32, N_ITEMS);
  g_autoptr(GVariant) pair_array = NULL;
  g_autoptr(GVariant) int_array = NULL;
  g_autoptr(GVariant) result = NULL;
  g_autoptr(GVariant) empty_input = NULL;
  g_autoptr(GVariant) empty_result = NULL;
  g_autoptr(GError) error = NULL;
  const double *doubles;
  const gint64 *longs;
  gsize n;

  for (guint i = 0; i < 500; i++)
    g_variant_builder_add (&pairs, "(yd)", (guint8) (i % 7), i * 0.5);
  pair_array = g_variant_ref_sink (g_variant_builder_end (&pairs));
  result = job_thread_backend_map_variant (JOB_THREAD_BACKEND (backend), 2, pair_array,
                                           G_VARIANT_TYPE_DOUBLE, scale_pair, NULL,
                                           NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_type_string (result), ==, "ad");
  g_assert_false (g_variant_is_floating (result));
  doubles = g_variant_get_fixed_array (result, &n, sizeof (double));
  g_assert_cmpuint (n, ==, 500);
  for (guint i = 0; i < 500; i++)
    g_assert_cmpfloat (doubles[i], ==, (i % 7) * (i * 0.5));
  g_clear_pointer (&result, g_variant_unref);

  for (gsize i = 0; i < N_ITEMS; i++)
    ints[i] = (gint32) (i * 3);
  int_array = g_variant_ref_sink (g_variant_new_fixed_array (G_VARIANT_TYPE_INT32, ints,
                                                             N_ITEMS, sizeof (gint32)));
  result = job_thread_backend_map_variant (JOB_THREAD_BACKEND (backend), 2, int_array,
                                           G_VARIANT_TYPE_INT64, int32_to_int64, NULL,
                                           NULL, &error);
  g_assert_no_error (error);
  longs = g_variant_get_fixed_array (result, &n, sizeof (gint64));
  g_assert_cmpuint (n, ==, N_ITEMS);
  for (gsize i = 0; i < N_ITEMS; i++)
    g_assert_cmpint (longs[i], ==, (gint64) i * 4);

  empty_input = g_variant_ref_sink (g_variant_new ("ai", NULL));
  empty_result = job_thread_backend_map_variant (JOB_THREAD_BACKEND (backend), 2,
                                                 empty_input,
                                                 G_VARIANT_TYPE ("(ii)"), int32_to_int64,
                                                 NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_type_string (empty_result), ==, "a(ii)");
  g_assert_cmpuint (g_variant_n_children (empty_result), ==, 0);
}

/* Fails at the items given in user_data (a -1-terminated list), with an
 * error, or with none when the index is odd. */
static gboolean
fail_at (gconstpointer   input,
         gpointer        output,
         gsize           index,
         gpointer        user_data,
         GError        **error)
{
  for (const gssize *at = user_data; *at >= 0; at++)
    if ((gsize) *at == index)
      {
        if (index % 2 == 0)
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no %zu here", index);
        return FALSE;
      }
  *(gint64 *) output = 0;
  return TRUE;
}

static void
test_errors (void)
{
  g_autoptr(JobBackend) backend = job_thread_backend_new ();
  JobThreadBackend *threads = JOB_THREAD_BACKEND (backend);
  g_autofree gint32 *ints = g_new0 (gint32, N_ITEMS);
  g_autoptr(GVariant) int_array = g_variant_ref_sink (
    g_variant_new_fixed_array (G_VARIANT_TYPE_INT32, ints, N_ITEMS, sizeof (gint32)));
  const gssize two_failures[] = { 90000, 778, -1 };
  const gssize odd_failure[] = { 4321, -1 };
  gsize shape[] = { 4 };
  g_autoptr(JobArray) array = NULL;
  g_autoptr(JobArray) scalar = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GVariant) strings = g_variant_ref_sink (g_variant_new_strv (NULL, 0));
  g_autoptr(GVariant) scalar_variant = g_variant_ref_sink (g_variant_new_int32 (3));
  GVariant *result;
  JobArray *array_result;
  GError *error = NULL;

  /* The lowest failing element's error, prefixed with its index. */
  result = job_thread_backend_map_variant (threads, 2, int_array, G_VARIANT_TYPE_INT64,
                                           fail_at, (gpointer) two_failures, NULL, &error);
  g_assert_null (result);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "778"));
  g_clear_error (&error);

  /* FALSE without an error: a task failure naming the element. */
  result = job_thread_backend_map_variant (threads, 2, int_array, G_VARIANT_TYPE_INT64,
                                           fail_at, (gpointer) odd_failure, NULL, &error);
  g_assert_null (result);
  g_assert_error (error, JOB_ERROR, JOB_ERROR_TASK_FAILED);
  g_assert_nonnull (strstr (error->message, "4321"));
  g_clear_error (&error);

  g_assert_false (job_thread_backend_map_range (threads, 0, 10, never_called, NULL,
                                                NULL, &error));
  g_assert_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_cancellable_cancel (cancellable);
  g_assert_false (job_thread_backend_map_range (threads, 2, 10, never_called, NULL,
                                                cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  /* Not an array, elements of no fixed size, results of no fixed size. */
  result = job_thread_backend_map_variant (threads, 2, scalar_variant,
                                           G_VARIANT_TYPE_INT64, fail_at, NULL, NULL, &error);
  g_assert_null (result);
  g_assert_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  result = job_thread_backend_map_variant (threads, 2, strings, G_VARIANT_TYPE_INT64,
                                           fail_at, NULL, NULL, &error);
  g_assert_null (result);
  g_assert_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  result = job_thread_backend_map_variant (threads, 2, int_array, G_VARIANT_TYPE ("(is)"),
                                           fail_at, NULL, NULL, &error);
  g_assert_null (result);
  g_assert_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* A 0-d array has no rows; a bad result typestr. */
  scalar = job_array_new_zeros ("<f8", NULL, 0, &error);
  g_assert_no_error (error);
  array_result = job_thread_backend_map_array (threads, 2, scalar, "<f8", NULL, 0,
                                               fail_at, NULL, NULL, &error);
  g_assert_null (array_result);
  g_assert_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  array = job_array_new_zeros ("<i8", shape, 1, &error);
  g_assert_no_error (error);
  array_result = job_thread_backend_map_array (threads, 2, array, "<q17", NULL, 0,
                                               fail_at, NULL, NULL, &error);
  g_assert_null (array_result);
  g_assert_error (error, JOB_ERROR, JOB_ERROR_UNSUPPORTED);
  g_clear_error (&error);
}

static void
test_programmer_errors (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(JobBackend) backend = job_thread_backend_new ();

      job_thread_backend_map_range (JOB_THREAD_BACKEND (backend), 2, 10, NULL, NULL,
                                    NULL, NULL);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*func != NULL*");
}

/* A map started inside a task of a thread-backend run runs in that task's
 * thread alone, and still computes every element. */
typedef struct
{
  GThread *thread;
  gboolean other_thread;
} ThreadCheck;

static gboolean
check_thread (gsize          start,
              gsize          end,
              gpointer       user_data,
              GCancellable  *cancellable,
              GError       **error)
{
  ThreadCheck *check = user_data;

  if (g_thread_self () != check->thread)
    check->other_thread = TRUE;
  return TRUE;
}

static GVariant *
nested_map (GVariant      *args,
            GCancellable  *cancellable,
            gpointer       user_data,
            GError       **error)
{
  JobThreadBackend *backend = user_data;
  ThreadCheck check = { g_thread_self (), FALSE };

  if (!job_thread_backend_map_range (backend, 2, 1000, check_thread, &check, NULL, error))
    return NULL;
  return g_variant_new_boolean (check.other_thread);
}

static void
test_nested (void)
{
  g_autoptr(JobBackend) backend = job_thread_backend_new ();
  g_autoptr(JobBackend) inner = job_thread_backend_new ();
  g_autoptr(JobFunction) function = job_function_new ("nested_map", nested_map, inner, NULL);
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  g_autoptr(JobCall) call = job_call_new (function, g_variant_new ("()"));
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;

  job_parallel_set_backend (parallel, backend);
  results = job_parallel_run (parallel, &call, 1, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (g_variant_get_boolean (g_ptr_array_index (results, 0)));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/joblib/thread-map/range-every-item-once", test_range_every_item_once);
  g_test_add_func ("/joblib/thread-map/range-empty", test_range_empty);
  g_test_add_func ("/joblib/thread-map/array-elements", test_array_elements);
  g_test_add_func ("/joblib/thread-map/array-rows", test_array_rows);
  g_test_add_func ("/joblib/thread-map/variant", test_variant);
  g_test_add_func ("/joblib/thread-map/errors", test_errors);
  g_test_add_func ("/joblib/thread-map/programmer-errors", test_programmer_errors);
  g_test_add_func ("/joblib/thread-map/nested", test_nested);

  return g_test_run ();
}
