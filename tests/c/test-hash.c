/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <joblib-glib.h>

static void
assert_hash_format (const char *hash)
{
  g_assert_true (g_str_has_prefix (hash, JOB_HASH_ALGORITHM ":"));
  g_assert_cmpuint (strlen (hash), ==, strlen (JOB_HASH_ALGORITHM ":") + 32);
  for (const char *p = hash + strlen (JOB_HASH_ALGORITHM ":"); *p; p++)
    g_assert_true (g_ascii_isxdigit (*p) && !g_ascii_isupper (*p));
}

/* The same value through three paths: g_variant_new, a builder, and bytes
 * deserialized from the serialized form. */
static void
test_construction_paths (void)
{
  const char *text = "(iasa{sv}mdab)";
  g_autoptr(GVariant) parsed = g_variant_parse (NULL,
      "(7, ['a', 'bc'], {'k': <(1.5, @ay [1, 2, 3])>}, just 2.5, [true, false])",
      NULL, NULL, NULL);
  g_autoptr(GVariantBuilder) strings = g_variant_builder_new (G_VARIANT_TYPE ("as"));
  g_autoptr(GVariantBuilder) dict = g_variant_builder_new (G_VARIANT_TYPE ("a{sv}"));
  g_autoptr(GVariant) built = NULL;
  g_autoptr(GVariant) from_bytes = NULL;
  g_autoptr(GBytes) bytes = NULL;
  const guint8 raw[] = { 1, 2, 3 };
  const gboolean bools[] = { TRUE, FALSE };
  g_autofree char *h_parsed = NULL;
  g_autofree char *h_built = NULL;
  g_autofree char *h_bytes = NULL;
  g_autofree char *h_again = NULL;

  g_variant_builder_add (strings, "s", "a");
  g_variant_builder_add (strings, "s", "bc");
  g_variant_builder_add (dict, "{sv}", "k",
                         g_variant_new ("(d@ay)", 1.5,
                                        g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE,
                                                                   raw, 3, 1)));
  built = g_variant_ref_sink (g_variant_new ("(ias@a{sv}md@ab)", 7, strings,
                                             g_variant_builder_end (dict),
                                             TRUE, 2.5,
                                             g_variant_new_array (G_VARIANT_TYPE_BOOLEAN,
                                                                  (GVariant *[]) {
                                                                    g_variant_new_boolean (bools[0]),
                                                                    g_variant_new_boolean (bools[1]) },
                                                                  2)));
  g_assert_cmpstr (g_variant_get_type_string (built), ==, text);
  g_assert_true (g_variant_equal (parsed, built));

  bytes = g_variant_get_data_as_bytes (built);
  from_bytes = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE (text), bytes, FALSE));

  h_parsed = job_hash_variant (parsed);
  h_built = job_hash_variant (built);
  h_bytes = job_hash_variant (from_bytes);
  h_again = job_hash_variant (parsed);
  assert_hash_format (h_parsed);
  g_assert_cmpstr (h_parsed, ==, h_built);
  g_assert_cmpstr (h_parsed, ==, h_bytes);
  g_assert_cmpstr (h_parsed, ==, h_again);
}

#define STABLE_HASH "xxh3-128:d33260c2fd18a17b82dc32c8e1c5c5a8"

/* A value known by heart, computed outside the library (XXH3-128 of the
 * documented stream, via ctypes): any change of the definition breaks
 * every cache on disk, and must show up here. */
static void
test_stable_value (void)
{
  g_autofree char *hash = job_hash_variant (g_variant_new ("(is)", 42, "joblib"));
  g_autofree char *again = job_hash_variant (g_variant_new ("(is)", 42, "joblib"));

  assert_hash_format (hash);
  g_assert_cmpstr (hash, ==, again);
  g_assert_cmpstr (hash, ==, STABLE_HASH);
}

