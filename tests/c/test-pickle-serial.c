/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Plain pickle trees written straight in GVariant's serialized form: the
 * very bytes GLib serializes from the node-by-node conversion. */
#include <string.h>

#include "job-error.h"
#include "job-persist.h"
#include "job-pickle-plain.h"
#include "job-pickle-private.h"

/* A random plain value: None, bool, int, float, text, list, tuple, dict
 * with text keys. */
static GVariant *
random_value (GRand *rand,
              guint  depth)
{
  guint kind = g_rand_int_range (rand, 0, depth >= 4 ? 5 : 8);

  switch (kind)
    {
    case 0:
      return g_variant_new_maybe (G_VARIANT_TYPE_VARIANT, NULL);
    case 1:
      return g_variant_new_boolean (g_rand_boolean (rand));
    case 2:
      return g_variant_new_int64 ((gint64) g_rand_int (rand) * g_rand_int_range (rand, -9, 9));
    case 3:
      return g_variant_new_double (g_rand_double_range (rand, -1e9, 1e9));
    case 4:
      {
        /* now and then long enough for 2- and 4-byte framing offsets */
        gsize len = g_rand_int_range (rand, 0, 10) == 0 ? g_rand_int_range (rand, 200, 70000)
                                                          : g_rand_int_range (rand, 0, 12);
        g_autofree char *text = g_malloc (len + 1);

        for (gsize i = 0; i < len; i++)
          text[i] = (char) g_rand_int_range (rand, 'a', 'z' + 1);
        text[len] = '\0';
        return g_variant_new_string (text);
      }
    case 5:
    case 6:
      {
        guint n = g_rand_int_range (rand, 0, 6);
        g_autofree GVariant **items = g_new0 (GVariant *, n + 1);

        for (guint i = 0; i < n; i++)
          items[i] = g_variant_new_variant (random_value (rand, depth + 1));
        if (kind == 5)
          return g_variant_new_array (G_VARIANT_TYPE_VARIANT, items, n);
        return g_variant_new_tuple (items, n);
      }
    default:
      {
        GVariantBuilder dict;
        guint n = g_rand_int_range (rand, 0, 6);

        g_variant_builder_init (&dict, G_VARIANT_TYPE_VARDICT);
        for (guint i = 0; i < n; i++)
          {
            g_autofree char *key = g_strdup_printf ("k%u-%u", depth, i);

            g_variant_builder_add (&dict, "{sv}", key, random_value (rand, depth + 1));
          }
        return g_variant_builder_end (&dict);
      }
    }
}

/* Both conversions of @pickle's tree, compared byte for byte. */
static void
check_same (GBytes *pickle)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) direct = NULL;
  g_autoptr(GVariant) converted = NULL;
  JobPickleBudget budget;
  JobPickleNode *root;

  job_pickle_budget_init (&budget, 1024 * 1024 * 1024);
  root = job_pickle_read_full (NULL, NULL, 0, pickle, TRUE, &budget, NULL, &error);
  g_assert_no_error (error);
  direct = job_pickle_node_serialize (root, &budget);
  g_assert_nonnull (direct);
  converted = job_pickle_node_to_variant (root, &budget, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_type_string (direct), ==, g_variant_get_type_string (converted));
  g_assert_cmpmem (g_variant_get_data (direct), g_variant_get_size (direct),
                   g_variant_get_data (converted), g_variant_get_size (converted));
  g_assert_true (g_variant_is_normal_form (direct));
  job_pickle_budget_clear (&budget);
}

static void
test_random_trees (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (20261207);

  for (guint i = 0; i < 300; i++)
    {
      g_autoptr(GVariant) value = g_variant_ref_sink (random_value (rand, 0));
      g_autoptr(GVariant) deferred = NULL;
      g_autoptr(GBytes) pickle = job_variant_to_pickle (value, &deferred);

      check_same (pickle);
    }
}

/* What the writer leaves to the conversion: other nodes, cycles, limits. */
static void
test_gives_up (void)
{
  /* pickle.dumps({1: 2}), protocol 2: a key that is not text */
  static const guint8 int_key[] = { 0x80, 0x02, '}', 'q', 0x00, 'K', 0x01, 'K', 0x02, 's', '.' };
  /* pickle.dumps(10**30): a big int */
  static const guint8 big[] = { 0x80, 0x02, 0x8a, 0x0d, 0x00, 0x00, 0x00, 0x40, 0xea, 0xed,
                                0x74, 0x46, 0xd0, 0x9c, 0x2c, 0x9f, 0x0c, '.' };
  /* x = [1]; pickle.dumps([x, x]): a list met twice */
  static const guint8 shared[] = { 0x80, 0x02, ']', 'q', 0x00, '(', ']', 'q', 0x01, 'K', 0x01,
                                   'a', 'h', 0x01, 'e', '.' };
  const guint8 *cases[] = { int_key, big, shared };
  const gsize sizes[] = { sizeof int_key, sizeof big, sizeof shared };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GBytes) pickle = g_bytes_new_static (cases[i], sizes[i]);
      g_autoptr(GError) error = NULL;
      JobPickleBudget budget;
      JobPickleNode *root;
      guint64 before;

      job_pickle_budget_init (&budget, 1024 * 1024);
      root = job_pickle_read (NULL, NULL, 0, pickle, &budget, NULL, &error);
      g_assert_no_error (error);
      before = budget.budget;
      g_assert_null (job_pickle_node_serialize (root, &budget));
      /* nothing spent, nothing left marked */
      g_assert_cmpuint (budget.budget, ==, before);
      g_assert_false (root->visiting);
      g_assert_false (root->written);
      job_pickle_budget_clear (&budget);
    }

  /* too small a budget: left to the conversion, which says so */
  {
    g_autoptr(GVariant) value = g_variant_ref_sink (g_variant_new_string ("x"));
    g_autoptr(GVariant) deferred = NULL;
    g_autoptr(GBytes) pickle = job_variant_to_pickle (value, &deferred);
    g_autoptr(GError) error = NULL;
    JobPickleBudget budget;
    JobPickleNode *root;

    job_pickle_budget_init (&budget, 1024);
    root = job_pickle_read (NULL, NULL, 0, pickle, &budget, NULL, &error);
    g_assert_no_error (error);
    budget.budget = 10;
    g_assert_null (job_pickle_node_serialize (root, &budget));
    g_assert_null (job_pickle_node_to_variant (root, &budget, &error));
    g_assert_error (error, JOB_ERROR, JOB_ERROR_TOO_LARGE);
    job_pickle_budget_clear (&budget);
  }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/joblib/pickle-serial/random-trees", test_random_trees);
  g_test_add_func ("/joblib/pickle-serial/gives-up", test_gives_up);
  return g_test_run ();
}
