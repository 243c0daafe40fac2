/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Memorized functions on the process backend: the native worker looks up
 * and stores results in the parent's cache folder, through the "memory"
 * field of the memorized function's reference.
 *
 * The task used is task_sleep of test-tasks-module.c: (d, …) → the pid of
 * the process that ran it. A cached pid that is not the pid of the
 * current workers proves that they read the result instead of computing
 * it. */
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <joblib-glib.h>

static const char *
tasks_module (void)
{
  const char *path = g_getenv ("JOB_TEST_TASKS_MODULE");

  g_assert_nonnull (path);
  return path;
}

typedef struct
{
  char      *location;
  JobMemory *memory;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->location = g_dir_make_tmp ("test-process-memory-XXXXXX", &error);
  g_assert_no_error (error);
  f->memory = job_memory_new_for_path (f->location);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (job_memory_clear (f->memory, &error));
  g_assert_no_error (error);
  job_memory_wait_reclaimed (f->memory);
  g_clear_object (&f->memory);
  g_rmdir (f->location);
  g_free (f->location);
}

static JobMemorizedFunction *
cached_pid_task (Fixture            *f,
                 const char * const *ignore)
{
  static const char * const names[] = { "seconds", "tag", NULL };
  g_autoptr(JobFunction) function = job_function_new_for_symbol (tasks_module (), "task_sleep", NULL);

  job_function_set_parameter_names (function, names);
  return job_memory_cache (f->memory, function, ignore);
}

/* Runs @cached on (0, tag) for each tag of @tags on a new process backend
 * with 2 workers; returns the results (pids) and the workers' pids. */
static GArray *
run_on_processes (JobMemorizedFunction  *cached,
                  const gint64          *tags,
                  guint                  n_tags,
                  GArray               **worker_pids,
                  GError               **error)
{
  g_autoptr(JobBackend) backend = job_process_backend_new ();
  g_autoptr(JobParallel) parallel = job_parallel_new (2);
  g_autoptr(GPtrArray) calls = g_ptr_array_new_with_free_func ((GDestroyNotify) job_call_unref);
  g_autoptr(GPtrArray) results = NULL;
  g_autofree int *pids = NULL;
  GArray *values;
  guint n_pids = 0;

  for (guint i = 0; i < n_tags; i++)
    g_ptr_array_add (calls, job_call_new (JOB_FUNCTION (cached),
                                          g_variant_new ("(dx)", 0.0, tags[i])));
  job_parallel_set_backend (parallel, backend);
  job_parallel_set_batch_size (parallel, 1);
  results = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, error);
  pids = job_process_backend_get_worker_pids (JOB_PROCESS_BACKEND (backend), &n_pids);
  *worker_pids = g_array_new (FALSE, FALSE, sizeof (int));
  g_array_append_vals (*worker_pids, pids, n_pids);
  job_backend_shutdown (backend);
  if (results == NULL)
    return NULL;

  values = g_array_new (FALSE, FALSE, sizeof (gint64));
  for (guint i = 0; i < results->len; i++)
    {
      gint64 pid = g_variant_get_int64 (g_ptr_array_index (results, i));

      g_array_append_val (values, pid);
    }
  return values;
}

static gboolean
contains (GArray *pids,
          gint64  pid)
{
  for (guint i = 0; i < pids->len; i++)
    if (g_array_index (pids, int, i) == pid)
      return TRUE;
  return FALSE;
}

static void
test_reference_names_the_cache (Fixture       *f,
                                gconstpointer  data)
{
  static const char * const ignore[] = { "tag", NULL };
  g_autoptr(JobMemorizedFunction) cached = cached_pid_task (f, ignore);
  g_autoptr(GVariant) settings = NULL;
  g_autoptr(GVariant) fields = NULL;
  g_autofree const char **ignored = NULL;
  const char *location = NULL, *name = NULL;
  GVariant *reference = job_function_get_reference (JOB_FUNCTION (cached));

  g_assert_nonnull (reference);
  g_assert_cmpstr (job_function_get_reference_kind (JOB_FUNCTION (cached)), ==,
                   JOB_FUNCTION_REFERENCE_NATIVE);
  fields = g_variant_get_child_value (reference, 1);
  settings = g_variant_lookup_value (fields, "memory", G_VARIANT_TYPE_VARDICT);
  g_assert_nonnull (settings);
  g_assert_true (g_variant_lookup (settings, "location", "&s", &location));
  g_assert_cmpstr (location, ==, f->location);
  g_assert_true (g_variant_lookup (settings, "name", "&s", &name));
  g_assert_cmpstr (name, ==, "task_sleep");
  /* ignored parameters travel as positions */
  g_assert_true (g_variant_lookup (settings, "ignore", "^a&s", &ignored));
  g_assert_cmpuint (g_strv_length ((char **) ignored), ==, 1);
  g_assert_cmpstr (ignored[0], ==, "1");

  /* the reference follows expires-after */
  job_memorized_function_set_expires_after (cached, 60);
  {
    g_autoptr(GVariant) fields2 = g_variant_get_child_value (job_function_get_reference (JOB_FUNCTION (cached)), 1);
    g_autoptr(GVariant) settings2 = g_variant_lookup_value (fields2, "memory", G_VARIANT_TYPE_VARDICT);
    double expires = 0;

    g_assert_true (g_variant_lookup (settings2, "expires-after", "d", &expires));
    g_assert_cmpfloat (expires, ==, 60.0);
  }
}

