/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "job-array-private.h"
#include "job-i18n-private.h"
#include "job-persist.h"
#include "job-pickle-private.h"

/* What a node costs against the size budget, whatever it holds: the
 * struct, or the GVariant it becomes. */
#define NODE_COST 64

gboolean
job_pickle_budget_spend (JobPickleBudget *budget,
                         guint64          cost,
                         GError         **error)
{
  if (cost <= budget->budget)
    {
      budget->budget -= cost;
      return TRUE;
    }
  g_set_error (error, JOB_ERROR, JOB_ERROR_TOO_LARGE,
               _("The value needs more than the limit of %" G_GUINT64_FORMAT " bytes"),
                  budget->limit);
  return FALSE;
}

/* Nodes are not reference-counted: pickles make cycles (a list that
 * holds itself), so every node belongs to @budget's arena and all go
 * together in job_pickle_budget_clear(). */
JobPickleNode *
job_pickle_node_new (JobPickleBudget *budget,
                     JobPickleKind    kind)
{
  JobPickleNode *node = g_new0 (JobPickleNode, 1);

  node->kind = kind;
  g_ptr_array_add (budget->nodes, node);
  return node;
}

static void
node_free (JobPickleNode *node)
{
  g_free (node->str);
  g_clear_pointer (&node->bytes, g_bytes_unref);
  g_clear_pointer (&node->items, g_ptr_array_unref);
  g_clear_pointer (&node->values, g_ptr_array_unref);
  g_clear_pointer (&node->index, g_hash_table_unref);
  g_clear_pointer (&node->converted, g_variant_unref);
  if (node->fingerprint != NULL)
    g_string_free (node->fingerprint, TRUE);
  g_free (node);
}

void
job_pickle_budget_init (JobPickleBudget *budget,
                        guint64          limit)
{
  budget->limit = limit;
  budget->budget = limit;
  budget->nodes = g_ptr_array_new_with_free_func ((GDestroyNotify) node_free);
}

void
job_pickle_budget_clear (JobPickleBudget *budget)
{
  g_clear_pointer (&budget->nodes, g_ptr_array_unref);
}

const char *
job_pickle_kind_name (JobPickleKind kind)
{
  switch (kind)
    {
    case JOB_PICKLE_NONE:
      return "NoneType";
    case JOB_PICKLE_BOOL:
      return "bool";
    case JOB_PICKLE_INT:
    case JOB_PICKLE_BIGINT:
      return "int";
    case JOB_PICKLE_FLOAT:
      return "float";
    case JOB_PICKLE_COMPLEX:
      return "complex";
    case JOB_PICKLE_STR:
      return "str";
    case JOB_PICKLE_BYTES:
      return "bytes";
    case JOB_PICKLE_BYTEARRAY:
      return "bytearray";
    case JOB_PICKLE_LIST:
      return "list";
    case JOB_PICKLE_TUPLE:
      return "tuple";
    case JOB_PICKLE_SET:
      return "set";
    case JOB_PICKLE_FROZENSET:
      return "frozenset";
    case JOB_PICKLE_DICT:
      return "dict";
    case JOB_PICKLE_ORDERED_DICT:
      return "collections.OrderedDict";
    case JOB_PICKLE_GLOBAL:
      return "class";
    case JOB_PICKLE_DTYPE:
      return "numpy.dtype";
    case JOB_PICKLE_WRAPPER:
      return "joblib.numpy_pickle.NumpyArrayWrapper";
    case JOB_PICKLE_ARRAY:
      return "numpy.ndarray";
    case JOB_PICKLE_SCALAR:
      return "numpy scalar";
    default:
      return "object";
    }
}

/* Longer dictionary keys or set items are refused: joblib files hold
 * names and small tuples there, and a file could otherwise make one key
 * of a shared tuple of tuples expand without end. */
#define MAX_FINGERPRINT (1024 * 1024)

static int
compare_fingerprints (gconstpointer a,
                      gconstpointer b)
{
  const GString *x = *(const GString *const *) a;
  const GString *y = *(const GString *const *) b;
  int            order = memcmp (x->str, y->str, MIN (x->len, y->len));

  if (order != 0)
    return order;
  return x->len < y->len ? -1 : x->len > y->len;
}

static guint
hash_fingerprint (const GString *fingerprint)
{
  guint hash = 5381;

  for (gsize i = 0; i < fingerprint->len; i++)
    hash = hash * 33 + (guint8) fingerprint->str[i];
  return hash;
}

