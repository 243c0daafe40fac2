/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>
#include <joblib-glib.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

static const JobCompression all_codecs[] = {
  JOB_COMPRESSION_NONE, JOB_COMPRESSION_ZLIB, JOB_COMPRESSION_GZIP,
  JOB_COMPRESSION_BZ2, JOB_COMPRESSION_LZMA, JOB_COMPRESSION_XZ,
  JOB_COMPRESSION_LZ4, JOB_COMPRESSION_ZSTD,
};

static char *tmp_dir;

static GFile *
tmp_file (const char *name)
{
  g_autofree char *path = g_build_filename (tmp_dir, name, NULL);

  return g_file_new_for_path (path);
}

/* (transfer full): not floating, like job_array_to_variant(); a constructor
 * given it takes its own reference, so callers still unref it. */
static GVariant *
array_variant (const char  *typestr,
               const gsize *shape,
               guint        n_dims,
               guint        seed)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JobArray) zeros = job_array_new_zeros (typestr, shape, n_dims, &error);
  g_autoptr(JobArray) array = NULL;
  g_autoptr(GBytes) bytes = NULL;
  gsize size = g_bytes_get_size (job_array_get_data (zeros));
  guint8 *data = g_malloc (MAX (size, 1));

  for (gsize i = 0; i < size; i++)
    data[i] = (i * 2654435761u + seed) >> 7;
  bytes = g_bytes_new_take (data, size);
  array = job_array_new (typestr, shape, n_dims, bytes, &error);
  g_assert_no_error (error);
  return job_array_to_variant (array);
}

typedef struct
{
  const char *name;
  GVariant   *value;
} Case;

static GPtrArray *
make_cases (void)
{
  GPtrArray *cases = g_ptr_array_new ();
  GVariantBuilder dict;
  static Case storage[16];
  guint n = 0;
  gdouble *doubles = g_new (gdouble, 5000);
  g_autoptr(GVariant) dict_array = array_variant ("<f8", (gsize[]) { 300 }, 1, 1);

  for (guint i = 0; i < 5000; i++)
    doubles[i] = i * 0.5;

#define ADD_OWNED(n_, v_) G_STMT_START { storage[n].name = n_; storage[n].value = (v_); \
                                         g_ptr_array_add (cases, &storage[n++]); } G_STMT_END
#define ADD(n_, v_) ADD_OWNED (n_, g_variant_ref_sink (v_))
  ADD ("scalar-int", g_variant_new_int64 (-42));
  ADD ("scalars", g_variant_new ("(ybnqiuxtdh)", 7, TRUE, -3, 3, -100000, 100000,
                                 G_MININT64, G_MAXUINT64, 3.25, 0));
  ADD ("string", g_variant_new_string ("héllo, joblib"));
  ADD ("strings", g_variant_new_strv ((const char *[]) { "a", "", "ccc" }, 3));
  g_variant_builder_init (&dict, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&dict, "{sv}", "n", g_variant_new_int32 (1));
  g_variant_builder_add (&dict, "{sv}", "s", g_variant_new_string ("two"));
  g_variant_builder_add (&dict, "{sv}", "array", dict_array);
  g_variant_builder_add (&dict, "{sv}", "maybe", g_variant_new ("mi", 5));
  ADD ("dict", g_variant_builder_end (&dict));
  ADD ("nested-tuples", g_variant_new ("((i(s(d)))(v))", 1, "deep", 2.5,
                                       g_variant_new_variant (g_variant_new_byte (9))));
  ADD_OWNED ("array-0d", array_variant ("<c16", NULL, 0, 2));
  ADD_OWNED ("array-1d", array_variant ("<f8", (gsize[]) { 5000 }, 1, 3));
  ADD_OWNED ("array-3d", array_variant ("<i4", (gsize[]) { 10, 20, 30 }, 3, 4));
  ADD_OWNED ("array-3d-small", array_variant ("|u1", (gsize[]) { 2, 3, 4 }, 3, 5));
  ADD_OWNED ("array-empty", array_variant ("<f4", (gsize[]) { 0 }, 1, 6));
  ADD_OWNED ("array-empty-3d", array_variant ("<f8", (gsize[]) { 3, 0, 2 }, 3, 7));
  ADD ("fixed-arrays", g_variant_new ("(@ad@ay@a(ii))",
                                      g_variant_new_fixed_array (G_VARIANT_TYPE_DOUBLE, doubles, 5000, 8),
                                      g_variant_new_bytestring ("raw bytes"),
                                      g_variant_new_parsed ("[(1, 2), (3, 4)]")));
  ADD ("list-of-arrays", g_variant_new ("(avav)", NULL, NULL));
#undef ADD
#undef ADD_OWNED
  g_free (doubles);
  return cases;
}

