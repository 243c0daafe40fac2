/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <joblib-glib.h>

#include "job-cache-touch-private.h"

/* Counts real computations; tests reset it. */
static gint n_calls;       /* (atomic) */
static int sleep_ms;       /* how long each computation takes */
static char *count_file;   /* (nullable) computations are also appended here */
static char *self_path;    /* this program, re-run as a cache caller */

static GVariant *
square (GVariant      *args,
        GCancellable  *cancellable,
        gpointer       user_data,
        GError       **error)
{
  g_autoptr(GVariant) first = g_variant_get_child_value (args, 0);
  gint32 x = g_variant_get_int32 (first);

  g_atomic_int_inc (&n_calls);
  if (count_file != NULL)
    {
      int fd = g_open (count_file, O_WRONLY | O_APPEND | O_CREAT, 0644);
      g_assert_cmpint (write (fd, "x", 1), ==, 1);
      close (fd);
    }
  if (sleep_ms > 0)
    g_usleep (sleep_ms * 1000);
  if (x < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "negative %d", x);
      return NULL;
    }

  return g_variant_new_int32 (x * x);
}

/* Returns args[0] as a big array of doubles: 1e6 values. */
static GVariant *
ramp (GVariant      *args,
      GCancellable  *cancellable,
      gpointer       user_data,
      GError       **error)
{
  g_autoptr(GVariant) first = g_variant_get_child_value (args, 0);
  gint32 n = g_variant_get_int32 (first);
  double *data = g_new (double, n);

  g_atomic_int_inc (&n_calls);
  for (int i = 0; i < n; i++)
    data[i] = i * 0.25;

  return g_variant_new_from_data (G_VARIANT_TYPE ("ad"), data, n * sizeof (double),
                                  TRUE, g_free, data);
}

typedef struct
{
  char                 *dir;
  JobMemory            *memory;
  JobFunction          *function;
  JobMemorizedFunction *cached;
} Fixture;

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  const char * const names[] = { "x", NULL };

  g_atomic_int_set (&n_calls, 0);
  sleep_ms = 0;
  f->dir = g_dir_make_tmp ("joblib-memory-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  f->memory = job_memory_new_for_path (f->dir);
  f->function = job_function_new ("square", square, NULL, NULL);
  job_function_set_parameter_names (f->function, names);
  f->cached = job_memory_cache (f->memory, f->function, NULL);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_clear_object (&f->cached);
  g_clear_object (&f->function);
  job_memory_wait_reclaimed (f->memory);
  g_clear_object (&f->memory);
  remove_tree (f->dir);
  g_free (f->dir);
  g_clear_pointer (&count_file, g_free);
}

static gint32
call_int (JobMemorizedFunction *cached,
          gint32                x)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) result = job_memorized_function_call (cached, g_variant_new ("(i)", x),
                                                            NULL, &error);

  g_assert_no_error (error);
  g_assert_true (g_variant_is_of_type (result, G_VARIANT_TYPE_INT32));
  return g_variant_get_int32 (result);
}

static char *
entry_dir (Fixture              *f,
           JobMemorizedFunction *cached,
           GVariant             *args)
{
  g_autofree char *hash = job_memorized_function_get_args_hash (cached, args);

  return g_build_filename (f->dir, "joblib-glib",
                           job_function_get_name (JOB_FUNCTION (cached)),
                           hash + strlen (JOB_HASH_ALGORITHM ":"), NULL);
}

/* Sets an entry's last access @seconds_ago in the past. */
static void
age_entry (const char *dir,
           int         seconds_ago)
{
  struct timespec times[2];

  clock_gettime (CLOCK_REALTIME, &times[0]);
  times[0].tv_sec -= seconds_ago;
  times[1] = times[0];
  g_assert_cmpint (utimensat (AT_FDCWD, dir, times, 0), ==, 0);
}

