/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Shared-memory files of large arguments, reused while a run lasts: the
 * parent's pool (job-shm-pool.c), the worker's maps (job-shm-mappings.c),
 * and runs through the process backend whose arguments go over the same
 * files. */

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "job-error.h"
#include "job-shm-mappings-private.h"
#include "job-shm-pool-private.h"
#include "job-shm-private.h"
#include "process-tests.h"

/* A new folder in /dev/shm, or NULL (the test is skipped) where that is
 * not a memory-backed folder. */
static char *
memory_folder (void)
{
  char *folder;

  if (!job_shm_folder_is_memory ("/dev/shm"))
    {
      g_test_skip ("/dev/shm is not a tmpfs here");
      return NULL;
    }
  folder = g_strdup ("/dev/shm/joblib-shm-reuse-XXXXXX");
  g_assert_nonnull (g_mkdtemp (folder));
  return folder;
}

static GVariant *
bytes_value (gsize  size,
             guint8 seed)
{
  guint8 *data = g_malloc (size);

  for (gsize j = 0; j < size; j++)
    data[j] = (guint8) (j * 3 + seed);
  return g_variant_ref_sink (g_variant_new_from_data (G_VARIANT_TYPE_BYTESTRING, data, size,
                                                      TRUE, g_free, data));
}

static void
assert_file_holds (const char *path,
                   GVariant   *value)
{
  g_autofree char *contents = NULL;
  gsize length;

  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  g_assert_cmpmem (contents, length, g_variant_get_data (value), g_variant_get_size (value));
}

/* Runs the current thread's default context until @folder has no file. */
static void
wait_until_empty (const char *folder)
{
  for (int i = 0; i < 2000 && count_files (folder) > 0; i++)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (5000);
    }
  g_assert_cmpuint (count_files (folder), ==, 0);
}

/* A file whose call was answered carries the next argument (resized to
 * it); once none is in use, the free files go. */
