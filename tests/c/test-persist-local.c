/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Uncompressed dumps in local files: a load reads them with pread()
 * straight into the arrays, and a dump writes the arrays while another
 * thread hashes them. The bytes, the values and every error must be
 * those of the streaming paths, which any other stream takes. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>

#include <glib/gstdio.h>
#include <joblib-glib.h>

#include "persist-tests.h"

/* Arrays of every size class: 5 MiB + 13 (a buffer of its own mapping,
 * not a whole number of huge pages), 100 KiB, 3 KiB, empty, and a small
 * one left in the header. */
static GVariant *
mixed_value (void)
{
  static GVariant *value;
  GVariantBuilder dict;

  if (value != NULL)
    return g_variant_ref (value);

  g_variant_builder_init (&dict, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&dict, "{sv}", "name", g_variant_new_string ("local"));
  g_variant_builder_add (&dict, "{sv}", "big", noise_bytes (5 * 1024 * 1024 + 13, 1, 1));
  g_variant_builder_add (&dict, "{sv}", "medium", noise_bytes (100 * 1024 + 7, 2, 1));
  g_variant_builder_add (&dict, "{sv}", "small", noise_bytes (3 * 1024 + 1, 3, 1));
  g_variant_builder_add (&dict, "{sv}", "empty", noise_bytes (0, 4, 1));
  g_variant_builder_add (&dict, "{sv}", "tiny", noise_bytes (100, 5, 1));
  value = g_variant_ref_sink (g_variant_builder_end (&dict));
  return g_variant_ref (value);
}

/* What the streaming writer makes of @value. */
static GBytes *
streamed_dump (GVariant *value)
{
  g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable ();
  g_autoptr(GError) error = NULL;

  g_assert_true (job_dump_to_stream (value, out, JOB_COMPRESSION_NONE, 0, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_output_stream_close (out, NULL, &error));
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));
}

/* A file dump is byte for byte the streamed one, and loads back. */
static void
test_round_trip (void)
{
  g_autoptr(GVariant) value = mixed_value ();
  g_autoptr(GFile) file = tmp_file ("mixed.job");
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) expected = streamed_dump (value);
  g_autoptr(GBytes) written = NULL;
  g_autoptr(GVariant) loaded = NULL;
  g_autoptr(GVariant) mapped = NULL;

  g_assert_true (job_dump (value, file, JOB_COMPRESSION_NONE, 0, NULL, &error));
  g_assert_no_error (error);
  written = file_bytes (file);
  g_assert_true (g_bytes_equal (written, expected));

  loaded = job_load (file, JOB_LOAD_NONE, 0, NULL, &error);
  g_assert_no_error (error);
  assert_same (loaded, value);
  mapped = job_load (file, JOB_LOAD_MMAP, 0, NULL, &error);
  g_assert_no_error (error);
  assert_same (mapped, value);

  /* over an existing file (a temporary file renamed at the end) */
  g_assert_true (job_dump (value, file, JOB_COMPRESSION_NONE, 0, NULL, &error));
  g_assert_no_error (error);
  g_clear_pointer (&written, g_bytes_unref);
  written = file_bytes (file);
  g_assert_true (g_bytes_equal (written, expected));
}

/* A dump in the middle of a file: written from the stream's position,
 * read from it, and each leaves the stream right after the value. */
