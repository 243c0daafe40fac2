/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the tests of large dumps share: a temporary folder, noise data,
 * comparing values by their bytes,
 * reading and writing whole files, and checking that a file fails to
 * load with the error of the streaming loader. All of it runs in the
 * test's thread. */

#include <string.h>

#include <joblib-glib.h>

/* g_variant_equal() prints values to compare them: megabytes of text.
 * Their serialized bytes say the same. */
static inline void
assert_same (GVariant *a,
             GVariant *b)
{
  g_assert_cmpstr (g_variant_get_type_string (a), ==, g_variant_get_type_string (b));
  g_assert_cmpmem (g_variant_get_data (a), g_variant_get_size (a),
                   g_variant_get_data (b), g_variant_get_size (b));
}

static inline GBytes *
file_bytes (GFile *file)
{
  g_autoptr(GError) error = NULL;
  GBytes *bytes = g_file_load_bytes (file, NULL, NULL, &error);

  g_assert_no_error (error);
  return bytes;
}

static inline void
write_bytes (GFile  *file,
             GBytes *bytes)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_replace_contents (file, g_bytes_get_data (bytes, NULL),
                                          g_bytes_get_size (bytes), NULL, FALSE,
                                          G_FILE_CREATE_NONE, NULL, NULL, &error));
  g_assert_no_error (error);
}

/* Writes @bytes to @file: loading it fails with @code, and with the
 * message that loading the same bytes from a memory stream gives. */
static inline void
expect_error (GFile  *file,
              GBytes *bytes,
              int     code,
              guint64 max_size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) stream_error = NULL;
  g_autoptr(GVariant) loaded = NULL;
  g_autoptr(GVariant) streamed = NULL;
  g_autoptr(GInputStream) in = g_memory_input_stream_new_from_bytes (bytes);

  write_bytes (file, bytes);
  loaded = job_load (file, JOB_LOAD_NONE, max_size, NULL, &error);
  g_assert_null (loaded);
  g_assert_error (error, JOB_ERROR, code);
  streamed = job_load_from_stream (in, max_size, NULL, &stream_error);
  g_assert_null (streamed);
  g_assert_cmpstr (error->message, ==, stream_error->message);
}

/* The test's folder, made and removed by its main(). */
static char *tmp_dir;

static inline GFile *
tmp_file (const char *name)
{
  g_autofree char *path = g_build_filename (tmp_dir, name, NULL);

  return g_file_new_for_path (path);
}

/* Noise in one 4 KiB page of @every, runs elsewhere: literals and
 * matches for the codec, and fast to compress. */
static inline GVariant *
noise_bytes (gsize   size,
             guint64 seed,
             guint   every)
{
  guint8 *data = g_malloc (MAX (size, 1));
  guint64 x = seed != 0 ? seed : 1;  /* xorshift stays at 0 */

  for (gsize i = 0; i < size; i++)
    {
      if ((i / 4096) % every != 0)
        {
          /* a run of 64 equal bytes */
          gsize run = MIN (64 - i % 64, size - i);

          memset (data + i, (int) (i / 64), run);
          i += run - 1;
          continue;
        }
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      data[i] = (guint8) (x >> 24);
    }
  return g_variant_new_from_data (G_VARIANT_TYPE_BYTESTRING, data, size, TRUE, g_free, data);
}
