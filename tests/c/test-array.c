/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <math.h>
#include <string.h>

#include <glib/gstdio.h>
#include <joblib-glib.h>

static JobArray *
make_array (const char  *typestr,
            const gsize *shape,
            guint        n_dims,
            gconstpointer data,
            gsize        size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = g_bytes_new (data, size);
  JobArray *array = job_array_new (typestr, shape, n_dims, bytes, &error);

  g_assert_no_error (error);
  return array;
}

static void
test_new (void)
{
  const gsize shape[] = { 2, 3 };
  gdouble values[6] = { 0, 1.5, -2, 3, 4, 5e10 };
  g_autoptr(JobArray) a = make_array ("<f8", shape, 2, values, sizeof values);
  const gsize index[] = { 1, 2 };
  guint n_dims;

  g_assert_cmpstr (job_array_get_typestr (a), ==, "<f8");
  g_assert_cmpuint (job_array_get_n_dims (a), ==, 2);
  g_assert_cmpuint (job_array_get_shape (a, &n_dims)[1], ==, 3);
  g_assert_cmpuint (n_dims, ==, 2);
  g_assert_cmpuint (job_array_get_n_elements (a), ==, 6);
  g_assert_cmpuint (job_array_get_item_size (a), ==, 8);
  g_assert_cmpfloat (job_array_get_double (a, 1), ==, 1.5);
  g_assert_cmpint (job_array_get_int64 (a, 2), ==, -2);
  g_assert_cmpfloat (*(const gdouble *) job_array_get_element (a, index, 2), ==, 5e10);
}

static void
test_typestr_normalized (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JobArray) u8 = job_array_new_zeros ("<u1", (gsize[]) { 4 }, 1, &error);
  g_autoptr(JobArray) native = job_array_new_zeros ("=i4", NULL, 0, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (job_array_get_typestr (u8), ==, "|u1");
  g_assert_cmpstr (job_array_get_typestr (native), ==,
                   G_BYTE_ORDER == G_LITTLE_ENDIAN ? "<i4" : ">i4");
  g_assert_cmpuint (job_array_get_n_elements (native), ==, 1);
  g_assert_cmpint (job_array_get_int64 (native, 0), ==, 0);
}

static void
test_element_types (void)
{
  const guint8 be_i4[] = { 0xff, 0xff, 0xff, 0xfe, 0x00, 0x00, 0x01, 0x00 };
  const guint16 half[] = { GUINT16_TO_LE (0x3c00), GUINT16_TO_LE (0xc000), GUINT16_TO_LE (0x3555) };
  const gdouble complex[] = { 1.25, -7, 2.5, 0 };
  const guint8 bytes[] = { 0, 200, 255 };
  const gint8 signed_bytes[] = { -1, 127 };
  const guint64 big[] = { G_MAXUINT32 + (guint64) 5 };
  g_autoptr(JobArray) a = make_array (">i4", (gsize[]) { 2 }, 1, be_i4, sizeof be_i4);
  g_autoptr(JobArray) h = make_array ("<f2", (gsize[]) { 3 }, 1, half, sizeof half);
  g_autoptr(JobArray) c = make_array ("<c16", (gsize[]) { 2 }, 1, complex, sizeof complex);
  g_autoptr(JobArray) u = make_array ("|u1", (gsize[]) { 3 }, 1, bytes, sizeof bytes);
  g_autoptr(JobArray) i = make_array ("|i1", (gsize[]) { 2 }, 1, signed_bytes, sizeof signed_bytes);
  g_autoptr(JobArray) t = make_array ("<u8", (gsize[]) { 1 }, 1, big, sizeof big);

  g_assert_cmpint (job_array_get_int64 (a, 0), ==, -2);
  g_assert_cmpint (job_array_get_int64 (a, 1), ==, 256);
  g_assert_cmpfloat (job_array_get_double (h, 0), ==, 1.0);
  g_assert_cmpfloat (job_array_get_double (h, 1), ==, -2.0);
  g_assert_cmpfloat_with_epsilon (job_array_get_double (h, 2), 1.0 / 3, 1e-3);
  g_assert_cmpfloat (job_array_get_double (c, 0), ==, 1.25);
  g_assert_cmpfloat (job_array_get_double (c, 1), ==, 2.5);
  g_assert_cmpint (job_array_get_int64 (u, 1), ==, 200);
  g_assert_cmpint (job_array_get_int64 (i, 0), ==, -1);
  g_assert_cmpint (job_array_get_int64 (t, 0), ==, G_MAXUINT32 + (gint64) 5);
}