static void
test_workers_share_the_cache (Fixture       *f,
                              gconstpointer  data)
{
  static const gint64 tags[] = { 1, 2, 3, 4, 5, 6 };
  g_autoptr(JobMemorizedFunction) cached = cached_pid_task (f, NULL);
  g_autoptr(GArray) first = NULL, second = NULL;
  g_autoptr(GArray) first_workers = NULL, second_workers = NULL;
  g_autoptr(GListModel) entries = NULL;
  g_autoptr(GError) error = NULL;

  /* computed by the workers, stored in the parent's folder */
  first = run_on_processes (cached, tags, G_N_ELEMENTS (tags), &first_workers, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (first->len, ==, G_N_ELEMENTS (tags));
  for (guint i = 0; i < first->len; i++)
    {
      g_assert_cmpint (g_array_index (first, gint64, i), !=, getpid ());
      g_assert_true (contains (first_workers, g_array_index (first, gint64, i)));
    }
  entries = job_memory_list_entries (f->memory);
  g_assert_cmpuint (g_list_model_get_n_items (entries), ==, G_N_ELEMENTS (tags));

  /* new workers read the stored pids instead of computing theirs */
  second = run_on_processes (cached, tags, G_N_ELEMENTS (tags), &second_workers, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < second->len; i++)
    {
      g_assert_cmpint (g_array_index (second, gint64, i), ==, g_array_index (first, gint64, i));
      g_assert_false (contains (second_workers, g_array_index (second, gint64, i)));
    }

  /* and so does the parent */
  for (guint i = 0; i < G_N_ELEMENTS (tags); i++)
    {
      g_autoptr(GVariant) value = job_memorized_function_call (cached,
                                                               g_variant_new ("(dx)", 0.0, tags[i]),
                                                               NULL, &error);

      g_assert_no_error (error);
      g_assert_cmpint (g_variant_get_int64 (value), ==, g_array_index (first, gint64, i));
    }
}

static void
test_ignored_parameter_in_workers (Fixture       *f,
                                   gconstpointer  data)
{
  static const char * const ignore[] = { "tag", NULL };
  static const gint64 tags[] = { 10, 20, 30, 40 };
  g_autoptr(JobMemorizedFunction) cached = cached_pid_task (f, ignore);
  g_autoptr(GArray) values = NULL, workers = NULL;
  g_autoptr(GListModel) entries = NULL;
  g_autoptr(GError) error = NULL;

  values = run_on_processes (cached, tags, G_N_ELEMENTS (tags), &workers, &error);
  g_assert_no_error (error);
  /* one key for all tags: computed once (processes single-flight), the
   * same pid for every task */
  entries = job_memory_list_entries (f->memory);
  g_assert_cmpuint (g_list_model_get_n_items (entries), ==, 1);
  for (guint i = 1; i < values->len; i++)
    g_assert_cmpint (g_array_index (values, gint64, i), ==, g_array_index (values, gint64, 0));
}

/* A reference whose memory settings a worker cannot use fails its tasks
 * with a clear error instead of running them uncached. */
static void
test_bad_memory_settings (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(JobFunction) function = job_function_new_for_symbol (tasks_module (), "task_sleep", NULL);
  g_autoptr(GVariant) fields = g_variant_get_child_value (job_function_get_reference (function), 1);
  g_autoptr(GVariant) module = g_variant_lookup_value (fields, "module", G_VARIANT_TYPE_STRING);
  static const char *const bad_settings[] = {
    "{}",
    "{'location': <''>}",
    "{'location': <'/tmp'>, 'ignore': <['tag']>}",
    "{'location': <'/tmp'>, 'age-limit': <-1.0>}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad_settings); i++)
    {
      g_autoptr(JobFunction) broken = job_function_new_for_symbol (tasks_module (), "task_sleep", NULL);
      g_autoptr(GVariant) settings = g_variant_parse (G_VARIANT_TYPE_VARDICT, bad_settings[i],
                                                      NULL, NULL, NULL);
      g_autoptr(JobBackend) backend = job_process_backend_new ();
      g_autoptr(JobParallel) parallel = job_parallel_new (2);
      g_autoptr(JobCall) call = NULL;
      g_autoptr(GPtrArray) results = NULL;
      g_autoptr(GError) error = NULL;
      GVariantBuilder builder;

      g_assert_nonnull (settings);
      g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&builder, "{sv}", "module", module);
      g_variant_builder_add (&builder, "{sv}", "symbol", g_variant_new_string ("task_sleep"));
      g_variant_builder_add (&builder, "{sv}", "memory", settings);
      job_function_set_reference (broken, g_variant_new ("(sa{sv})", JOB_FUNCTION_REFERENCE_NATIVE,
                                                         &builder));
      call = job_call_new (broken, g_variant_new ("(dx)", 0.0, (gint64) 1));
      job_parallel_set_backend (parallel, backend);
      job_parallel_set_batch_size (parallel, 1);
      results = job_parallel_run (parallel, (JobCall *[]) { call, call }, 2, NULL, &error);
      g_assert_null (results);
      g_assert_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (error->message, "memory settings"));
      job_backend_shutdown (backend);
    }
}

