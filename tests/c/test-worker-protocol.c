/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <joblib-glib.h>

#include "job-worker-protocol-private.h"

/* job_worker_frame_append_call() writes CALL frames by hand; they must be
 * the bytes GLib would serialize for the same value, in normal form, for
 * any size (framing offsets of 1, 2 and 4 bytes) and argument shape. */

static GVariant *
make_args (guint i,
           int   shape)
{
  gsize size;
  guint8 *data;

  switch (shape)
    {
    case 0:
      return g_variant_new ("(x)", (gint64) i * 7919);
    case 1:
      return g_variant_new ("(sdu)", i % 3 ? "ab" : "a much longer string value", 1.5 * i, i);
    default:
      size = (i * 131) % 700;
      data = g_malloc0 (size + 1);
      return g_variant_new ("(@ayb)",
                            g_variant_new_from_data (G_VARIANT_TYPE_BYTESTRING, data, size,
                                                     TRUE, g_free, data),
                            i & 1);
    }
}

static void
check_call (guint    n_tasks,
            guint    n_refs,
            gboolean with_shared,
            int      shape)
{
  g_autoptr(GPtrArray) refs = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  g_autofree guint32 *indexes = g_new0 (guint32, n_tasks + 1);
  g_autoptr(GByteArray) expected = g_byte_array_new ();
  g_autoptr(GByteArray) written = g_byte_array_new ();
  g_autoptr(GVariant) shared = NULL;
  g_autoptr(GVariant) decoded = NULL;
  g_autoptr(GBytes) payload = NULL;
  g_autoptr(GError) error = NULL;
  GVariantBuilder ref_builder, arg_builder, shared_builder;
  GVariant *fields[6];

  g_variant_builder_init (&ref_builder, G_VARIANT_TYPE ("a(sa{sv})"));
  g_variant_builder_init (&arg_builder, G_VARIANT_TYPE ("av"));
  g_variant_builder_init (&shared_builder, G_VARIANT_TYPE ("a(uusst)"));
  for (guint i = 0; i < n_refs; i++)
    {
      GVariantBuilder fields_builder;
      g_autoptr(GVariant) reference = NULL;

      g_variant_builder_init (&fields_builder, G_VARIANT_TYPE ("a{sv}"));
      g_variant_builder_add (&fields_builder, "{sv}", "module",
                             g_variant_new_string ("/some/path/to/a/module.so"));
      g_variant_builder_add (&fields_builder, "{sv}", "symbol",
                             g_variant_new_string (i % 2 ? "x" : "square_thing"));
      reference = g_variant_ref_sink (g_variant_new ("(s@a{sv})", "native",
                                                     g_variant_builder_end (&fields_builder)));
      /* references are passed serialized, as the backend caches them */
      g_ptr_array_add (refs, g_variant_take_ref (g_variant_get_normal_form (reference)));
      g_variant_builder_add_value (&ref_builder, reference);
    }
  for (guint i = 0; i < n_tasks; i++)
    {
      GVariant *value = g_variant_ref_sink (make_args (i, shape));

      indexes[i] = i % n_refs;
      g_ptr_array_add (args, value);
      g_variant_builder_add (&arg_builder, "v", value);
    }
  if (with_shared)
    g_variant_builder_add (&shared_builder, "(uusst)", 0, 1, "/dev/shm/x", "ay", (guint64) 5);
  shared = g_variant_ref_sink (g_variant_builder_end (&shared_builder));

  fields[0] = g_variant_new_uint64 (42 + n_tasks);
  fields[1] = g_variant_new_boolean (n_tasks & 1);
  fields[2] = g_variant_builder_end (&ref_builder);
  fields[3] = g_variant_new_fixed_array (G_VARIANT_TYPE_UINT32, indexes, n_tasks, 4);
  fields[4] = g_variant_builder_end (&arg_builder);
  fields[5] = shared;  /* not floating: the tuple takes its own reference */
  job_worker_frame_append (expected, JOB_WORKER_MESSAGE_CALL, g_variant_new_tuple (fields, 6));
  job_worker_frame_append_call (written, 42 + n_tasks, n_tasks & 1,
                                (GVariant * const *) refs->pdata, refs->len, indexes,
                                (GVariant * const *) args->pdata, args->len, shared);

  g_assert_cmpmem (written->data, written->len, expected->data, expected->len);

  /* and the reader takes it (normal form, values back) */
  payload = g_bytes_new (written->data + JOB_WORKER_FRAME_HEADER_SIZE,
                         written->len - JOB_WORKER_FRAME_HEADER_SIZE);
  decoded = job_worker_frame_decode (JOB_WORKER_MESSAGE_CALL, payload, TRUE, &error);
  g_assert_no_error (error);
  {
    g_autoptr(GVariant) all_args = g_variant_get_child_value (decoded, 4);
    g_autoptr(GVariant) last = g_variant_get_child_value (all_args, n_tasks - 1);
    g_autoptr(GVariant) inner = g_variant_get_variant (last);

    g_assert_true (g_variant_equal (inner, g_ptr_array_index (args, n_tasks - 1)));
  }
}

