/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Loading hostile files: decompression bombs and announced sizes that the
 * file does not hold. A load with the default bounds (max_size 0) fails
 * with JOB_ERROR_TOO_LARGE having filled little memory, whatever the
 * codec; an explicit max_size still loads what really expands a lot. The
 * bombs are in tests/c/hostile/ (make-hostile.py). */
#include <string.h>

#include <glib/gstdio.h>
#include <joblib-glib.h>

#define MIB (1024 * 1024)

static gboolean
under_valgrind (void)
{
  return g_getenv ("JOB_TEST_UNDER_VALGRIND") != NULL;
}

/* The most resident memory this process had, in bytes. */
static guint64
peak_rss (void)
{
  g_autofree char *status = NULL;
  const char *line;

  g_assert_true (g_file_get_contents ("/proc/self/status", &status, NULL, NULL));
  line = strstr (status, "VmHWM:");
  g_assert_nonnull (line);
  return g_ascii_strtoull (line + strlen ("VmHWM:"), NULL, 10) * 1024;
}

/* g_variant_equal() prints untrusted values to compare them: 80 MiB of
 * bytes would become half a gigabyte of text. */
static void
assert_same_bytes (GVariant *a,
                   GVariant *b)
{
  g_assert_cmpstr (g_variant_get_type_string (a), ==, g_variant_get_type_string (b));
  g_assert_cmpmem (g_variant_get_data (a), g_variant_get_size (a),
                   g_variant_get_data (b), g_variant_get_size (b));
}

static GFile *
hostile_file (const char *name)
{
  return g_file_new_for_path (g_test_get_filename (G_TEST_DIST, "c", "hostile", name, NULL));
}

/* In a child (so that its peak memory is its own): loading @name with the
 * default bounds fails with TOO_LARGE, and the child never held 200 MiB. */
static void
check_bomb (const char *name,
            const char *message)
{
  if (under_valgrind ())
    {
      g_test_skip ("tens of MiB decompressed under valgrind are too slow");
      return;
    }
  if (g_test_subprocess ())
    {
      g_autoptr(GFile) file = hostile_file (name);
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) value = job_load (file, JOB_LOAD_NONE, 0, NULL, &error);
      guint64 peak = peak_rss ();

      g_assert_null (value);
      g_assert_error (error, JOB_ERROR, JOB_ERROR_TOO_LARGE);
      g_assert_nonnull (strstr (error->message, message));
      g_test_message ("%s: %s; peak RSS %" G_GUINT64_FORMAT " MiB", name, error->message,
                      peak / MIB);
      g_assert_cmpuint (peak, <, 200 * MIB);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

static void
test_bomb_zstd (void)
{
  check_bomb ("zeros-300m.zst", "expands more than 1024 times");
}

static void
test_bomb_bz2 (void)
{
  check_bomb ("zeros-300m.bz2", "expands more than 1024 times");
}

static void
test_bomb_xz (void)
{
  check_bomb ("zeros-300m.xz", "expands more than 1024 times");
}

static void
test_bomb_lzma (void)
{
  check_bomb ("zeros-300m.lzma", "expands more than 1024 times");
}

/* A 6 KB file announcing a header of 200 MiB and holding it (in zeros):
 * the header used to be read whole before its checksum failed. */
static void
test_bomb_header_ratio (void)
{
  check_bomb ("header-200m.zst", "expands more than 1024 times");
}

/* A 10 KB file announcing a header of 2 GiB: refused before any read. */
static void
test_bomb_header_announced (void)
{
  check_bomb ("header-2g.zst", "The header needs 2147483648 bytes");
}

/* Writes @data compressed with @compression to a new temporary file. */
static GFile *
write_compressed (JobCompression  compression,
                  const guint8   *data,
                  gsize           size,
                  gsize           repeat_zeros)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GFileIOStream) io = NULL;
  g_autoptr(GConverter) converter = job_compression_new_compressor (compression, -1, &error);
  g_autoptr(GOutputStream) stream = NULL;
  g_autofree guint8 *zeros = g_malloc0 (MIB);
  GFile *file = g_file_new_tmp ("hostile-XXXXXX", &io, &error);

  g_assert_no_error (error);
  stream = g_converter_output_stream_new (g_io_stream_get_output_stream (G_IO_STREAM (io)),
                                          converter);
  g_assert_true (g_output_stream_write_all (stream, data, size, NULL, NULL, &error));
  for (gsize i = 0; i < repeat_zeros; i++)
    g_assert_true (g_output_stream_write_all (stream, zeros, MIB, NULL, NULL, &error));
  g_assert_true (g_output_stream_close (stream, NULL, &error));
  g_assert_no_error (error);
  return file;
}

/* A preamble of version 1 announcing a header of @header_size bytes. */
static void
make_preamble (guint8  preamble[32],
               guint64 header_size)
{
  guint32 version = GUINT32_TO_LE (1), flags = 0;
  guint64 size = GUINT64_TO_LE (header_size), checksum = 0;

  memcpy (preamble, "\x89JOBGLIB", 8);
  memcpy (preamble + 8, &version, 4);
  memcpy (preamble + 12, &flags, 4);
  memcpy (preamble + 16, &size, 8);
  memcpy (preamble + 24, &checksum, 8);
}

