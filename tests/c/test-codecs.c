/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <joblib-glib.h>

static const JobCompression codecs[] = {
  JOB_COMPRESSION_ZLIB, JOB_COMPRESSION_GZIP, JOB_COMPRESSION_BZ2,
  JOB_COMPRESSION_LZMA, JOB_COMPRESSION_XZ, JOB_COMPRESSION_LZ4,
  JOB_COMPRESSION_ZSTD,
};

/* Half text-like and compressible, half pseudo-random. */
static GBytes *
make_data (gsize size)
{
  guint8 *data = g_malloc (size);
  GRand *rand = g_rand_new_with_seed (42);

  for (gsize i = 0; i < size; i++)
    data[i] = i < size / 2 ? (guint8) "joblib-glib "[i % 12] : (guint8) g_rand_int (rand);
  g_rand_free (rand);
  return g_bytes_new_take (data, size);
}

static GBytes *
compress (JobCompression  compression,
          int             level,
          GBytes         *input)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GConverter) compressor = NULL;
  g_autoptr(GOutputStream) memory = g_memory_output_stream_new_resizable ();
  g_autoptr(GOutputStream) stream = NULL;
  const guint8 *data;
  gsize size, done = 0;

  compressor = job_compression_new_compressor (compression, level, &error);
  g_assert_no_error (error);
  stream = g_converter_output_stream_new (memory, compressor);
  data = g_bytes_get_data (input, &size);
  /* Uneven pieces exercise the converter's buffering. */
  while (done < size)
    {
      gsize n = MIN (size - done, 1 + (done % 70001));

      g_assert_true (g_output_stream_write_all (stream, data + done, n, NULL, NULL, &error));
      g_assert_no_error (error);
      done += n;
    }
  g_assert_true (g_output_stream_close (stream, NULL, &error));
  g_assert_no_error (error);
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (memory));
}

/* Reads through a decompressor in small, odd-sized reads. */
static GBytes *
decompress (JobCompression   compression,
            GBytes          *input,
            GError         **error)
{
  g_autoptr(GConverter) decompressor = job_compression_new_decompressor (compression, NULL);
  g_autoptr(GInputStream) memory = g_memory_input_stream_new_from_bytes (input);
  g_autoptr(GInputStream) stream = g_converter_input_stream_new (memory, decompressor);
  g_autoptr(GByteArray) out = g_byte_array_new ();
  guint8 buffer[4099];

  for (;;)
    {
      gssize n = g_input_stream_read (stream, buffer, sizeof buffer, NULL, error);

      if (n < 0)
        return NULL;
      if (n == 0)
        break;
      g_byte_array_append (out, buffer, n);
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

static void
test_round_trip (void)
{
  g_autoptr(GBytes) input = make_data (3 * 1024 * 1024 + 17);

  for (guint i = 0; i < G_N_ELEMENTS (codecs); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) packed = compress (codecs[i], JOB_COMPRESSION_DEFAULT_LEVEL, input);
      g_autoptr(GBytes) unpacked = NULL;
      gsize size;
      const guint8 *data = g_bytes_get_data (packed, &size);

      g_test_message ("%s: %" G_GSIZE_FORMAT " → %" G_GSIZE_FORMAT,
                      job_compression_get_name (codecs[i]),
                      g_bytes_get_size (input), size);
      g_assert_cmpuint (size, <, g_bytes_get_size (input));
      g_assert_cmpint (job_compression_detect (data, size), ==, codecs[i]);
      unpacked = decompress (codecs[i], packed, &error);
      g_assert_no_error (error);
      g_assert_true (g_bytes_equal (unpacked, input));
    }
}

static void
test_empty_input (void)
{
  g_autoptr(GBytes) input = g_bytes_new (NULL, 0);

  for (guint i = 0; i < G_N_ELEMENTS (codecs); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) packed = compress (codecs[i], JOB_COMPRESSION_DEFAULT_LEVEL, input);
      g_autoptr(GBytes) unpacked = decompress (codecs[i], packed, &error);

      g_assert_no_error (error);
      g_assert_cmpuint (g_bytes_get_size (packed), >, 0);
      g_assert_cmpuint (g_bytes_get_size (unpacked), ==, 0);
    }
}