/* Python compares dict keys by value across types (1 == 1.0 == True):
 * a key's fingerprint is a text equal for keys Python finds equal, so
 * that a key given twice keeps one entry, as in the unpickled dict.
 * Computed once per node (hashable values never change), children's
 * fingerprints length-prefixed. Returns: (transfer none) */
static const GString *
fingerprint (JobPickleNode   *node,
             guint            depth,
             JobPickleBudget *budget,
             GError         **error)
{
  g_autoptr (GString) out = NULL;

  if (node->fingerprint != NULL)
    return node->fingerprint;
  if (depth > JOB_PERSIST_MAX_DEPTH)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_TOO_LARGE,
                   _("A dictionary key or set item nests deeper than %d levels"),
                      JOB_PERSIST_MAX_DEPTH);
      return NULL;
    }

  out = g_string_new (NULL);
  switch (node->kind)
    {
    case JOB_PICKLE_NONE:
      g_string_append_c (out, 'N');
      break;
    case JOB_PICKLE_BOOL:
      g_string_append (out, node->boolean ? "i1" : "i0");
      break;
    case JOB_PICKLE_INT:
      g_string_append_printf (out, "i%" G_GINT64_FORMAT, node->integer);
      break;
    case JOB_PICKLE_BIGINT:
      g_string_append_printf (out, "i%s", node->str);
      break;
    case JOB_PICKLE_FLOAT:
    case JOB_PICKLE_COMPLEX:
      {
        double real = node->kind == JOB_PICKLE_FLOAT ? node->real : node->complex[0];

        if (node->kind == JOB_PICKLE_COMPLEX && node->complex[1] != 0)
          g_string_append_printf (out, "c%a,%a", real, node->complex[1]);
        else if (isfinite (real) && real == floor (real) && fabs (real) < 9.2e18)
          g_string_append_printf (out, "i%" G_GINT64_FORMAT, (gint64) real);
        else
          g_string_append_printf (out, "f%a", real);
        break;
      }
    case JOB_PICKLE_STR:
      g_string_append_c (out, 's');
      g_string_append_len (out, node->str, node->str_len);
      break;
    case JOB_PICKLE_BYTES:
      {
        gsize       size;
        const char *data = g_bytes_get_data (node->bytes, &size);

        g_string_append_c (out, 'b');
        g_string_append_len (out, data, size);
        break;
      }
    case JOB_PICKLE_TUPLE:
    case JOB_PICKLE_FROZENSET:
      {
        g_autoptr (GPtrArray) parts = g_ptr_array_new ();

        for (guint i = 0; i < node->items->len; i++)
          {
            const GString *part = fingerprint (node->items->pdata[i], depth + 1, budget, error);

            if (part == NULL)
              return NULL;
            g_ptr_array_add (parts, (gpointer) part);
          }
        /* A frozenset's items are unique already; their order must not
         * matter. */
        if (node->kind == JOB_PICKLE_FROZENSET)
          g_ptr_array_sort (parts, compare_fingerprints);
        g_string_append_c (out, node->kind == JOB_PICKLE_TUPLE ? 't' : 'z');
        for (guint i = 0; i < parts->len && out->len <= MAX_FINGERPRINT; i++)
          {
            const GString *part = parts->pdata[i];

            g_string_append_printf (out, "%" G_GSIZE_FORMAT ":", part->len);
            g_string_append_len (out, part->str, part->len);
          }
        break;
      }
    case JOB_PICKLE_SCALAR:
      {
        JobPickleNode *array = node->items->pdata[0];
        gsize          size;
        const char    *data = g_bytes_get_data (array->bytes, &size);

        g_string_append_printf (out, "S%s:", array->typestr);
        g_string_append_len (out, data, size);
        break;
      }
    case JOB_PICKLE_DTYPE:
      g_string_append_printf (out, "d%s", node->typestr);
      break;
    case JOB_PICKLE_BYTEARRAY:
    case JOB_PICKLE_LIST:
    case JOB_PICKLE_SET:
    case JOB_PICKLE_DICT:
    case JOB_PICKLE_ORDERED_DICT:
    case JOB_PICKLE_GLOBAL:
    case JOB_PICKLE_WRAPPER:
    case JOB_PICKLE_ARRAY:
    default:
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_DATA,
                   _("Unhashable type “%s” as a dictionary key or set item"),
                      job_pickle_kind_name (node->kind));
      return NULL;
    }

  if (out->len > MAX_FINGERPRINT)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_TOO_LARGE,
                   _("A dictionary key or set item is larger than %d bytes"),
                      MAX_FINGERPRINT);
      return NULL;
    }
  if (!job_pickle_budget_spend (budget, out->len, error))
    return NULL;
  node->fingerprint_hash = hash_fingerprint (out);
  node->fingerprint = g_steal_pointer (&out);
  return node->fingerprint;
}

