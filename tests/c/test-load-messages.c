/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* job_load's bad input falls in three classes, each with one message
 * whatever its length, codec or path (stream, file, mapped file):
 * too short to be any file load reads, not a dump (its first bytes match
 * neither format), and a real dump cut short. */
#include <joblib-glib.h>

#include <glib/gstdio.h>
#include <string.h>

#define TOO_SHORT "The file is too short to be a joblib-glib or joblib file: it holds "
#define NOT_A_DUMP "Not a joblib-glib or joblib file (its first bytes match neither format)"
#define TRUNCATED "The file is truncated"

typedef enum
{
  CLASS_TOO_SHORT,
  CLASS_NOT_A_DUMP,
  CLASS_TRUNCATED,
} InputClass;

static char *tmp_dir;

static char *
write_file (const guint8 *data,
            gsize         size)
{
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (tmp_dir, "input", NULL);

  g_assert_true (g_file_set_contents (path, (const char *) data, size, &error));
  g_assert_no_error (error);
  return path;
}

static void
assert_class (const GError *error,
              InputClass    expected,
              gsize         size,
              const char   *what)
{
  g_autofree char *short_message = NULL;

  if (error == NULL)
    g_error ("%s: loaded, expected an error", what);
  if (!g_error_matches (error, JOB_ERROR, JOB_ERROR_INVALID_DATA))
    g_error ("%s: %s (%s %d), expected INVALID_DATA", what, error->message,
             g_quark_to_string (error->domain), error->code);
  switch (expected)
    {
    case CLASS_TOO_SHORT:
      short_message = g_strdup_printf (TOO_SHORT "%u of the 4 bytes of the shortest one",
                                       (guint) size);
      if (g_strcmp0 (error->message, short_message) != 0)
        g_error ("%s: \"%s\", expected \"%s\"", what, error->message, short_message);
      break;
    case CLASS_NOT_A_DUMP:
      if (g_strcmp0 (error->message, NOT_A_DUMP) != 0)
        g_error ("%s: \"%s\", expected \"%s\"", what, error->message, NOT_A_DUMP);
      break;
    case CLASS_TRUNCATED:
      if (g_strcmp0 (error->message, TRUNCATED) != 0)
        g_error ("%s: \"%s\", expected \"%s\"", what, error->message, TRUNCATED);
      break;
    default:
      g_assert_not_reached ();
    }
}

/* Loads @data through every path and checks the class of the error. */
static void
check_input (const guint8 *data,
             gsize         size,
             InputClass    expected,
             const char   *what)
{
  g_autofree char *path = write_file (data, size);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GBytes) bytes = g_bytes_new (data, size);
  g_autoptr(GInputStream) stream = g_memory_input_stream_new_from_bytes (bytes);
  const JobLoadFlags flags[] = { JOB_LOAD_NONE, JOB_LOAD_MMAP };
  g_autoptr(GError) stream_error = NULL;
  g_autoptr(GVariant) from_stream = NULL;

  from_stream = job_load_from_stream (stream, 0, NULL, &stream_error);
  g_assert_null (from_stream);
  assert_class (stream_error, expected, size, what);

  for (guint f = 0; f < G_N_ELEMENTS (flags); f++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) value = NULL;

      /* a compressed file cannot be mapped: load says so and reads it */
      if (flags[f] == JOB_LOAD_MMAP && size >= 4 &&
          job_compression_detect (data, size) != JOB_COMPRESSION_NONE)
        g_test_expect_message ("Joblib", G_LOG_LEVEL_WARNING, "*is compressed*");
      value = job_load (file, flags[f], 0, NULL, &error);
      g_test_assert_expected_messages ();
      g_assert_null (value);
      assert_class (error, expected, size, what);
    }
  g_assert_cmpint (g_unlink (path), ==, 0);
}

static void
test_empty_file (void)
{
  check_input ((const guint8 *) "", 0, CLASS_TOO_SHORT, "empty file");
}

/* Text of every length gets the same message: too short below the
 * shortest file load reads (4 bytes), "not a dump" from there on. */
