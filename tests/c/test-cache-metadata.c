/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* metadata.json as the cache writes it: valid JSON whatever the names and
 * argument texts hold, read back by json-glib and by the cache's reader. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "job-cache-metadata-private.h"

static JsonObject *
parse_object (const char *text,
              JsonParser *parser)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (json_parser_load_from_data (parser, text, -1, &error));
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  return json_node_get_object (json_parser_get_root (parser));
}

static void
test_round_trip (void)
{
  const char *names[] = { "x", "we\"ird\\name", "ünï" };
  const char *texts[] = { "'a\nb\tc'", "\x01\x1f\x7f end", "[1, 2] «é»" };
  g_autofree char *text = job_cache_metadata_build ("f\"n", "1.0", "xxh3-128:00ff", 0.25,
                                                    1765000000.5, names, texts, 3);
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *root = parse_object (text, parser);
  JsonObject *args = json_object_get_object_member (root, "input_args");
  g_autofree char *input_args = NULL;
  double duration = -1;

  g_assert_cmpstr (json_object_get_string_member (root, "function"), ==, "f\"n");
  g_assert_cmpstr (json_object_get_string_member (root, "version"), ==, "1.0");
  g_assert_cmpstr (json_object_get_string_member (root, "args_hash"), ==, "xxh3-128:00ff");
  g_assert_cmpfloat (json_object_get_double_member (root, "duration"), ==, 0.25);
  g_assert_cmpfloat (json_object_get_double_member (root, "time"), ==, 1765000000.5);
  g_assert_cmpuint (json_object_get_size (args), ==, 3);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpstr (json_object_get_string_member (args, names[i]), ==, texts[i]);

  /* the cache's own reader */
  g_assert_true (job_cache_metadata_parse (text, strlen (text), &duration, &input_args));
  g_assert_cmpfloat (duration, ==, 0.25);
  g_assert_nonnull (input_args);
  g_assert_nonnull (strstr (input_args, "x="));
}

/* Whole numbers stay floats ("2.0"); JSON has no NaN or infinity. */
static void
test_numbers (void)
{
  g_autofree char *whole = job_cache_metadata_build ("f", "1", "h", 2.0, 3.0, NULL, NULL, 0);
  g_autofree char *odd = job_cache_metadata_build ("f", "1", "h", NAN, INFINITY, NULL, NULL, 0);
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *root;

  g_assert_cmpstr (whole, ==, "{\"function\":\"f\",\"version\":\"1\",\"args_hash\":\"h\","
                              "\"duration\":2.0,\"time\":3.0,\"input_args\":{}}");
  root = parse_object (odd, parser);
  g_assert_cmpint (json_node_get_value_type (json_object_get_member (root, "duration")), ==,
                   G_TYPE_DOUBLE);
  g_assert_cmpfloat (json_object_get_double_member (root, "time"), ==, 0.0);
}

/* To the microsecond, signs and carries included. */
static void
test_microseconds (void)
{
  const double values[] = { 0.000001, 0.0000004, 0.1234566, -2.5, 1765000000.123456, 9.9999999 };
  const char *expected[] = { "0.000001", "0.0", "0.123457", "-2.5", "1765000000.123456", "10.0" };

  for (guint i = 0; i < G_N_ELEMENTS (values); i++)
    {
      g_autofree char *text = job_cache_metadata_build ("f", "1", "h", values[i], 0, NULL, NULL, 0);
      g_autofree char *member = g_strdup_printf ("\"duration\":%s,", expected[i]);

      g_assert_nonnull (strstr (text, member));
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/joblib/cache-metadata/round-trip", test_round_trip);
  g_test_add_func ("/joblib/cache-metadata/numbers", test_numbers);
  g_test_add_func ("/joblib/cache-metadata/microseconds", test_microseconds);

  return g_test_run ();
}
