/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <joblib-glib.h>

static GVariant *
add_one (GVariant      *args,
         GCancellable  *cancellable,
         gpointer       user_data,
         GError       **error)
{
  gint32 x;

  g_variant_get (args, "(i)", &x);
  return g_variant_new_int32 (x + 1);
}

static GVariant *
count_args (GVariant      *args,
            GCancellable  *cancellable,
            gpointer       user_data,
            GError       **error)
{
  return g_variant_new_uint32 ((guint32) g_variant_n_children (args));
}

/* A buggy body: neither a value nor an error. */
static GVariant *
return_nothing (GVariant      *args,
                GCancellable  *cancellable,
                gpointer       user_data,
                GError       **error)
{
  return NULL;
}

static GVariant *
fail_with_not_found (GVariant      *args,
                     GCancellable  *cancellable,
                     gpointer       user_data,
                     GError       **error)
{
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no such thing");
  return NULL;
}

static void
count_destroy (gpointer data)
{
  (*(int *) data)++;
}

static void
count_notify (GObject    *object,
              GParamSpec *pspec,
              gpointer    user_data)
{
  (*(int *) user_data)++;
}

static void
test_name_default (void)
{
  g_autoptr(JobFunction) unnamed = job_function_new (NULL, add_one, NULL, NULL);
  g_autoptr(JobFunction) empty = job_function_new ("", add_one, NULL, NULL);
  g_autoptr(JobFunction) named = job_function_new ("add_one", add_one, NULL, NULL);
  g_autoptr(JobFunction) bare = g_object_new (JOB_TYPE_FUNCTION, NULL);

  g_assert_cmpstr (job_function_get_name (unnamed), ==, "anonymous");
  g_assert_cmpstr (job_function_get_name (empty), ==, "anonymous");
  g_assert_cmpstr (job_function_get_name (named), ==, "add_one");
  g_assert_cmpstr (job_function_get_name (bare), ==, "anonymous");
  g_assert_cmpstr (job_function_get_version (named), ==, "1");
  g_assert_false (job_function_get_main_thread_only (named));
}

static void
test_version_notify_on_change_only (void)
{
  g_autoptr(JobFunction) function = job_function_new ("f", add_one, NULL, NULL);
  int notified = 0;

  g_signal_connect (function, "notify::version", G_CALLBACK (count_notify), &notified);

  job_function_set_version (function, "1");  /* the default: no change */
  g_assert_cmpint (notified, ==, 0);

  job_function_set_version (function, "2");
  g_assert_cmpint (notified, ==, 1);
  g_assert_cmpstr (job_function_get_version (function), ==, "2");

  job_function_set_version (function, "2");
  g_assert_cmpint (notified, ==, 1);

  g_object_set (function, "version", "2", NULL);
  g_assert_cmpint (notified, ==, 1);

  job_function_set_version (function, NULL);  /* back to "1" */
  g_assert_cmpint (notified, ==, 2);
  g_assert_cmpstr (job_function_get_version (function), ==, "1");
}

static void
test_main_thread_only_notify (void)
{
  g_autoptr(JobFunction) function = job_function_new ("f", add_one, NULL, NULL);
  int notified = 0;

  g_signal_connect (function, "notify::main-thread-only", G_CALLBACK (count_notify), &notified);
  job_function_set_main_thread_only (function, FALSE);
  g_assert_cmpint (notified, ==, 0);
  job_function_set_main_thread_only (function, TRUE);
  job_function_set_main_thread_only (function, TRUE);
  g_assert_cmpint (notified, ==, 1);
  g_assert_true (job_function_get_main_thread_only (function));
  g_assert_true (job_function_get_owner_context (function) == g_main_context_default ());
}

