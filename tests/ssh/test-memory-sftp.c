/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* JobMemory on an sftp:// location through GVfs, against the private sshd
 * of with-sshd.sh --gvfs (a D-Bus session of its own). The "remote"
 * folder is on this machine, so the test checks what reached it through
 * its local path: JOB_SSH_TEST_DIR/remote is JOB_SSH_TEST_SFTP. The
 * location is never mounted beforehand: JobMemory mounts it.
 *
 * Re-run as `test-memory-sftp --call LOCATION X [COUNT_FILE]`, this
 * program is another process using the same cache: it prints the result
 * of square(X) and whether it computed it. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utime.h>

#include <glib/gstdio.h>
#include <joblib-glib.h>

static gint n_calls;          /* (atomic) computations in this process */
static const char *count_file; /* (nullable) computations, one byte each */
static int sleep_ms;

static GVariant *
square (GVariant      *args,
        GCancellable  *cancellable,
        gpointer       user_data,
        GError       **error)
{
  gint32 x;

  g_variant_get (args, "(i)", &x);
  g_atomic_int_inc (&n_calls);
  if (count_file != NULL)
    {
      int fd = g_open (count_file, O_WRONLY | O_APPEND | O_CREAT, 0644);

      g_assert_cmpint (write (fd, "x", 1), ==, 1);
      close (fd);
    }
  if (sleep_ms > 0)
    g_usleep (sleep_ms * 1000);
  return g_variant_new_int32 (x * x);
}

static JobMemorizedFunction *
cached_square (JobMemory  *memory,
               const char *version)
{
  g_autoptr(JobFunction) function = job_function_new ("square", square, NULL, NULL);

  job_function_set_version (function, version);
  return job_memory_cache (memory, function, NULL);
}

static JobMemory *
memory_at (const char *name)
{
  g_autofree char *uri = g_strdup_printf ("%s/%s", g_getenv ("JOB_SSH_TEST_SFTP"), name);
  g_autoptr(GFile) location = g_file_new_for_uri (uri);

  return job_memory_new (location);
}

/* The local path of what the location holds under @name. */
static char *
backing_path (const char *name,
              const char *relative)
{
  return g_build_filename (g_getenv ("JOB_SSH_TEST_DIR"), "remote", name, "joblib-glib",
                           relative, NULL);
}

static gint32
call (JobMemorizedFunction *cached,
      gint32                x)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = job_memorized_function_call (cached, g_variant_new ("(i)", x),
                                                            NULL, &error);

  g_assert_no_error (error);
  g_assert_true (g_variant_is_of_type (value, G_VARIANT_TYPE_INT32));
  return g_variant_get_int32 (value);
}

/* The one entry folder of square under @name. */
static char *
only_entry (const char *name)
{
  g_autofree char *dir = backing_path (name, "square");
  g_autoptr(GDir) listing = g_dir_open (dir, 0, NULL);
  const char *child;
  char *found = NULL;

  g_assert_nonnull (listing);
  while ((child = g_dir_read_name (listing)) != NULL)
    if (strlen (child) == 32)
      {
        g_assert_null (found);
        found = g_build_filename (dir, child, NULL);
      }
  g_assert_nonnull (found);
  return found;
}

static void
test_store_and_hit (void)
{
  g_autoptr(JobMemory) memory = memory_at ("hit");
  g_autoptr(JobMemorizedFunction) cached = cached_square (memory, "1");
  g_autofree char *entry = NULL;
  g_autofree char *output = NULL;
  g_autofree char *metadata = NULL;
  g_autoptr(GListModel) entries = NULL;
  g_autoptr(JobCacheEntry) first = NULL;

  g_atomic_int_set (&n_calls, 0);
  g_assert_cmpint (call (cached, 7), ==, 49);
  g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 1);
  g_assert_cmpint (call (cached, 7), ==, 49);
  g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 1);
  g_assert_true (job_memorized_function_check_call_in_cache (cached, g_variant_new ("(i)", 7)));
  g_assert_false (job_memorized_function_check_call_in_cache (cached, g_variant_new ("(i)", 8)));

  /* What the server holds: the entry, whole, and no temporary folder. */
  entry = only_entry ("hit");
  output = g_build_filename (entry, "output", NULL);
  metadata = g_build_filename (entry, "metadata.json", NULL);
  g_assert_true (g_file_test (output, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_test (metadata, G_FILE_TEST_IS_REGULAR));

  /* The entries model reads sizes and metadata through GVfs. */
  entries = job_memory_list_entries (memory);
  g_assert_cmpuint (g_list_model_get_n_items (entries), ==, 1);
  first = g_list_model_get_item (entries, 0);
  g_assert_cmpstr (job_cache_entry_get_function_name (first), ==, "square");
  g_assert_cmpuint (job_cache_entry_get_size (first), >, 0);
  g_assert_cmpfloat (job_cache_entry_get_duration (first), >=, 0);
  g_assert_nonnull (job_cache_entry_get_input_args (first));
  g_assert_nonnull (strstr (job_cache_entry_get_input_args (first), "7"));
}