static void
test_hit_miss (Fixture       *f,
               gconstpointer  data)
{
  g_autofree char *dir = entry_dir (f, f->cached, g_variant_new ("(i)", 3));
  g_autofree char *metadata_path = g_build_filename (dir, "metadata.json", NULL);
  g_autofree char *output_path = g_build_filename (dir, "output", NULL);
  g_autofree char *metadata = NULL;

  g_assert_true (JOB_IS_FUNCTION (f->cached));
  g_assert_cmpstr (job_function_get_name (JOB_FUNCTION (f->cached)), ==, "square");

  g_assert_cmpint (call_int (f->cached, 3), ==, 9);
  g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 1);
  g_assert_cmpint (call_int (f->cached, 3), ==, 9);
  g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 1);
  g_assert_cmpint (call_int (f->cached, 4), ==, 16);
  g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 2);

  /* Through the JobFunction interface too. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) r = job_function_invoke (JOB_FUNCTION (f->cached),
                                                 g_variant_new ("(i)", 4), NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpint (g_variant_get_int32 (r), ==, 16);
    g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 2);
  }

  g_assert_true (g_file_test (output_path, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_get_contents (metadata_path, &metadata, NULL, NULL));
  g_assert_nonnull (strstr (metadata, "\"duration\""));
  g_assert_nonnull (strstr (metadata, "\"time\""));
  g_assert_nonnull (strstr (metadata, "\"input_args\""));
  g_assert_nonnull (strstr (metadata, "\"x\":\"3\""));
}

static void
test_ignore (Fixture       *f,
             gconstpointer  data)
{
  const char * const names[] = { "x", "verbose", NULL };
  const char *by = data;
  const char * const ignore[] = { by, NULL };
  g_autoptr(JobFunction) function = job_function_new ("square2", square, NULL, NULL);
  g_autoptr(JobMemorizedFunction) cached = NULL;
  g_autoptr(GVariant) r1 = NULL;
  g_autoptr(GVariant) r2 = NULL;
  g_autoptr(GVariant) r3 = NULL;
  g_autofree char *h1 = NULL;
  g_autofree char *h2 = NULL;

  if (g_strcmp0 (by, "verbose") == 0)
    job_function_set_parameter_names (function, names);
  cached = job_memory_cache (f->memory, function, ignore);
  g_assert_nonnull (cached);

  r1 = job_memorized_function_call (cached, g_variant_new ("(ib)", 3, TRUE), NULL, NULL);
  r2 = job_memorized_function_call (cached, g_variant_new ("(ib)", 3, FALSE), NULL, NULL);
  g_assert_cmpint (g_variant_get_int32 (r1), ==, 9);
  g_assert_cmpint (g_variant_get_int32 (r2), ==, 9);
  g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 1);
  r3 = job_memorized_function_call (cached, g_variant_new ("(ib)", 4, FALSE), NULL, NULL);
  g_assert_cmpint (g_variant_get_int32 (r3), ==, 16);
  g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 2);

  h1 = job_memorized_function_get_args_hash (cached, g_variant_new ("(ib)", 3, TRUE));
  h2 = job_memorized_function_get_args_hash (cached, g_variant_new ("(ib)", 3, FALSE));
  g_assert_cmpstr (h1, ==, h2);
}

static void
test_ignore_unknown (void)
{
  if (g_test_subprocess ())
    {
      const char * const ignore[] = { "nope", NULL };
      g_autoptr(JobMemory) memory = job_memory_new_for_path ("/nonexistent");
      g_autoptr(JobFunction) function = job_function_new ("f", square, NULL, NULL);
      JobMemorizedFunction *cached = job_memory_cache (memory, function, ignore);

      g_assert_null (cached);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*nope*neither a parameter name*");
}

static void
test_version_change (Fixture       *f,
                     gconstpointer  data)
{
  g_autofree char *dir3 = entry_dir (f, f->cached, g_variant_new ("(i)", 3));
  g_autofree char *version_path = g_build_filename (f->dir, "joblib-glib", "square", "version", NULL);
  g_autofree char *version = NULL;

  call_int (f->cached, 3);
  call_int (f->cached, 4);
  g_assert_true (g_file_test (dir3, G_FILE_TEST_IS_DIR));
  g_assert_true (g_file_get_contents (version_path, &version, NULL, NULL));
  g_assert_cmpstr (version, ==, "1");
  g_clear_pointer (&version, g_free);

  job_function_set_version (f->function, "2");
  g_assert_cmpstr (job_function_get_version (JOB_FUNCTION (f->cached)), ==, "2");
  g_test_expect_message ("Joblib", G_LOG_LEVEL_WARNING,
                         "*square*changed version*1*2*clearing its 2 cached results*");
  g_assert_cmpint (call_int (f->cached, 4), ==, 16);
  g_test_assert_expected_messages ();
  g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 3);
  g_assert_false (g_file_test (dir3, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_get_contents (version_path, &version, NULL, NULL));
  g_assert_cmpstr (version, ==, "2");

  /* A new wrapper of the same version keeps the entries. */
  {
    g_autoptr(JobMemorizedFunction) again = job_memory_cache (f->memory, f->function, NULL);
    g_assert_true (job_memorized_function_check_call_in_cache (again, g_variant_new ("(i)", 4)));
  }
}

static void
test_check_call_in_cache (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (job_memorized_function_check_call_in_cache (f->cached, g_variant_new ("(i)", 5)));
  call_int (f->cached, 5);
  g_assert_true (job_memorized_function_check_call_in_cache (f->cached, g_variant_new ("(i)", 5)));
  g_assert_false (job_memorized_function_check_call_in_cache (f->cached, g_variant_new ("(i)", 6)));
  g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 1);

  g_assert_true (job_memorized_function_clear (f->cached, &error));
  g_assert_no_error (error);
  g_assert_false (job_memorized_function_check_call_in_cache (f->cached, g_variant_new ("(i)", 5)));
}

static void
test_call_and_shelve (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JobMemorizedResult) shelved = NULL;
  g_autoptr(JobMemorizedResult) again = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autofree char *hash = job_memorized_function_get_args_hash (f->cached, g_variant_new ("(i)", 7));

  shelved = job_memorized_function_call_and_shelve (f->cached, g_variant_new ("(i)", 7), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 1);
  g_assert_cmpstr (job_memorized_result_get_args_hash (shelved), ==, hash);
  g_assert_cmpstr (job_memorized_result_get_function_name (shelved), ==, "square");
  g_assert_cmpfloat (job_memorized_result_get_duration (shelved), >=, 0.0);

  again = job_memorized_function_call_and_shelve (f->cached, g_variant_new ("(i)", 7), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 1);
  g_assert_cmpfloat (job_memorized_result_get_duration (again), >=, 0.0);

  value = job_memorized_result_get (again, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int32 (value), ==, 49);

  g_assert_true (job_memorized_result_clear (shelved, &error));
  g_assert_no_error (error);
  g_assert_false (job_memorized_function_check_call_in_cache (f->cached, g_variant_new ("(i)", 7)));
  g_clear_pointer (&value, g_variant_unref);
  value = job_memorized_result_get (again, &error);
  g_assert_error (error, JOB_ERROR, JOB_ERROR_NOT_FOUND);
  g_assert_null (value);
}