static void
test_levels (void)
{
  g_autoptr(GBytes) input = make_data (256 * 1024);

  for (guint i = 0; i < G_N_ELEMENTS (codecs); i++)
    {
      int min_level, max_level, default_level;
      g_autoptr(GError) error = NULL;
      g_autoptr(GConverter) bad = NULL;

      g_assert_true (job_compression_get_level_range (codecs[i], &min_level, &max_level,
                                                      &default_level));
      g_assert_cmpint (min_level, <=, default_level);
      g_assert_cmpint (default_level, <=, max_level);
      for (int level = min_level; level <= max_level; level += MAX (1, (max_level - min_level) / 3))
        {
          g_autoptr(GBytes) packed = compress (codecs[i], level, input);
          g_autoptr(GBytes) unpacked = decompress (codecs[i], packed, &error);

          g_assert_no_error (error);
          g_assert_true (g_bytes_equal (unpacked, input));
        }
      bad = job_compression_new_compressor (codecs[i], max_level + 1, &error);
      g_assert_null (bad);
      g_assert_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT);
    }

  g_assert_false (job_compression_get_level_range (JOB_COMPRESSION_NONE, NULL, NULL, NULL));
}

static void
test_truncated (void)
{
  g_autoptr(GBytes) input = make_data (512 * 1024);

  for (guint i = 0; i < G_N_ELEMENTS (codecs); i++)
    {
      g_autoptr(GBytes) packed = compress (codecs[i], JOB_COMPRESSION_DEFAULT_LEVEL, input);
      g_autoptr(GBytes) cut = g_bytes_new_from_bytes (packed, 0, g_bytes_get_size (packed) / 2);
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) unpacked = decompress (codecs[i], cut, &error);

      g_assert_null (unpacked);
      g_assert_nonnull (error);
      /* GIO's zlib and ours alike: a cut stream is "partial input". */
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT);
    }
}

static void
test_garbage (void)
{
  static const guint8 junk[64] = "this is not compressed data at all, not even a little";

  for (guint i = 0; i < G_N_ELEMENTS (codecs); i++)
    {
      g_autoptr(GBytes) input = g_bytes_new_static (junk, sizeof junk);
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) unpacked = decompress (codecs[i], input, &error);

      g_assert_null (unpacked);
      g_assert_nonnull (error);
      if (codecs[i] != JOB_COMPRESSION_ZLIB && codecs[i] != JOB_COMPRESSION_GZIP)
        g_assert_error (error, JOB_ERROR, JOB_ERROR_INVALID_DATA);
    }
}

/* A legacy .lzma header asking for a 2 GiB dictionary (found by
 * fuzz-load): the decoder must refuse it instead of allocating it. */
static void
test_memory_hungry_header (void)
{
  guint8 header[100] = { 0x5d, 0x00, 0x00, 0x00, 0x80, };
  g_autoptr(GBytes) input = g_bytes_new (header, sizeof header);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) unpacked = decompress (JOB_COMPRESSION_LZMA, input, &error);

  g_assert_null (unpacked);
  g_assert_error (error, JOB_ERROR, JOB_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "256 MiB"));
}