static void
test_round_trip_file (void)
{
  g_autoptr(GPtrArray) cases = make_cases ();

  for (guint c = 0; c < G_N_ELEMENTS (all_codecs); c++)
    for (guint i = 0; i < cases->len; i++)
      {
        Case *k = cases->pdata[i];
        g_autoptr(GError) error = NULL;
        g_autoptr(GFile) file = tmp_file ("round-trip.job");
        g_autoptr(GVariant) loaded = NULL;

        g_test_message ("%s × %s", job_compression_get_name (all_codecs[c]), k->name);
        g_assert_true (job_dump (k->value, file, all_codecs[c], JOB_COMPRESSION_DEFAULT_LEVEL,
                                 NULL, &error));
        g_assert_no_error (error);
        loaded = job_load (file, JOB_LOAD_NONE, 0, NULL, &error);
        g_assert_no_error (error);
        g_assert_true (g_variant_equal (loaded, k->value));
        g_assert_cmpstr (g_variant_get_type_string (loaded), ==, g_variant_get_type_string (k->value));
      }

  for (guint i = 0; i < cases->len; i++)
    g_variant_unref (((Case *) cases->pdata[i])->value);
}

/* Small arrays, and one of 10 MiB, which zstd compresses on several
 * threads (job_dump_to_stream from 8 MiB on). */
static void
test_arrays_come_back (void)
{
  static const gsize shapes[][3] = { { 10, 20, 30 }, { 1280, 1024, 2 } };

  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GFile) file = tmp_file ("arrays.job.zst");
      g_autoptr(GVariant) value = array_variant ("<i4", (gsize *) shapes[i], 3, 4);
      g_autoptr(JobArray) before = job_array_new_from_variant (value, &error);
      g_autoptr(GVariant) loaded = NULL;
      g_autoptr(JobArray) after = NULL;
      gsize last = shapes[i][0] * shapes[i][1] * shapes[i][2] - 1;

      g_assert_true (job_dump (value, file, JOB_COMPRESSION_AUTO, 5, NULL, &error));
      g_assert_no_error (error);
      loaded = job_load (file, JOB_LOAD_NONE, 0, NULL, &error);
      g_assert_no_error (error);
      after = job_array_new_from_variant (loaded, &error);
      g_assert_no_error (error);
      g_assert_true (job_array_equal (before, after));
      g_assert_cmpint (job_array_get_int64 (after, last), ==, job_array_get_int64 (before, last));
      /* Loaded buffers are aligned for any element type. */
      g_assert_cmpuint (GPOINTER_TO_SIZE (g_bytes_get_data (job_array_get_data (after), NULL)) % 8, ==, 0);
    }
}

static GBytes *
file_contents (GFile *file)
{
  g_autoptr(GError) error = NULL;
  GBytes *bytes = g_file_load_bytes (file, NULL, NULL, &error);

  g_assert_no_error (error);
  return bytes;
}

static void
test_extension_mapping (void)
{
  static const char *const names[] = { "x.z", "x.gz", "x.bz2", "x.lzma", "x.xz", "x.lz4", "x.zst", "x.pkl" };
  g_autoptr(GVariant) value = g_variant_ref_sink (g_variant_new_string ("compress me"));

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GFile) file = tmp_file (names[i]);
      g_autoptr(GBytes) bytes = NULL;
      g_autoptr(GFile) renamed = tmp_file ("no-extension");
      g_autoptr(GVariant) loaded = NULL;
      JobCompression expected = job_compression_from_filename (names[i]);

      g_assert_true (job_dump (value, file, JOB_COMPRESSION_AUTO, JOB_COMPRESSION_DEFAULT_LEVEL,
                               NULL, &error));
      g_assert_no_error (error);
      bytes = file_contents (file);
      g_assert_cmpint (job_compression_detect (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes)),
                       ==, expected);
      if (expected == JOB_COMPRESSION_NONE)
        g_assert_true (memcmp (g_bytes_get_data (bytes, NULL), "\x89JOBGLIB", 8) == 0);

      /* Loading goes by magic bytes, not by name. */
      g_assert_true (g_file_move (file, renamed, G_FILE_COPY_OVERWRITE, NULL, NULL, NULL, &error));
      loaded = job_load (renamed, JOB_LOAD_NONE, 0, NULL, &error);
      g_assert_no_error (error);
      g_assert_true (g_variant_equal (loaded, value));
    }
}

static void
test_memory_stream (void)
{
  g_autoptr(GVariant) value = array_variant ("<f8", (gsize[]) { 64, 64 }, 2, 9);

  for (guint c = 0; c < G_N_ELEMENTS (all_codecs); c++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable ();
      g_autoptr(GBytes) bytes = NULL;
      g_autoptr(GInputStream) in = NULL;
      g_autoptr(GVariant) loaded = NULL;

      g_assert_true (job_dump_to_stream (value, out, all_codecs[c], JOB_COMPRESSION_DEFAULT_LEVEL,
                                         NULL, &error));
      g_assert_no_error (error);
      g_assert_false (g_output_stream_is_closed (out));
      g_assert_true (g_output_stream_close (out, NULL, NULL));
      bytes = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));
      in = g_memory_input_stream_new_from_bytes (bytes);
      loaded = job_load_from_stream (in, 0, NULL, &error);
      g_assert_no_error (error);
      g_assert_true (g_variant_equal (loaded, value));
      g_assert_false (g_input_stream_is_closed (in));
    }
}