static void
test_clear (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(JobFunction) other = job_function_new ("other", square, NULL, NULL);
  g_autoptr(JobMemorizedFunction) cached_other = job_memory_cache (f->memory, other, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) r = NULL;
  g_autoptr(GListModel) entries = NULL;

  call_int (f->cached, 1);
  call_int (f->cached, 2);
  r = job_memorized_function_call (cached_other, g_variant_new ("(i)", 1), NULL, &error);
  g_assert_no_error (error);

  g_assert_true (job_memorized_function_clear (f->cached, &error));
  g_assert_no_error (error);
  g_assert_false (job_memorized_function_check_call_in_cache (f->cached, g_variant_new ("(i)", 1)));
  g_assert_true (job_memorized_function_check_call_in_cache (cached_other, g_variant_new ("(i)", 1)));

  g_assert_true (job_memory_clear (f->memory, &error));
  g_assert_no_error (error);
  g_assert_false (job_memorized_function_check_call_in_cache (cached_other, g_variant_new ("(i)", 1)));
  entries = job_memory_list_entries (f->memory);
  g_assert_cmpuint (g_list_model_get_n_items (entries), ==, 0);

  /* And the cache works again afterwards. */
  call_int (f->cached, 1);
  call_int (f->cached, 1);
  g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 4);

  /* A symbolic link in the cache is removed, never followed: what it
   * points to stays. */
  {
    g_autofree char *dir = entry_dir (f, f->cached, g_variant_new ("(i)", 1));
    g_autofree char *outside = g_dir_make_tmp ("test-memory-outside-XXXXXX", &error);
    g_autofree char *kept = g_build_filename (outside, "kept", NULL);
    g_autofree char *link = g_build_filename (dir, "link", NULL);
    g_autofree char *link_to_file = g_build_filename (dir, "link-to-file", NULL);

    g_assert_no_error (error);
    g_assert_true (g_file_set_contents (kept, "keep me", -1, NULL));
    g_assert_cmpint (symlink (outside, link), ==, 0);
    g_assert_cmpint (symlink (kept, link_to_file), ==, 0);
    g_assert_true (job_memory_clear (f->memory, &error));
    g_assert_no_error (error);
    g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));
    g_assert_true (g_file_test (kept, G_FILE_TEST_IS_REGULAR));
    g_assert_cmpint (g_remove (kept), ==, 0);
    g_assert_cmpint (g_rmdir (outside), ==, 0);
  }
}

/* Five entries, x = 0..4, x = i last accessed 100 - 10 i seconds ago. */
static void
fill_aged (Fixture *f)
{
  for (int i = 0; i < 5; i++)
    {
      g_autofree char *dir = entry_dir (f, f->cached, g_variant_new ("(i)", i));

      call_int (f->cached, i);
      age_entry (dir, 100 - 10 * i);
    }
}

static void
assert_cached (Fixture    *f,
               const char *expected)
{
  for (int i = 0; i < 5; i++)
    g_assert_cmpint (job_memorized_function_check_call_in_cache (f->cached, g_variant_new ("(i)", i)),
                     ==, expected[i] == '1');
}

static void
test_reduce_size_items (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  guint removed = 0;

  fill_aged (f);
  /* A hit refreshes x = 0, the oldest: LRU must keep it. */
  call_int (f->cached, 0);
  g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 5);

  g_assert_true (job_memory_reduce_size (f->memory, 0, 2, 0, &removed, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (removed, ==, 3);
  assert_cached (f, "10001");
}

static void
test_reduce_size_bytes (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GListModel) entries = NULL;
  guint64 size;
  guint removed = 0;

  fill_aged (f);
  entries = job_memory_list_entries (f->memory);
  g_assert_cmpuint (g_list_model_get_n_items (entries), ==, 5);
  {
    g_autoptr(JobCacheEntry) entry = g_list_model_get_item (entries, 0);
    size = job_cache_entry_get_size (entry);
  }
  g_assert_cmpuint (size, >, 0);

  /* Room for three entries and a half: the two oldest go. */
  g_assert_true (job_memory_reduce_size (f->memory, size * 3 + size / 2, 0, 0, &removed, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (removed, ==, 2);
  assert_cached (f, "00111");
}

static void
test_reduce_size_age (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  guint removed = 0;

  fill_aged (f);
  /* Last accesses are 100, 90, 80, 70, 60 seconds ago. */
  g_assert_true (job_memory_reduce_size (f->memory, 0, 0, 75, &removed, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (removed, ==, 3);
  assert_cached (f, "00011");
}

static void
test_limits_on_write (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(GListModel) entries = NULL;

  job_memory_set_items_limit (f->memory, 2);
  fill_aged (f);
  /* Each write evicted down to two entries; the last write kept the
   * newest, x = 4, and the one before, x = 3. */
  entries = job_memory_list_entries (f->memory);
  g_assert_cmpuint (g_list_model_get_n_items (entries), ==, 2);
  assert_cached (f, "00011");

  /* Bigger limits are kept with some slack: a pass evicts a tenth below
   * the limit, so that not every write has to list the cache. */
  job_memory_set_items_limit (f->memory, 20);
  for (int i = 100; i < 160; i++)
    {
      g_autoptr(GListModel) now = NULL;

      call_int (f->cached, i);
      now = job_memory_list_entries (f->memory);
      g_assert_cmpuint (g_list_model_get_n_items (now), <=, 20);
    }
  g_clear_object (&entries);
  entries = job_memory_list_entries (f->memory);
  g_assert_cmpuint (g_list_model_get_n_items (entries), >=, 18);
  /* The most recent write always survives. */
  g_assert_true (job_memorized_function_check_call_in_cache (f->cached, g_variant_new ("(i)", 159)));
}

static gboolean
refuse_odd (JobCacheEntry *entry,
            gpointer       user_data)
{
  int *seen = user_data;

  (*seen)++;
  g_assert_true (g_str_has_prefix (job_cache_entry_get_args_hash (entry), "xxh3-128:"));
  g_assert_cmpfloat (job_cache_entry_get_duration (entry), >=, 0.0);
  return strstr (job_cache_entry_get_input_args (entry), "x=1") == NULL;
}

static void
test_expiry_and_validation (Fixture       *f,
                            gconstpointer  data)
{
  g_autofree char *dir = entry_dir (f, f->cached, g_variant_new ("(i)", 2));
  g_autofree char *output = g_build_filename (dir, "output", NULL);
  int seen = 0;
  struct timespec times[2];

  job_memorized_function_set_expires_after (f->cached, 60);
  call_int (f->cached, 2);
  call_int (f->cached, 2);
  g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 1);

  /* Stored two minutes ago: expired. */
  clock_gettime (CLOCK_REALTIME, &times[0]);
  times[0].tv_sec -= 120;
  times[1] = times[0];
  g_assert_cmpint (utimensat (AT_FDCWD, output, times, 0), ==, 0);
  g_assert_false (job_memorized_function_check_call_in_cache (f->cached, g_variant_new ("(i)", 2)));
  g_assert_cmpint (call_int (f->cached, 2), ==, 4);
  g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 2);
  call_int (f->cached, 2);
  g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 2);

  job_memorized_function_set_validate_func (f->cached, refuse_odd, &seen, NULL);
  call_int (f->cached, 1);
  call_int (f->cached, 1);
  g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 4);
  call_int (f->cached, 2);
  g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 4);
  g_assert_cmpint (seen, >=, 3);
}