static void
test_pool_reuse (void)
{
  g_autofree char *folder = memory_folder ();
  g_autoptr(JobShmPool) pool = NULL;
  g_autoptr(GVariant) a = bytes_value (100000, 1);
  g_autoptr(GVariant) b = bytes_value (70000, 2);
  g_autoptr(GVariant) c = bytes_value (90000, 3);
  g_autoptr(GVariant) d = bytes_value (120000, 4);
  g_autoptr(GError) error = NULL;
  JobShmFile *fa, *fb, *fc, *fd;
  g_autofree char *path_a = NULL;

  if (folder == NULL)
    return;
  pool = job_shm_pool_new ();

  fa = job_shm_pool_write (pool, folder, a, &error);
  g_assert_no_error (error);
  fb = job_shm_pool_write (pool, folder, b, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (fa->path, !=, fb->path);
  assert_file_holds (fa->path, a);
  assert_file_holds (fb->path, b);
  path_a = g_strdup (fa->path);

  /* a's call was answered: c goes over a's file (the larger free one),
   * truncated to c's size */
  job_shm_pool_release (pool, fa, TRUE);
  g_assert_cmpuint (job_shm_pool_count_free (pool), ==, 1);
  fc = job_shm_pool_write (pool, folder, c, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (fc->path, ==, path_a);
  assert_file_holds (fc->path, c);
  g_assert_cmpuint (job_shm_pool_count_free (pool), ==, 0);

  /* a file whose worker was lost is removed, not reused */
  job_shm_pool_release (pool, fb, FALSE);
  g_assert_cmpuint (count_files (folder), ==, 1);

  /* grown: d goes over c's file */
  job_shm_pool_release (pool, fc, TRUE);
  g_assert_cmpuint (count_files (folder), ==, 1);
  fd = job_shm_pool_write (pool, folder, d, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (fd->path, ==, path_a);
  assert_file_holds (fd->path, d);

  /* none in use: the free file goes soon after */
  job_shm_pool_release (pool, fd, TRUE);
  wait_until_empty (folder);
  g_assert_cmpuint (job_shm_pool_count_free (pool), ==, 0);
  g_assert_cmpint (g_rmdir (folder), ==, 0);
}

/* Free files go with the pool. */
static void
test_pool_unref (void)
{
  g_autofree char *folder = memory_folder ();
  g_autoptr(GVariant) a = bytes_value (5000, 1);
  g_autoptr(GVariant) b = bytes_value (5000, 2);
  g_autoptr(GError) error = NULL;
  JobShmPool *pool;
  JobShmFile *fa, *fb;

  if (folder == NULL)
    return;
  pool = job_shm_pool_new ();
  fa = job_shm_pool_write (pool, folder, a, &error);
  fb = job_shm_pool_write (pool, folder, b, &error);
  g_assert_no_error (error);
  job_shm_pool_release (pool, fa, TRUE);
  g_assert_cmpuint (count_files (folder), ==, 2);
  job_shm_pool_release (pool, fb, TRUE);
  g_assert_cmpuint (job_shm_pool_count_free (pool), ==, 2);
  job_shm_pool_unref (pool);
  g_assert_cmpuint (count_files (folder), ==, 0);
  g_assert_cmpint (g_rmdir (folder), ==, 0);
}

/* Files of a folder that is not memory-backed (remote workers may read
 * it through a network file system) are written once and removed when
 * their call ends; a folder that cannot be written is a GError. */
static void
test_pool_disk_folder (void)
{
  g_autofree char *folder = g_dir_make_tmp ("joblib-shm-disk-XXXXXX", NULL);
  g_autofree char *missing = NULL;
  g_autoptr(JobShmPool) pool = job_shm_pool_new ();
  g_autoptr(GVariant) a = bytes_value (5000, 1);
  g_autoptr(GVariant) b = bytes_value (5000, 2);
  g_autoptr(GError) error = NULL;
  JobShmFile *fa, *fb;

  g_assert_nonnull (folder);
  if (job_shm_folder_is_memory (folder))
    {
      g_test_skip ("the temporary folder is a tmpfs here");
      g_rmdir (folder);
      return;
    }
  fa = job_shm_pool_write (pool, folder, a, &error);
  g_assert_no_error (error);
  fb = job_shm_pool_write (pool, folder, b, &error);
  g_assert_no_error (error);
  assert_file_holds (fa->path, a);
  job_shm_pool_release (pool, fa, TRUE);
  g_assert_cmpuint (job_shm_pool_count_free (pool), ==, 0);
  g_assert_cmpuint (count_files (folder), ==, 1);
  job_shm_pool_release (pool, fb, TRUE);
  g_assert_cmpuint (count_files (folder), ==, 0);
  g_assert_cmpint (g_rmdir (folder), ==, 0);

  missing = g_build_filename (folder, "gone", NULL);
  g_assert_null (job_shm_pool_write (pool, missing, a, &error));
  g_assert_error (error, JOB_ERROR, JOB_ERROR_FAILED);
}

/* The worker's map of a file stays for its next use, sees what the
 * parent wrote over it, and goes once the file is removed; bad files
 * are errors. */
static void
test_mappings (void)
{
  g_autofree char *folder = memory_folder ();
  g_autoptr(JobShmPool) pool = NULL;
  g_autoptr(GVariant) a = bytes_value (50000, 1);
  g_autoptr(GVariant) b = bytes_value (50000, 2);
  g_autoptr(GVariant) c = bytes_value (30000, 3);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) first = NULL;
  g_autoptr(GBytes) second = NULL;
  g_autoptr(GBytes) third = NULL;
  g_autoptr(GBytes) empty = NULL;
  g_autofree char *empty_path = NULL;
  JobShmMappings *mappings;
  JobShmFile *file;
  const guint8 *first_data;

  if (folder == NULL)
    return;
  pool = job_shm_pool_new ();
  mappings = job_shm_mappings_new ();

  file = job_shm_pool_write (pool, folder, a, &error);
  g_assert_no_error (error);
  first = job_shm_mappings_get (mappings, file->path, 50000, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (first, NULL), g_bytes_get_size (first),
                   g_variant_get_data (a), 50000);
  first_data = g_bytes_get_data (first, NULL);
  g_clear_pointer (&first, g_bytes_unref);
  g_assert_cmpuint (job_shm_mappings_trim (mappings, G_USEC_PER_SEC), ==, 1);

  /* the parent writes b, then the smaller c, over the same file */
  g_assert_true (job_shm_write (file->fd, file->path, g_variant_get_data (b), 50000, &error));
  second = job_shm_mappings_get (mappings, file->path, 50000, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_get_data (second, NULL) == (gconstpointer) first_data);
  g_assert_cmpmem (g_bytes_get_data (second, NULL), g_bytes_get_size (second),
                   g_variant_get_data (b), 50000);
  g_assert_cmpint (ftruncate (file->fd, 30000), ==, 0);
  g_assert_true (job_shm_write (file->fd, file->path, g_variant_get_data (c), 30000, &error));
  third = job_shm_mappings_get (mappings, file->path, 30000, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (third, NULL), g_bytes_get_size (third),
                   g_variant_get_data (c), 30000);

  /* the wrong length, a missing file */
  g_assert_null (job_shm_mappings_get (mappings, file->path, 50000, &error));
  g_assert_error (error, JOB_ERROR, JOB_ERROR_PROTOCOL);
  g_clear_error (&error);
  empty_path = g_build_filename (folder, "missing", NULL);
  g_assert_null (job_shm_mappings_get (mappings, empty_path, 1, &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
  g_clear_error (&error);
  g_assert_true (g_file_set_contents (empty_path, "", 0, NULL));
  empty = job_shm_mappings_get (mappings, empty_path, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (empty), ==, 0);
  g_unlink (empty_path);

  /* in use: kept even when removed; once released and removed, dropped */
  job_shm_pool_release (pool, file, FALSE);
  g_assert_cmpuint (job_shm_mappings_trim (mappings, G_USEC_PER_SEC), ==, 1);
  g_assert_cmpmem (g_bytes_get_data (third, NULL), 30000, g_variant_get_data (c), 30000);
  g_clear_pointer (&second, g_bytes_unref);
  g_clear_pointer (&third, g_bytes_unref);
  g_assert_cmpuint (job_shm_mappings_trim (mappings, G_USEC_PER_SEC), ==, 0);

  job_shm_mappings_free (mappings);
  g_assert_cmpuint (count_files (folder), ==, 0);
  g_assert_cmpint (g_rmdir (folder), ==, 0);
}

static GVariant *
sized_bytes_arg (guint i)
{
  /* sizes going up and down: files are truncated and grown */
  gsize size = 1024 * 1024 + 4096 * ((i * 7) % 5) + i + 1;
  guint8 *data = g_malloc (size);

  for (gsize j = 0; j < size; j++)
    data[j] = (guint8) (j * 5 + i);
  return g_variant_new ("(@ay)", g_variant_new_from_data (G_VARIANT_TYPE_BYTESTRING, data,
                                                          size, TRUE, g_free, data));
}

static guint64
sized_sum (guint i)
{
  gsize size = 1024 * 1024 + 4096 * ((i * 7) % 5) + i + 1;
  guint64 sum = 0;

  for (gsize j = 0; j < size; j++)
    sum += (guint8) (j * 5 + i);
  return sum;
}

/* Runs whose large arguments go over the same files: every task reads
 * its own argument, in the folder; no file stays after the run. */
static void
test_backend_reuse (void)
{
  g_autofree char *folder = memory_folder ();
  g_autoptr(JobBackend) backend = NULL;
  g_autoptr(GError) error = NULL;

  if (folder == NULL)
    return;
  backend = new_backend ();
  job_process_backend_set_temp_folder (JOB_PROCESS_BACKEND (backend), folder);
  job_process_backend_set_max_nbytes (JOB_PROCESS_BACKEND (backend), 1024 * 1024);

  for (int round = 0; round < 2; round++)
    {
      g_autoptr(GPtrArray) calls = calls_of ("task_sum_bytes", 16, sized_bytes_arg);
      g_autoptr(GPtrArray) values = run_calls (backend, 2, calls, 1, 0, &error);

      g_assert_no_error (error);
      g_assert_cmpuint (values->len, ==, 16);
      for (guint i = 0; i < values->len; i++)
        {
          g_autoptr(GVariant) paths = NULL;
          const char *path;
          guint64 sum;

          g_variant_get (g_ptr_array_index (values, i), "(t@as)", &sum, &paths);
          g_assert_cmpuint (sum, ==, sized_sum (i));
          /* mapped from a file of the folder (the worker may keep the
           * maps of earlier tasks too) */
          g_assert_cmpuint (g_variant_n_children (paths), >=, 1);
          for (gsize k = 0; k < g_variant_n_children (paths); k++)
            {
              g_variant_get_child (paths, k, "&s", &path);
              g_assert_true (g_str_has_prefix (path, folder));
            }
        }
    }

  /* the pool's thread removes the free files soon after the run */
  for (int i = 0; i < 2000 && count_files (folder) > 0; i++)
    g_usleep (5000);
  g_assert_cmpuint (count_files (folder), ==, 0);

  job_backend_shutdown (backend);
  g_assert_cmpint (g_rmdir (folder), ==, 0);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/joblib/shm/pool-reuse", test_pool_reuse);
  g_test_add_func ("/joblib/shm/pool-unref", test_pool_unref);
  g_test_add_func ("/joblib/shm/pool-disk-folder", test_pool_disk_folder);
  g_test_add_func ("/joblib/shm/mappings", test_mappings);
  g_test_add_func ("/joblib/shm/backend-reuse", test_backend_reuse);

  return g_test_run ();
}