static void
test_position (void)
{
  g_autoptr(GVariant) value = mixed_value ();
  g_autoptr(GFile) file = tmp_file ("inside.bin");
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) expected = streamed_dump (value);
  g_autoptr(GFileOutputStream) out = NULL;
  g_autoptr(GFileInputStream) in = NULL;
  g_autoptr(GBytes) written = NULL;
  g_autoptr(GVariant) loaded = NULL;
  const char prefix[] = "a prefix of 27 bytes here.";
  const char suffix[] = "what follows the value";
  char after[sizeof suffix] = { 0, };
  gsize n_read = 0;

  out = g_file_replace (file, NULL, FALSE, G_FILE_CREATE_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_output_stream_write_all (G_OUTPUT_STREAM (out), prefix, sizeof prefix,
                                            NULL, NULL, &error));
  g_assert_true (job_dump_to_stream (value, G_OUTPUT_STREAM (out), JOB_COMPRESSION_NONE, 0,
                                     NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_seekable_tell (G_SEEKABLE (out)), ==,
                   sizeof prefix + g_bytes_get_size (expected));
  g_assert_true (g_output_stream_write_all (G_OUTPUT_STREAM (out), suffix, sizeof suffix,
                                            NULL, NULL, &error));
  g_assert_true (g_output_stream_close (G_OUTPUT_STREAM (out), NULL, &error));
  g_assert_no_error (error);

  written = file_bytes (file);
  g_assert_cmpuint (g_bytes_get_size (written), ==,
                    sizeof prefix + g_bytes_get_size (expected) + sizeof suffix);
  g_assert_cmpmem ((const guint8 *) g_bytes_get_data (written, NULL) + sizeof prefix,
                   g_bytes_get_size (expected),
                   g_bytes_get_data (expected, NULL), g_bytes_get_size (expected));

  in = g_file_read (file, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_input_stream_skip (G_INPUT_STREAM (in), sizeof prefix, NULL, &error), ==,
                   sizeof prefix);
  loaded = job_load_from_stream (G_INPUT_STREAM (in), 0, NULL, &error);
  g_assert_no_error (error);
  assert_same (loaded, value);
  g_assert_true (g_input_stream_read_all (G_INPUT_STREAM (in), after, sizeof after, &n_read,
                                          NULL, &error));
  g_assert_cmpuint (n_read, ==, sizeof suffix);
  g_assert_cmpstr (after, ==, suffix);
}

/* A flipped byte in the preamble, the header or any array, a cut, and
 * the size bounds fail as on the streaming path. */
static void
test_damaged (void)
{
  g_autoptr(GVariant) value = mixed_value ();
  g_autoptr(GFile) bad = tmp_file ("bad.job");
  g_autoptr(GBytes) bytes = streamed_dump (value);
  gsize size;
  const guint8 *data = g_bytes_get_data (bytes, &size);
  guint64 header_size;
  gsize at[8];

  /* the version, the header's size and checksum, the middle of the
   * header, arrays (padding between them carries nothing) */
  memcpy (&header_size, data + 16, sizeof header_size);
  header_size = GUINT64_FROM_LE (header_size);
  g_assert_cmpuint (header_size, <, 4096 - 32);
  at[0] = 9;
  at[1] = 20;
  at[2] = 28;
  at[3] = 32 + header_size / 2;
  at[4] = 32 + header_size - 1;
  at[5] = 4096;
  at[6] = size / 2;
  at[7] = size - 1;

  for (guint i = 0; i < G_N_ELEMENTS (at); i++)
    {
      guint8 *copy = g_memdup2 (data, size);
      g_autoptr(GBytes) patched = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) loaded = NULL;

      copy[at[i]] ^= 0x10;
      patched = g_bytes_new_take (copy, size);
      g_test_message ("byte %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT, at[i], size);
      write_bytes (bad, patched);
      loaded = job_load (bad, JOB_LOAD_NONE, 0, NULL, &error);
      g_assert_null (loaded);
      g_assert_nonnull (error);
      {
        g_autoptr(GInputStream) in = g_memory_input_stream_new_from_bytes (patched);
        g_autoptr(GError) stream_error = NULL;
        g_autoptr(GVariant) streamed = job_load_from_stream (in, 0, NULL, &stream_error);

        g_assert_null (streamed);
        g_assert_true (error->domain == stream_error->domain);
        g_assert_cmpint (error->code, ==, stream_error->code);
        g_assert_cmpstr (error->message, ==, stream_error->message);
      }
    }

  for (gsize cut = 16; cut < size; cut += size / 3)
    {
      g_autoptr(GBytes) shorter = g_bytes_new_from_bytes (bytes, 0, cut);

      expect_error (bad, shorter, JOB_ERROR_INVALID_DATA, 0);
    }
  /* the value, then the header, past the caller's bound */
  expect_error (bad, bytes, JOB_ERROR_TOO_LARGE, 1024 * 1024);
  expect_error (bad, bytes, JOB_ERROR_TOO_LARGE, 16);
}