static char *self_path;

static GSubprocess *
spawn_caller (const char *name,
              gint32      x,
              const char *counts)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *uri = g_strdup_printf ("%s/%s", g_getenv ("JOB_SSH_TEST_SFTP"), name);
  g_autofree char *arg = g_strdup_printf ("%d", x);
  GSubprocess *process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
                                           self_path, "--call", uri, arg, counts, NULL);

  g_assert_no_error (error);
  return process;
}

static char *
caller_output (GSubprocess *process)
{
  g_autoptr(GError) error = NULL;
  char *out = NULL;

  g_subprocess_communicate_utf8 (process, NULL, NULL, &out, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (process));
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 0);
  return out;
}

/* A cache written by one process is read by another. */
static void
test_other_process (void)
{
  g_autoptr(JobMemory) memory = memory_at ("shared");
  g_autoptr(JobMemorizedFunction) cached = cached_square (memory, "1");
  g_autoptr(GSubprocess) writer = NULL;
  g_autoptr(GSubprocess) reader = NULL;
  g_autofree char *written = NULL;
  g_autofree char *read = NULL;

  /* Another process computes and stores; this one and a third read. */
  writer = spawn_caller ("shared", 12, NULL);
  written = caller_output (writer);
  g_assert_cmpstr (written, ==, "144 computed\n");

  g_atomic_int_set (&n_calls, 0);
  g_assert_cmpint (call (cached, 12), ==, 144);
  g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 0);

  reader = spawn_caller ("shared", 12, NULL);
  read = caller_output (reader);
  g_assert_cmpstr (read, ==, "144 loaded\n");

  /* And the command line tool lists it, mounting the location itself. */
  if (g_getenv ("JOB_CLI") != NULL)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *uri = g_strdup_printf ("%s/shared", g_getenv ("JOB_SSH_TEST_SFTP"));
      g_autoptr(GSubprocess) cli = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
                                                     g_getenv ("JOB_CLI"), "cache", "ls", uri,
                                                     NULL);
      g_autofree char *listing = caller_output (cli);

      g_assert_nonnull (strstr (listing, "square"));
      g_assert_nonnull (strstr (listing, "12"));
    }
}

/* Two processes asking for the same new call at once compute it once:
 * the lock file is created exclusively on the server. */
static void
test_single_flight_across_processes (void)
{
  g_autofree char *counts = g_build_filename (g_getenv ("JOB_SSH_TEST_DIR"), "flight-calls", NULL);
  g_autoptr(GSubprocess) first = spawn_caller ("flight", 5, counts);
  g_autoptr(GSubprocess) second = spawn_caller ("flight", 5, counts);
  g_autofree char *out1 = caller_output (first);
  g_autofree char *out2 = caller_output (second);
  g_autofree char *calls = NULL;
  g_autofree char *lock = backing_path ("flight", "square");
  g_autoptr(GDir) dir = NULL;
  const char *name;

  g_assert_true (g_file_get_contents (counts, &calls, NULL, NULL));
  g_assert_cmpstr (calls, ==, "x");
  g_assert_true (g_str_has_prefix (out1, "25 "));
  g_assert_true (g_str_has_prefix (out2, "25 "));
  g_assert_cmpint (g_str_has_suffix (out1, "computed\n") + g_str_has_suffix (out2, "computed\n"),
                   ==, 1);
  /* No lock file stays behind. */
  dir = g_dir_open (lock, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    g_assert_false (g_str_has_suffix (name, ".lock"));
}

/* A lock left on the server by a process that died (of this host) is
 * taken over: the call computes instead of waiting for it. */
static void
test_stale_lock (void)
{
  g_autoptr(JobMemory) memory = memory_at ("stale");
  g_autoptr(JobMemorizedFunction) cached = cached_square (memory, "1");
  g_autoptr(GError) error = NULL;
  g_autofree char *entry = NULL;
  g_autofree char *lock = NULL;
  g_autofree char *owner = NULL;
  g_autofree char *dead_pid = NULL;

  g_assert_cmpint (call (cached, 6), ==, 36);
  entry = only_entry ("stale");
  lock = g_strconcat (entry, ".lock", NULL);
  /* The entry goes, a lock stays behind: its owner, a process of this
   * host, has exited. */
  {
    const char *argv[] = { "true", NULL };
    GPid pid;
    int status;

    g_assert_true (g_spawn_async (NULL, (char **) argv, NULL,
                                  G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD,
                                  NULL, NULL, &pid, &error));
    g_assert_no_error (error);
    g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
    dead_pid = g_strdup_printf ("%d", (int) pid);
  }
  {
    g_autofree char *output = g_build_filename (entry, "output", NULL);
    g_autofree char *metadata = g_build_filename (entry, "metadata.json", NULL);

    g_assert_cmpint (g_remove (output), ==, 0);
    g_assert_cmpint (g_remove (metadata), ==, 0);
    g_assert_cmpint (g_rmdir (entry), ==, 0);
  }
  owner = g_strdup_printf ("%s %s\n", g_get_host_name (), dead_pid);
  g_assert_true (g_file_set_contents (lock, owner, -1, NULL));

  g_atomic_int_set (&n_calls, 0);
  g_assert_cmpint (call (cached, 6), ==, 36);
  g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 1);
  g_assert_false (g_file_test (lock, G_FILE_TEST_EXISTS));
  g_assert_cmpint (call (cached, 6), ==, 36);
  g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 1);
}