static void
test_converter_output_stream (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = array_variant ("<i8", (gsize[]) { 1000 }, 1, 10);
  g_autoptr(GOutputStream) memory = g_memory_output_stream_new_resizable ();
  g_autoptr(GZlibCompressor) gzip = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 6);
  g_autoptr(GOutputStream) out = g_converter_output_stream_new (memory, G_CONVERTER (gzip));
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GInputStream) in = NULL;
  g_autoptr(GVariant) loaded = NULL;

  g_assert_true (job_dump_to_stream (value, out, JOB_COMPRESSION_NONE, 0, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_output_stream_close (out, NULL, &error));
  bytes = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (memory));
  g_assert_cmpint (job_compression_detect (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes)),
                   ==, JOB_COMPRESSION_GZIP);
  in = g_memory_input_stream_new_from_bytes (bytes);
  loaded = job_load_from_stream (in, 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_variant_equal (loaded, value));
}

/* Whether @address lies in a mapping of @path, per /proc/self/maps. */
static gboolean
is_mapped_from (gconstpointer  address,
                const char    *path)
{
  g_autofree char *maps = NULL;
  g_auto(GStrv) lines = NULL;
  guintptr a = GPOINTER_TO_SIZE (address);

  g_assert_true (g_file_get_contents ("/proc/self/maps", &maps, NULL, NULL));
  lines = g_strsplit (maps, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      guint64 start, end;

      if (sscanf (lines[i], "%" G_GINT64_MODIFIER "x-%" G_GINT64_MODIFIER "x", &start, &end) == 2 &&
          a >= start && a < end && g_str_has_suffix (lines[i], path))
        return TRUE;
    }
  return FALSE;
}

static void
test_mmap_shares_pages (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) file = tmp_file ("mapped.job");
  g_autofree char *path = g_file_get_path (file);
  g_autoptr(GVariant) first = array_variant ("<f8", (gsize[]) { 100000 }, 1, 11);
  g_autoptr(GVariant) second = array_variant ("<i2", (gsize[]) { 7, 1000 }, 2, 12);
  g_autoptr(GVariant) value = g_variant_ref_sink (g_variant_new ("(@(ssatay)s@(ssatay))",
                                                                 first, "between", second));
  g_autoptr(GVariant) loaded = NULL;
  g_autoptr(GVariant) again = NULL;
  g_autoptr(GVariant) a_variant = NULL;
  g_autoptr(GVariant) b_variant = NULL;
  g_autoptr(JobArray) a = NULL;
  g_autoptr(JobArray) b = NULL;
  g_autoptr(GBytes) contents = NULL;
  const guint8 *a_data, *b_data;
  gsize a_size;

  g_assert_true (job_dump (value, file, JOB_COMPRESSION_NONE, 0, NULL, &error));
  g_assert_no_error (error);
  loaded = job_load (file, JOB_LOAD_MMAP, 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_variant_equal (loaded, value));

  a_variant = g_variant_get_child_value (loaded, 0);
  b_variant = g_variant_get_child_value (loaded, 2);
  a = job_array_new_from_variant (a_variant, &error);
  b = job_array_new_from_variant (b_variant, &error);
  g_assert_no_error (error);
  a_data = g_bytes_get_data (job_array_get_data (a), &a_size);
  b_data = g_bytes_get_data (job_array_get_data (b), NULL);

  /* Both arrays point into one mapping of the file, at their offsets. */
  g_assert_true (is_mapped_from (a_data, path));
  g_assert_true (is_mapped_from (b_data, path));
  g_assert_cmpuint (GPOINTER_TO_SIZE (a_data) % 64, ==, 0);
  g_assert_cmpuint (GPOINTER_TO_SIZE (b_data) % 64, ==, 0);
  g_assert_cmpuint (b_data - a_data, ==, (a_size + 63) / 64 * 64);
  contents = file_contents (file);
  g_assert_nonnull (memmem (g_bytes_get_data (contents, NULL), g_bytes_get_size (contents),
                            a_data, a_size));

  /* A normal load copies: its buffer is not in the mapping. */
  again = job_load (file, JOB_LOAD_NONE, 0, NULL, &error);
  g_assert_no_error (error);
  {
    g_autoptr(GVariant) child = g_variant_get_child_value (again, 0);
    g_autoptr(JobArray) copy = job_array_new_from_variant (child, &error);

    g_assert_false (is_mapped_from (g_bytes_get_data (job_array_get_data (copy), NULL), path));
  }

  /* The views keep the mapping alive after the value is gone. */
  g_clear_pointer (&loaded, g_variant_unref);
  g_clear_pointer (&a_variant, g_variant_unref);
  g_assert_true (is_mapped_from (a_data, path));
  g_assert_cmpfloat (job_array_get_double (a, 99999), ==, ((const gdouble *) a_data)[99999]);
}