static void
test_bad_arguments (void)
{
  static const struct { const char *typestr; gsize dims[2]; guint n_dims; gsize size; int code; } cases[] = {
    { "f8", { 1 }, 1, 8, JOB_ERROR_INVALID_ARGUMENT },
    { "<f8x", { 1 }, 1, 8, JOB_ERROR_UNSUPPORTED },
    { "<U8", { 1 }, 1, 8, JOB_ERROR_UNSUPPORTED },
    { "|f8", { 1 }, 1, 8, JOB_ERROR_INVALID_ARGUMENT },
    { "<f8", { 2 }, 1, 8, JOB_ERROR_INVALID_ARGUMENT },
    { "<f8", { G_MAXSIZE / 2, 4 }, 2, 8, JOB_ERROR_INVALID_ARGUMENT },
    { "<f8", { G_MAXSIZE / 8 + 1 }, 1, 8, JOB_ERROR_INVALID_ARGUMENT },
  };

  for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) bytes = g_bytes_new_take (g_malloc0 (cases[k].size), cases[k].size);
      g_autoptr(JobArray) a = job_array_new (cases[k].typestr, cases[k].dims, cases[k].n_dims,
                                             bytes, &error);

      g_assert_null (a);
      g_assert_error (error, JOB_ERROR, cases[k].code);
    }
}

static void
test_empty_shape_with_zero (void)
{
  g_autoptr(GError) error = NULL;
  const gsize shape[] = { G_MAXSIZE, 0, G_MAXSIZE };
  g_autoptr(JobArray) a = job_array_new ("<f8", shape, 3, NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (job_array_get_n_elements (a), ==, 0);
}

static void
test_variant_shares_buffer (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JobArray) a = job_array_new_zeros ("<i8", (gsize[]) { 10, 20, 30 }, 3, &error);
  g_autoptr(GVariant) v = job_array_to_variant (a);
  g_autoptr(GVariant) data = g_variant_get_child_value (v, 3);
  g_autoptr(JobArray) b = NULL;

  g_assert_true (job_array_is_array_variant (v));
  g_assert_true (g_variant_is_of_type (v, JOB_ARRAY_VARIANT_TYPE));
  g_assert_true (g_variant_get_data (data) == g_bytes_get_data (job_array_get_data (a), NULL));

  b = job_array_new_from_variant (v, &error);
  g_assert_no_error (error);
  g_assert_true (job_array_equal (a, b));
  g_assert_true (g_bytes_get_data (job_array_get_data (b), NULL) ==
                 g_bytes_get_data (job_array_get_data (a), NULL));
}

static void
test_variant_bad (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) not_array = g_variant_ref_sink (g_variant_new ("(ssatay)", "other", "<f8", NULL, NULL));
  g_autoptr(GVariant) absurd = NULL;
  guint64 dims[] = { G_MAXUINT32 * (guint64) 4, G_MAXUINT32 * (guint64) 4 };
  g_autoptr(JobArray) a = NULL;
  g_autoptr(JobArray) b = NULL;

  g_assert_false (job_array_is_array_variant (not_array));
  a = job_array_new_from_variant (not_array, &error);
  g_assert_null (a);
  g_assert_error (error, JOB_ERROR, JOB_ERROR_INVALID_DATA);
  g_clear_error (&error);

  absurd = g_variant_ref_sink (g_variant_new ("(ss@at@ay)", "joblib.array", "<f8",
                                              g_variant_new_fixed_array (G_VARIANT_TYPE_UINT64, dims, 2, 8),
                                              g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, "12345678", 8, 1)));
  b = job_array_new_from_variant (absurd, &error);
  g_assert_null (b);
  g_assert_error (error, JOB_ERROR, JOB_ERROR_INVALID_DATA);
}

static char *
temp_path (const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("job-array-XXXXXX", &error);

  g_assert_no_error (error);
  return g_build_filename (dir, name, NULL);
}

