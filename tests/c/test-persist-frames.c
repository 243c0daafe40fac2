/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Large zstd dumps: independent frames, decoded on several threads
 * straight into the arrays; older single-frame dumps still load, and
 * damaged frame files fail as before. */
#include <string.h>

#include <glib/gstdio.h>
#include <joblib-glib.h>
#include <zstd.h>

#include "persist-tests.h"

/* Arrays of every kind the frames meet: 9 MiB (many frames, ending off
 * a 64-byte boundary), 100 KiB (one frame of its own), 3 KiB (shares a
 * frame with its neighbours), empty, and small values in the header. */
static GVariant *
mixed_value (void)
{
  static GVariant *value;
  GVariantBuilder dict;

  if (value != NULL)
    return g_variant_ref (value);

  g_variant_builder_init (&dict, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&dict, "{sv}", "name", g_variant_new_string ("frames"));
  g_variant_builder_add (&dict, "{sv}", "big", noise_bytes (9 * 1024 * 1024 + 13, 1, 16));
  g_variant_builder_add (&dict, "{sv}", "small", noise_bytes (3 * 1024 + 1, 2, 1));
  g_variant_builder_add (&dict, "{sv}", "empty", noise_bytes (0, 3, 1));
  g_variant_builder_add (&dict, "{sv}", "medium", noise_bytes (100 * 1024 + 7, 4, 2));
  g_variant_builder_add (&dict, "{sv}", "n", g_variant_new_int64 (42));
  value = g_variant_ref_sink (g_variant_builder_end (&dict));
  return g_variant_ref (value);
}

/* @sized: each frame says its content size, at most 2 MiB */
static guint
count_frames (GBytes   *bytes,
              gboolean  sized)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (bytes, &size);
  guint n = 0;

  while (size > 0)
    {
      size_t frame = ZSTD_findFrameCompressedSize (data, size);

      g_assert_false (ZSTD_isError (frame));
      if (sized)
        g_assert_cmpuint (ZSTD_getFrameContentSize (data, frame), <=, 2 * 1024 * 1024);
      data += frame;
      size -= frame;
      n++;
    }
  return n;
}

static void
test_round_trip (void)
{
  g_autoptr(GVariant) value = mixed_value ();
  g_autoptr(GFile) file = tmp_file ("mixed.job.zst");
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) loaded = NULL;
  g_autoptr(GVariant) streamed = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GInputStream) in = NULL;

  g_assert_true (job_dump (value, file, JOB_COMPRESSION_AUTO, JOB_COMPRESSION_DEFAULT_LEVEL,
                           NULL, &error));
  g_assert_no_error (error);
  bytes = file_bytes (file);
  /* 9 MiB in frames of at most 2 MiB, plus the header's and the
   * arrays' own */
  g_assert_cmpuint (count_frames (bytes, TRUE), >=, 7);

  loaded = job_load (file, JOB_LOAD_NONE, 0, NULL, &error);
  g_assert_no_error (error);
  assert_same (loaded, value);

  /* the same frames read as one stream */
  in = g_memory_input_stream_new_from_bytes (bytes);
  streamed = job_load_from_stream (in, 0, NULL, &error);
  g_assert_no_error (error);
  assert_same (streamed, value);
}

/* A dump of one zstd frame, as older versions wrote them, loads. */
static void
test_single_frame (void)
{
  g_autoptr(GVariant) value = mixed_value ();
  g_autoptr(GFile) file = tmp_file ("single.job.zst");
  g_autoptr(GError) error = NULL;
  g_autoptr(GOutputStream) raw = g_memory_output_stream_new_resizable ();
  g_autoptr(GOutputStream) packed = g_memory_output_stream_new_resizable ();
  g_autoptr(GConverter) compressor = NULL;
  g_autoptr(GOutputStream) converter = NULL;
  g_autoptr(GBytes) raw_bytes = NULL;
  g_autoptr(GBytes) packed_bytes = NULL;
  g_autoptr(GVariant) loaded = NULL;

  g_assert_true (job_dump_to_stream (value, raw, JOB_COMPRESSION_NONE, 0, NULL, &error));
  g_output_stream_close (raw, NULL, NULL);
  raw_bytes = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (raw));
  compressor = job_compression_new_compressor (JOB_COMPRESSION_ZSTD, 3, &error);
  g_assert_no_error (error);
  converter = g_converter_output_stream_new (packed, compressor);
  g_assert_true (g_output_stream_write_all (converter, g_bytes_get_data (raw_bytes, NULL),
                                            g_bytes_get_size (raw_bytes), NULL, NULL, &error));
  g_assert_true (g_output_stream_close (converter, NULL, &error));
  g_assert_no_error (error);
  packed_bytes = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (packed));
  g_assert_cmpuint (count_frames (packed_bytes, FALSE), ==, 1);
  write_bytes (file, packed_bytes);

  loaded = job_load (file, JOB_LOAD_NONE, 0, NULL, &error);
  g_assert_no_error (error);
  assert_same (loaded, value);
}

/* A damaged byte in any frame, a cut, bytes after the last frame and a
 * size bound all fail as they do on the streaming path. */
static void
test_damaged (void)
{
  g_autoptr(GVariant) value = mixed_value ();
  g_autoptr(GFile) file = tmp_file ("damaged.job.zst");
  g_autoptr(GFile) bad = tmp_file ("bad.job.zst");
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GBytes) cut = NULL;
  g_autoptr(GBytes) longer = NULL;
  g_autoptr(GByteArray) extended = g_byte_array_new ();
  gsize size;
  const guint8 *data;

  g_assert_true (job_dump (value, file, JOB_COMPRESSION_ZSTD, 1, NULL, &error));
  g_assert_no_error (error);
  bytes = file_bytes (file);
  data = g_bytes_get_data (bytes, &size);

  for (gsize at = size / 3; at < size; at += size / 3)
    {
      guint8 *copy = g_memdup2 (data, size);
      g_autoptr(GBytes) patched = NULL;

      copy[at] ^= 0x10;
      patched = g_bytes_new_take (copy, size);
      g_test_message ("byte %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT, at, size);
      expect_error (bad, patched, JOB_ERROR_INVALID_DATA, 0);
    }

  cut = g_bytes_new_from_bytes (bytes, 0, size - size / 3);
  expect_error (bad, cut, JOB_ERROR_INVALID_DATA, 0);

  g_byte_array_append (extended, data, size);
  g_byte_array_append (extended, (const guint8 *) "garbage after the frames", 24);
  longer = g_bytes_new (extended->data, extended->len);
  expect_error (bad, longer, JOB_ERROR_INVALID_DATA, 0);

  expect_error (bad, bytes, JOB_ERROR_TOO_LARGE, 1024 * 1024);
}

int
main (int argc, char *argv[])
{
  g_autoptr(GError) error = NULL;
  int ret;

  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("job-persist-frames-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_func ("/joblib/persist-frames/round-trip", test_round_trip);
  g_test_add_func ("/joblib/persist-frames/single-frame", test_single_frame);
  g_test_add_func ("/joblib/persist-frames/damaged", test_damaged);

  ret = g_test_run ();
  for (const char *const *name = (const char *const[]) { "mixed.job.zst", "single.job.zst",
                                                         "damaged.job.zst", "bad.job.zst", NULL };
       *name != NULL; name++)
    {
      g_autofree char *path = g_build_filename (tmp_dir, *name, NULL);

      g_unlink (path);
    }
  g_rmdir (tmp_dir);
  g_free (tmp_dir);
  return ret;
}
