/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pool of large array buffers: loads reuse freed buffers, the cap in
 * bytes holds, idle buffers go back to the system, checksums still
 * apply to a reused buffer, and threads never share one. */
#include <errno.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "persist-tests.h"
#include "job-buffer-pool-private.h"

#define MIB ((gsize) 1024 * 1024)

/* Whether the page at @address is mapped in this process: mincore()
 * fails with ENOMEM on an unmapped range. */
static gboolean
is_mapped (gconstpointer address)
{
  unsigned char vec;
  gsize page = (gsize) sysconf (_SC_PAGESIZE);
  void *start = (void *) ((guintptr) address & ~(guintptr) (page - 1));

  if (mincore (start, page, &vec) == 0)
    return TRUE;
  g_assert_cmpint (errno, ==, ENOMEM);
  return FALSE;
}

static JobBufferPoolStats
stats (void)
{
  JobBufferPoolStats s;

  job_buffer_pool_get_stats (&s);
  return s;
}

/* Every test starts from an empty pool with a long idle time, so that
 * nothing is released behind its back. */
static void
reset (gsize max_bytes)
{
  job_buffer_pool_configure (max_bytes, 600 * G_USEC_PER_SEC);
  job_buffer_pool_trim ();
  g_assert_cmpuint (stats ().pooled_count, ==, 0);
  g_assert_cmpuint (stats ().pooled_bytes, ==, 0);
}

static void
test_reuse (void)
{
  JobPooledBuffer *a = NULL, *b = NULL, *c = NULL;
  JobBufferPoolStats before;
  guint8 *data, *again, *other;

  reset (64 * MIB);
  before = stats ();
  data = job_buffer_pool_acquire (6 * MIB, &a);
  g_assert_nonnull (data);
  g_assert_cmpuint ((guintptr) data % (2 * MIB), ==, 0);
  memset (data, 0xa5, 6 * MIB);
  g_assert_cmpuint (stats ().mapped, ==, before.mapped + 1);
  job_buffer_pool_release (a);
  g_assert_cmpuint (stats ().pooled_count, ==, 1);
  g_assert_cmpuint (stats ().pooled_bytes, ==, 6 * MIB);
  g_assert_true (is_mapped (data));

  /* a little smaller fits the same buffer, pages and bytes in place */
  again = job_buffer_pool_acquire (6 * MIB - 4000, &b);
  g_assert_true (again == data);
  g_assert_cmpuint (again[6 * MIB - 4001], ==, 0xa5);
  g_assert_cmpuint (stats ().reused, ==, before.reused + 1);
  g_assert_cmpuint (stats ().mapped, ==, before.mapped + 1);
  g_assert_cmpuint (stats ().pooled_count, ==, 0);
  job_buffer_pool_release (b);

  /* a buffer more than an eighth larger than asked for is not given */
  other = job_buffer_pool_acquire (5 * MIB, &c);
  g_assert_true (other != data);
  g_assert_cmpuint (stats ().reused, ==, before.reused + 1);
  g_assert_cmpuint (stats ().mapped, ==, before.mapped + 2);
  g_assert_cmpuint (stats ().pooled_count, ==, 1);
  job_buffer_pool_release (c);
  g_assert_cmpuint (stats ().pooled_bytes, ==, 11 * MIB);

  job_buffer_pool_trim ();
  g_assert_false (is_mapped (data));
  g_assert_false (is_mapped (other));
  g_assert_cmpuint (stats ().pooled_bytes, ==, 0);
}

