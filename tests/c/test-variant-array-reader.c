/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <joblib-glib.h>

#include "job-variant-array-reader-private.h"

/* The reader of a frame's bulk `av` must hand out the elements GLib reads
 * from the same bytes, for framing offsets of every width, and refuse
 * broken framing with JOB_ERROR_PROTOCOL instead of reading outside it. */

static GVariant *
make_element (guint i)
{
  switch (i % 4)
    {
    case 0:
      return g_variant_new ("(x)", (gint64) i * 7919);
    case 1:
      return g_variant_new ("(sdu)", i % 3 ? "ab" : "a much longer string value", 1.5 * i, i);
    case 2:
      return g_variant_new_byte ((guint8) i);  /* an element of 1 + 1 + 1 bytes */
    default:
      {
        gsize size = (i * 131) % 700;
        guint8 *data = g_malloc0 (size + 1);

        memset (data, (int) i, size);
        return g_variant_new ("(@ayb)",
                              g_variant_new_from_data (G_VARIANT_TYPE_BYTESTRING, data, size,
                                                       TRUE, g_free, data),
                              i & 1);
      }
    }
}

/* @array as a peer would send it: untrusted bytes, not normal-checked. */
static GVariant *
untrusted_copy (GVariant *array)
{
  g_autoptr(GBytes) bytes = g_bytes_new (g_variant_get_data (array), g_variant_get_size (array));

  return g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE ("av"), bytes, FALSE));
}

static void
check_elements (guint n)
{
  g_autoptr(GPtrArray) elements = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  g_autoptr(GVariant) array = NULL;
  g_autoptr(GVariant) received = NULL;
  g_autoptr(GError) error = NULL;
  JobVariantArrayReader reader;
  GVariantBuilder builder;
  GVariant *element;
  guint i = 0;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("av"));
  for (guint k = 0; k < n; k++)
    {
      g_ptr_array_add (elements, g_variant_ref_sink (make_element (k)));
      g_variant_builder_add (&builder, "v", g_ptr_array_index (elements, k));
    }
  array = g_variant_ref_sink (g_variant_builder_end (&builder));
  received = untrusted_copy (array);

  g_assert_true (job_variant_array_reader_init (&reader, received, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (job_variant_array_reader_get_n (&reader), ==, n);
  while ((element = job_variant_array_reader_next (&reader)) != NULL)
    {
      g_autoptr(GVariant) inner = g_variant_get_variant (element);

      g_assert_cmpuint (i, <, n);
      g_assert_true (g_variant_is_of_type (element, G_VARIANT_TYPE_VARIANT));
      g_assert_true (g_variant_equal (inner, g_ptr_array_index (elements, i)));
      /* an element keeps the frame's bytes alive past the reader */
      if (i + 1 == n)
        {
          job_variant_array_reader_clear (&reader);
          g_clear_pointer (&received, g_variant_unref);
          g_assert_true (g_variant_equal (inner, g_ptr_array_index (elements, i)));
        }
      g_variant_unref (element);
      i++;
    }
  g_assert_cmpuint (i, ==, n);
  g_assert_null (job_variant_array_reader_next (&reader));
  job_variant_array_reader_clear (&reader);
}

static void
test_elements (void)
{
  /* 0 elements; 1-byte offsets; 2-byte offsets (> 255 bytes); 4-byte
   * offsets (> 64 KiB) */
  static const guint counts[] = { 0, 1, 2, 5, 17, 300, 2000 };

  for (gsize i = 0; i < G_N_ELEMENTS (counts); i++)
    check_elements (counts[i]);
}

static void
expect_refused (const guint8 *data,
                gsize         size)
{
  g_autoptr(GBytes) bytes = g_bytes_new (data, size);
  g_autoptr(GVariant) array = g_variant_ref_sink (
    g_variant_new_from_bytes (G_VARIANT_TYPE ("av"), bytes, FALSE));
  g_autoptr(GError) error = NULL;
  JobVariantArrayReader reader;

  g_assert_false (job_variant_array_reader_init (&reader, array, &error));
  g_assert_error (error, JOB_ERROR, JOB_ERROR_PROTOCOL);
  g_assert_null (reader.array);
  g_assert_cmpuint (job_variant_array_reader_get_n (&reader), ==, 0);
  g_assert_null (job_variant_array_reader_next (&reader));
}

static void
test_broken_framing (void)
{
  /* two `v` elements, `(x)` = 8 bytes + 0 + "(x)" = 12 bytes each, the
   * second at offset 16: offsets 12 and 28 */
  g_autoptr(GVariant) good = NULL;
  GVariant *two[2];
  guint8 bytes[64];
  gsize size;

  two[0] = g_variant_new_variant (g_variant_new ("(x)", (gint64) 1));
  two[1] = g_variant_new_variant (g_variant_new ("(x)", (gint64) 2));
  good = g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE_VARIANT, two, 2));
  size = g_variant_get_size (good);
  g_assert_cmpuint (size, ==, 30);
  memcpy (bytes, g_variant_get_data (good), size);
  g_assert_cmpuint (bytes[28], ==, 12);
  g_assert_cmpuint (bytes[29], ==, 28);

  /* the last offset past the end */
  bytes[29] = 31;
  expect_refused (bytes, size);
  /* the offsets start a byte early: the first one is a type string byte */
  bytes[29] = 27;
  expect_refused (bytes, size);
  /* the first element runs on to 26: the second then starts at 32, past
   * its end */
  bytes[29] = 28;
  bytes[28] = 26;
  expect_refused (bytes, size);
  /* the first element ends inside the offsets */
  bytes[28] = 29;
  expect_refused (bytes, size);
  /* back to the good bytes: taken */
  bytes[28] = 12;
  {
    g_autoptr(GBytes) data = g_bytes_new (bytes, size);
    g_autoptr(GVariant) array = g_variant_ref_sink (
      g_variant_new_from_bytes (G_VARIANT_TYPE ("av"), data, FALSE));
    g_auto(JobVariantArrayReader) reader = { 0 };

    g_assert_true (job_variant_array_reader_init (&reader, array, NULL));
    g_assert_cmpuint (job_variant_array_reader_get_n (&reader), ==, 2);
  }
  /* one byte, a last offset of 1 past the end */
  bytes[0] = 2;
  expect_refused (bytes, 1);
}