static guint
index_hash (gconstpointer key)
{
  return ((const JobPickleNode *) key)->fingerprint_hash;
}

static gboolean
index_equal (gconstpointer a,
             gconstpointer b)
{
  return g_string_equal (((const JobPickleNode *) a)->fingerprint,
                         ((const JobPickleNode *) b)->fingerprint);
}

/* The position + 1 of @key in @node's index (keys of a dict, items of a
 * set), 0 when absent, G_MAXUINT with @error set on failure. */
static guint
lookup (JobPickleNode   *node,
        JobPickleNode   *key,
        JobPickleBudget *budget,
        GError         **error)
{
  if (fingerprint (key, 0, budget, error) == NULL ||
      !job_pickle_budget_spend (budget, NODE_COST, error))
    return G_MAXUINT;
  if (node->index == NULL)
    node->index = g_hash_table_new (index_hash, index_equal);
  return GPOINTER_TO_UINT (g_hash_table_lookup (node->index, key));
}

gboolean
job_pickle_dict_set (JobPickleNode   *dict,
                     JobPickleNode   *key,
                     JobPickleNode   *value,
                     JobPickleBudget *budget,
                     GError         **error)
{
  guint position = lookup (dict, key, budget, error);

  if (position == G_MAXUINT)
    return FALSE;
  if (position > 0)
    {
      /* Python keeps the first key and the last value. */
      dict->values->pdata[position - 1] = value;
      return TRUE;
    }
  g_ptr_array_add (dict->items, key);
  g_ptr_array_add (dict->values, value);
  g_hash_table_insert (dict->index, key, GUINT_TO_POINTER (dict->items->len));
  return TRUE;
}

gboolean
job_pickle_set_add (JobPickleNode   *set,
                    JobPickleNode   *item,
                    JobPickleBudget *budget,
                    GError         **error)
{
  guint position = lookup (set, item, budget, error);

  if (position == G_MAXUINT)
    return FALSE;
  if (position == 0)
    {
      g_ptr_array_add (set->items, item);
      g_hash_table_insert (set->index, item, GUINT_TO_POINTER (set->items->len));
    }
  return TRUE;
}

/* Conversion to GVariant: see docs/joblib-files.md for the mapping. */

static GVariant *to_variant (JobPickleNode   *node,
                             guint            depth,
                             JobPickleBudget *budget,
                             GError         **error);

static GVariant *
tagged (const char *tag,
        GVariant   *payload)
{
  return g_variant_new ("(sv)", tag, payload);
}

static GVariant *
bytes_variant (GBytes *bytes)
{
  return g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING, bytes, TRUE);
}

/* An array of variants from @items, or NULL with @error set. */
static GVariant *
children_variant (GPtrArray       *items,
                  gboolean         as_tuple,
                  guint            depth,
                  JobPickleBudget *budget,
                  GError         **error)
{
  g_autofree GVariant **children = g_new0 (GVariant *, items->len + 1);

  for (guint i = 0; i < items->len; i++)
    {
      GVariant *child = to_variant (items->pdata[i], depth + 1, budget, error);

      if (child == NULL)
        {
          for (guint j = 0; j < i; j++)
            g_variant_unref (g_variant_ref_sink (children[j]));
          return NULL;
        }
      children[i] = g_variant_new_variant (child);
      g_variant_unref (child);
    }
  if (as_tuple)
    return g_variant_new_tuple (children, items->len);
  return g_variant_new_array (G_VARIANT_TYPE_VARIANT, children, items->len);
}

static gboolean
is_plain_string (JobPickleNode *node)
{
  return node->kind == JOB_PICKLE_STR &&
         g_utf8_validate (node->str, node->str_len, NULL);
}

