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

/* With a task module (argv[1]), the same on worker processes: the
 * installed joblib-glib-worker is found next to the installed library,
 * without JOB_WORKER_PATH. */
static void
run_on_processes (const char *module)
{
  g_autoptr(JobFunction) function = job_function_new_for_symbol (module, "task_square", NULL);
  g_autoptr(GPtrArray) calls = g_ptr_array_new_with_free_func ((GDestroyNotify) job_call_unref);
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;

  job_parallel_set_backend_name (parallel, "processes");
  for (int i = 0; i < 20; i++)
    g_ptr_array_add (calls, job_call_new (function, g_variant_new ("(x)", (gint64) i)));
  results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, &error);
  if (results == NULL)
    g_error ("processes: %s", error->message);
  for (guint i = 0; i < results->len; i++)
    if (g_variant_get_int64 (g_ptr_array_index (results, i)) != (gint64) (i * i))
      g_error ("processes: wrong result at %u", i);
  g_print ("processes ok\n");
}

int
main (int argc, char *argv[])
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
  if (argc > 1)
    run_on_processes (argv[1]);
  g_print ("JOB_VERSION_S=%s ok\n", JOB_VERSION_S);
  return JOB_CHECK_VERSION (0, 1, 0) ? 0 : 1;
}