static void
corrupt (const char *path,
         const char *how)
{
  g_autofree char *contents = NULL;
  gsize len;

  if (strcmp (how, "delete") == 0)
    {
      g_assert_cmpint (g_unlink (path), ==, 0);
      return;
    }

  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  if (strcmp (how, "truncate") == 0)
    len /= 2;
  else
    contents[len - 3] ^= 0x10;
  g_assert_true (g_file_set_contents (path, contents, len, NULL));
}

static void
test_corrupt_entry (Fixture       *f,
                    gconstpointer  data)
{
  const char *how = data;
  g_autofree char *dir = entry_dir (f, f->cached, g_variant_new ("(i)", 300));
  g_autofree char *output = g_build_filename (dir, "output", NULL);

  g_assert_cmpint (call_int (f->cached, 300), ==, 90000);
  corrupt (output, how);

  g_test_expect_message ("Joblib", G_LOG_LEVEL_WARNING,
                         strcmp (how, "delete") == 0 ? "*square*incomplete*" : "*square*corrupt*");
  g_assert_cmpint (call_int (f->cached, 300), ==, 90000);
  g_test_assert_expected_messages ();
  g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 2);

  /* Repaired: the next call is a hit. */
  g_assert_cmpint (call_int (f->cached, 300), ==, 90000);
  g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 2);
}

static void
test_failure_leaves_no_entry (Fixture       *f,
                              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) r = NULL;
  g_autofree char *function_dir = g_build_filename (f->dir, "joblib-glib", "square", NULL);
  g_autoptr(GDir) dir = NULL;
  const char *name;

  r = job_memorized_function_call (f->cached, g_variant_new ("(i)", -1), NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_null (r);
  g_assert_false (job_memorized_function_check_call_in_cache (f->cached, g_variant_new ("(i)", -1)));

  /* Nothing but the version and lock files: no entry, no temporary. */
  dir = g_dir_open (function_dir, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    g_assert_true (strcmp (name, "version") == 0 || strcmp (name, ".locks") == 0 ||
                   g_str_has_suffix (name, ".lock"));

  g_clear_error (&error);
  r = job_memorized_function_call (f->cached, g_variant_new ("(i)", -1), NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 2);
}

static gpointer
call_thread (gpointer data)
{
  return GINT_TO_POINTER (call_int (data, 12));
}

static void
test_single_flight_threads (Fixture       *f,
                            gconstpointer  data)
{
  GThread *threads[8];

  sleep_ms = 200;
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("caller", call_thread, f->cached);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_assert_cmpint (GPOINTER_TO_INT (g_thread_join (threads[i])), ==, 144);

  g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 1);
}

/* --single-flight-caller DIR COUNT_FILE: calls the fixture's function,
 * square (21) taking 300 ms, on the cache in DIR; exits 0 on 441. */
static int
single_flight_caller_main (const char *dir,
                           const char *count_path)
{
  const char * const names[] = { "x", NULL };
  g_autoptr(JobMemory) memory = job_memory_new_for_path (dir);
  g_autoptr(JobFunction) function = job_function_new ("square", square, NULL, NULL);
  g_autoptr(JobMemorizedFunction) cached = NULL;
  g_autoptr(GVariant) r = NULL;

  count_file = g_strdup (count_path);
  sleep_ms = 300;
  job_function_set_parameter_names (function, names);
  cached = job_memory_cache (memory, function, NULL);
  r = job_memorized_function_call (cached, g_variant_new ("(i)", 21), NULL, NULL);
  g_clear_pointer (&count_file, g_free);
  return r != NULL && g_variant_get_int32 (r) == 441 ? 0 : 1;
}