static GVariant *
dict_variant (JobPickleNode   *node,
              guint            depth,
              JobPickleBudget *budget,
              GError         **error)
{
  gboolean             string_keys = TRUE;
  g_autoptr (GPtrArray) entries = NULL;
  GVariant            *dict;

  for (guint i = 0; i < node->items->len && string_keys; i++)
    string_keys = is_plain_string (node->items->pdata[i]);

  /* Entries from GLib's direct constructors: g_variant_builder_add()
   * parses its format string for each one, 6 000 instructions an entry
   * (most of a dump of small dicts from Python). */
  entries = g_ptr_array_new_full (node->items->len, (GDestroyNotify) g_variant_unref);
  for (guint i = 0; i < node->items->len; i++)
    {
      g_autoptr (GVariant) key = NULL;
      GVariant            *value;
      GVariant            *entry;

      if (string_keys)
        key = g_variant_ref_sink (g_variant_new_string (((JobPickleNode *) node->items->pdata[i])->str));
      else
        {
          g_autoptr (GVariant) item = to_variant (node->items->pdata[i], depth + 1, budget, error);

          if (item == NULL)
            return NULL;
          key = g_variant_ref_sink (g_variant_new_variant (item));
        }
      value = to_variant (node->values->pdata[i], depth + 1, budget, error);
      if (value == NULL)
        return NULL;
      if (string_keys)
        entry = g_variant_new_dict_entry (key, g_variant_new_variant (value));
      else
        {
          GVariant *pair[2] = { key, g_variant_new_variant (value) };

          entry = g_variant_new_tuple (pair, 2);
        }
      g_ptr_array_add (entries, g_variant_ref_sink (entry));
      g_variant_unref (value);
    }
  dict = g_variant_new_array (string_keys ? G_VARIANT_TYPE ("{sv}") : G_VARIANT_TYPE ("(vv)"),
                              (GVariant **) entries->pdata, entries->len);
  if (string_keys)
    return dict;
  return tagged ("dict", dict);
}

static GVariant *
array_variant (JobPickleNode   *node,
               guint            depth,
               JobPickleBudget *budget,
               GError         **error)
{
  g_autoptr (GVariantBuilder) builder = NULL;
  char                        normalized[8];
  gsize                       item_size;

  if (!node->built)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_DATA,
                   _("A numpy array was never given its state"));
      return NULL;
    }

  if (!node->is_object && !node->fortran &&
      job_array_parse_typestr (node->typestr, normalized, &item_size,
                               JOB_ERROR_INVALID_DATA, NULL))
    {
      gsize                shape[JOB_ARRAY_MAX_DIMS];
      g_autoptr (JobArray) array = NULL;

      for (guint i = 0; i < node->n_dims; i++)
        shape[i] = (gsize) node->shape[i];
      array = job_array_new_checked (node->typestr, shape, node->n_dims,
                                     node->bytes, JOB_ERROR_INVALID_DATA, error);
      if (array == NULL)
        return NULL;
      return g_variant_take_ref (job_array_to_variant (array));
    }

  builder = g_variant_builder_new (G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (builder, "{sv}", "dtype", g_variant_new_string (node->typestr));
  g_variant_builder_add (builder, "{sv}", "shape",
                         g_variant_new_fixed_array (G_VARIANT_TYPE_UINT64, node->shape,
                                                    node->n_dims, sizeof (guint64)));
  g_variant_builder_add (builder, "{sv}", "order",
                         g_variant_new_string (node->fortran ? "F" : "C"));
  if (node->is_object)
    {
      GVariant *items = children_variant (node->items, FALSE, depth, budget, error);

      if (items == NULL)
        return NULL;
      g_variant_builder_add (builder, "{sv}", "items", items);
    }
  else
    g_variant_builder_add (builder, "{sv}", "data", bytes_variant (node->bytes));
  return tagged ("numpy.ndarray", g_variant_builder_end (builder));
}