static void
test_npy_round_trip (void)
{
  static const char *types[] = { "<f8", "<i4", "|u1", "<c16", ">f4", "|b1" };

  for (guint k = 0; k < G_N_ELEMENTS (types); k++)
    for (guint n_dims = 0; n_dims <= 3; n_dims++)
      {
        g_autoptr(GError) error = NULL;
        g_autofree char *path = temp_path ("a.npy");
        g_autoptr(GFile) file = g_file_new_for_path (path);
        gsize shape[3] = { 3, n_dims == 2 ? 0 : 4, 5 };
        g_autoptr(JobArray) a = job_array_new_zeros (types[k], shape, n_dims, &error);
        g_autoptr(JobArray) b = NULL;
        g_autofree char *contents = NULL;
        gsize length;

        g_assert_no_error (error);
        g_assert_true (job_array_save_npy (a, file, NULL, &error));
        g_assert_no_error (error);
        g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
        g_assert_cmpuint ((length - g_bytes_get_size (job_array_get_data (a))) % 64, ==, 0);
        b = job_array_load_npy (file, NULL, &error);
        g_assert_no_error (error);
        g_assert_true (job_array_equal (a, b));
        g_unlink (path);
      }
}

static void
expect_npy_error (const char *contents,
                  gsize       length,
                  int         code)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = temp_path ("bad.npy");
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(JobArray) a = NULL;

  g_assert_true (g_file_set_contents (path, contents, length, NULL));
  a = job_array_load_npy (file, NULL, &error);
  g_assert_null (a);
  g_assert_error (error, JOB_ERROR, code);
  g_test_message ("%s", error->message);
  g_unlink (path);
}

/* A version 1.0 file with @dict as its header and @data after it. */
static void
expect_npy_header_error (const char *dict,
                         const char *data,
                         int         code)
{
  g_autoptr(GString) file = g_string_new_len ("\x93NUMPY\x01\x00", 8);
  guint16 len = strlen (dict) + 1;

  g_string_append_c (file, len & 0xff);
  g_string_append_c (file, len >> 8);
  g_string_append (file, dict);
  g_string_append_c (file, '\n');
  g_string_append (file, data);
  expect_npy_error (file->str, file->len, code);
}

static void
test_npy_bad (void)
{
  expect_npy_error ("PK\x03\x04", 4, JOB_ERROR_INVALID_DATA);
  expect_npy_error ("\x93NUMPY\x09\x00\x00\x00", 10, JOB_ERROR_UNSUPPORTED);
  expect_npy_error ("\x93NUMPY\x01\x00\xff\xff", 10, JOB_ERROR_INVALID_DATA);
  expect_npy_error ("\x93NUMPY\x01\x00\x40\x00{'descr'", 18, JOB_ERROR_INVALID_DATA);
  expect_npy_header_error ("{'descr': '<f8', 'fortran_order': True, 'shape': (1,), }", "",
                           JOB_ERROR_UNSUPPORTED);
  expect_npy_header_error ("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }",
                           "", JOB_ERROR_INVALID_DATA);
  expect_npy_header_error ("{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }", "12345678",
                           JOB_ERROR_INVALID_DATA);
  expect_npy_header_error ("{'descr': __import__('os'), 'fortran_order': False, 'shape': (4,)}", "",
                           JOB_ERROR_INVALID_DATA);
  expect_npy_header_error ("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", "12345678",
                           JOB_ERROR_UNSUPPORTED);
  expect_npy_header_error ("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }",
                           "12345678", JOB_ERROR_INVALID_DATA);
  expect_npy_header_error ("{'descr': '<f8', 'shape': (1,), }", "12345678", JOB_ERROR_INVALID_DATA);
  expect_npy_header_error ("{'descr': '<f8', 'fortran_order': False, 'shape': (1,2,3,4,5,6,7,8,9,1,2,3,4,5,6,7,8,9,1,2,3,4,5,6,7,8,9,1,2,3,4,5,6), }",
                           "", JOB_ERROR_INVALID_DATA);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/joblib/array/new", test_new);
  g_test_add_func ("/joblib/array/typestr-normalized", test_typestr_normalized);
  g_test_add_func ("/joblib/array/element-types", test_element_types);
  g_test_add_func ("/joblib/array/bad-arguments", test_bad_arguments);
  g_test_add_func ("/joblib/array/empty-shape-with-zero", test_empty_shape_with_zero);
  g_test_add_func ("/joblib/array/variant-shares-buffer", test_variant_shares_buffer);
  g_test_add_func ("/joblib/array/variant-bad", test_variant_bad);
  g_test_add_func ("/joblib/array/npy-round-trip", test_npy_round_trip);
  g_test_add_func ("/joblib/array/npy-bad", test_npy_bad);

  return g_test_run ();
}
