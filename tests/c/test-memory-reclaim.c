/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* clear and reduce_size take entries out of sight in one rename each, and
 * free their files on a background thread: what readers see at once, when
 * the space comes back, and what is left if nobody waits. */
#define _GNU_SOURCE  /* F_OFD_GETLK */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <joblib-glib.h>

static gint n_calls;  /* (atomic) */

static GVariant *
triple (GVariant      *args,
        GCancellable  *cancellable,
        gpointer       user_data,
        GError       **error)
{
  g_autoptr(GVariant) first = g_variant_get_child_value (args, 0);

  g_atomic_int_inc (&n_calls);
  return g_variant_new_int32 (3 * g_variant_get_int32 (first));
}

static guint
count_prefixed (const char *dir,
                const char *prefix)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  guint n = 0;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    n += g_str_has_prefix (name, prefix);
  return n;
}

/* Entry folders: 32 hexadecimal digits. */
static guint
count_entries (const char *function_dir)
{
  g_autoptr(GDir) d = g_dir_open (function_dir, 0, NULL);
  const char *name;
  guint n = 0;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    n += strlen (name) == 32 && strspn (name, "0123456789abcdef") == 32;
  return n;
}

static void
call_or_die (JobMemorizedFunction *cached,
             int                   x)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value =
    job_memorized_function_call (cached, g_variant_new ("(i)", x), NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int32 (value), ==, 3 * x);
}

static gboolean
in_cache (JobMemorizedFunction *cached,
          int                   x)
{
  return job_memorized_function_check_call_in_cache (cached, g_variant_new ("(i)", x));
}

/* When clear returns, no entry is visible, to this Memory or a fresh
 * one; the files are gone once wait_reclaimed returns. */
static void
test_clear_hides_then_frees (void)
{
  g_autofree char *dir = g_dir_make_tmp ("joblib-reclaim-XXXXXX", NULL);
  g_autofree char *root = g_build_filename (dir, "joblib-glib", NULL);
  g_autoptr(JobMemory) memory = job_memory_new_for_path (dir);
  g_autoptr(JobFunction) function = job_function_new ("triple", triple, NULL, NULL);
  g_autoptr(JobMemorizedFunction) cached = job_memory_cache (memory, function, NULL);
  g_autoptr(GListModel) entries = NULL;
  g_autoptr(GError) error = NULL;

  for (int i = 0; i < 50; i++)
    call_or_die (cached, i);
  g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 50);

  g_assert_true (job_memory_clear (memory, &error));
  g_assert_no_error (error);
  /* gone for readers at once: nothing at the cache's path, nothing listed */
  g_assert_false (g_file_test (root, G_FILE_TEST_EXISTS));
  entries = job_memory_list_entries (memory);
  g_assert_cmpuint (g_list_model_get_n_items (entries), ==, 0);
  for (int i = 0; i < 50; i += 7)
    g_assert_false (in_cache (cached, i));

  /* the space comes back: no trash folder, an empty location */
  job_memory_wait_reclaimed (memory);
  g_assert_cmpuint (count_prefixed (dir, ""), ==, 0);

  /* and the cache works again: computed once more, then read */
  call_or_die (cached, 5);
  call_or_die (cached, 5);
  g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 51);

  g_assert_true (job_memory_clear (memory, &error));
  job_memory_wait_reclaimed (memory);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
  g_atomic_int_set (&n_calls, 0);
}

/* reduce_size: the kept entries are exactly the most recently used ones
 * when it returns; the removed ones' folders go away in the background,
 * and no half-removed one is ever listed. */