/* A mapped load reads the header with pread(), in one piece or two
 * (past the first 16 KiB), maps the arrays, and fails on a damaged or
 * cut file as the streaming load does. */
static void
test_mapped (void)
{
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GFile) file = tmp_file ("mapped.job");
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *text = g_strnfill (40 * 1024, 'x');
  GVariantBuilder dict;
  gsize size;
  const guint8 *data;

  g_variant_builder_init (&dict, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&dict, "{sv}", "text", g_variant_new_string (text));
  g_variant_builder_add (&dict, "{sv}", "array", noise_bytes (64 * 1024 + 3, 6, 1));
  value = g_variant_ref_sink (g_variant_builder_end (&dict));

  for (guint round = 0; round < 2; round++)
    {
      g_autoptr(GVariant) source = round == 0 ? g_variant_ref (value) : mixed_value ();
      g_autoptr(GVariant) mapped = NULL;

      g_assert_true (job_dump (source, file, JOB_COMPRESSION_NONE, 0, NULL, &error));
      g_assert_no_error (error);
      mapped = job_load (file, JOB_LOAD_MMAP, 0, NULL, &error);
      g_assert_no_error (error);
      assert_same (mapped, source);
    }

  g_assert_true (job_dump (value, file, JOB_COMPRESSION_NONE, 0, NULL, &error));
  bytes = file_bytes (file);
  data = g_bytes_get_data (bytes, &size);
  for (gsize at = 40; at < 40 * 1024; at += 8 * 1024)
    {
      guint8 *copy = g_memdup2 (data, size);
      g_autoptr(GBytes) patched = NULL;
      g_autoptr(GInputStream) in = NULL;
      g_autoptr(GVariant) mapped = NULL;
      g_autoptr(GVariant) streamed = NULL;
      g_autoptr(GError) stream_error = NULL;

      copy[at] ^= 0x01;
      patched = g_bytes_new_take (copy, size);
      write_bytes (file, patched);
      mapped = job_load (file, JOB_LOAD_MMAP, 0, NULL, &error);
      g_assert_null (mapped);
      g_assert_error (error, JOB_ERROR, JOB_ERROR_INVALID_DATA);
      in = g_memory_input_stream_new_from_bytes (patched);
      streamed = job_load_from_stream (in, 0, NULL, &stream_error);
      g_assert_null (streamed);
      g_assert_cmpstr (error->message, ==, stream_error->message);
      g_clear_error (&error);
    }
  for (gsize cut = 3; cut < size; cut += size / 4)
    {
      g_autoptr(GBytes) shorter = g_bytes_new_from_bytes (bytes, 0, cut);
      g_autoptr(GVariant) mapped = NULL;

      write_bytes (file, shorter);
      mapped = job_load (file, JOB_LOAD_MMAP, 0, NULL, &error);
      g_assert_null (mapped);
      g_assert_error (error, JOB_ERROR, JOB_ERROR_INVALID_DATA);
      g_clear_error (&error);
    }
  /* only the header counts against the bound */
  write_bytes (file, bytes);
  {
    g_autoptr(GVariant) mapped = job_load (file, JOB_LOAD_MMAP, 16, NULL, &error);

    g_assert_null (mapped);
    g_assert_error (error, JOB_ERROR, JOB_ERROR_TOO_LARGE);
  }
}

/* A cancelled load or dump stops with G_IO_ERROR_CANCELLED; the dump
 * leaves the file as it was. */