static void
test_invoke (void)
{
  g_autoptr(JobFunction) function = job_function_new ("add_one", add_one, NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) result = NULL;

  /* a floating args tuple is consumed */
  result = job_function_invoke (function, g_variant_new ("(i)", 41), NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (result);
  g_assert_false (g_variant_is_floating (result));
  g_assert_cmpint (g_variant_get_int32 (result), ==, 42);
}

static void
test_destroy_notify (void)
{
  int destroyed = 0;
  JobFunction *function = job_function_new ("f", add_one, &destroyed, count_destroy);

  g_assert_cmpint (destroyed, ==, 0);
  g_object_unref (function);
  g_assert_cmpint (destroyed, ==, 1);
}

static void
test_invoke_non_tuple (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(JobFunction) function = job_function_new ("f", add_one, NULL, NULL);
      g_autoptr(GVariant) args = g_variant_ref_sink (g_variant_new_int32 (1));

      job_function_invoke (function, args, NULL, NULL);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*job_function_invoke*G_VARIANT_TYPE_TUPLE*");
}

static void
test_new_null_func (void)
{
  if (g_test_subprocess ())
    {
      JobFunction *function = job_function_new ("f", NULL, NULL, NULL);

      g_assert_null (function);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*job_function_new*func != NULL*");
}

static void
test_null_without_error (void)
{
  g_autoptr(JobFunction) function = job_function_new ("lazy_body", return_nothing, NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) result = NULL;

  result = job_function_invoke (function, g_variant_new ("()"), NULL, &error);
  g_assert_null (result);
  g_assert_error (error, JOB_ERROR, JOB_ERROR_TASK_FAILED);
  g_assert_nonnull (strstr (error->message, "lazy_body"));
}

static void
test_error_kept (void)
{
  g_autoptr(JobFunction) function = job_function_new ("lookup", fail_with_not_found, NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) result = NULL;

  result = job_function_invoke (function, g_variant_new ("()"), NULL, &error);
  g_assert_null (result);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_cmpstr (error->message, ==, "no such thing");
}

static void
test_call_args (void)
{
  g_autoptr(JobFunction) function = job_function_new ("count", count_args, NULL, NULL);
  g_autoptr(JobCall) no_args = job_call_new (function, NULL);
  g_autoptr(JobCall) two_args = job_call_new (function, g_variant_new ("(is)", 1, "x"));
  g_autoptr(GVariant) none = NULL;
  g_autoptr(GVariant) two = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (job_call_get_function (no_args) == function);
  g_assert_cmpstr (g_variant_get_type_string (job_call_get_args (no_args)), ==, "()");
  g_assert_false (g_variant_is_floating (job_call_get_args (two_args)));

  none = job_call_invoke (no_args, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_variant_get_uint32 (none), ==, 0);

  two = job_call_invoke (two_args, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_variant_get_uint32 (two), ==, 2);

  /* the boxed type copies by reference */
  {
    JobCall *copy = g_boxed_copy (JOB_TYPE_CALL, two_args);

    g_assert_true (copy == two_args);
    g_boxed_free (JOB_TYPE_CALL, copy);
  }
}

static void
test_call_non_tuple (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(JobFunction) function = job_function_new ("f", add_one, NULL, NULL);
      JobCall *call = job_call_new (function, g_variant_new_int32 (3));

      g_assert_null (call);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*job_call_new*G_VARIANT_TYPE_TUPLE*");
}

static void
test_outcome_value (void)
{
  g_autoptr(JobOutcome) outcome = job_outcome_new_value (3, g_variant_new_string ("ok"));
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (job_outcome_get_index (outcome), ==, 3);
  g_assert_true (job_outcome_is_success (outcome));
  g_assert_null (job_outcome_get_error (outcome));
  g_assert_cmpstr (g_variant_get_string (job_outcome_get_value (outcome), NULL), ==, "ok");

  g_assert_true (job_outcome_propagate (outcome, &value, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_string (value, NULL), ==, "ok");
  /* the outcome keeps its own reference */
  g_assert_nonnull (job_outcome_get_value (outcome));
}

static void
test_outcome_error (void)
{
  g_autoptr(GError) original = g_error_new_literal (JOB_ERROR, JOB_ERROR_TIMEOUT, "too slow");
  g_autoptr(JobOutcome) outcome = job_outcome_new_error (5, original);
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (job_outcome_get_index (outcome), ==, 5);
  g_assert_false (job_outcome_is_success (outcome));
  g_assert_null (job_outcome_get_value (outcome));
  g_assert_error ((GError *) job_outcome_get_error (outcome), JOB_ERROR, JOB_ERROR_TIMEOUT);
  /* the outcome holds a copy, not the caller's error */
  g_assert_true (job_outcome_get_error (outcome) != original);

  g_assert_false (job_outcome_propagate (outcome, &value, &error));
  g_assert_null (value);
  g_assert_error (error, JOB_ERROR, JOB_ERROR_TIMEOUT);
  g_assert_cmpstr (error->message, ==, "too slow");
  /* propagating again still works: the outcome is not consumed */
  g_clear_error (&error);
  g_assert_false (job_outcome_propagate (outcome, NULL, &error));
  g_assert_error (error, JOB_ERROR, JOB_ERROR_TIMEOUT);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/joblib/function/name-default", test_name_default);
  g_test_add_func ("/joblib/function/version-notify", test_version_notify_on_change_only);
  g_test_add_func ("/joblib/function/main-thread-only-notify", test_main_thread_only_notify);
  g_test_add_func ("/joblib/function/invoke", test_invoke);
  g_test_add_func ("/joblib/function/destroy-notify", test_destroy_notify);
  g_test_add_func ("/joblib/function/invoke-non-tuple", test_invoke_non_tuple);
  g_test_add_func ("/joblib/function/new-null-func", test_new_null_func);
  g_test_add_func ("/joblib/function/null-without-error", test_null_without_error);
  g_test_add_func ("/joblib/function/error-kept", test_error_kept);
  g_test_add_func ("/joblib/call/args", test_call_args);
  g_test_add_func ("/joblib/call/non-tuple", test_call_non_tuple);
  g_test_add_func ("/joblib/outcome/value", test_outcome_value);
  g_test_add_func ("/joblib/outcome/error", test_outcome_error);

  return g_test_run ();
}