static void
test_reduce_size_hides_then_frees (void)
{
  g_autofree char *dir = g_dir_make_tmp ("joblib-reclaim-XXXXXX", NULL);
  g_autofree char *function_dir = g_build_filename (dir, "joblib-glib", "triple", NULL);
  g_autoptr(JobMemory) memory = job_memory_new_for_path (dir);
  g_autoptr(JobFunction) function = job_function_new ("triple", triple, NULL, NULL);
  g_autoptr(JobMemorizedFunction) cached = job_memory_cache (memory, function, NULL);
  g_autoptr(GListModel) entries = NULL;
  g_autoptr(GError) error = NULL;
  guint removed = 0;

  for (int i = 0; i < 40; i++)
    {
      g_autofree char *hash = job_memorized_function_get_args_hash (cached,
                                                                    g_variant_new ("(i)", i));
      g_autofree char *entry = g_build_filename (function_dir, strchr (hash, ':') + 1, NULL);
      struct timespec times[2] = { { .tv_nsec = UTIME_OMIT },
                                   { .tv_sec = time (NULL) - 1000 + 10 * i } };

      call_or_die (cached, i);
      /* the folder's modification time is the entry's last use */
      g_assert_cmpint (utimensat (AT_FDCWD, entry, times, 0), ==, 0);
    }

  g_assert_true (job_memory_reduce_size (memory, 0, 10, 0, &removed, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (removed, ==, 30);
  g_assert_cmpuint (count_entries (function_dir), ==, 10);
  entries = job_memory_list_entries (memory);
  g_assert_cmpuint (g_list_model_get_n_items (entries), ==, 10);
  for (int i = 0; i < 40; i++)
    g_assert_cmpint (in_cache (cached, i), ==, i >= 30);

  job_memory_wait_reclaimed (memory);
  g_assert_cmpuint (count_prefixed (function_dir, ".trash-"), ==, 0);
  g_assert_cmpuint (count_entries (function_dir), ==, 10);

  g_assert_true (job_memory_clear (memory, &error));
  job_memory_wait_reclaimed (memory);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
  g_atomic_int_set (&n_calls, 0);
}

/* Readers racing removals: every read output is whole (the bytes written)
 * or absent, never cut short; every call returns the right value. */
typedef struct
{
  JobMemorizedFunction *cached;
  const char           *function_dir;
  GBytes               *output;      /* what x = 1's output file holds */
  char                 *hex;         /* x = 1's entry folder */
  gint                  stop;        /* (atomic) */
  gint                  whole_reads; /* (atomic) */
} Race;

static gpointer
read_until_stopped (gpointer data)
{
  Race *race = data;
  g_autofree char *output = g_build_filename (race->function_dir, race->hex, "output", NULL);

  for (int i = 0; !g_atomic_int_get (&race->stop); i++)
    {
      g_autofree char *contents = NULL;
      gsize length = 0;
      g_autoptr(GError) error = NULL;

      if (g_file_get_contents (output, &contents, &length, &error))
        {
          g_assert_cmpmem (contents, length, g_bytes_get_data (race->output, NULL),
                           g_bytes_get_size (race->output));
          g_atomic_int_inc (&race->whole_reads);
        }
      else
        g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
      call_or_die (race->cached, i % 7);
    }
  return NULL;
}

static void
test_readers_racing_removals (void)
{
  g_autofree char *dir = g_dir_make_tmp ("joblib-reclaim-XXXXXX", NULL);
  g_autofree char *function_dir = g_build_filename (dir, "joblib-glib", "triple", NULL);
  g_autoptr(JobMemory) memory = job_memory_new_for_path (dir);
  g_autoptr(JobFunction) function = job_function_new ("triple", triple, NULL, NULL);
  g_autoptr(JobMemorizedFunction) cached = job_memory_cache (memory, function, NULL);
  g_autofree char *hash = job_memorized_function_get_args_hash (cached, g_variant_new ("(i)", 1));
  g_autofree char *output = NULL;
  g_autofree char *contents = NULL;
  gsize length;
  Race race = { cached, function_dir, NULL, NULL, 0, 0 };
  GThread *readers[2];

  call_or_die (cached, 1);
  race.hex = g_strdup (strchr (hash, ':') + 1);
  output = g_build_filename (function_dir, race.hex, "output", NULL);
  g_assert_true (g_file_get_contents (output, &contents, &length, NULL));
  race.output = g_bytes_new_take (g_steal_pointer (&contents), length);

  for (guint i = 0; i < G_N_ELEMENTS (readers); i++)
    readers[i] = g_thread_new ("reader", read_until_stopped, &race);
  for (int round = 0; round < 16; round++)
    {
      g_autoptr(GError) error = NULL;

      for (int x = 0; x < 7; x++)
        call_or_die (cached, x);
      if (round % 2)
        g_assert_true (job_memory_reduce_size (memory, 0, 1, 0, NULL, &error));
      else
        g_assert_true (job_memory_clear (memory, &error));
      g_assert_no_error (error);
    }
  /* and once more while every entry is there, so that reads can succeed */
  call_or_die (cached, 1);
  while (g_atomic_int_get (&race.whole_reads) == 0)
    g_thread_yield ();
  g_atomic_int_set (&race.stop, 1);
  for (guint i = 0; i < G_N_ELEMENTS (readers); i++)
    g_thread_join (readers[i]);

  g_assert_true (job_memory_clear (memory, NULL));
  job_memory_wait_reclaimed (memory);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
  g_bytes_unref (race.output);
  g_free (race.hex);
  g_atomic_int_set (&n_calls, 0);
}

/* A second Memory opened on the same folder while the first one's clear
 * is still freeing files: it finds no trash, and works. */
static void
test_second_memory_same_folder (void)
{
  g_autofree char *dir = g_dir_make_tmp ("joblib-reclaim-XXXXXX", NULL);
  g_autoptr(JobMemory) first = job_memory_new_for_path (dir);
  g_autoptr(JobMemory) second = NULL;
  g_autoptr(JobFunction) function = job_function_new ("triple", triple, NULL, NULL);
  g_autoptr(JobMemorizedFunction) cached = job_memory_cache (first, function, NULL);
  g_autoptr(JobMemorizedFunction) cached_second = NULL;
  g_autoptr(GError) error = NULL;

  for (int i = 0; i < 50; i++)
    call_or_die (cached, i);
  g_assert_true (job_memory_clear (first, &error));
  g_assert_no_error (error);

  second = job_memory_new_for_path (dir);
  g_assert_cmpuint (count_prefixed (dir, ".joblib-glib-trash-"), ==, 0);
  cached_second = job_memory_cache (second, function, NULL);
  g_assert_false (in_cache (cached_second, 3));
  call_or_die (cached_second, 3);
  g_assert_true (in_cache (cached, 3));

  g_assert_true (job_memory_clear (second, &error));
  job_memory_wait_reclaimed (second);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
  g_atomic_int_set (&n_calls, 0);
}

/* A process that clears and exits without waiting leaves nothing: the
 * exit waits for the background removal. */
static void
test_exit_frees (void)
{
  static char *dir;

  if (g_test_subprocess ())
    {
      g_autoptr(JobMemory) memory = job_memory_new_for_path (g_getenv ("RECLAIM_DIR"));
      g_autoptr(JobFunction) function = job_function_new ("triple", triple, NULL, NULL);
      g_autoptr(JobMemorizedFunction) cached = job_memory_cache (memory, function, NULL);

      for (int i = 0; i < 50; i++)
        call_or_die (cached, i);
      g_assert_true (job_memory_reduce_size (memory, 0, 20, 0, NULL, NULL));
      g_assert_true (job_memory_clear (memory, NULL));
      return;  /* no wait_reclaimed */
    }

  dir = g_dir_make_tmp ("joblib-reclaim-XXXXXX", NULL);
  g_setenv ("RECLAIM_DIR", dir, TRUE);
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
  g_assert_cmpuint (count_prefixed (dir, ""), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
  g_clear_pointer (&dir, g_free);
}

/* A miss's key lock is held on the `.locks` file at the path, also when
 * the fd comes from an earlier miss and the file was replaced meanwhile
 * (another process's clear): checked from inside the computation with a
 * fresh open file description. */
static char *probe_locks;     /* the function's .locks path */
static off_t probe_offset;    /* the key's byte */
static gint probe_locked;     /* (atomic) */

static GVariant *
probing_triple (GVariant      *args,
                GCancellable  *cancellable,
                gpointer       user_data,
                GError       **error)
{
  int fd = g_open (probe_locks, O_RDWR | O_CLOEXEC, 0);
  struct flock range = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
                         .l_start = probe_offset, .l_len = 1 };

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (fcntl (fd, F_OFD_GETLK, &range), ==, 0);
  g_atomic_int_set (&probe_locked, range.l_type == F_WRLCK);
  close (fd);
  return triple (args, cancellable, user_data, error);
}

static void
call_probed (JobMemorizedFunction *cached,
             int                   x)
{
  g_autofree char *hash = job_memorized_function_get_args_hash (cached, g_variant_new ("(i)", x));

  probe_offset = (off_t) (g_ascii_strtoull (hash + strlen (hash) - 16, NULL, 16) &
                          G_GUINT64_CONSTANT (0x3fffffffffffffff));
  g_atomic_int_set (&probe_locked, -1);
  call_or_die (cached, x);
  g_assert_cmpint (g_atomic_int_get (&probe_locked), ==, 1);
}

static void
test_lock_on_current_file (void)
{
  g_autofree char *dir = g_dir_make_tmp ("joblib-reclaim-XXXXXX", NULL);
  g_autofree char *moved = g_build_filename (dir, "joblib-glib", "probing", ".locks-moved", NULL);
  g_autoptr(JobMemory) memory = job_memory_new_for_path (dir);
  g_autoptr(JobFunction) function = job_function_new ("probing", probing_triple, NULL, NULL);
  g_autoptr(JobMemorizedFunction) cached = job_memory_cache (memory, function, NULL);

  probe_locks = g_build_filename (dir, "joblib-glib", "probing", ".locks", NULL);
  call_probed (cached, 1);  /* a fresh .locks */
  call_probed (cached, 2);  /* its fd, kept */
  /* replaced behind our back: the kept fd's file is no longer the one */
  g_assert_cmpint (g_rename (probe_locks, moved), ==, 0);
  call_probed (cached, 3);
  g_assert_cmpint (g_unlink (moved), ==, 0);
  g_assert_true (job_memory_clear (memory, NULL));
  call_probed (cached, 4);  /* after a clear */

  g_assert_true (job_memory_clear (memory, NULL));
  job_memory_wait_reclaimed (memory);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
  g_clear_pointer (&probe_locks, g_free);
  g_atomic_int_set (&n_calls, 0);
}

static void
test_wait_reclaimed_bad_input (void)
{
  if (g_test_subprocess ())
    {
      job_memory_wait_reclaimed (NULL);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*job_memory_wait_reclaimed*");
}

/* Counts the regular files and links under @dir, hidden ones included. */
static guint
count_files (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  guint n = 0;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
        n += count_files (path);
      else
        n++;
    }
  return n;
}

/* wait_reclaimed covers the removals of its own location, whichever
 * Memory on it (and whichever spelling of the path) made them: after it,
 * nothing of the removed entries is left there, an entry folder holding
 * an unexpected file included, and a planted link is removed, never
 * followed. */
static void
test_wait_per_location (void)
{
  g_autofree char *dir = g_dir_make_tmp ("joblib-reclaim-XXXXXX", NULL);
  g_autofree char *a = g_build_filename (dir, "a", NULL);
  g_autofree char *b = g_build_filename (dir, "b", NULL);
  g_autofree char *a_spelled = g_strconcat (dir, "/./a/", NULL);
  g_autofree char *outside = g_build_filename (dir, "outside", NULL);
  g_autofree char *outside_output = g_build_filename (outside, "output", NULL);
  g_autofree char *function_dir = NULL;
  g_autofree char *extra = NULL;
  g_autofree char *link = NULL;
  g_autoptr(JobMemory) memory_a = job_memory_new_for_path (a);
  g_autoptr(JobMemory) memory_a_spelled = job_memory_new_for_path (a_spelled);
  g_autoptr(JobMemory) memory_b = job_memory_new_for_path (b);
  g_autoptr(JobFunction) function = job_function_new ("triple", triple, NULL, NULL);
  g_autoptr(JobMemorizedFunction) cached_a = job_memory_cache (memory_a, function, NULL);
  g_autoptr(JobMemorizedFunction) cached_b = job_memory_cache (memory_b, function, NULL);
  g_autoptr(GError) error = NULL;
  guint removed = 0;

  for (int i = 0; i < 100; i++)
    {
      call_or_die (cached_a, i);
      call_or_die (cached_b, i);
    }
  function_dir = g_build_filename (a, "joblib-glib", "triple", NULL);
  g_assert_cmpuint (count_entries (function_dir), ==, 100);

  /* an entry folder with one more file, and a link planted as an entry */
  {
    g_autoptr(GDir) d = g_dir_open (function_dir, 0, NULL);
    const char *name;

    while ((name = g_dir_read_name (d)) != NULL && extra == NULL)
      if (strlen (name) == 32)
        extra = g_build_filename (function_dir, name, "unexpected", NULL);
  }
  g_assert_true (g_file_set_contents (extra, "x", 1, NULL));
  g_assert_cmpint (g_mkdir (outside, 0700), ==, 0);
  g_assert_true (g_file_set_contents (outside_output, "keep", 4, NULL));
  link = g_build_filename (function_dir, "0123456789abcdef0123456789abcdef", NULL);
  g_assert_cmpint (symlink (outside, link), ==, 0);

  /* B: the batched clear of one function; A: reduce_size, then clear */
  g_assert_true (job_memorized_function_clear (cached_b, &error));
  g_assert_no_error (error);
  g_assert_true (job_memory_reduce_size (memory_a, 0, 30, 0, &removed, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (removed, ==, 70);  /* the link is no entry */

  job_memory_wait_reclaimed (memory_a_spelled);
  g_assert_cmpuint (count_prefixed (function_dir, ".trash-"), ==, 0);
  g_assert_cmpuint (count_entries (function_dir), ==, 31);  /* and the link */
  job_memory_wait_reclaimed (memory_b);
  {
    g_autofree char *b_function = g_build_filename (b, "joblib-glib", "triple", NULL);

    g_assert_cmpuint (count_entries (b_function), ==, 0);
    g_assert_cmpuint (count_prefixed (b_function, ".trash-"), ==, 0);
  }

  g_assert_true (job_memory_clear (memory_a, &error));
  g_assert_no_error (error);
  job_memory_wait_reclaimed (memory_a_spelled);
  g_assert_cmpuint (count_files (a), ==, 0);
  g_assert_true (g_file_test (outside_output, G_FILE_TEST_IS_REGULAR));

  g_assert_true (job_memory_clear (memory_b, &error));
  job_memory_wait_reclaimed (memory_b);
  g_assert_cmpuint (count_files (b), ==, 0);
  g_assert_cmpint (g_remove (outside_output), ==, 0);
  g_assert_cmpint (g_rmdir (outside), ==, 0);
  g_assert_cmpint (g_rmdir (a), ==, 0);
  g_assert_cmpint (g_rmdir (b), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* With few descriptors to spare, the folders past the budget are removed
 * the plain way: the files are gone all the same. */
static void
test_few_descriptors (void)
{
  if (g_test_subprocess ())
    {
      g_autofree char *dir = g_dir_make_tmp ("joblib-reclaim-XXXXXX", NULL);
      g_autoptr(JobMemory) memory = NULL;
      g_autoptr(JobFunction) function = job_function_new ("triple", triple, NULL, NULL);
      g_autoptr(JobMemorizedFunction) cached = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *function_dir = g_build_filename (dir, "joblib-glib", "triple", NULL);
      struct rlimit limit;
      guint removed = 0;

      /* before the first removal, which reads the limit once */
      g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &limit), ==, 0);
      limit.rlim_cur = MIN (limit.rlim_max, 64);
      g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &limit), ==, 0);

      memory = job_memory_new_for_path (dir);
      cached = job_memory_cache (memory, function, NULL);
      for (int i = 0; i < 120; i++)
        call_or_die (cached, i);
      g_assert_true (job_memory_reduce_size (memory, 0, 20, 0, &removed, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (removed, ==, 100);
      job_memory_wait_reclaimed (memory);
      g_assert_cmpuint (count_prefixed (function_dir, ".trash-"), ==, 0);
      g_assert_cmpuint (count_entries (function_dir), ==, 20);
      g_assert_true (job_memory_clear (memory, &error));
      g_assert_no_error (error);
      job_memory_wait_reclaimed (memory);
      g_assert_cmpuint (count_files (dir), ==, 0);
      g_assert_cmpint (g_rmdir (dir), ==, 0);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/joblib/memory-reclaim/clear", test_clear_hides_then_frees);
  g_test_add_func ("/joblib/memory-reclaim/reduce-size", test_reduce_size_hides_then_frees);
  g_test_add_func ("/joblib/memory-reclaim/readers-racing", test_readers_racing_removals);
  g_test_add_func ("/joblib/memory-reclaim/second-memory", test_second_memory_same_folder);
  g_test_add_func ("/joblib/memory-reclaim/exit-frees", test_exit_frees);
  g_test_add_func ("/joblib/memory-reclaim/lock-on-current-file", test_lock_on_current_file);
  g_test_add_func ("/joblib/memory-reclaim/per-location", test_wait_per_location);
  g_test_add_func ("/joblib/memory-reclaim/few-descriptors", test_few_descriptors);
  g_test_add_func ("/joblib/memory-reclaim/bad-input", test_wait_reclaimed_bad_input);

  return g_test_run ();
}