static void
test_cancelled (void)
{
  g_autoptr(GVariant) value = mixed_value ();
  g_autoptr(GFile) file = tmp_file ("cancelled.job");
  g_autoptr(GFile) fresh = tmp_file ("never.job");
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) loaded = NULL;
  g_autoptr(GBytes) before = NULL;
  g_autoptr(GBytes) after = NULL;

  g_assert_true (job_dump (value, file, JOB_COMPRESSION_NONE, 0, NULL, &error));
  g_assert_no_error (error);
  before = file_bytes (file);
  g_cancellable_cancel (cancellable);
  loaded = job_load (file, JOB_LOAD_NONE, 0, cancellable, &error);
  g_assert_null (loaded);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  g_assert_false (job_dump (value, file, JOB_COMPRESSION_NONE, 0, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  after = file_bytes (file);
  g_assert_true (g_bytes_equal (before, after));
  g_assert_false (job_dump (value, fresh, JOB_COMPRESSION_NONE, 0, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_false (g_file_query_exists (fresh, NULL));
}

/* A dump that the file system refuses (here: past RLIMIT_FSIZE) fails
 * with the error and message of the streaming writer, which a file
 * opened for appending gets, and job_dump() leaves no file. */
static void
test_write_error (void)
{
  g_autoptr(GVariant) value = mixed_value ();
  g_autoptr(GFile) file = tmp_file ("too-big.job");
  g_autoptr(GFile) appended = tmp_file ("appended.job");
  g_autoptr(GFileOutputStream) out = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) stream_error = NULL;
  struct rlimit saved, limit;

  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &saved), ==, 0);
  limit = saved;
  limit.rlim_cur = 1024 * 1024;
  signal (SIGXFSZ, SIG_IGN);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &limit), ==, 0);

  g_assert_false (job_dump (value, file, JOB_COMPRESSION_NONE, 0, NULL, &error));
  out = g_file_append_to (appended, G_FILE_CREATE_NONE, NULL, &stream_error);
  g_assert_no_error (stream_error);
  g_assert_false (job_dump_to_stream (value, G_OUTPUT_STREAM (out), JOB_COMPRESSION_NONE, 0,
                                      NULL, &stream_error));

  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &saved), ==, 0);
  signal (SIGXFSZ, SIG_DFL);
  g_assert_nonnull (error);
  g_assert_nonnull (stream_error);
  g_assert_true (error->domain == G_IO_ERROR && stream_error->domain == G_IO_ERROR);
  g_assert_cmpint (error->code, ==, g_io_error_from_errno (EFBIG));
  g_assert_cmpint (stream_error->code, ==, error->code);
  g_assert_cmpstr (error->message, ==, stream_error->message);
  g_assert_false (g_file_query_exists (file, NULL));
}

int
main (int argc, char *argv[])
{
  g_autoptr(GError) error = NULL;
  int ret;

  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("job-persist-local-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_func ("/joblib/persist-local/round-trip", test_round_trip);
  g_test_add_func ("/joblib/persist-local/position", test_position);
  g_test_add_func ("/joblib/persist-local/damaged", test_damaged);
  g_test_add_func ("/joblib/persist-local/mapped", test_mapped);
  g_test_add_func ("/joblib/persist-local/cancelled", test_cancelled);
  g_test_add_func ("/joblib/persist-local/write-error", test_write_error);

  ret = g_test_run ();
  for (const char *const *name = (const char *const[]) { "mixed.job", "inside.bin", "bad.job",
                                                         "cancelled.job", "never.job", "too-big.job", "mapped.job",
                                                         "appended.job", NULL };
       *name != NULL; name++)
    {
      g_autofree char *path = g_build_filename (tmp_dir, *name, NULL);

      g_unlink (path);
    }
  g_rmdir (tmp_dir);
  g_free (tmp_dir);
  return ret;
}