/* The callers are fresh processes (this program re-run), not forks: after
 * fork() a multi-threaded program may only make async-signal-safe calls
 * in the child, and a forked child under valgrind reports the parent's
 * memory held by threads it does not have as leaks. */
static void
test_single_flight_processes (Fixture       *f,
                              gconstpointer  data)
{
  g_autofree char *counts = NULL;
  GPid pids[4];

  count_file = g_build_filename (f->dir, "computations", NULL);
  for (guint i = 0; i < G_N_ELEMENTS (pids); i++)
    {
      const char *argv[] = { self_path, "--single-flight-caller", f->dir, count_file, NULL };
      g_autoptr(GError) error = NULL;

      g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                     NULL, NULL, &pids[i], &error);
      g_assert_no_error (error);
    }
  for (guint i = 0; i < G_N_ELEMENTS (pids); i++)
    {
      int status = 0;

      g_assert_cmpint (waitpid (pids[i], &status, 0), ==, pids[i]);
      g_assert_true (WIFEXITED (status));
      g_assert_cmpint (WEXITSTATUS (status), ==, 0);
    }

  g_assert_true (g_file_get_contents (count_file, &counts, NULL, NULL));
  g_assert_cmpstr (counts, ==, "x");
}

typedef struct
{
  JobFunction *function;
  int          next;
} SquareSource;

/* Calls f(0) … f(5), lazily: run_source keeps this test independent of
 * how the eager run methods take their array of calls. */
static JobCall *
next_square (gpointer   user_data,
             GError   **error)
{
  SquareSource *source = user_data;

  if (source->next >= 6)
    return NULL;
  return job_call_new (source->function, g_variant_new ("(i)", source->next++));
}

static void
test_in_parallel (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(JobParallel) parallel = job_parallel_new (2);

  for (int round = 0; round < 2; round++)
    {
      SquareSource source = { JOB_FUNCTION (f->cached), 0 };
      g_autoptr(GPtrArray) results = NULL;
      g_autoptr(GError) error = NULL;

      results = job_parallel_run_source (parallel, next_square, &source, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (results->len, ==, 6);
      for (int i = 0; i < 6; i++)
        g_assert_cmpint (g_variant_get_int32 (results->pdata[i]), ==, i * i);
      /* The second round takes everything from the cache. */
      g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 6);
    }
}

static void
test_entries_model (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GListModel) entries = NULL;
  g_autoptr(GHashTable) hashes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (int i = 1; i <= 3; i++)
    {
      call_int (f->cached, i);
      g_hash_table_add (hashes, job_memorized_function_get_args_hash (f->cached,
                                                                      g_variant_new ("(i)", i)));
    }

  entries = job_memory_list_entries (f->memory);
  g_assert_true (g_list_model_get_item_type (entries) == JOB_TYPE_CACHE_ENTRY);
  g_assert_cmpuint (g_list_model_get_n_items (entries), ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(JobCacheEntry) entry = g_list_model_get_item (entries, i);
      g_autoptr(GDateTime) access = job_cache_entry_get_last_access (entry);
      g_autoptr(GDateTime) now = g_date_time_new_now_utc ();

      g_assert_cmpstr (job_cache_entry_get_function_name (entry), ==, "square");
      g_assert_true (g_hash_table_remove (hashes, job_cache_entry_get_args_hash (entry)));
      g_assert_cmpuint (job_cache_entry_get_size (entry), >, 0);
      g_assert_cmpfloat (job_cache_entry_get_duration (entry), >=, 0.0);
      g_assert_cmpint (g_date_time_difference (now, access), <, (gint64) 3600 * G_USEC_PER_SEC);
      g_assert_true (g_str_has_prefix (job_cache_entry_get_input_args (entry), "x="));
    }
  g_assert_cmpuint (g_hash_table_size (hashes), ==, 0);
}

/* metadata.json is only read, never trusted: a file holding two JSON
 * values (which json-glib 1.6 leaks) gives an entry of unknown duration,
 * and brackets inside strings do not confuse the reader. */
static void
test_list_entries_odd_metadata (Fixture       *f,
                                gconstpointer  data)
{
  static const struct { int x; const char *json; double duration; const char *args; } cases[] = {
    { 1, "{\"duration\":1.5}{\"duration\":2}", -1.0, NULL },
    { 2, "{\"duration\":2.5,\"input_args\":{\"s\":\"}{\\\"]\"}}\n", 2.5, "s=}{\"]" },
    { 3, "{\"duration\":3.5,\"input_args\":{}} [1]", -1.0, NULL },
  };
  g_autoptr(GListModel) entries = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *dir = entry_dir (f, f->cached, g_variant_new ("(i)", cases[i].x));
      g_autofree char *path = g_build_filename (dir, "metadata.json", NULL);

      call_int (f->cached, cases[i].x);
      g_assert_true (g_file_set_contents (path, cases[i].json, -1, NULL));
    }

  entries = job_memory_list_entries (f->memory);
  g_assert_cmpuint (g_list_model_get_n_items (entries), ==, G_N_ELEMENTS (cases));
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *hash = job_memorized_function_get_args_hash (f->cached,
                                                                   g_variant_new ("(i)", cases[i].x));
      gboolean found = FALSE;

      for (guint j = 0; j < g_list_model_get_n_items (entries); j++)
        {
          g_autoptr(JobCacheEntry) entry = g_list_model_get_item (entries, j);

          if (g_strcmp0 (job_cache_entry_get_args_hash (entry), hash) != 0)
            continue;
          found = TRUE;
          g_assert_cmpfloat (job_cache_entry_get_duration (entry), ==, cases[i].duration);
          g_assert_cmpstr (job_cache_entry_get_input_args (entry), ==, cases[i].args);
        }
      g_assert_true (found);
    }
}

