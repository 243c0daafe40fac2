/* SPDX-License-Identifier: LGPL-2.1-or-later
 * A program built only from the installed headers and pkg-config file. */
#include <joblib-glib.h>

static GVariant *
twice (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  int x;

  g_variant_get (args, "(i)", &x);
  return g_variant_new_int32 (2 * x);
}

int
main (void)
{
  g_autoptr(JobFunction) function = job_function_new ("twice", twice, NULL, NULL);
  g_autoptr(GPtrArray) calls = g_ptr_array_new_with_free_func ((GDestroyNotify) job_call_unref);
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;

  for (int i = 0; i < 100; i++)
    g_ptr_array_add (calls, job_call_new (function, g_variant_new ("(i)", i)));
  results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, &error);
  if (results == NULL)
    g_error ("%s", error->message);
  for (guint i = 0; i < results->len; i++)
    if (g_variant_get_int32 (g_ptr_array_index (results, i)) != 2 * (int) i)
      g_error ("wrong result at %u", i);
  g_print ("JOB_VERSION_S=%s ok\n", JOB_VERSION_S);
  return JOB_CHECK_VERSION (0, 1, 0) ? 0 : 1;
}
