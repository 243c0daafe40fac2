/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A cache folder that others tamper with: a symbolic link planted at a
 * lock's name, trash left by clears that raced writers or were killed. */
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <joblib-glib.h>

static gint n_computed;  /* (atomic) */

static GVariant *
triple (GVariant      *args,
        GCancellable  *cancellable,
        gpointer       user_data,
        GError       **error)
{
  int x;

  g_variant_get (args, "(i)", &x);
  g_atomic_int_inc (&n_computed);
  return g_variant_new_int32 (3 * x);
}

/* The one entry folder of @function_dir. */
static char *
find_entry (const char *function_dir)
{
  g_autoptr(GDir) dir = g_dir_open (function_dir, 0, NULL);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (function_dir, name, NULL);

      if (name[0] != '.' && g_file_test (path, G_FILE_TEST_IS_DIR))
        return g_strdup (name);
    }
  return NULL;
}

static void
remove_tree (const char *path)
{
  g_autofree char *command = g_strdup_printf ("rm -rf '%s'", path);

  g_assert_cmpint (system (command), ==, 0);
}

/* A symbolic link at a key's lock name pointing elsewhere: the call is not
 * fooled into creating (or locking) the target, and still computes. */
static void
test_lock_symlink (void)
{
  g_autofree char *dir = g_dir_make_tmp ("joblib-hostile-XXXXXX", NULL);
  g_autofree char *root = g_build_filename (dir, "cache", NULL);
  g_autofree char *target = g_build_filename (dir, "victim", NULL);
  g_autoptr(JobMemory) memory = job_memory_new_for_path (root);
  g_autoptr(JobFunction) function = job_function_new ("triple", triple, NULL, NULL);
  g_autoptr(JobMemorizedFunction) cached = job_memory_cache (memory, function, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) first = NULL;
  g_autoptr(GVariant) second = NULL;
  g_autofree char *function_dir = NULL;
  g_autofree char *entry = NULL;
  g_autofree char *entry_path = NULL;
  g_autofree char *lock = NULL;
  g_autofree char *found_dir = NULL;
  g_autoptr(GDir) top = NULL;

  g_atomic_int_set (&n_computed, 0);
  first = job_memorized_function_call (cached, g_variant_new ("(i)", 5), NULL, &error);
  g_assert_no_error (error);

  /* the function's folder is the only one under the root */
  top = g_dir_open (root, 0, NULL);
  g_assert_nonnull (top);
  for (const char *name; (name = g_dir_read_name (top)) != NULL; )
    if (name[0] != '.')
      found_dir = g_build_filename (root, name, NULL);
  g_assert_nonnull (found_dir);
  function_dir = g_steal_pointer (&found_dir);
  entry = find_entry (function_dir);
  g_assert_nonnull (entry);

  /* forget the entry, plant the link where its lock goes */
  entry_path = g_build_filename (function_dir, entry, NULL);
  remove_tree (entry_path);
  lock = g_strconcat (entry_path, ".lock", NULL);
  g_assert_cmpint (symlink (target, lock), ==, 0);

  second = job_memorized_function_call (cached, g_variant_new ("(i)", 5), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int32 (second), ==, 15);
  g_assert_cmpint (g_atomic_int_get (&n_computed), ==, 2);
  /* the link was not followed: its target was never created */
  g_assert_false (g_file_test (target, G_FILE_TEST_EXISTS));

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

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/joblib/memory-hostile/lock-symlink", test_lock_symlink);
  g_test_add_func ("/joblib/memory-hostile/trash-swept-on-open", test_trash_swept_on_open);
  g_test_add_func ("/joblib/memory-hostile/clear-racing-writers", test_clear_racing_writers);

  return g_test_run ();
}