static void
async_done (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  GVariant **out = user_data;
  g_autoptr(GError) error = NULL;

  *out = job_memorized_function_call_finish (JOB_MEMORIZED_FUNCTION (source), result, &error);
  g_assert_no_error (error);
}

static void
test_async (Fixture       *f,
            gconstpointer  data)
{
  for (int round = 0; round < 2; round++)
    {
      g_autoptr(GVariant) result = NULL;

      job_memorized_function_call_async (f->cached, g_variant_new ("(i)", 8), NULL,
                                         async_done, &result);
      while (result == NULL)
        g_main_context_iteration (NULL, TRUE);
      g_assert_cmpint (g_variant_get_int32 (result), ==, 64);
      g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 1);
    }
}

static void
test_big_result_mmap (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(JobFunction) function = job_function_new ("ramp", ramp, NULL, NULL);
  g_autoptr(JobMemorizedFunction) cached = job_memory_cache (f->memory, function, NULL);

  job_memory_set_mmap (f->memory, GPOINTER_TO_INT (data));
  for (int round = 0; round < 2; round++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) r = job_memorized_function_call (cached, g_variant_new ("(i)", 1000000),
                                                           NULL, &error);
      gsize n;
      const double *d;

      g_assert_no_error (error);
      d = g_variant_get_fixed_array (r, &n, sizeof (double));
      g_assert_cmpuint (n, ==, 1000000);
      g_assert_cmpfloat (d[999999], ==, 999999 * 0.25);
    }
  g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 1);
}

/* Results are written with the persistence format, compressed with the
 * memory's codec; loading detects it, also with mmap set. */
static void
test_compression (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(JobFunction) function = job_function_new ("ramp", ramp, NULL, NULL);
  g_autoptr(JobMemorizedFunction) cached = job_memory_cache (f->memory, function, NULL);
  g_autofree char *dir = entry_dir (f, cached, g_variant_new ("(i)", 100000));
  g_autofree char *output = g_build_filename (dir, "output", NULL);
  g_autofree char *contents = NULL;
  const guint8 zstd_magic[] = { 0x28, 0xb5, 0x2f, 0xfd };
  gsize len;

  job_memory_set_compression (f->memory, "zstd:5");
  job_memory_set_mmap (f->memory, TRUE);
  for (int round = 0; round < 2; round++)
    {
      g_autoptr(GVariant) r = job_memorized_function_call (cached, g_variant_new ("(i)", 100000),
                                                           NULL, NULL);
      gsize n;
      const double *d = g_variant_get_fixed_array (r, &n, sizeof (double));

      g_assert_cmpuint (n, ==, 100000);
      g_assert_cmpfloat (d[99999], ==, 99999 * 0.25);
    }
  g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 1);

  g_assert_true (g_file_get_contents (output, &contents, &len, NULL));
  g_assert_cmpuint (len, <, 100000 * sizeof (double));
  g_assert_cmpmem (contents, 4, zstd_magic, 4);

  /* An unknown codec is refused when it is set (it would stop every
   * store later): the cache keeps its codec and goes on storing. */
  g_test_expect_message ("Joblib", G_LOG_LEVEL_CRITICAL, "*Unknown compression*snappy*");
  job_memory_set_compression (f->memory, "snappy");
  g_test_assert_expected_messages ();
  g_assert_cmpstr (job_memory_get_compression (f->memory), ==, "zstd:5");
  g_assert_cmpint (call_int (f->cached, 3), ==, 9);
  g_assert_true (job_memorized_function_check_call_in_cache (f->cached,
                                                             g_variant_new ("(i)", 3)));
}

static void
test_unwritable_location (void)
{
  g_autofree char *dir = g_dir_make_tmp ("joblib-memory-XXXXXX", NULL);
  g_autofree char *file = g_build_filename (dir, "file", NULL);
  g_autofree char *location = g_build_filename (file, "cache", NULL);
  g_autoptr(JobMemory) memory = NULL;
  g_autoptr(JobFunction) function = job_function_new ("square", square, NULL, NULL);
  g_autoptr(JobMemorizedFunction) cached = NULL;
  g_autoptr(GListModel) entries = NULL;
  g_autoptr(JobMemorizedResult) shelved = NULL;
  g_autoptr(GVariant) value = NULL;

  /* A folder under a regular file cannot be created, even by root. */
  g_assert_true (g_file_set_contents (file, "", 0, NULL));
  g_atomic_int_set (&n_calls, 0);
  memory = job_memory_new_for_path (location);
  cached = job_memory_cache (memory, function, NULL);

  g_test_expect_message ("Joblib", G_LOG_LEVEL_WARNING, "*Cannot store results of square*");
  g_assert_cmpint (call_int (cached, 3), ==, 9);
  g_test_assert_expected_messages ();
  g_assert_cmpint (call_int (cached, 3), ==, 9);
  g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 2);
  g_assert_false (job_memorized_function_check_call_in_cache (cached, g_variant_new ("(i)", 3)));

  shelved = job_memorized_function_call_and_shelve (cached, g_variant_new ("(i)", 5), NULL, NULL);
  value = job_memorized_result_get (shelved, NULL);
  g_assert_cmpint (g_variant_get_int32 (value), ==, 25);

  entries = job_memory_list_entries (memory);
  g_assert_cmpuint (g_list_model_get_n_items (entries), ==, 0);
  g_unlink (file);
  g_rmdir (dir);
}