static void
test_cap (void)
{
  JobPooledBuffer *buffers[4];
  guint8 *data[4];
  JobBufferPoolStats before;

  reset (10 * MIB);
  before = stats ();
  for (guint i = 0; i < 3; i++)
    data[i] = job_buffer_pool_acquire (4 * MIB, &buffers[i]);
  for (guint i = 0; i < 3; i++)
    {
      job_buffer_pool_release (buffers[i]);
      g_assert_cmpuint (stats ().pooled_bytes, <=, 10 * MIB);
    }
  /* the oldest made room for the newest */
  g_assert_cmpuint (stats ().pooled_count, ==, 2);
  g_assert_cmpuint (stats ().unmapped, ==, before.unmapped + 1);
  g_assert_false (is_mapped (data[0]));
  g_assert_true (is_mapped (data[1]) && is_mapped (data[2]));

  /* one buffer past the cap is never kept */
  data[3] = job_buffer_pool_acquire (12 * MIB, &buffers[3]);
  job_buffer_pool_release (buffers[3]);
  g_assert_false (is_mapped (data[3]));
  g_assert_cmpuint (stats ().pooled_count, ==, 2);

  /* a lower cap gives back what passes it at once; 0 turns the pool off */
  job_buffer_pool_configure (4 * MIB, 600 * G_USEC_PER_SEC);
  g_assert_cmpuint (stats ().pooled_count, ==, 1);
  g_assert_false (is_mapped (data[1]));
  g_assert_true (is_mapped (data[2]));
  job_buffer_pool_configure (0, 600 * G_USEC_PER_SEC);
  g_assert_cmpuint (stats ().pooled_bytes, ==, 0);
  g_assert_false (is_mapped (data[2]));
  data[0] = job_buffer_pool_acquire (4 * MIB, &buffers[0]);
  job_buffer_pool_release (buffers[0]);
  g_assert_false (is_mapped (data[0]));
  g_assert_cmpuint (stats ().pooled_count, ==, 0);
}

static void
test_idle_release (void)
{
  JobPooledBuffer *buffer = NULL;
  JobBufferPoolStats before;
  guint8 *data;
  gint64 give_up;

  reset (64 * MIB);
  before = stats ();
  data = job_buffer_pool_acquire (4 * MIB, &buffer);
  job_buffer_pool_release (buffer);
  g_assert_true (stats ().reaper_running);
  g_assert_true (is_mapped (data));

  /* the pool's thread gives the buffer back once it has been idle, then
   * ends; the bound only keeps a broken pool from hanging the test */
  job_buffer_pool_configure (64 * MIB, 20 * 1000);
  give_up = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while ((stats ().pooled_count > 0 || stats ().reaper_running) &&
         g_get_monotonic_time () < give_up)
    g_usleep (5 * 1000);
  g_assert_cmpuint (stats ().pooled_count, ==, 0);
  g_assert_false (stats ().reaper_running);
  g_assert_cmpuint (stats ().unmapped, ==, before.unmapped + 1);
  g_assert_false (is_mapped (data));
}

/* Through job_dump()/job_load(): the second load reads into the first
 * one's buffer, and a corrupt array still fails its checksum there. */
static void
test_load_reuses (void)
{
  g_autoptr(GFile) file = tmp_file ("array.job");
  g_autoptr(GVariant) value = g_variant_ref_sink (noise_bytes (6 * MIB, 7, 3));
  g_autoptr(GVariant) loaded = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  JobBufferPoolStats before;
  gconstpointer first, data;
  guint8 *copy;
  gsize size;

  reset (64 * MIB);
  g_assert_true (job_dump (value, file, JOB_COMPRESSION_NONE, 0, NULL, &error));
  g_assert_no_error (error);
  loaded = job_load (file, JOB_LOAD_NONE, 0, NULL, &error);
  g_assert_no_error (error);
  assert_same (loaded, value);
  first = g_variant_get_data (loaded);
  g_clear_pointer (&loaded, g_variant_unref);
  g_assert_cmpuint (stats ().pooled_count, ==, 1);

  before = stats ();
  loaded = job_load (file, JOB_LOAD_NONE, 0, NULL, &error);
  g_assert_no_error (error);
  assert_same (loaded, value);
  g_assert_true (g_variant_get_data (loaded) == first);
  g_assert_cmpuint (stats ().reused, ==, before.reused + 1);
  g_assert_cmpuint (stats ().mapped, ==, before.mapped);
  g_clear_pointer (&loaded, g_variant_unref);

  /* one bit flipped in the middle of the array: the reused buffer holds
   * the right bytes everywhere else, and the load still fails */
  bytes = file_bytes (file);
  data = g_bytes_get_data (bytes, &size);
  copy = g_memdup2 (data, size);
  copy[size / 2] ^= 0x10;
  g_clear_pointer (&bytes, g_bytes_unref);
  bytes = g_bytes_new_take (copy, size);
  before = stats ();
  expect_error (file, bytes, JOB_ERROR_INVALID_DATA, 0);
  g_assert_cmpuint (stats ().reused, >, before.reused);
  /* the failed load handed its buffer back */
  g_assert_cmpuint (stats ().pooled_count, ==, 1);
  job_buffer_pool_trim ();
  g_assert_false (is_mapped (first));
}