static void
test_call_frame (void)
{
  static const guint sizes[] = { 1, 2, 3, 10, 40, 100, 1000, 5000, 70000 };
  /* Under valgrind (the test setup sets JOB_TEST_UNDER_VALGRIND) 70 000
   * tasks take minutes; 5 000 already need 4-byte framing offsets in
   * every shape. */
  gsize n_sizes = g_getenv ("JOB_TEST_UNDER_VALGRIND") != NULL ? G_N_ELEMENTS (sizes) - 1
                                                              : G_N_ELEMENTS (sizes);

  for (gsize i = 0; i < n_sizes; i++)
    for (guint refs = 1; refs <= 3; refs++)
      for (int shared = 0; shared < 2; shared++)
        for (int shape = 0; shape < 3; shape++)
          if (sizes[i] <= 5000 || shape < 2)
            check_call (sizes[i], refs, shared, shape);
}

/* A CALL frame over 64 KiB is checked part by part, its argument tuples
 * excepted (GLib checks byte arrays one byte at a time): the other parts
 * must still be in normal form. */
static void
test_big_call_frame_check (void)
{
  g_autofree guint8 *bytes = g_malloc0 (100 * 1024);
  g_autoptr(GVariant) args = g_variant_ref_sink (
    g_variant_new ("(@ay)", g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, bytes, 100 * 1024, 1)));
  GVariant *arg = g_variant_new_variant (args);
  g_autoptr(GVariant) call = g_variant_ref_sink (
    g_variant_new ("(tb@a(sa{sv})@au@av@a(uusst))", (guint64) 7, TRUE,
                   g_variant_new_array (G_VARIANT_TYPE ("(sa{sv})"), NULL, 0),
                   g_variant_new_fixed_array (G_VARIANT_TYPE_UINT32, (guint32[]) { 0 }, 1, 4),
                   g_variant_new_array (G_VARIANT_TYPE_VARIANT, &arg, 1),
                   g_variant_new_array (G_VARIANT_TYPE ("(uusst)"), NULL, 0)));
  g_autoptr(GBytes) good = g_variant_get_data_as_bytes (call);
  g_autoptr(GByteArray) bad = g_byte_array_new ();
  g_autoptr(GBytes) bad_bytes = NULL;
  g_autoptr(GVariant) decoded = NULL;
  g_autoptr(GVariant) refused = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (g_bytes_get_size (good), >, 64 * 1024);
  decoded = job_worker_frame_decode (JOB_WORKER_MESSAGE_CALL, good, TRUE, &error);
  g_assert_no_error (error);
  g_assert_true (g_variant_equal (decoded, call));

  /* "stop after the first error" (offset 8) is 2: no boolean in normal form */
  g_byte_array_append (bad, g_bytes_get_data (good, NULL), g_bytes_get_size (good));
  bad->data[8] = 2;
  bad_bytes = g_byte_array_free_to_bytes (g_steal_pointer (&bad));
  refused = job_worker_frame_decode (JOB_WORKER_MESSAGE_CALL, bad_bytes, TRUE, &error);
  g_assert_null (refused);
  g_assert_error (error, JOB_ERROR, JOB_ERROR_PROTOCOL);
  g_clear_error (&error);

  /* a big RESULTS frame (a 100 KiB value) comes back whole */
  {
    GVariant *value = g_variant_new_variant (g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, bytes,
                                                                        100 * 1024, 1));
    g_autoptr(GVariant) results = g_variant_ref_sink (
      g_variant_new ("(tu@av)", (guint64) 7, 0, g_variant_new_array (G_VARIANT_TYPE_VARIANT, &value, 1)));
    g_autoptr(GBytes) data = g_variant_get_data_as_bytes (results);
    g_autoptr(GVariant) back = job_worker_frame_decode (JOB_WORKER_MESSAGE_RESULTS, data, TRUE, &error);

    g_assert_no_error (error);
    g_assert_true (g_variant_equal (back, results));
  }
}