static void
test_null_location (void)
{
  if (g_test_subprocess ())
    {
      JobMemory *memory = job_memory_new (NULL);
      g_assert_null (memory);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*G_IS_FILE (location)*");
}

static void
test_non_tuple_args (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(JobMemory) memory = job_memory_new_for_path ("/nonexistent");
      g_autoptr(JobFunction) function = job_function_new ("f", square, NULL, NULL);
      g_autoptr(JobMemorizedFunction) cached = job_memory_cache (memory, function, NULL);
      GVariant *r = job_memorized_function_call (cached, g_variant_new_int32 (3), NULL, NULL);

      g_assert_null (r);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*G_VARIANT_TYPE_TUPLE*");
}

/* A bad codec is refused when it is set, not when caching later stops. */
static void
test_bad_compression_refused (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(JobMemory) memory = job_memory_new_for_path ("/nonexistent");

      job_memory_set_compression (memory, "zstd:5");
      g_assert_cmpstr (job_memory_get_compression (memory), ==, "zstd:5");
      /* From here the critical is fatal: the test parent checks it. */
      job_memory_set_compression (memory, "zstandard");
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*Unknown compression*zstandard*");
}

static void
test_bad_compression_keeps_setting (void)
{
  g_autoptr(JobMemory) memory = job_memory_new_for_path ("/nonexistent");

  job_memory_set_compression (memory, "gzip");
  g_test_expect_message ("Joblib", G_LOG_LEVEL_CRITICAL, "*level 99 is outside*");
  job_memory_set_compression (memory, "zstd:99");
  g_test_assert_expected_messages ();
  g_assert_cmpstr (job_memory_get_compression (memory), ==, "gzip");
  job_memory_set_compression (memory, NULL);
  g_assert_null (job_memory_get_compression (memory));
}

static GVariant *
cube (GVariant      *args,
      GCancellable  *cancellable,
      gpointer       user_data,
      GError       **error)
{
  g_autoptr(GVariant) first = g_variant_get_child_value (args, 0);
  gint32 x = g_variant_get_int32 (first);

  return g_variant_new_int32 (x * x * x);
}

/* "a/b" and "a_b" sanitize to the same folder name: they must still keep
 * their entries apart, or one function would return the other's results. */
static void
test_similar_names_kept_apart (Fixture       *f,
                               gconstpointer  data)
{
  g_autoptr(JobFunction) slash = job_function_new ("model/fit", square, NULL, NULL);
  g_autoptr(JobFunction) underscore = job_function_new ("model_fit", cube, NULL, NULL);
  g_autoptr(JobMemorizedFunction) cached_slash = job_memory_cache (f->memory, slash, NULL);
  g_autoptr(JobMemorizedFunction) cached_underscore = job_memory_cache (f->memory, underscore, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) a = NULL;
  g_autoptr(GVariant) b = NULL;
  g_autoptr(GVariant) again = NULL;

  a = job_memorized_function_call (cached_slash, g_variant_new ("(i)", 3), NULL, &error);
  g_assert_no_error (error);
  b = job_memorized_function_call (cached_underscore, g_variant_new ("(i)", 3), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int32 (a), ==, 9);
  g_assert_cmpint (g_variant_get_int32 (b), ==, 27);
  g_assert_true (job_memorized_function_check_call_in_cache (cached_slash, g_variant_new ("(i)", 3)));
  again = job_memorized_function_call (cached_slash, g_variant_new ("(i)", 3), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int32 (again), ==, 9);
}

/* The LRU touch of a hit: the entry folder's mtime moves forward on a
 * hit, once per interval for a hot entry, and eviction follows it. */
static gint64
mtime_of (const char *dir)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (dir, &st), ==, 0);
  return st.st_mtime;
}

static gint64
aged (const char *dir)
{
  age_entry (dir, 100);
  return mtime_of (dir);
}

static void
test_touch_hot_entry_once (Fixture       *f,
                           gconstpointer  data)
{
  g_autofree char *dir = entry_dir (f, f->cached, g_variant_new ("(i)", 3));
  gint64 old;

  /* An interval no run outlasts: only the first hit touches. */
  job_cache_touch_set_interval (G_MAXINT64 / 2);
  g_assert_cmpint (call_int (f->cached, 3), ==, 9);
  old = aged (dir);
  g_assert_cmpint (call_int (f->cached, 3), ==, 9);
  g_assert_cmpint (mtime_of (dir), >, old + 50);

  old = aged (dir);
  g_assert_cmpint (call_int (f->cached, 3), ==, 9);
  g_assert_cmpint (call_int (f->cached, 3), ==, 9);
  g_assert_cmpint (mtime_of (dir), ==, old);
  g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 1);

  /* Setting the interval forgets the touches so far. */
  job_cache_touch_set_interval (G_MAXINT64 / 2);
  g_assert_cmpint (call_int (f->cached, 3), ==, 9);
  g_assert_cmpint (mtime_of (dir), >, old + 50);
  job_cache_touch_set_interval (JOB_CACHE_TOUCH_INTERVAL);
}

static void
test_touch_every_hit (Fixture       *f,
                      gconstpointer  data)
{
  g_autofree char *dir = entry_dir (f, f->cached, g_variant_new ("(i)", 4));

  job_cache_touch_set_interval (0);
  g_assert_cmpint (call_int (f->cached, 4), ==, 16);
  for (int i = 0; i < 3; i++)
    {
      gint64 old = aged (dir);

      g_assert_cmpint (call_int (f->cached, 4), ==, 16);
      g_assert_cmpint (mtime_of (dir), >, old + 50);
    }
  g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 1);
  job_cache_touch_set_interval (JOB_CACHE_TOUCH_INTERVAL);
}