/* An entry cut short on the server is never read as valid. */
static void
test_torn_entry (void)
{
  g_autoptr(JobMemory) memory = memory_at ("torn");
  g_autoptr(JobMemorizedFunction) cached = cached_square (memory, "1");
  g_autofree char *entry = NULL;
  g_autofree char *output = NULL;
  g_autofree char *contents = NULL;
  gsize length;

  g_atomic_int_set (&n_calls, 0);
  g_assert_cmpint (call (cached, 9), ==, 81);
  entry = only_entry ("torn");
  output = g_build_filename (entry, "output", NULL);
  g_assert_true (g_file_get_contents (output, &contents, &length, NULL));
  g_assert_cmpuint (length, >, 8);
  g_assert_cmpint (truncate (output, length - 5), ==, 0);

  g_test_expect_message ("Joblib", G_LOG_LEVEL_WARNING, "*Cached result of square is corrupt*");
  g_assert_cmpint (call (cached, 9), ==, 81);
  g_test_assert_expected_messages ();
  g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 2);
  /* Stored again, whole. */
  g_assert_cmpint (call (cached, 9), ==, 81);
  g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 2);
}

static void
set_mtime (const char *path,
           gint64      seconds_ago)
{
  struct utimbuf times;

  times.actime = times.modtime = (time_t) (g_get_real_time () / G_USEC_PER_SEC - seconds_ago);
  g_assert_cmpint (utime (path, &times), ==, 0);
}

/* A hit sets the entry's time on the server (sftp can): reduce_size
 * keeps the entry used last, not the one written last. */