static GVariant *
to_variant_inner (JobPickleNode   *node,
                  guint            depth,
                  JobPickleBudget *budget,
                  GError         **error)
{
  switch (node->kind)
    {
    case JOB_PICKLE_NONE:
      return g_variant_new_maybe (G_VARIANT_TYPE_VARIANT, NULL);
    case JOB_PICKLE_BOOL:
      return g_variant_new_boolean (node->boolean);
    case JOB_PICKLE_INT:
      return g_variant_new_int64 (node->integer);
    case JOB_PICKLE_BIGINT:
      return tagged ("bigint", g_variant_new_string (node->str));
    case JOB_PICKLE_FLOAT:
      return g_variant_new_double (node->real);
    case JOB_PICKLE_COMPLEX:
      return tagged ("complex", g_variant_new ("(dd)", node->complex[0], node->complex[1]));
    case JOB_PICKLE_STR:
      if (is_plain_string (node))
        return g_variant_new_string (node->str);
      /* NUL or surrogates: the UTF-8 bytes, as Python's "surrogatepass" */
      return tagged ("str", g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, node->str,
                                                       node->str_len, 1));
    case JOB_PICKLE_BYTES:
      return bytes_variant (node->bytes);
    case JOB_PICKLE_BYTEARRAY:
      return tagged ("bytearray", bytes_variant (node->bytes));
    case JOB_PICKLE_LIST:
      return children_variant (node->items, FALSE, depth, budget, error);
    case JOB_PICKLE_TUPLE:
      return children_variant (node->items, TRUE, depth, budget, error);
    case JOB_PICKLE_SET:
    case JOB_PICKLE_FROZENSET:
      {
        GVariant *items = children_variant (node->items, FALSE, depth, budget, error);

        if (items == NULL)
          return NULL;
        return tagged (node->kind == JOB_PICKLE_SET ? "set" : "frozenset", items);
      }
    case JOB_PICKLE_DICT:
      return dict_variant (node, depth, budget, error);
    case JOB_PICKLE_ORDERED_DICT:
      {
        GVariant *dict = dict_variant (node, depth, budget, error);

        if (dict == NULL)
          return NULL;
        return tagged ("collections.OrderedDict", dict);
      }
    case JOB_PICKLE_DTYPE:
      if (!job_pickle_dtype_check (node, error))
        return NULL;
      return tagged ("numpy.dtype", g_variant_new_string (node->typestr));
    case JOB_PICKLE_ARRAY:
      return array_variant (node, depth, budget, error);
    case JOB_PICKLE_SCALAR:
      {
        GVariant *array = array_variant (node->items->pdata[0], depth, budget, error);
        GVariant *scalar;

        if (array == NULL)
          return NULL;
        g_variant_take_ref (array);
        scalar = tagged ("numpy.scalar", array);
        g_variant_unref (array);
        return scalar;
      }
    case JOB_PICKLE_GLOBAL:
    case JOB_PICKLE_WRAPPER:
    default:
      g_set_error (error, JOB_ERROR, JOB_ERROR_UNSUPPORTED,
                   _("A %s cannot be a value of a loaded file"),
                      job_pickle_kind_name (node->kind));
      return NULL;
    }
}

static GVariant *
to_variant (JobPickleNode   *node,
            guint            depth,
            JobPickleBudget *budget,
            GError         **error)
{
  GVariant *value;
  guint64   before;

  if (depth > JOB_PERSIST_MAX_DEPTH)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_TOO_LARGE,
                   _("The value nests deeper than %d levels"), JOB_PERSIST_MAX_DEPTH);
      return NULL;
    }
  /* A node met again is converted once and shared, but its whole size
   * counts each time: the GVariant is that large when serialized. */
  if (node->converted != NULL)
    {
      if (!job_pickle_budget_spend (budget, node->cost, error))
        return NULL;
      return g_variant_ref (node->converted);
    }
  if (node->visiting)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_UNSUPPORTED,
                   _("The value holds itself (a recursive %s), which has no "
                     "GVariant form"),
                      job_pickle_kind_name (node->kind));
      return NULL;
    }
  /* A graph that shares nodes can expand far beyond its file: each
   * node converted counts. */
  if (!job_pickle_budget_spend (budget, NODE_COST + node->str_len, error))
    return NULL;

  before = budget->budget;
  node->visiting = TRUE;
  value = to_variant_inner (node, depth, budget, error);
  node->visiting = FALSE;
  if (value == NULL)
    return NULL;
  /* Owned, floating or not (a JobArray's variant is not): make it full. */
  g_variant_take_ref (value);
  node->converted = g_variant_ref (value);
  node->cost = before - budget->budget;
  return value;
}

/* Returns: (transfer full): the value, or NULL with @error set */
GVariant *
job_pickle_node_to_variant (JobPickleNode   *node,
                            JobPickleBudget *budget,
                            GError         **error)
{
  return to_variant (node, 0, budget, error);
}