/* Eviction goes by the touched mtime: the oldest entry, hit, stays. */
static void
test_touch_eviction (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  guint removed = 0;

  job_cache_touch_set_interval (G_MAXINT64 / 2);
  for (int x = 0; x < 3; x++)
    {
      g_autofree char *dir = entry_dir (f, f->cached, g_variant_new ("(i)", x));

      call_int (f->cached, x);
      age_entry (dir, 100 - 10 * x);
    }
  call_int (f->cached, 0);
  g_assert_true (job_memory_reduce_size (f->memory, 0, 2, 0, &removed, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (removed, ==, 1);
  g_assert_true (job_memorized_function_check_call_in_cache (f->cached, g_variant_new ("(i)", 0)));
  g_assert_false (job_memorized_function_check_call_in_cache (f->cached, g_variant_new ("(i)", 1)));
  g_assert_true (job_memorized_function_check_call_in_cache (f->cached, g_variant_new ("(i)", 2)));
  job_cache_touch_set_interval (JOB_CACHE_TOUCH_INTERVAL);
}

/* Past the table's bound it starts over: the first path is due again. */
static void
test_touch_table_bound (void)
{
  job_cache_touch_set_interval (G_MAXINT64 / 2);
  g_assert_true (job_cache_touch_is_due ("/entry-0"));
  g_assert_false (job_cache_touch_is_due ("/entry-0"));
  for (int i = 1; i <= 5000; i++)
    {
      g_autofree char *path = g_strdup_printf ("/entry-%d", i);

      g_assert_true (job_cache_touch_is_due (path));
    }
  g_assert_true (job_cache_touch_is_due ("/entry-0"));
  job_cache_touch_set_interval (JOB_CACHE_TOUCH_INTERVAL);
}

static void
test_touch_null_path (void)
{
  if (g_test_subprocess ())
    {
      job_cache_touch_is_due (NULL);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*job_cache_touch_is_due*");
}

#define ADD(path, func, data) \
  g_test_add ("/joblib/memory/" path, Fixture, data, fixture_set_up, func, fixture_tear_down)

int
main (int   argc,
      char *argv[])
{
  if (argc == 4 && strcmp (argv[1], "--single-flight-caller") == 0)
    return single_flight_caller_main (argv[2], argv[3]);

  self_path = g_canonicalize_filename (argv[0], NULL);
  g_test_init (&argc, &argv, NULL);

  ADD ("hit-miss", test_hit_miss, NULL);
  ADD ("touch/hot-entry-once", test_touch_hot_entry_once, NULL);
  ADD ("touch/every-hit", test_touch_every_hit, NULL);
  ADD ("touch/eviction", test_touch_eviction, NULL);
  g_test_add_func ("/joblib/memory/touch/table-bound", test_touch_table_bound);
  g_test_add_func ("/joblib/memory/touch/null-path", test_touch_null_path);
  ADD ("list-entries-odd-metadata", test_list_entries_odd_metadata, NULL);
  ADD ("similar-names-kept-apart", test_similar_names_kept_apart, NULL);
  ADD ("ignore-by-name", test_ignore, "verbose");
  ADD ("ignore-by-position", test_ignore, "1");
  g_test_add_func ("/joblib/memory/ignore-unknown-name", test_ignore_unknown);
  ADD ("version-change", test_version_change, NULL);
  ADD ("check-call-in-cache", test_check_call_in_cache, NULL);
  ADD ("call-and-shelve", test_call_and_shelve, NULL);
  ADD ("clear", test_clear, NULL);
  ADD ("reduce-size-items", test_reduce_size_items, NULL);
  ADD ("reduce-size-bytes", test_reduce_size_bytes, NULL);
  ADD ("reduce-size-age", test_reduce_size_age, NULL);
  ADD ("limits-on-write", test_limits_on_write, NULL);
  ADD ("expiry-and-validation", test_expiry_and_validation, NULL);
  ADD ("corrupt/truncated", test_corrupt_entry, "truncate");
  ADD ("corrupt/bit-flip", test_corrupt_entry, "flip");
  ADD ("corrupt/output-deleted", test_corrupt_entry, "delete");
  ADD ("failure-leaves-no-entry", test_failure_leaves_no_entry, NULL);
  ADD ("single-flight/threads", test_single_flight_threads, NULL);
  ADD ("single-flight/processes", test_single_flight_processes, NULL);
  ADD ("in-parallel", test_in_parallel, NULL);
  ADD ("entries-model", test_entries_model, NULL);
  ADD ("async", test_async, NULL);
  ADD ("big-result/read", test_big_result_mmap, GINT_TO_POINTER (FALSE));
  ADD ("big-result/mmap", test_big_result_mmap, GINT_TO_POINTER (TRUE));
  ADD ("compression", test_compression, NULL);
  g_test_add_func ("/joblib/memory/unwritable-location", test_unwritable_location);
  g_test_add_func ("/joblib/memory/null-location", test_null_location);
  g_test_add_func ("/joblib/memory/non-tuple-args", test_non_tuple_args);
  g_test_add_func ("/joblib/memory/bad-compression-refused", test_bad_compression_refused);
  g_test_add_func ("/joblib/memory/bad-compression-keeps-setting",
                   test_bad_compression_keeps_setting);

  return g_test_run ();
}