static void
test_mmap_compressed_falls_back (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) file = tmp_file ("mapped.job.gz");
  g_autoptr(GVariant) value = array_variant ("<f8", (gsize[]) { 1000 }, 1, 13);
  g_autoptr(GVariant) loaded = NULL;

  g_assert_true (job_dump (value, file, JOB_COMPRESSION_AUTO, 1, NULL, &error));
  g_test_expect_message ("Joblib", G_LOG_LEVEL_WARNING, "*compressed (gzip)*");
  loaded = job_load (file, JOB_LOAD_MMAP, 0, NULL, &error);
  g_test_assert_expected_messages ();
  g_assert_no_error (error);
  g_assert_true (g_variant_equal (loaded, value));
}

/* Loads @bytes from a stream, then mapped from a file (unless the file
 * is damaged only in array data, whose checksums a mapped load skips). */
static void
expect_load_error_full (GBytes     *bytes,
                        GQuark      domain,
                        int         code,
                        guint64     max_size,
                        gboolean    mapped_too)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) file = tmp_file ("bad.job");
  g_autoptr(GInputStream) in = g_memory_input_stream_new_from_bytes (bytes);
  g_autoptr(GVariant) from_stream = job_load_from_stream (in, max_size, NULL, &error);
  g_autoptr(GVariant) mapped = NULL;

  g_assert_null (from_stream);
  g_assert_error (error, domain, code);
  g_clear_error (&error);
  if (!mapped_too)
    return;

  g_assert_true (g_file_replace_contents (file, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                                          NULL, FALSE, 0, NULL, NULL, NULL));
  /* below 4 bytes, too short to be any file: no word about mapping */
  if (g_bytes_get_size (bytes) >= 4 &&
      job_compression_detect (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes)) != JOB_COMPRESSION_NONE)
    g_test_expect_message ("Joblib", G_LOG_LEVEL_WARNING, "*compressed*");
  mapped = job_load (file, JOB_LOAD_MMAP, max_size, NULL, &error);
  g_test_assert_expected_messages ();
  g_assert_null (mapped);
  g_assert_nonnull (error);
  g_assert_true (error->domain == JOB_ERROR);
}

static void
expect_load_error (GBytes     *bytes,
                   GQuark      domain,
                   int         code,
                   guint64     max_size)
{
  expect_load_error_full (bytes, domain, code, max_size, TRUE);
}

static GBytes *
dump_to_bytes (GVariant       *value,
               JobCompression  compression)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable ();

  g_assert_true (job_dump_to_stream (value, out, compression, JOB_COMPRESSION_DEFAULT_LEVEL, NULL, &error));
  g_assert_no_error (error);
  g_output_stream_close (out, NULL, NULL);
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));
}

static GBytes *
patched (GBytes *bytes,
         gsize   offset,
         guint8  xor)
{
  guint8 *copy = g_memdup2 (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));

  copy[offset] ^= xor;
  return g_bytes_new_take (copy, g_bytes_get_size (bytes));
}