static void
test_text_files (void)
{
  static const char text[] = "hello, this is a plain text file and not a dump of anything.\n";
  const gsize lengths[] = { 1, 2, 3, 4, 5, 7, 8, 9, 12, 31, 32, 33, 40, sizeof text - 1 };

  for (guint i = 0; i < G_N_ELEMENTS (lengths); i++)
    {
      g_autofree char *what = g_strdup_printf ("%" G_GSIZE_FORMAT " bytes of text", lengths[i]);

      check_input ((const guint8 *) text, lengths[i],
                   lengths[i] < 4 ? CLASS_TOO_SHORT : CLASS_NOT_A_DUMP, what);
    }
  /* other bytes that begin no format: binary, a pickle of protocol 6 */
  check_input ((const guint8 *) "\0\0\0\0\0\0\0\0\0\0", 10, CLASS_NOT_A_DUMP, "zeros");
  check_input ((const guint8 *) "\x80\x06N.", 4, CLASS_NOT_A_DUMP, "pickle protocol 6");
  check_input ((const guint8 *) "\x89JOBGLIX and more", 17, CLASS_NOT_A_DUMP, "near magic");
}

static GBytes *
dump_bytes (GVariant       *value,
            JobCompression  compression)
{
  g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable ();
  g_autoptr(GError) error = NULL;

  g_assert_true (job_dump_to_stream (value, out, compression, JOB_COMPRESSION_DEFAULT_LEVEL,
                                     NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_output_stream_close (out, NULL, NULL));
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));
}

/* Every cut of a real file: too short under 4 bytes, truncated from
 * there, whatever the codec. */
static void
check_cuts (GBytes     *good,
            const char *name)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (good, &size);

  for (gsize cut = 0; cut < size; cut += cut < 80 ? 1 : 1 + cut / 5)
    {
      g_autofree char *what = g_strdup_printf ("%s cut at %" G_GSIZE_FORMAT " of %"
                                               G_GSIZE_FORMAT, name, cut, size);

      check_input (data, cut, cut < 4 ? CLASS_TOO_SHORT : CLASS_TRUNCATED, what);
    }
  /* the last byte too: a codec's trailer (CRC, checksum) is read */
  {
    g_autofree char *what = g_strdup_printf ("%s without its last byte", name);

    check_input (data, size - 1, CLASS_TRUNCATED, what);
  }
}

static void
test_truncated_dumps (void)
{
  const JobCompression codecs[] = {
    JOB_COMPRESSION_NONE, JOB_COMPRESSION_ZLIB, JOB_COMPRESSION_GZIP, JOB_COMPRESSION_BZ2,
    JOB_COMPRESSION_LZMA, JOB_COMPRESSION_XZ, JOB_COMPRESSION_LZ4, JOB_COMPRESSION_ZSTD,
  };
  g_autoptr(GVariant) value = g_variant_ref_sink (g_variant_new_parsed (
    "('a little value', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], {'key': <2.5>})"));

  for (guint c = 0; c < G_N_ELEMENTS (codecs); c++)
    {
      g_autoptr(GBytes) good = dump_bytes (value, codecs[c]);

      check_cuts (good, job_compression_get_name (codecs[c]));
    }
}

/* Files of Python's joblib.dump: the same classes. */
static void
test_truncated_joblib_files (void)
{
  const char *const names[] = { "mixed.pkl", "mixed-p2.pkl", "mixed.pkl.gz", "mixed.pkl.z",
                                "mixed.pkl.lz4", "mixed.pkl.xz" };

  for (guint n = 0; n < G_N_ELEMENTS (names); n++)
    {
      g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "joblib-files",
                                                     names[n], NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(GMappedFile) mapped = g_mapped_file_new (path, FALSE, &error);
      g_autoptr(GBytes) good = NULL;

      g_assert_no_error (error);
      good = g_mapped_file_get_bytes (mapped);
      check_cuts (good, names[n]);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("test-load-messages-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_func ("/joblib/load-messages/empty-file", test_empty_file);
  g_test_add_func ("/joblib/load-messages/text-files", test_text_files);
  g_test_add_func ("/joblib/load-messages/truncated-dumps", test_truncated_dumps);
  g_test_add_func ("/joblib/load-messages/truncated-joblib-files", test_truncated_joblib_files);

  status = g_test_run ();
  g_assert_cmpint (g_rmdir (tmp_dir), ==, 0);
  g_free (tmp_dir);
  return status;
}
