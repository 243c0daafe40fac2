/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE  /* F_OFD_GETLK */
/* A cache folder that others tamper with: a symbolic link planted at a
 * lock's name, trash left by clears that raced writers or were killed. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <joblib-glib.h>

static gint n_computed;  /* (atomic) */

/* While set, each computation checks whether someone holds a lock on
 * this file (the planted link's target). */
static const char *probe_path;
static gint probe_found_locked;  /* (atomic) */

static GVariant *
triple (GVariant      *args,
        GCancellable  *cancellable,
        gpointer       user_data,
        GError       **error)
{
  int x;

  g_variant_get (args, "(i)", &x);
  g_atomic_int_inc (&n_computed);
  if (probe_path != NULL)
    {
      /* flock() locks of another open file description conflict, even
       * in the same process */
      int fd = g_open (probe_path, O_RDONLY | O_CLOEXEC, 0);

      struct flock range = { .l_type = F_RDLCK, .l_whence = SEEK_SET };

      g_assert_cmpint (fd, >=, 0);
      if (flock (fd, LOCK_EX | LOCK_NB) != 0)
        {
          g_assert_cmpint (errno, ==, EWOULDBLOCK);
          g_atomic_int_set (&probe_found_locked, 1);
        }
      /* and no byte of it under a record lock (what the cache's own
       * lock file gets) */
      g_assert_cmpint (fcntl (fd, F_OFD_GETLK, &range), ==, 0);
      if (range.l_type != F_UNLCK)
        g_atomic_int_set (&probe_found_locked, 1);
      close (fd);
    }
  return g_variant_new_int32 (3 * x);
}

/* The folder below @dir that holds an `output` file: the one entry. */
static char *
find_entry (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  g_autofree char *output = g_build_filename (dir, "output", NULL);
  const char *name;

  if (g_file_test (output, G_FILE_TEST_IS_REGULAR))
    return g_strdup (dir);
  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      char *found;

      if (name[0] == '.' || !g_file_test (path, G_FILE_TEST_IS_DIR) ||
          g_file_test (path, G_FILE_TEST_IS_SYMLINK))
        continue;
      found = find_entry (path);
      if (found != NULL)
        return found;
    }
  return NULL;
}

static void
remove_tree (const char *path)
{
  g_autofree char *command = g_strdup_printf ("rm -rf '%s'", path);

  g_assert_cmpint (system (command), ==, 0);
}

/* In a cache under @dir: stores the entry of triple(5), removes it, plants
 * a symbolic link to @target where the function's lock file goes, and
 * calls again. */