static void
test_types_differ (void)
{
  GVariant *values[] = {
    g_variant_new_int32 (1),
    g_variant_new_uint32 (1),
    g_variant_new_int64 (1),
    g_variant_new_byte (1),
    g_variant_new_boolean (TRUE),
    g_variant_new_double (1.0),
    g_variant_new_string ("1"),
    g_variant_new_variant (g_variant_new_int32 (1)),
    g_variant_new ("(i)", 1),
    g_variant_new ("ai", NULL),
    g_variant_new ("ax", NULL),
    g_variant_new ("(ss)", "ab", "c"),
    g_variant_new ("(ss)", "a", "bc"),
    g_variant_new ("(asas)", NULL, NULL),
    g_variant_new ("mi", NULL),
    g_variant_new ("mi", (gint32[]) { 0 }),
    g_variant_new_variant (g_variant_new_uint32 (1)),
  };
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  /* "(asas)" with ([], ['x']) and (['x'], []) must differ too. */
  {
    const char *x[] = { "x", NULL };
    GVariant *a = g_variant_new ("(^as^as)", (const char *[]) { NULL }, x);
    GVariant *b = g_variant_new ("(^as^as)", x, (const char *[]) { NULL });
    g_autofree char *ha = job_hash_variant (a);
    g_autofree char *hb = job_hash_variant (b);
    g_assert_cmpstr (ha, !=, hb);
  }

  for (guint i = 0; i < G_N_ELEMENTS (values); i++)
    {
      char *hash = job_hash_variant (values[i]);

      g_assert_false (g_hash_table_contains (seen, hash));
      g_hash_table_add (seen, hash);
    }
}

static void
test_content_differs (void)
{
  g_autofree char *a = job_hash_variant (g_variant_new ("(id)", 1, 2.0));
  g_autofree char *b = job_hash_variant (g_variant_new ("(id)", 1, 2.5));
  g_autofree char *c = job_hash_variant (g_variant_new ("(id)", 2, 2.0));

  g_assert_cmpstr (a, !=, b);
  g_assert_cmpstr (a, !=, c);
  g_assert_cmpstr (b, !=, c);
}

static GVariant *
big_doubles (gsize n,
             double bump)
{
  double *data = g_new (double, n);

  for (gsize i = 0; i < n; i++)
    data[i] = (double) i * 0.5;
  data[n / 2] += bump;

  return g_variant_new_from_data (G_VARIANT_TYPE ("ad"), data, n * sizeof (double),
                                  TRUE, g_free, data);
}

/* 80 MB arrays go through the parallel block path; a bit changed in the
 * middle changes the hash, and the same content built element by element
 * (a non-fixed-array construction path) hashes alike. */
static void
test_big_arrays (void)
{
  const gsize n = 10 * 1000 * 1000;
  g_autoptr(GVariant) a = g_variant_ref_sink (big_doubles (n, 0.0));
  g_autoptr(GVariant) b = g_variant_ref_sink (big_doubles (n, 0.0));
  g_autoptr(GVariant) c = g_variant_ref_sink (big_doubles (n, 1e-9));
  g_autofree char *ha = job_hash_variant (g_variant_new ("(@adi)", a, 1));
  g_autofree char *hb = job_hash_variant (g_variant_new ("(@adi)", b, 1));
  g_autofree char *hc = job_hash_variant (g_variant_new ("(@adi)", c, 1));
  g_autofree char *hd = job_hash_variant (g_variant_new ("(@adi)", a, 2));

  g_assert_cmpstr (ha, ==, hb);
  g_assert_cmpstr (ha, !=, hc);
  g_assert_cmpstr (ha, !=, hd);
}

static void
test_mid_arrays_builder (void)
{
  /* 5 MB: above the block threshold, below the parallel one. */
  const gsize n = 640 * 1024 + 3;
  g_autoptr(GVariantBuilder) builder = g_variant_builder_new (G_VARIANT_TYPE ("ad"));
  g_autoptr(GVariant) fixed = g_variant_ref_sink (big_doubles (n, 0.0));
  g_autofree char *h_fixed = NULL;
  g_autofree char *h_built = NULL;
  g_autofree char *h_small = NULL;
  gsize len;
  const double *d = g_variant_get_fixed_array (fixed, &len, sizeof (double));

  for (gsize i = 0; i < len; i++)
    g_variant_builder_add (builder, "d", d[i]);

  h_fixed = job_hash_variant (fixed);
  h_built = job_hash_variant (g_variant_builder_end (builder));
  h_small = job_hash_variant (g_variant_new_fixed_array (G_VARIANT_TYPE_DOUBLE, d, len - 1,
                                                         sizeof (double)));
  g_assert_cmpstr (h_fixed, ==, h_built);
  g_assert_cmpstr (h_fixed, !=, h_small);
}