static void
test_lru_and_reduce (void)
{
  g_autoptr(JobMemory) memory = memory_at ("lru");
  g_autoptr(JobMemorizedFunction) cached = cached_square (memory, "1");
  g_autoptr(GListModel) entries = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = backing_path ("lru", "square");
  g_autoptr(GDir) listing = NULL;
  const char *name;
  guint removed = 0;

  g_assert_cmpint (call (cached, 1), ==, 1);
  g_assert_cmpint (call (cached, 2), ==, 4);
  /* Both old, the first older. */
  listing = g_dir_open (dir, 0, NULL);
  while ((name = g_dir_read_name (listing)) != NULL)
    if (strlen (name) == 32)
      {
        g_autofree char *path = g_build_filename (dir, name, NULL);

        set_mtime (path, 1000);
      }
  g_atomic_int_set (&n_calls, 0);
  g_assert_cmpint (call (cached, 1), ==, 1);   /* a hit: now the newest */
  g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 0);

  g_assert_true (job_memory_reduce_size (memory, 0, 1, 0, &removed, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (removed, ==, 1);
  g_assert_true (job_memorized_function_check_call_in_cache (cached, g_variant_new ("(i)", 1)));
  g_assert_false (job_memorized_function_check_call_in_cache (cached, g_variant_new ("(i)", 2)));

  /* The age limit: the entry is a second old at most. */
  g_assert_true (job_memory_reduce_size (memory, 0, 0, 500, &removed, &error));
  g_assert_cmpuint (removed, ==, 0);
  entries = job_memory_list_entries (memory);
  g_assert_cmpuint (g_list_model_get_n_items (entries), ==, 1);
}

/* A new version clears the function's entries; clear() removes the tree. */
static void
test_version_and_clear (void)
{
  g_autoptr(JobMemory) memory = memory_at ("clear");
  g_autoptr(JobMemorizedFunction) v1 = cached_square (memory, "1");
  g_autoptr(JobMemorizedFunction) v2 = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *tree = backing_path ("clear", NULL);
  g_autofree char *parent = g_path_get_dirname (tree);
  g_autoptr(GDir) dir = NULL;
  const char *name;

  g_assert_cmpint (call (v1, 3), ==, 9);
  g_test_expect_message ("Joblib", G_LOG_LEVEL_WARNING, "*changed version*");
  v2 = cached_square (memory, "2");
  g_atomic_int_set (&n_calls, 0);
  g_assert_cmpint (call (v2, 3), ==, 9);
  g_test_assert_expected_messages ();
  g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 1);

  g_assert_true (job_memory_clear (memory, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (tree, G_FILE_TEST_EXISTS));
  dir = g_dir_open (parent, 0, NULL);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_assert_false (g_str_has_prefix (name, ".joblib-glib-trash-"));
  g_atomic_int_set (&n_calls, 0);
  g_assert_cmpint (call (v2, 3), ==, 9);
  g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 1);
}

/* A location that cannot be reached: results are computed, with one
 * warning, and nothing hangs. */
static void
test_unreachable_location (void)
{
  g_autofree char *uri = g_strdup_printf ("sftp://127.0.0.1:1/nowhere");
  g_autoptr(GFile) location = g_file_new_for_uri (uri);
  g_autoptr(JobMemory) memory = job_memory_new (location);
  g_autoptr(JobMemorizedFunction) cached = cached_square (memory, "1");

  g_atomic_int_set (&n_calls, 0);
  g_test_expect_message ("Joblib", G_LOG_LEVEL_WARNING, "*Cannot store results of square*");
  g_assert_cmpint (call (cached, 4), ==, 16);
  g_test_assert_expected_messages ();
  g_assert_cmpint (call (cached, 4), ==, 16);
  g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 2);
}

static int
run_caller (const char *uri,
            const char *arg,
            const char *counts)
{
  g_autoptr(GFile) location = g_file_new_for_uri (uri);
  g_autoptr(JobMemory) memory = job_memory_new (location);
  g_autoptr(JobMemorizedFunction) cached = cached_square (memory, "1");
  gint32 value;

  count_file = counts;
  sleep_ms = counts != NULL ? 500 : 0;
  value = call (cached, (gint32) g_ascii_strtoll (arg, NULL, 10));
  g_print ("%d %s\n", value, g_atomic_int_get (&n_calls) > 0 ? "computed" : "loaded");
  return 0;
}

int
main (int    argc,
      char **argv)
{
  if (argc >= 4 && strcmp (argv[1], "--call") == 0)
    return run_caller (argv[2], argv[3], argc > 4 ? argv[4] : NULL);

  g_test_init (&argc, &argv, NULL);
  if (g_getenv ("JOB_SSH_TEST_SFTP") == NULL || g_getenv ("DBUS_SESSION_BUS_ADDRESS") == NULL)
    {
      g_test_skip ("run through tests/ssh/with-sshd.sh --gvfs");
      return g_test_run ();
    }
  self_path = g_canonicalize_filename (argv[0], NULL);

  g_test_add_func ("/joblib/memory-sftp/store-and-hit", test_store_and_hit);
  g_test_add_func ("/joblib/memory-sftp/other-process", test_other_process);
  g_test_add_func ("/joblib/memory-sftp/single-flight", test_single_flight_across_processes);
  g_test_add_func ("/joblib/memory-sftp/torn-entry", test_torn_entry);
  g_test_add_func ("/joblib/memory-sftp/stale-lock", test_stale_lock);
  g_test_add_func ("/joblib/memory-sftp/lru-and-reduce", test_lru_and_reduce);
  g_test_add_func ("/joblib/memory-sftp/version-and-clear", test_version_and_clear);
  g_test_add_func ("/joblib/memory-sftp/unreachable", test_unreachable_location);
  return g_test_run ();
}