static void
call_with_planted_lock (const char *dir,
                        const char *target)
{
  g_autofree char *root = g_build_filename (dir, "cache", NULL);
  g_autoptr(JobMemory) memory = job_memory_new_for_path (root);
  g_autoptr(JobFunction) function = job_function_new ("triple", triple, NULL, NULL);
  g_autoptr(JobMemorizedFunction) cached = job_memory_cache (memory, function, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) first = NULL;
  g_autoptr(GVariant) second = NULL;
  g_autofree char *entry = NULL;
  g_autofree char *lock = NULL;

  g_atomic_int_set (&n_computed, 0);
  first = job_memorized_function_call (cached, g_variant_new ("(i)", 5), NULL, &error);
  g_assert_no_error (error);
  entry = find_entry (root);
  g_assert_nonnull (entry);
  remove_tree (entry);
  lock = g_build_filename (dir, "cache", "joblib-glib", "triple", ".locks", NULL);
  g_assert_true (g_file_test (lock, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpint (g_unlink (lock), ==, 0);
  g_assert_cmpint (symlink (target, lock), ==, 0);

  second = job_memorized_function_call (cached, g_variant_new ("(i)", 5), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int32 (second), ==, 15);
  g_assert_cmpint (g_atomic_int_get (&n_computed), ==, 2);
  /* the entry is back, and no link is left at the lock's name */
  g_assert_true (g_file_test (entry, G_FILE_TEST_IS_DIR));
  g_assert_false (g_file_test (lock, G_FILE_TEST_IS_SYMLINK));
}

/* A dangling symbolic link at a key's lock name: following it (O_CREAT)
 * would create its target, a file anywhere the cache's user can write. */
static void
test_lock_symlink_dangling (void)
{
  g_autofree char *dir = g_dir_make_tmp ("joblib-hostile-XXXXXX", NULL);
  g_autofree char *target = g_build_filename (dir, "victim", NULL);

  call_with_planted_lock (dir, target);
  g_assert_false (g_file_test (target, G_FILE_TEST_EXISTS));
  remove_tree (dir);
}

/* A symbolic link at a key's lock name to an existing file: the target
 * is neither locked while the value is computed nor changed. */
static void
test_lock_symlink_existing (void)
{
  g_autofree char *dir = g_dir_make_tmp ("joblib-hostile-XXXXXX", NULL);
  g_autofree char *target = g_build_filename (dir, "victim", NULL);
  g_autofree char *contents = NULL;
  struct stat before, after;

  g_assert_true (g_file_set_contents (target, "precious", -1, NULL));
  g_assert_cmpint (g_chmod (target, 0600), ==, 0);
  g_assert_cmpint (g_stat (target, &before), ==, 0);

  g_atomic_int_set (&probe_found_locked, 0);
  probe_path = target;
  call_with_planted_lock (dir, target);
  probe_path = NULL;

  g_assert_cmpint (g_atomic_int_get (&probe_found_locked), ==, 0);
  g_assert_true (g_file_get_contents (target, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "precious");
  g_assert_cmpint (g_stat (target, &after), ==, 0);
  g_assert_cmpint (after.st_ino, ==, before.st_ino);
  g_assert_cmpint (after.st_mode, ==, before.st_mode);
  g_assert_cmpint (after.st_size, ==, before.st_size);
  remove_tree (dir);
}

/* Trash folders left next to the cache (a clear killed mid-way, or racing
 * writers) are removed when a JobMemory opens the cache. */
static void
test_trash_swept_on_open (void)
{
  g_autofree char *dir = g_dir_make_tmp ("joblib-hostile-XXXXXX", NULL);
  g_autofree char *root = g_build_filename (dir, "cache", NULL);
  g_autofree char *trash = g_build_filename (dir, ".joblib-glib-trash-AbC123", NULL);
  g_autofree char *deep = g_build_filename (trash, "f", "0123abcd", NULL);
  g_autofree char *output = g_build_filename (deep, "output.jgl", NULL);
  g_autofree char *other = g_build_filename (dir, "unrelated", NULL);
  g_autoptr(JobMemory) memory = NULL;

  g_assert_cmpint (g_mkdir_with_parents (deep, 0755), ==, 0);
  g_assert_true (g_file_set_contents (output, "left over", -1, NULL));
  g_assert_cmpint (g_mkdir_with_parents (other, 0755), ==, 0);

  memory = job_memory_new_for_path (root);
  g_assert_false (g_file_test (trash, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (other, G_FILE_TEST_IS_DIR));

  remove_tree (dir);
}

/* Writers racing clears: no trash folder outlives the last clear and
 * reopening. */
typedef struct
{
  JobMemorizedFunction *cached;
  gint                  stop;  /* (atomic) */
} Race;

static gpointer
write_until_stopped (gpointer data)
{
  Race *race = data;

  for (int i = 0; !g_atomic_int_get (&race->stop); i++)
    {
      g_autoptr(GVariant) value =
        job_memorized_function_call (race->cached, g_variant_new ("(i)", i % 97), NULL, NULL);

      if (value != NULL)
        g_assert_cmpint (g_variant_get_int32 (value), ==, 3 * (i % 97));
    }
  return NULL;
}

static gboolean
has_trash (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while ((name = g_dir_read_name (d)) != NULL)
    if (g_str_has_prefix (name, ".joblib-glib-trash-"))
      return TRUE;
  return FALSE;
}

/* A write whose folder a clear just moved away warns and computes
 * without caching: expected here. */
static void
swallow_store_warnings (const char     *log_domain,
                        GLogLevelFlags  log_level,
                        const char     *message,
                        gpointer        user_data)
{
  if (strstr (message, "Cannot store results") == NULL)
    g_error ("unexpected warning: %s", message);
}

static void
test_clear_racing_writers (void)
{
  g_autofree char *dir = g_dir_make_tmp ("joblib-hostile-XXXXXX", NULL);
  g_autofree char *root = g_build_filename (dir, "cache", NULL);
  g_autoptr(JobMemory) memory = job_memory_new_for_path (root);
  g_autoptr(JobMemory) reopened = NULL;
  g_autoptr(JobFunction) function = job_function_new ("triple", triple, NULL, NULL);
  g_autoptr(JobMemorizedFunction) cached = job_memory_cache (memory, function, NULL);
  Race race = { cached, 0 };
  GThread *writers[3];

  /* only these warnings are tolerated; criticals stay fatal */
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
  g_log_set_handler ("Joblib", G_LOG_LEVEL_WARNING, swallow_store_warnings, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (writers); i++)
    writers[i] = g_thread_new ("writer", write_until_stopped, &race);
  for (int i = 0; i < 30; i++)
    {
      /* a clear may lose to a writer: that is reported, not hidden */
      job_memory_clear (memory, NULL);
      g_usleep (2000);
    }
  g_atomic_int_set (&race.stop, 1);
  for (guint i = 0; i < G_N_ELEMENTS (writers); i++)
    g_thread_join (writers[i]);

  reopened = job_memory_new_for_path (root);
  g_assert_false (has_trash (dir));
  remove_tree (dir);
}

/* 300 int32 for an even x, 1000 for an odd one (1200 or 4000 bytes:
 * stored out of the header, with a checksum of its own; an output file
 * below or above the 4 KiB that a hit reads in one go), from x, x + 1... */
static GVariant *
iota (GVariant      *args,
      GCancellable  *cancellable,
      gpointer       user_data,
      GError       **error)
{
  gint32 values[1000];
  guint n;
  int x;

  g_variant_get (args, "(i)", &x);
  n = x % 2 == 0 ? 300 : 1000;
  g_atomic_int_inc (&n_computed);
  for (guint i = 0; i < n; i++)
    values[i] = x + (gint32) i;
  return g_variant_new_fixed_array (G_VARIANT_TYPE_INT32, values, n, sizeof values[0]);
}

static void
check_iota (GVariant *value,
            int       x)
{
  gsize n = 0;
  const gint32 *values = g_variant_get_fixed_array (value, &n, sizeof (gint32));

  g_assert_cmpuint (n, ==, x % 2 == 0 ? 300 : 1000);
  for (gsize i = 0; i < n; i++)
    g_assert_cmpint (values[i], ==, x + (gint32) i);
}

/* A small output (read whole and parsed in place) altered on disk, in its
 * array, its header or its length: a warning, the value computed again,
 * the entry repaired. */
static void
test_small_output_tampered (void)
{
  static const struct { const char *name; gssize at; gssize length; } cases[] = {
    { "array byte", -3, 0 },
    { "header byte", 40, 0 },
    { "magic", 1, 0 },
    { "cut in the array", 0, -100 },
    { "cut in the header", 0, 36 },
    { "cut in the preamble", 0, 20 },
  };
  g_autofree char *dir = g_dir_make_tmp ("joblib-hostile-XXXXXX", NULL);
  g_autoptr(JobMemory) memory = job_memory_new_for_path (dir);
  g_autoptr(JobFunction) function = job_function_new ("iota", iota, NULL, NULL);
  g_autoptr(JobMemorizedFunction) cached = job_memory_cache (memory, function, NULL);

  g_atomic_int_set (&n_computed, 0);
  for (guint c = 0; c < 2 * G_N_ELEMENTS (cases); c++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) first = NULL;
      g_autoptr(GVariant) again = NULL;
      g_autoptr(GVariant) hit = NULL;
      g_autofree char *entry = NULL;
      g_autofree char *output = NULL;
      g_autofree char *contents = NULL;
      gsize length;
      int x = 8 + (int) c;
      guint k = c / 2;

      g_test_message ("%s, %s output", cases[k].name, x % 2 == 0 ? "small" : "larger");
      first = job_memorized_function_call (cached, g_variant_new ("(i)", x), NULL, &error);
      g_assert_no_error (error);
      check_iota (first, x);
      entry = find_entry (dir);
      g_assert_nonnull (entry);
      output = g_build_filename (entry, "output", NULL);
      g_assert_true (g_file_get_contents (output, &contents, &length, NULL));
      g_assert_cmpuint (length, >, x % 2 == 0 ? 1200 : 4096);
      g_assert_cmpuint (length, <, x % 2 == 0 ? 4096 : 8192);
      if (cases[k].at != 0)
        contents[cases[k].at > 0 ? (gsize) cases[k].at : length + cases[k].at] ^= 0x10;
      if (cases[k].length != 0)
        length = cases[k].length > 0 ? (gsize) cases[k].length : length + cases[k].length;
      g_assert_true (g_file_set_contents (output, contents, length, NULL));

      g_test_expect_message ("Joblib", G_LOG_LEVEL_WARNING, "*iota*corrupt*");
      again = job_memorized_function_call (cached, g_variant_new ("(i)", x), NULL, &error);
      g_test_assert_expected_messages ();
      g_assert_no_error (error);
      check_iota (again, x);
      g_assert_cmpint (g_atomic_int_get (&n_computed), ==, 2 * (c + 1));

      hit = job_memorized_function_call (cached, g_variant_new ("(i)", x), NULL, &error);
      g_assert_no_error (error);
      check_iota (hit, x);
      g_assert_cmpint (g_atomic_int_get (&n_computed), ==, 2 * (c + 1));
      remove_tree (entry);
    }
  remove_tree (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/joblib/memory-hostile/lock-symlink/dangling", test_lock_symlink_dangling);
  g_test_add_func ("/joblib/memory-hostile/lock-symlink/existing", test_lock_symlink_existing);
  g_test_add_func ("/joblib/memory-hostile/trash-swept-on-open", test_trash_swept_on_open);
  g_test_add_func ("/joblib/memory-hostile/clear-racing-writers", test_clear_racing_writers);
  g_test_add_func ("/joblib/memory-hostile/small-output-tampered", test_small_output_tampered);

  return g_test_run ();
}