typedef struct
{
  guint  id;
  guint  rounds;
} Worker;

static gpointer
churn (gpointer user_data)
{
  Worker *worker = user_data;
  gsize page = (gsize) sysconf (_SC_PAGESIZE);

  for (guint r = 0; r < worker->rounds; r++)
    {
      JobPooledBuffer *buffer = NULL;
      gsize size = 4 * MIB + (r % 3) * page;
      guint8 *data = job_buffer_pool_acquire (size, &buffer);
      guint8 mark = (guint8) (worker->id * 64 + r % 64);

      g_assert_nonnull (data);
      data[0] = mark;
      data[size - 1] = mark;
      g_thread_yield ();
      /* no other thread got this buffer meanwhile */
      g_assert_cmpuint (data[0], ==, mark);
      g_assert_cmpuint (data[size - 1], ==, mark);
      job_buffer_pool_release (buffer);
    }
  return NULL;
}

static void
test_threads (void)
{
  Worker workers[4];
  GThread *threads[4];
  JobBufferPoolStats before, after;

  reset (24 * MIB);
  before = stats ();
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    {
      workers[i].id = i;
      workers[i].rounds = 200;
      threads[i] = g_thread_new ("churn", churn, &workers[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);
  after = stats ();
  /* every acquisition was served one way or the other, and whatever was
   * mapped is either pooled or was given back */
  g_assert_cmpuint ((after.reused - before.reused) + (after.mapped - before.mapped), ==, 4 * 200);
  g_assert_cmpuint (after.mapped - before.mapped, ==,
                    (after.unmapped - before.unmapped) + after.pooled_count);
  g_assert_cmpuint (after.pooled_bytes, <=, 24 * MIB);
  g_assert_cmpuint (after.reused - before.reused, >, 0);
  job_buffer_pool_trim ();
}

/* A child forked while the pool's thread runs has no such thread: what
 * it pools must still be unmapped once idle. */
static void
test_fork (void)
{
  JobPooledBuffer *buffer = NULL;
  int status;
  pid_t pid;

  if (g_getenv ("JOB_TEST_UNDER_VALGRIND") != NULL)
    {
      /* the child runs GLib code after fork(), which memcheck's
       * --child-silent-after-fork setup is not meant for */
      g_test_skip ("forks a child that runs GLib code");
      return;
    }
#ifdef __SANITIZE_THREAD__
  /* ThreadSanitizer stops a forked child of a threaded process that
   * starts a thread, which is what this child must do */
  g_test_skip ("ThreadSanitizer refuses threads after fork()");
  return;
#endif
  reset (64 * MIB);
  job_buffer_pool_acquire (4 * MIB, &buffer);
  job_buffer_pool_release (buffer);
  g_assert_true (stats ().reaper_running);

  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      JobPooledBuffer *mine = NULL;
      guint8 *data;
      gint64 give_up = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

      job_buffer_pool_configure (64 * MIB, 20 * 1000);
      data = job_buffer_pool_acquire (5 * MIB, &mine);
      job_buffer_pool_release (mine);
      while (stats ().pooled_count > 0 && g_get_monotonic_time () < give_up)
        g_usleep (5 * 1000);
      _exit (stats ().pooled_count == 0 && !is_mapped (data) ? 0 : 1);
    }
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  /* the parent's pool is as it was */
  g_assert_cmpuint (stats ().pooled_count, ==, 1);
  job_buffer_pool_trim ();
}

/* Run by test_environment() in a child, where the pool reads
 * JOB_BUFFER_POOL_MAX_BYTES at its first use. */
static void
test_environment_child (void)
{
  JobPooledBuffer *buffer = NULL;
  guint8 *small, *large;

  if (!g_test_subprocess ())
    return;
  small = job_buffer_pool_acquire (4 * MIB, &buffer);
  job_buffer_pool_release (buffer);
  large = job_buffer_pool_acquire (6 * MIB, &buffer);
  job_buffer_pool_release (buffer);
  /* 6 MiB is past a cap of 5 000 000 bytes; with 0 nothing is kept */
  g_assert_false (is_mapped (large));
  if (g_str_equal (g_getenv ("JOB_BUFFER_POOL_MAX_BYTES"), "0"))
    {
      g_assert_false (is_mapped (small));
      g_assert_cmpuint (stats ().pooled_bytes, ==, 0);
    }
  else
    {
      g_assert_true (is_mapped (small));
      g_assert_cmpuint (stats ().pooled_bytes, ==, 4 * MIB);
    }
  g_print ("pooled %" G_GSIZE_FORMAT "\n", stats ().pooled_bytes);
}

static void
test_environment (void)
{
  g_setenv ("JOB_BUFFER_POOL_MAX_BYTES", "5000000", TRUE);
  g_test_trap_subprocess ("/joblib/buffer-pool/environment-child", 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stdout ("*pooled 4194304*");

  g_setenv ("JOB_BUFFER_POOL_MAX_BYTES", "0", TRUE);
  g_test_trap_subprocess ("/joblib/buffer-pool/environment-child", 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stdout ("*pooled 0*");

  /* not a number: a warning that names it (fatal in a test) */
  g_setenv ("JOB_BUFFER_POOL_MAX_BYTES", "lots", TRUE);
  g_test_trap_subprocess ("/joblib/buffer-pool/environment-child", 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*JOB_BUFFER_POOL_MAX_BYTES=lots is not a number of bytes*");
  g_unsetenv ("JOB_BUFFER_POOL_MAX_BYTES");
}

static void
test_bad_input (void)
{
  if (g_test_subprocess ())
    {
      JobPooledBuffer *buffer = NULL;

      g_assert_null (job_buffer_pool_acquire (4096, &buffer));
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*size >= JOB_BUFFER_POOL_MIN_SIZE*");
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("test-buffer-pool-XXXXXX", NULL);
  g_assert_nonnull (tmp_dir);
  g_test_add_func ("/joblib/buffer-pool/reuse", test_reuse);
  g_test_add_func ("/joblib/buffer-pool/cap", test_cap);
  g_test_add_func ("/joblib/buffer-pool/idle-release", test_idle_release);
  g_test_add_func ("/joblib/buffer-pool/load-reuses", test_load_reuses);
  g_test_add_func ("/joblib/buffer-pool/threads", test_threads);
  g_test_add_func ("/joblib/buffer-pool/fork", test_fork);
  g_test_add_func ("/joblib/buffer-pool/environment", test_environment);
  g_test_add_func ("/joblib/buffer-pool/environment-child", test_environment_child);
  g_test_add_func ("/joblib/buffer-pool/bad-input", test_bad_input);
  status = g_test_run ();
  {
    g_autofree char *path = g_build_filename (tmp_dir, "array.job", NULL);

    g_unlink (path);
    g_rmdir (tmp_dir);
  }
  g_free (tmp_dir);
  return status;
}
