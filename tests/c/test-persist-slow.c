/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A 1 GiB array through dump and load: raw + mapped, and zstd. */
#include <string.h>

#include <glib/gstdio.h>
#include <joblib-glib.h>

#define N_DOUBLES ((gsize) 128 * 1024 * 1024)  /* 1 GiB of float64 */

/* Mostly zeros, with a value every 4 KiB page: compressible, yet every
 * page differs, so a misplaced page would be noticed. */
static GVariant *
make_value (void)
{
  g_autoptr(GError) error = NULL;
  gdouble *data = g_malloc0 (N_DOUBLES * sizeof (gdouble));
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(JobArray) array = NULL;

  for (gsize i = 0; i < N_DOUBLES; i += 512)
    data[i] = i * 0.25;
  bytes = g_bytes_new_take (data, N_DOUBLES * sizeof (gdouble));
  array = job_array_new ("<f8", (gsize[]) { N_DOUBLES / 1024, 1024 }, 2, bytes, &error);
  g_assert_no_error (error);
  return job_array_to_variant (array);
}

static void
check_round_trip (JobCompression compression,
                  JobLoadFlags   flags,
                  guint64        max_size)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("job-slow-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "big.job", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GVariant) value = make_value ();
  g_autoptr(GVariant) loaded = NULL;
  g_autoptr(JobArray) before = NULL;
  g_autoptr(JobArray) after = NULL;

  g_assert_true (job_dump (value, file, compression, 1, NULL, &error));
  g_assert_no_error (error);
  loaded = job_load (file, flags, max_size, NULL, &error);
  g_assert_no_error (error);
  before = job_array_new_from_variant (value, &error);
  after = job_array_new_from_variant (loaded, &error);
  g_assert_no_error (error);
  g_assert_true (job_array_equal (before, after));
  g_assert_cmpfloat (job_array_get_double (after, N_DOUBLES - 512), ==, (N_DOUBLES - 512) * 0.25);
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_raw_mapped (void)
{
  check_round_trip (JOB_COMPRESSION_NONE, JOB_LOAD_MMAP, 0);
}

static void
test_zstd (void)
{
  /* This array is one value in 512, the rest zeros: zstd level 1, in
   * frames, makes it about 1 170 times smaller, beyond the expansion that a load of a
   * file of unknown origin accepts by default (1 024 times). The caller
   * who knows the file gives a size limit, as the error says. */
  check_round_trip (JOB_COMPRESSION_ZSTD, JOB_LOAD_NONE, 2 * N_DOUBLES * sizeof (gdouble));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/joblib/persist-slow/1gib-raw-mapped", test_raw_mapped);
  g_test_add_func ("/joblib/persist-slow/1gib-zstd", test_zstd);

  return g_test_run ();
}