/* job_worker_frame_append_results() and _append_done() write the
 * worker's answers by hand: the bytes GLib serializes for the same
 * values, after frames of any length (values then sit at unaligned
 * addresses) and with framing offsets of every width. */
static void
check_results (guint n_values,
               int   shape,
               guint prefix)
{
  g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  g_autoptr(GByteArray) expected = g_byte_array_new ();
  g_autoptr(GByteArray) written = g_byte_array_new ();
  g_autoptr(GBytes) payload = NULL;
  g_autoptr(GVariant) decoded = NULL;
  g_autoptr(GError) error = NULL;
  GVariantBuilder builder;
  double seconds = 0.25 * n_values + 1e-7;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("av"));
  for (guint i = 0; i < n_values; i++)
    {
      /* shape 3: results as workers return them, basic values */
      GVariant *value = g_variant_ref_sink (shape < 3 ? make_args (i, shape)
                                                      : g_variant_new_int64 ((gint64) i * i));

      g_ptr_array_add (values, value);
      g_variant_builder_add (&builder, "v", value);
    }

  for (guint i = 0; i < prefix; i++)
    {
      g_byte_array_append (expected, (const guint8 *) "p", 1);
      g_byte_array_append (written, (const guint8 *) "p", 1);
    }
  job_worker_frame_append (expected, JOB_WORKER_MESSAGE_RESULTS,
                           g_variant_new ("(tu@av)", (guint64) 9 + n_values, (guint32) 3 * n_values,
                                          g_variant_builder_end (&builder)));
  job_worker_frame_append (expected, JOB_WORKER_MESSAGE_DONE,
                           g_variant_new ("(td)", (guint64) 9 + n_values, seconds));
  job_worker_frame_append_results (written, 9 + n_values, 3 * n_values,
                                   (GVariant * const *) values->pdata, values->len);
  job_worker_frame_append_done (written, 9 + n_values, seconds);

  g_assert_cmpmem (written->data, written->len, expected->data, expected->len);

  /* and the parent's reader takes it */
  payload = g_bytes_new (written->data + prefix + JOB_WORKER_FRAME_HEADER_SIZE,
                         written->len - prefix - 2 * JOB_WORKER_FRAME_HEADER_SIZE - 16);
  decoded = job_worker_frame_decode (JOB_WORKER_MESSAGE_RESULTS, payload, TRUE, &error);
  g_assert_no_error (error);
  if (n_values > 0)
    {
      g_autoptr(GVariant) array = g_variant_get_child_value (decoded, 2);
      g_autoptr(GVariant) last = g_variant_get_child_value (array, n_values - 1);
      g_autoptr(GVariant) inner = g_variant_get_variant (last);

      g_assert_true (g_variant_equal (inner, g_ptr_array_index (values, n_values - 1)));
    }
}

static void
test_answer_frames (void)
{
  static const guint sizes[] = { 0, 1, 2, 7, 40, 100, 1000, 5000 };

  for (gsize i = 0; i < G_N_ELEMENTS (sizes); i++)
    for (int shape = 0; shape < 4; shape++)
      for (guint prefix = 0; prefix < 8; prefix += 3)
        if (sizes[i] <= 1000 || shape != 2)
          check_results (sizes[i], shape, prefix);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/joblib/worker-protocol/call-frame", test_call_frame);
  g_test_add_func ("/joblib/worker-protocol/big-call-frame-check", test_big_call_frame_check);
  g_test_add_func ("/joblib/worker-protocol/answer-frames", test_answer_frames);

  return g_test_run ();
}