static void
test_bad_truncated (void)
{
  g_autoptr(GVariant) array = array_variant ("<f8", (gsize[]) { 600 }, 1, 14);
  g_autoptr(GVariant) value = g_variant_ref_sink (g_variant_new ("(s@(ssatay))", "x", array));

  for (guint c = 0; c < G_N_ELEMENTS (all_codecs); c++)
    {
      g_autoptr(GBytes) good = dump_to_bytes (value, all_codecs[c]);
      gsize size = g_bytes_get_size (good);

      for (gsize cut = 0; cut < size; cut += 1 + cut / 8)
        {
          g_autoptr(GBytes) part = g_bytes_new_from_bytes (good, 0, cut);

          g_test_message ("cut %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT, cut, size);
          expect_load_error (part, JOB_ERROR, JOB_ERROR_INVALID_DATA, 0);
        }
    }
}

static void
test_bad_magic_version_checksum (void)
{
  g_autoptr(GVariant) array = array_variant ("<f8", (gsize[]) { 600 }, 1, 15);
  g_autoptr(GVariant) value = g_variant_ref_sink (g_variant_new ("(s@(ssatay))", "x", array));
  g_autoptr(GBytes) good = dump_to_bytes (value, JOB_COMPRESSION_NONE);
  g_autoptr(GBytes) magic = patched (good, 1, 0x20);
  g_autoptr(GBytes) version = patched (good, 8, 0x02);
  g_autoptr(GBytes) flags = patched (good, 13, 0x01);
  g_autoptr(GBytes) header = patched (good, 40, 0x01);
  g_autoptr(GBytes) data = patched (good, g_bytes_get_size (good) - 100, 0x01);
  g_autoptr(GBytes) npy = g_bytes_new_static ("\x93NUMPY\x01\x00", 8);
  g_autoptr(GVariant) mapped = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) file = tmp_file ("bad-data.job");

  expect_load_error (magic, JOB_ERROR, JOB_ERROR_INVALID_DATA, 0);
  expect_load_error (npy, JOB_ERROR, JOB_ERROR_INVALID_DATA, 0);
  expect_load_error (version, JOB_ERROR, JOB_ERROR_UNSUPPORTED, 0);
  expect_load_error (flags, JOB_ERROR, JOB_ERROR_UNSUPPORTED, 0);
  expect_load_error (header, JOB_ERROR, JOB_ERROR_INVALID_DATA, 0);

  /* Array checksums are checked on normal loads; mapped loads skip them
   * on purpose (they would read every page), see JOB_LOAD_MMAP. */
  expect_load_error_full (data, JOB_ERROR, JOB_ERROR_INVALID_DATA, 0, FALSE);
  g_assert_true (g_file_replace_contents (file, g_bytes_get_data (data, NULL), g_bytes_get_size (data),
                                          NULL, FALSE, 0, NULL, NULL, NULL));
  mapped = job_load (file, JOB_LOAD_MMAP, 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (g_variant_equal (mapped, value));
}

/* Writes a file by hand around @header, with a valid header checksum. */
static GBytes *
craft (GVariant *header)
{
  g_autoptr(GByteArray) file = g_byte_array_new ();
  guint32 version = GUINT32_TO_LE (1), flags = 0;
  guint64 size = GUINT64_TO_LE (g_variant_get_size (header));
  guint64 checksum = GUINT64_TO_LE (XXH3_64bits (g_variant_get_data (header), g_variant_get_size (header)));
  static const guint8 zeros[1 << 16];

  g_byte_array_append (file, (const guint8 *) "\x89JOBGLIB", 8);
  g_byte_array_append (file, (const guint8 *) &version, 4);
  g_byte_array_append (file, (const guint8 *) &flags, 4);
  g_byte_array_append (file, (const guint8 *) &size, 8);
  g_byte_array_append (file, (const guint8 *) &checksum, 8);
  g_byte_array_append (file, g_variant_get_data (header), g_variant_get_size (header));
  g_byte_array_append (file, zeros, sizeof zeros);
  return g_byte_array_free_to_bytes (g_steal_pointer (&file));
}

static GVariant *
header_with_table (GVariant *skeleton,
                   guint64   ordinal,
                   guint64   offset,
                   guint64   size)
{
  GVariantBuilder table;

  g_variant_builder_init (&table, G_VARIANT_TYPE ("a(tttt)"));
  g_variant_builder_add (&table, "(tttt)", ordinal, offset, size, (guint64) 0);
  return g_variant_ref_sink (g_variant_new ("(s@va(tttt))", g_variant_get_type_string (skeleton),
                                            g_variant_new_variant (skeleton), &table));
}

static void
test_bad_crafted (void)
{
  g_autoptr(GVariant) empty_ad = g_variant_ref_sink (g_variant_new_fixed_array (G_VARIANT_TYPE_DOUBLE, NULL, 0, 8));
  g_autoptr(GVariant) full_ad = g_variant_ref_sink (g_variant_new_parsed ("[1.0, 2.0]"));
  g_autoptr(GVariant) deep = g_variant_ref_sink (g_variant_new_int32 (1));
  g_autoptr(GVariant) h = NULL;
  g_autoptr(GBytes) f = NULL;

  /* Absurd sizes: far beyond the cap, beyond the address space. */
  h = header_with_table (empty_ad, 0, 128, G_GUINT64_CONSTANT (1) << 62);
  f = craft (h);
  expect_load_error (f, JOB_ERROR, JOB_ERROR_TOO_LARGE, 0);
  g_clear_pointer (&h, g_variant_unref);
  g_clear_pointer (&f, g_bytes_unref);
  h = header_with_table (empty_ad, 0, 128, G_MAXUINT64 - 64);
  f = craft (h);
  expect_load_error (f, JOB_ERROR, JOB_ERROR_INVALID_DATA, 0);
  g_clear_pointer (&h, g_variant_unref);
  g_clear_pointer (&f, g_bytes_unref);

  /* Misaligned offset. */
  h = header_with_table (empty_ad, 0, 129, 16);
  f = craft (h);
  expect_load_error (f, JOB_ERROR, JOB_ERROR_INVALID_DATA, 0);
  g_clear_pointer (&h, g_variant_unref);
  g_clear_pointer (&f, g_bytes_unref);

  /* Size that is not a whole number of doubles. */
  h = header_with_table (empty_ad, 0, 128, 12);
  f = craft (h);
  expect_load_error (f, JOB_ERROR, JOB_ERROR_INVALID_DATA, 0);
  g_clear_pointer (&h, g_variant_unref);
  g_clear_pointer (&f, g_bytes_unref);

  /* The entry points at an array that is not empty, or at none. */
  h = header_with_table (full_ad, 0, 128, 16);
  f = craft (h);
  expect_load_error (f, JOB_ERROR, JOB_ERROR_INVALID_DATA, 0);
  g_clear_pointer (&h, g_variant_unref);
  g_clear_pointer (&f, g_bytes_unref);
  h = header_with_table (empty_ad, 5, 128, 16);
  f = craft (h);
  expect_load_error (f, JOB_ERROR, JOB_ERROR_INVALID_DATA, 0);
  g_clear_pointer (&h, g_variant_unref);
  g_clear_pointer (&f, g_bytes_unref);

  /* Declared type and stored type disagree. */
  h = g_variant_ref_sink (g_variant_new ("(s@va(tttt))", "s", g_variant_new_variant (g_variant_new_int32 (1)),
                                         NULL));
  f = craft (h);
  expect_load_error (f, JOB_ERROR, JOB_ERROR_INVALID_DATA, 0);
  g_clear_pointer (&h, g_variant_unref);
  g_clear_pointer (&f, g_bytes_unref);

  /* A nesting bomb: variants in variants, deeper than any limit. */
  for (guint i = 0; i < 300; i++)
    {
      GVariant *outer = g_variant_ref_sink (g_variant_new_variant (deep));

      g_variant_unref (deep);
      deep = outer;
    }
  h = g_variant_ref_sink (g_variant_new ("(s@va(tttt))", "v", g_variant_new_variant (deep), NULL));
  f = craft (h);
  expect_load_error (f, JOB_ERROR, JOB_ERROR_INVALID_DATA, 0);
}

static void
test_dump_depth_limit (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) deep = g_variant_ref_sink (g_variant_new_int32 (1));
  g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable ();

  for (guint i = 0; i < JOB_PERSIST_MAX_DEPTH + 5; i++)
    {
      GVariant *outer = g_variant_ref_sink (g_variant_new_tuple (&deep, 1));

      g_variant_unref (deep);
      deep = outer;
    }
  g_assert_false (job_dump_to_stream (deep, out, JOB_COMPRESSION_NONE, 0, NULL, &error));
  g_assert_error (error, JOB_ERROR, JOB_ERROR_TOO_LARGE);
}