static const JobCompression every_codec[] = {
  JOB_COMPRESSION_ZLIB, JOB_COMPRESSION_GZIP, JOB_COMPRESSION_BZ2, JOB_COMPRESSION_LZMA,
  JOB_COMPRESSION_XZ, JOB_COMPRESSION_LZ4, JOB_COMPRESSION_ZSTD,
};

/* Every codec: a header announced bigger than the default bound is refused
 * at once; one announced 100 MiB but holding 1 MiB is truncated, read in
 * pieces rather than allocated whole. */
static void
test_announced_sizes_every_codec (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (every_codec); i++)
    {
      guint8 preamble[32];
      g_autoptr(GFile) huge = NULL;
      g_autoptr(GFile) short_file = NULL;
      g_autoptr(GVariant) value = NULL;
      g_autoptr(GError) error = NULL;

      make_preamble (preamble, (guint64) 3 << 30);
      huge = write_compressed (every_codec[i], preamble, sizeof preamble, 1);
      value = job_load (huge, JOB_LOAD_NONE, 0, NULL, &error);
      g_assert_error (error, JOB_ERROR, JOB_ERROR_TOO_LARGE);
      g_assert_null (value);
      g_clear_error (&error);
      g_file_delete (huge, NULL, NULL);

      make_preamble (preamble, 100 * MIB);
      short_file = write_compressed (every_codec[i], preamble, sizeof preamble, 1);
      value = job_load (short_file, JOB_LOAD_NONE, 0, NULL, &error);
      g_assert_error (error, JOB_ERROR, JOB_ERROR_INVALID_DATA);
      g_assert_null (value);
      g_clear_error (&error);
      /* an explicit bound below the announced size refuses it too */
      value = job_load (short_file, JOB_LOAD_NONE, MIB, NULL, &error);
      g_assert_error (error, JOB_ERROR, JOB_ERROR_TOO_LARGE);
      g_file_delete (short_file, NULL, NULL);
    }
}

/* Data that really expands a lot: refused by default past the allowance,
 * loaded whole with an explicit max_size; and a value under the allowance
 * loads by default whatever its ratio. */
static void
test_explicit_max_size_lifts_ratio (void)
{
  gsize size = under_valgrind () ? 2 * MIB : 80 * MIB;
  g_autofree guint8 *zeros = g_malloc0 (size);
  g_autoptr(GVariant) value =
    g_variant_ref_sink (g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, zeros, size, 1));
  g_autoptr(GFileIOStream) io = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) file = g_file_new_tmp ("hostile-XXXXXX.zst", &io, &error);
  g_autoptr(GVariant) loaded = NULL;

  g_assert_no_error (error);
  g_assert_true (job_dump (value, file, JOB_COMPRESSION_ZSTD, -1, NULL, &error));
  g_assert_no_error (error);

  loaded = job_load (file, JOB_LOAD_NONE, 0, NULL, &error);
  if (size > JOB_LOAD_RATIO_ALLOWANCE)
    {
      g_assert_error (error, JOB_ERROR, JOB_ERROR_TOO_LARGE);
      g_clear_error (&error);
      loaded = job_load (file, JOB_LOAD_NONE, 128 * MIB, NULL, &error);
    }
  g_assert_no_error (error);
  assert_same_bytes (loaded, value);
  g_file_delete (file, NULL, NULL);
}

/* Files within the ratio load by default with every codec (zlib, gzip and
 * LZ4 cannot even pass it). */
static void
test_ordinary_files_load (void)
{
  gsize size = 4 * MIB;
  g_autofree guint8 *zeros = g_malloc0 (size);
  g_autoptr(GVariant) value =
    g_variant_ref_sink (g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, zeros, size, 1));

  for (guint i = 0; i < G_N_ELEMENTS (every_codec); i++)
    {
      g_autoptr(GFileIOStream) io = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(GFile) file = g_file_new_tmp ("hostile-XXXXXX", &io, &error);
      g_autoptr(GVariant) loaded = NULL;

      g_assert_true (job_dump (value, file, every_codec[i], -1, NULL, &error));
      loaded = job_load (file, JOB_LOAD_NONE, 0, NULL, &error);
      g_assert_no_error (error);
      assert_same_bytes (loaded, value);
      g_file_delete (file, NULL, NULL);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/joblib/hostile-files/bomb-zstd", test_bomb_zstd);
  g_test_add_func ("/joblib/hostile-files/bomb-bz2", test_bomb_bz2);
  g_test_add_func ("/joblib/hostile-files/bomb-xz", test_bomb_xz);
  g_test_add_func ("/joblib/hostile-files/bomb-lzma", test_bomb_lzma);
  g_test_add_func ("/joblib/hostile-files/bomb-header-ratio", test_bomb_header_ratio);
  g_test_add_func ("/joblib/hostile-files/bomb-header-announced", test_bomb_header_announced);
  g_test_add_func ("/joblib/hostile-files/announced-sizes", test_announced_sizes_every_codec);
  g_test_add_func ("/joblib/hostile-files/explicit-max-size", test_explicit_max_size_lifts_ratio);
  g_test_add_func ("/joblib/hostile-files/ordinary-files", test_ordinary_files_load);

  return g_test_run ();
}