/* A JobArray's variant shares its buffer, and hashes like the same
 * tuple built by hand; type string and shape are part of the hash. */
static void
test_job_array (void)
{
  const gsize n = 1000 * 1000;
  const gsize shape[] = { 1000, 1000 };
  const gsize flat[] = { 1000 * 1000 };
  const guint64 dims[] = { 1000, 1000 };
  double *values = g_new (double, n);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JobArray) array = NULL;
  g_autoptr(JobArray) as_ints = NULL;
  g_autoptr(JobArray) as_flat = NULL;
  g_autoptr(GVariant) variant = NULL;
  g_autoptr(GVariant) data = NULL;
  g_autofree char *h_array = NULL;
  g_autofree char *h_manual = NULL;
  g_autofree char *h_ints = NULL;
  g_autofree char *h_flat = NULL;

  for (gsize i = 0; i < n; i++)
    values[i] = i / 3.0;
  bytes = g_bytes_new_take (values, n * sizeof (double));
  array = job_array_new ("<f8", shape, 2, bytes, &error);
  g_assert_no_error (error);
  as_ints = job_array_new ("<i8", shape, 2, bytes, &error);
  g_assert_no_error (error);
  as_flat = job_array_new ("<f8", flat, 1, bytes, &error);
  g_assert_no_error (error);

  variant = job_array_to_variant (array);
  data = g_variant_get_child_value (variant, 3);
  g_assert_true (g_variant_get_data (data) == g_bytes_get_data (bytes, NULL));

  h_array = job_hash_variant (g_variant_new ("(@(ssatay)i)", variant, 5));
  h_manual = job_hash_variant (g_variant_new ("((ss@at@ay)i)", "joblib.array", "<f8",
                                              g_variant_new_fixed_array (G_VARIANT_TYPE_UINT64,
                                                                         dims, 2, sizeof (guint64)),
                                              g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE,
                                                                         values, n * sizeof (double), 1),
                                              5));
  {
    /* job_array_to_variant() returns a full, not floating, reference. */
    g_autoptr(GVariant) ints = job_array_to_variant (as_ints);
    g_autoptr(GVariant) flat_variant = job_array_to_variant (as_flat);

    h_ints = job_hash_variant (g_variant_new ("(@(ssatay)i)", ints, 5));
    h_flat = job_hash_variant (g_variant_new ("(@(ssatay)i)", flat_variant, 5));
  }

  g_assert_cmpstr (h_array, ==, h_manual);
  g_assert_cmpstr (h_array, !=, h_ints);
  g_assert_cmpstr (h_array, !=, h_flat);
  /* The buffer is still shared after hashing: nothing was serialized
   * into a copy. */
  g_assert_true (g_variant_get_data (data) == g_bytes_get_data (bytes, NULL));
}

static void
test_null_value (void)
{
  if (g_test_subprocess ())
    {
      char *hash = job_hash_variant (NULL);
      g_assert_null (hash);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*value != NULL*");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/joblib/hash/construction-paths", test_construction_paths);
  g_test_add_func ("/joblib/hash/stable-value", test_stable_value);
  g_test_add_func ("/joblib/hash/types-differ", test_types_differ);
  g_test_add_func ("/joblib/hash/content-differs", test_content_differs);
  g_test_add_func ("/joblib/hash/big-arrays", test_big_arrays);
  g_test_add_func ("/joblib/hash/builder-vs-fixed-array", test_mid_arrays_builder);
  g_test_add_func ("/joblib/hash/job-array", test_job_array);
  g_test_add_func ("/joblib/hash/null-value", test_null_value);

  return g_test_run ();
}