/* Bytes of random-looking data: lz4 stores them as they are. */
static GVariant *
noise_array (gsize size)
{
  guint8 *data = g_malloc (size);
  guint64 x = 88172645463325252u;

  for (gsize i = 0; i < size; i++)
    {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      data[i] = (guint8) (x >> 24);
    }
  return g_variant_ref_sink (g_variant_new_from_data (G_VARIANT_TYPE_BYTESTRING, data, size,
                                                      TRUE, g_free, data));
}

static GBytes *
compress_bytes (JobCompression  compression,
                const char     *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GConverter) compressor = job_compression_new_compressor (compression, -1, &error);
  g_autoptr(GOutputStream) memory = g_memory_output_stream_new_resizable ();
  g_autoptr(GOutputStream) out = NULL;

  g_assert_no_error (error);
  out = g_converter_output_stream_new (memory, compressor);
  g_assert_true (g_output_stream_write_all (out, text, strlen (text), NULL, NULL, &error));
  g_assert_true (g_output_stream_close (out, NULL, &error));
  g_assert_no_error (error);
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (memory));
}

/* Dumps leave the lz4 and zstd frame checksums out (the format hashes
 * its header and arrays itself), and a corrupt byte is still found; a
 * compressor made by job_compression_new_compressor() keeps them. */