static void
test_names (void)
{
  static const struct { const char *file; JobCompression expected; } files[] = {
    { "a.z", JOB_COMPRESSION_ZLIB }, { "a.gz", JOB_COMPRESSION_GZIP },
    { "a.bz2", JOB_COMPRESSION_BZ2 }, { "a.lzma", JOB_COMPRESSION_LZMA },
    { "a.xz", JOB_COMPRESSION_XZ }, { "a.lz4", JOB_COMPRESSION_LZ4 },
    { "dir.gz/a.zst", JOB_COMPRESSION_ZSTD }, { "A.GZ", JOB_COMPRESSION_GZIP },
    { "a.pkl", JOB_COMPRESSION_NONE }, { "a", JOB_COMPRESSION_NONE },
    { ".z", JOB_COMPRESSION_NONE }, { "a.zip", JOB_COMPRESSION_NONE },
  };
  JobCompression c;

  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    g_assert_cmpint (job_compression_from_filename (files[i].file), ==, files[i].expected);

  for (guint i = 0; i < G_N_ELEMENTS (codecs); i++)
    {
      g_assert_true (job_compression_from_name (job_compression_get_name (codecs[i]), &c));
      g_assert_cmpint (c, ==, codecs[i]);
    }
  g_assert_true (job_compression_from_name ("zst", &c));
  g_assert_cmpint (c, ==, JOB_COMPRESSION_ZSTD);
  g_assert_false (job_compression_from_name ("snappy", &c));
}

static void
test_detect (void)
{
  static const guint8 ours[] = "\x89JOBGLIB\x01\0\0\0";
  static const guint8 npy[] = "\x93NUMPY\x01\0";

  g_assert_cmpint (job_compression_detect (ours, sizeof ours), ==, JOB_COMPRESSION_NONE);
  g_assert_cmpint (job_compression_detect (npy, sizeof npy), ==, JOB_COMPRESSION_NONE);
  g_assert_cmpint (job_compression_detect ((const guint8 *) "\x78\x9c", 2), ==, JOB_COMPRESSION_ZLIB);
  g_assert_cmpint (job_compression_detect ((const guint8 *) "\x78\x9d", 2), ==, JOB_COMPRESSION_NONE);
  g_assert_cmpint (job_compression_detect ((const guint8 *) "\x1f", 1), ==, JOB_COMPRESSION_NONE);
  g_assert_cmpint (job_compression_detect (NULL, 0), ==, JOB_COMPRESSION_NONE);
}

static void
test_properties (void)
{
  g_autoptr(JobLzmaConverter) lzma = job_lzma_converter_new (JOB_CONVERTER_COMPRESS, FALSE, 5);
  g_autoptr(JobZstdConverter) zstd = job_zstd_converter_new (JOB_CONVERTER_DECOMPRESS, 40);
  JobConverterMode mode;
  gboolean xz;
  int level;

  g_object_get (lzma, "mode", &mode, "xz", &xz, "level", &level, NULL);
  g_assert_cmpint (mode, ==, JOB_CONVERTER_COMPRESS);
  g_assert_false (xz);
  g_assert_cmpint (level, ==, 5);
  g_object_get (zstd, "mode", &mode, "level", &level, NULL);
  g_assert_cmpint (mode, ==, JOB_CONVERTER_DECOMPRESS);
  g_assert_cmpint (level, ==, 19);
}

static GBytes *
compress_with (GConverter *compressor,
               GBytes     *input)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GOutputStream) memory = g_memory_output_stream_new_resizable ();
  g_autoptr(GOutputStream) stream = g_converter_output_stream_new (memory, compressor);
  gsize size;
  const guint8 *data = g_bytes_get_data (input, &size);

  g_assert_true (g_output_stream_write_all (stream, data, size, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_output_stream_close (stream, NULL, &error));
  g_assert_no_error (error);
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (memory));
}

/* zstd on several threads: the same bytes whatever the number of threads
 * (libzstd's promise from one thread up), read back whole. */