/* Any bytes: refused, or every element inside the array (run under
 * ASan/valgrind by the reliability steps). */
static void
test_random_bytes (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (20261207);

  for (guint round = 0; round < 3000; round++)
    {
      gsize size = g_rand_int_range (rand, 1, 80);
      g_autofree guint8 *data = g_malloc (size);
      g_autoptr(GBytes) bytes = NULL;
      g_autoptr(GVariant) array = NULL;
      g_autoptr(GError) error = NULL;
      JobVariantArrayReader reader;
      GVariant *element;
      gsize n = 0;

      for (gsize i = 0; i < size; i++)
        data[i] = (guint8) g_rand_int_range (rand, 0, round % 2 ? 256 : 40);
      bytes = g_bytes_new_take (g_steal_pointer (&data), size);
      array = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE ("av"), bytes, FALSE));
      if (!job_variant_array_reader_init (&reader, array, &error))
        {
          g_assert_error (error, JOB_ERROR, JOB_ERROR_PROTOCOL);
          continue;
        }
      while ((element = job_variant_array_reader_next (&reader)) != NULL)
        {
          g_autoptr(GVariant) inner = g_variant_get_variant (element);

          g_assert_cmpuint (g_variant_get_size (element), <=, size);
          g_assert_nonnull (inner);
          g_variant_unref (element);
          n++;
        }
      g_assert_cmpuint (n, ==, job_variant_array_reader_get_n (&reader));
      g_assert_cmpuint (n, ==, g_variant_n_children (array));
      job_variant_array_reader_clear (&reader);
    }
}

static void
test_wrong_type (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(GVariant) strings = g_variant_ref_sink (g_variant_new_strv (NULL, 0));
      JobVariantArrayReader reader;

      job_variant_array_reader_init (&reader, strings, NULL);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*job_variant_array_reader_init*");
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/joblib/variant-array-reader/elements", test_elements);
  g_test_add_func ("/joblib/variant-array-reader/broken-framing", test_broken_framing);
  g_test_add_func ("/joblib/variant-array-reader/random-bytes", test_random_bytes);
  g_test_add_func ("/joblib/variant-array-reader/wrong-type", test_wrong_type);

  return g_test_run ();
}