static void
test_codec_frames (void)
{
  static const JobCompression codecs[] = { JOB_COMPRESSION_LZ4, JOB_COMPRESSION_ZSTD };
  g_autoptr(GVariant) noise = noise_array (256 * 1024);
  g_autoptr(GVariant) value = g_variant_ref_sink (g_variant_new ("(s@ay)", "x", noise));

  for (guint c = 0; c < G_N_ELEMENTS (codecs); c++)
    {
      g_autoptr(GBytes) dumped = dump_to_bytes (value, codecs[c]);
      g_autoptr(GBytes) standalone = compress_bytes (codecs[c], "some text to compress");
      const guint8 *dump_data = g_bytes_get_data (dumped, NULL);
      const guint8 *standalone_data = g_bytes_get_data (standalone, NULL);
      gsize size = g_bytes_get_size (dumped);

      /* both formats: the content checksum flag is bit 2 of byte 4 */
      g_assert_cmpuint (dump_data[4] & 0x04, ==, 0);
      g_assert_cmpuint (standalone_data[4] & 0x04, ==, 0x04);
      if (codecs[c] == JOB_COMPRESSION_LZ4)
        /* independent blocks */
        g_assert_cmpuint (dump_data[4] & 0x20, ==, 0x20);

      for (gsize at = size / 4; at < size; at += size / 4)
        {
          g_autoptr(GBytes) bad = patched (dumped, at, 0x10);

          g_test_message ("codec %u, byte %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT, c, at, size);
          expect_load_error (bad, JOB_ERROR, JOB_ERROR_INVALID_DATA, 0);
        }
    }
}

/* Many small subtrees (skipped whole by the dump's first pass) before a
 * stored array: the array's ordinal still counts the small fixed arrays
 * inside them, and nesting hidden in variants is still refused. */
static void
test_small_subtrees (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GVariant) small = NULL;
  g_autoptr(GVariant) loaded = NULL;
  g_autoptr(GVariant) deep = g_variant_ref_sink (g_variant_new_int32 (1));
  g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable ();
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GBytes) small_bytes = NULL;
  g_autoptr(GInputStream) in = NULL;
  g_autofree guint8 *big = g_malloc (4096);
  GVariantBuilder list;

  for (guint i = 0; i < 4096; i++)
    big[i] = (guint8) (i * 7);
  g_variant_builder_init (&list, G_VARIANT_TYPE ("aa{sv}"));
  for (gint32 i = 0; i < 100; i++)
    {
      gint32 ints[3] = { i, i + 1, i + 2 };

      g_variant_builder_open (&list, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&list, "{sv}", "id", g_variant_new_int64 (i));
      g_variant_builder_add (&list, "{sv}", "ints",
                             g_variant_new_fixed_array (G_VARIANT_TYPE_INT32, ints, 3, sizeof (gint32)));
      g_variant_builder_close (&list);
    }
  value = g_variant_ref_sink (g_variant_new ("(aa{sv}@ay)", &list,
                                             g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, big,
                                                                        4096, 1)));
  bytes = dump_to_bytes (value, JOB_COMPRESSION_NONE);
  /* the big array is stored out of the header, so the file holds it once */
  g_assert_cmpuint (g_bytes_get_size (bytes), <, g_variant_get_size (value) + 1024);
  in = g_memory_input_stream_new_from_bytes (bytes);
  loaded = job_load_from_stream (in, 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_variant_equal (loaded, value));

  /* only small arrays: nothing is stored apart, the value comes back */
  small = g_variant_get_child_value (value, 0);
  small_bytes = dump_to_bytes (small, JOB_COMPRESSION_NONE);
  g_clear_object (&in);
  g_clear_pointer (&loaded, g_variant_unref);
  in = g_memory_input_stream_new_from_bytes (small_bytes);
  loaded = job_load_from_stream (in, 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_variant_equal (loaded, small));

  /* a small value nesting too deep through variants */
  for (guint i = 0; i < JOB_PERSIST_MAX_DEPTH + 5; i++)
    {
      GVariant *outer = g_variant_ref_sink (g_variant_new_variant (deep));

      g_variant_unref (deep);
      deep = outer;
    }
  g_assert_cmpuint (g_variant_get_size (deep), <, 1024);
  g_assert_false (job_dump_to_stream (deep, out, JOB_COMPRESSION_NONE, 0, NULL, &error));
  g_assert_error (error, JOB_ERROR, JOB_ERROR_TOO_LARGE);
}

static void
test_decompression_bomb (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JobArray) zeros = job_array_new_zeros ("|u1", (gsize[]) { 64 * 1024 * 1024 }, 1, &error);
  g_autoptr(GVariant) value = job_array_to_variant (zeros);
  g_autoptr(GBytes) bomb = dump_to_bytes (value, JOB_COMPRESSION_ZSTD);
  g_autoptr(GInputStream) in = g_memory_input_stream_new_from_bytes (bomb);
  g_autoptr(GVariant) loaded = NULL;

  g_assert_cmpuint (g_bytes_get_size (bomb), <, 64 * 1024);
  expect_load_error (bomb, JOB_ERROR, JOB_ERROR_TOO_LARGE, 1024 * 1024);
  loaded = job_load_from_stream (in, 128 * 1024 * 1024, NULL, &error);
  g_assert_no_error (error);
  /* Not g_variant_equal(): on untrusted values it compares printed text,
   * 64 MiB of it. */
  {
    g_autoptr(JobArray) back = job_array_new_from_variant (loaded, &error);

    g_assert_no_error (error);
    g_assert_true (g_bytes_equal (job_array_get_data (back), job_array_get_data (zeros)));
  }
}

static void
test_failed_dump_leaves_no_file (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) file = tmp_file ("never.job");
  g_autoptr(GVariant) value = g_variant_ref_sink (g_variant_new_string ("x"));

  g_assert_false (job_dump (value, file, JOB_COMPRESSION_GZIP, 42, NULL, &error));
  g_assert_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT);
  g_assert_false (g_file_query_exists (file, NULL));
}