static void
test_zstd_workers (void)
{
  g_autoptr(GBytes) input = make_data (12 * 1024 * 1024 + 123);
  GBytes *packed[3] = { NULL, };
  guint workers[3] = { 1, 2, 4 };

  for (guint i = 0; i < G_N_ELEMENTS (workers); i++)
    {
      g_autoptr(JobZstdConverter) zstd = job_zstd_converter_new (JOB_CONVERTER_COMPRESS, 3);
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) unpacked = NULL;
      guint read_back = 0;

      job_zstd_converter_set_workers (zstd, workers[i]);
      g_object_get (zstd, "workers", &read_back, NULL);
      g_assert_cmpuint (read_back, ==, workers[i]);
      packed[i] = compress_with (G_CONVERTER (zstd), input);
      unpacked = decompress (JOB_COMPRESSION_ZSTD, packed[i], &error);
      g_assert_no_error (error);
      g_assert_true (g_bytes_equal (unpacked, input));
      if (i > 0)
        g_assert_true (g_bytes_equal (packed[i], packed[0]));
    }
  for (guint i = 0; i < G_N_ELEMENTS (packed); i++)
    g_bytes_unref (packed[i]);

  if (g_test_subprocess ())
    {
      g_autoptr(JobZstdConverter) zstd = job_zstd_converter_new (JOB_CONVERTER_COMPRESS, 3);

      job_zstd_converter_set_workers (zstd, JOB_ZSTD_CONVERTER_MAX_WORKERS + 1);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*workers <= JOB_ZSTD_CONVERTER_MAX_WORKERS*");
}

static void
test_parse_spec (void)
{
  const struct { const char *spec; gboolean ok; JobCompression method; int level; } cases[] = {
    { NULL, TRUE, JOB_COMPRESSION_NONE, JOB_COMPRESSION_DEFAULT_LEVEL },
    { "none", TRUE, JOB_COMPRESSION_NONE, JOB_COMPRESSION_DEFAULT_LEVEL },
    { "zstd", TRUE, JOB_COMPRESSION_ZSTD, JOB_COMPRESSION_DEFAULT_LEVEL },
    { "zst:19", TRUE, JOB_COMPRESSION_ZSTD, 19 },
    { "gzip:9", TRUE, JOB_COMPRESSION_GZIP, 9 },
    { "gzip:10", FALSE, 0, 0 },
    { "zlib:-5", FALSE, 0, 0 },
    { "lz4:x", FALSE, 0, 0 },
    { "zstandard", FALSE, 0, 0 },
    { "auto", FALSE, 0, 0 },
    { "", FALSE, 0, 0 },
    { ":3", FALSE, 0, 0 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      JobCompression method = 12345;
      int level = 12345;
      gboolean ok = job_compression_parse (cases[i].spec, &method, &level, &error);

      g_test_message ("spec %s", cases[i].spec ? cases[i].spec : "(null)");
      g_assert_cmpint (ok, ==, cases[i].ok);
      if (ok)
        {
          g_assert_no_error (error);
          g_assert_cmpint (method, ==, cases[i].method);
          g_assert_cmpint (level, ==, cases[i].level);
        }
      else
        {
          g_assert_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT);
          g_assert_cmpint (method, ==, 12345);
          g_assert_cmpint (level, ==, 12345);
        }
    }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/joblib/codecs/parse-spec", test_parse_spec);

  g_test_add_func ("/joblib/codecs/round-trip", test_round_trip);
  g_test_add_func ("/joblib/codecs/empty-input", test_empty_input);
  g_test_add_func ("/joblib/codecs/levels", test_levels);
  g_test_add_func ("/joblib/codecs/truncated", test_truncated);
  g_test_add_func ("/joblib/codecs/garbage", test_garbage);
  g_test_add_func ("/joblib/codecs/memory-hungry-header", test_memory_hungry_header);
  g_test_add_func ("/joblib/codecs/zstd-workers", test_zstd_workers);
  g_test_add_func ("/joblib/codecs/names", test_names);
  g_test_add_func ("/joblib/codecs/detect", test_detect);
  g_test_add_func ("/joblib/codecs/properties", test_properties);

  return g_test_run ();
}