/* What every worker does with a memorized function's reference: the
 * same cache, settings, ignored arguments, expiry and identity. */
static void
test_cache_for_reference (Fixture       *f,
                          gconstpointer  data)
{
  static const char * const ignore[] = { "tag", NULL };
  g_autoptr(JobMemorizedFunction) cached = NULL;
  g_autoptr(JobMemorizedFunction) made = NULL;
  g_autoptr(JobFunction) plain = job_function_new_for_symbol (tasks_module (), "task_sleep", NULL);
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *made_path = NULL;
  JobMemory *memory;
  JobFunction *inner;
  const char * const *names;

  job_memory_set_compression (f->memory, "zstd:3");
  job_memory_set_mmap (f->memory, TRUE);
  job_memory_set_bytes_limit (f->memory, 1 << 20);
  job_memory_set_items_limit (f->memory, 77);
  job_memory_set_age_limit (f->memory, 3600);
  cached = cached_pid_task (f, ignore);
  job_function_set_version (job_memorized_function_get_function (cached), "7");
  job_memorized_function_set_expires_after (cached, 30);

  made = job_memory_cache_for_reference (plain, job_function_get_reference (JOB_FUNCTION (cached)),
                                         &error);
  g_assert_no_error (error);
  g_assert_true (JOB_IS_MEMORIZED_FUNCTION (made));
  memory = job_memorized_function_get_memory (made);
  made_path = g_file_get_path (job_memory_get_location (memory));
  g_assert_cmpstr (made_path, ==, f->location);
  g_assert_cmpstr (job_memory_get_compression (memory), ==, "zstd:3");
  g_assert_true (job_memory_get_mmap (memory));
  g_assert_cmpuint (job_memory_get_bytes_limit (memory), ==, 1 << 20);
  g_assert_cmpuint (job_memory_get_items_limit (memory), ==, 77);
  g_assert_cmpfloat (job_memory_get_age_limit (memory), ==, 3600);
  g_assert_cmpfloat (job_memorized_function_get_expires_after (made), ==, 30);
  g_assert_cmpstrv (job_memorized_function_get_ignore (made), ((const char *[]) { "1", NULL }));
  inner = job_memorized_function_get_function (made);
  g_assert_cmpstr (job_function_get_name (inner), ==, "task_sleep");
  g_assert_cmpstr (job_function_get_version (inner), ==, "7");
  names = job_function_get_parameter_names (inner);
  g_assert_cmpstrv (names, ((const char *[]) { "seconds", "tag", NULL }));

  /* one cache: what the made function stores, the original finds, the
   * ignored argument left out of the key */
  value = job_memorized_function_call (made, g_variant_new ("(dx)", 0.0, (gint64) 5), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int64 (value), ==, getpid ());
  g_assert_true (job_memorized_function_check_call_in_cache (cached,
                                                             g_variant_new ("(dx)", 0.0, (gint64) 6)));
}

static void
test_cache_for_reference_bad_input (Fixture       *f,
                                    gconstpointer  data)
{
  g_autoptr(JobFunction) plain = job_function_new_for_symbol (tasks_module (), "task_sleep", NULL);
  static const char *const bad[] = {
    "('native', {'symbol': <'task_sleep'>})",
    "('native', {'memory': <'not a dictionary'>})",
    "('native', {'memory': <{'location': <'/tmp'>, 'expires-after': <nan>}>})",
    "('native', {'memory': <{'location': <'/tmp'>, 'name': <''>}>})",
    "(1, 2)",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JobMemorizedFunction) made = NULL;
      g_autoptr(GVariant) reference = g_variant_parse (NULL, bad[i], NULL, NULL, NULL);

      g_assert_nonnull (reference);
      made = job_memory_cache_for_reference (plain, reference, &error);
      g_assert_null (made);
      g_assert_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT);
    }

  if (g_test_subprocess ())
    {
      job_memory_cache_for_reference (NULL, g_variant_new ("(sa{sv})", "native", NULL), NULL);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*JOB_IS_FUNCTION*");
}

#define ADD(path, func) \
  g_test_add ("/joblib/process-memory/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  ADD ("reference-names-the-cache", test_reference_names_the_cache);
  ADD ("workers-share-the-cache", test_workers_share_the_cache);
  ADD ("ignored-parameter-in-workers", test_ignored_parameter_in_workers);
  ADD ("bad-memory-settings", test_bad_memory_settings);
  ADD ("cache-for-reference", test_cache_for_reference);
  ADD ("cache-for-reference-bad-input", test_cache_for_reference_bad_input);

  return g_test_run ();
}
