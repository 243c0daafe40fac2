/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The first part of the joblib tutorial, in C: my_function sleeps 0.5 s and
 * returns its argument; run it over ten arguments serially, then with
 * n_jobs=2 on threads, and print both times and joblib's verbose lines.
 */
#include <joblib-glib.h>

static gulong sleep_us = G_USEC_PER_SEC / 2;

static GVariant *
my_function (GVariant      *args,
             GCancellable  *cancellable,
             gpointer       user_data,
             GError       **error)
{
  int i;

  g_variant_get (args, "(i)", &i);
  /* Simulate a long computation; a real one could be an SVD. */
  g_usleep (sleep_us);
  return g_variant_new_int32 (i);
}

/* Prints the results and says whether they are [0, 1, …, 9]. */
static gboolean
print_results (const char *label,
               GPtrArray  *results,
               double      seconds)
{
  g_autoptr(GString) text = g_string_new ("[");
  gboolean right = TRUE;

  for (guint i = 0; i < results->len; i++)
    {
      int value = g_variant_get_int32 (g_ptr_array_index (results, i));

      g_string_append_printf (text, "%s%d", i ? ", " : "", value);
      right = right && value == (int) i;
    }
  g_string_append (text, "]");
  g_print ("%-28s %s  %.2f s\n", label, text->str, seconds);
  return right && results->len == 10;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(JobFunction) function = job_function_new ("my_function", my_function, NULL, NULL);
  g_autoptr(GPtrArray) calls = g_ptr_array_new_with_free_func ((GDestroyNotify) job_call_unref);
  g_autoptr(GPtrArray) serial = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(JobParallel) parallel = NULL;
  g_autoptr(GError) error = NULL;
  gint64 start;
  gboolean right;

  if (argc > 1 && g_str_equal (argv[1], "--quick"))
    sleep_us = G_USEC_PER_SEC / 20;

  for (int i = 0; i < 10; i++)
    g_ptr_array_add (calls, job_call_new (function, g_variant_new ("(i)", i)));

  /* results = [my_function(arg) for arg in my_args] */
  start = g_get_monotonic_time ();
  for (guint i = 0; i < calls->len; i++)
    g_ptr_array_add (serial, job_call_invoke (g_ptr_array_index (calls, i), NULL, NULL));
  right = print_results ("serial:", serial, (g_get_monotonic_time () - start) / 1e6);

  /* Parallel(n_jobs=2, backend='threading', verbose=10)(delayed(my_function)(arg) ...) */
  parallel = job_parallel_new (2);
  job_parallel_set_backend_name (parallel, "threading");
  job_parallel_set_verbose (parallel, 10);
  start = g_get_monotonic_time ();
  results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, &error);
  if (results == NULL)
    {
      g_printerr ("Parallel run failed: %s\n", error->message);
      return 1;
    }
  right = print_results ("Parallel(n_jobs=2) threads:", results,
                         (g_get_monotonic_time () - start) / 1e6) && right;

  return right ? 0 : 1;
}