static void
on_done (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static void
test_async (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) file = tmp_file ("async.job.lz4");
  g_autoptr(GVariant) value = array_variant ("<f4", (gsize[]) { 4, 500 }, 2, 16);
  g_autoptr(GVariant) loaded = NULL;
  GAsyncResult *result = NULL;

  job_dump_async (value, file, JOB_COMPRESSION_AUTO, JOB_COMPRESSION_DEFAULT_LEVEL, NULL, on_done, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (job_dump_finish (result, &error));
  g_assert_no_error (error);
  g_clear_object (&result);

  job_load_async (file, JOB_LOAD_NONE, 0, NULL, on_done, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  loaded = job_load_finish (result, &error);
  g_assert_no_error (error);
  g_assert_true (g_variant_equal (loaded, value));
  g_clear_object (&result);
}

/* A missing file is G_IO_ERROR_NOT_FOUND whether it is read or mapped. */
static void
test_missing_file (void)
{
  g_autoptr(GFile) file = g_file_new_for_path ("/nonexistent/joblib-glib/value.job");
  JobLoadFlags flags[] = { JOB_LOAD_NONE, JOB_LOAD_MMAP };

  for (guint i = 0; i < G_N_ELEMENTS (flags); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) value = job_load (file, flags[i], 0, NULL, &error);

      g_assert_null (value);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
    }
}

/* The pickle of small values, byte for byte as Python writes them, and
 * the same pickle from a built and from a serialized value. */
static void
test_variant_to_pickle (void)
{
  static const guint8 expected[] = {
    0x80, 5, ']', '(', 'J', 7, 0, 0, 0, 'N', 0x88, 'X', 2, 0, 0, 0, 'h', 'i', 'e', '.'
  };
  g_autoptr(GVariant) value = g_variant_ref_sink (
    g_variant_new_parsed ("[<int64 7>, <@mv nothing>, <true>, <'hi'>]"));
  g_autoptr(GVariant) serialized = NULL;
  g_autoptr(GBytes) data = NULL;
  g_autoptr(GVariant) deferred = NULL;
  g_autoptr(GVariant) deferred2 = NULL;
  g_autoptr(GBytes) pickle = job_variant_to_pickle (value, &deferred);
  g_autoptr(GBytes) pickle2 = NULL;
  g_autoptr(GBytes) expected_bytes = g_bytes_new_static (expected, sizeof expected);

  g_assert_true (g_bytes_equal (pickle, expected_bytes));
  g_assert_cmpuint (g_variant_n_children (deferred), ==, 0);

  data = g_variant_get_data_as_bytes (value);
  serialized = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE ("av"), data,
                                                             FALSE));
  pickle2 = job_variant_to_pickle (serialized, &deferred2);
  g_assert_true (g_bytes_equal (pickle2, expected_bytes));
}

static void
test_variant_to_pickle_null (void)
{
  if (g_test_subprocess ())
    {
      GVariant *out = NULL;

      job_variant_to_pickle (NULL, &out);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*value != NULL*");
}

static void
test_variant_from_pickle_null (void)
{
  if (g_test_subprocess ())
    {
      job_variant_from_pickle (NULL, NULL);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*pickle != NULL*");
}

int
main (int argc, char *argv[])
{
  g_autoptr(GError) error = NULL;
  int ret;

  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("job-persist-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_func ("/joblib/persist/round-trip-file", test_round_trip_file);
  g_test_add_func ("/joblib/persist/missing-file", test_missing_file);
  g_test_add_func ("/joblib/persist/arrays-come-back", test_arrays_come_back);
  g_test_add_func ("/joblib/persist/extension-mapping", test_extension_mapping);
  g_test_add_func ("/joblib/persist/memory-stream", test_memory_stream);
  g_test_add_func ("/joblib/persist/converter-output-stream", test_converter_output_stream);
  g_test_add_func ("/joblib/persist/mmap-shares-pages", test_mmap_shares_pages);
  g_test_add_func ("/joblib/persist/mmap-compressed-falls-back", test_mmap_compressed_falls_back);
  g_test_add_func ("/joblib/persist/bad/truncated", test_bad_truncated);
  g_test_add_func ("/joblib/persist/bad/magic-version-checksum", test_bad_magic_version_checksum);
  g_test_add_func ("/joblib/persist/bad/crafted", test_bad_crafted);
  g_test_add_func ("/joblib/persist/bad/decompression-bomb", test_decompression_bomb);
  g_test_add_func ("/joblib/persist/dump-depth-limit", test_dump_depth_limit);
  g_test_add_func ("/joblib/persist/small-subtrees", test_small_subtrees);
  g_test_add_func ("/joblib/persist/codec-frames", test_codec_frames);
  g_test_add_func ("/joblib/persist/failed-dump-leaves-no-file", test_failed_dump_leaves_no_file);
  g_test_add_func ("/joblib/persist/async", test_async);
  g_test_add_func ("/joblib/persist/variant-to-pickle", test_variant_to_pickle);
  g_test_add_func ("/joblib/persist/variant-to-pickle-null", test_variant_to_pickle_null);
  g_test_add_func ("/joblib/persist/variant-from-pickle-null", test_variant_from_pickle_null);

  ret = g_test_run ();
  g_autoptr(GFile) dir = g_file_new_for_path (tmp_dir);
  {
    g_autoptr(GFileEnumerator) e = g_file_enumerate_children (dir, "standard::name", 0, NULL, NULL);
    GFileInfo *info;

    while (e != NULL && (info = g_file_enumerator_next_file (e, NULL, NULL)) != NULL)
      {
        g_autoptr(GFile) child = g_file_get_child (dir, g_file_info_get_name (info));

        g_file_delete (child, NULL, NULL);
        g_object_unref (info);
      }
  }
  g_file_delete (dir, NULL, NULL);
  g_free (tmp_dir);
  return ret;
}
