/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "job-i18n-private.h"
#include "job-pickle-reader-private.h"

/* What each allowed callable may do, with which arguments: the calls and
 * states that joblib.dump, numpy and the standard types write, checked
 * one by one instead of run. */

static JobPickleNode *
fail_malformed (GError    **error,
                const char *what)
{
  job_pickle_malformed (error, what);
  return NULL;
}

static JobPickleNode *
arg (JobPickleNode *args,
     guint          i)
{
  return args->items->pdata[i];
}

static gboolean
is_number (JobPickleNode *node)
{
  return node->kind == JOB_PICKLE_INT || node->kind == JOB_PICKLE_FLOAT ||
         node->kind == JOB_PICKLE_BOOL;
}

static double
number_value (JobPickleNode *node)
{
  if (node->kind == JOB_PICKLE_FLOAT)
    return node->real;
  if (node->kind == JOB_PICKLE_BOOL)
    return node->boolean;
  return (double) node->integer;
}

static gboolean
is_latin1_name (JobPickleNode *node)
{
  return node->kind == JOB_PICKLE_STR &&
         (strcmp (node->str, "latin1") == 0 || strcmp (node->str, "latin-1") == 0);
}

/* _codecs.encode(text, "latin1"): how protocol 2 writes bytes. */
static JobPickleNode *
encode_latin1 (JobPickleReader *r,
               JobPickleNode   *text,
               JobPickleKind    kind,
               GError         **error)
{
  JobPickleNode     *node = NULL;
  g_autofree guint8 *data = NULL;
  const char        *p = text->str;
  const char        *end = text->str + text->str_len;
  gsize              n = 0;

  node = job_pickle_stack_new_node (r, kind, error);
  if (node == NULL || !job_pickle_budget_spend (r->budget, text->str_len, error))
    return NULL;
  /* Code points up to U+00FF: one byte, or 0xc2/0xc3 and one more. */
  data = g_malloc (MAX (text->str_len, 1));
  while (p < end)
    {
      guint8 c = *p++;

      if (c >= 0x80)
        {
          if ((c != 0xc2 && c != 0xc3) || p == end || ((guint8) *p & 0xc0) != 0x80)
            return fail_malformed (error, "latin-1 text");
          c = ((c & 0x03) << 6) | ((guint8) *p++ & 0x3f);
        }
      data[n++] = c;
    }
  node->bytes = g_bytes_new (data, n);
  return g_steal_pointer (&node);
}

static gboolean
add_all (JobPickleReader *r,
         JobPickleNode   *target,
         JobPickleNode   *iterable,
         GError         **error)
{
  if (iterable->kind != JOB_PICKLE_LIST && iterable->kind != JOB_PICKLE_TUPLE &&
      iterable->kind != JOB_PICKLE_SET && iterable->kind != JOB_PICKLE_FROZENSET)
    return job_pickle_malformed (error, "not an iterable");
  for (guint i = 0; i < iterable->items->len; i++)
    {
      JobPickleNode *item = iterable->items->pdata[i];

      if (target->kind == JOB_PICKLE_ORDERED_DICT)
        {
          if ((item->kind != JOB_PICKLE_LIST && item->kind != JOB_PICKLE_TUPLE) ||
              item->items->len != 2)
            return job_pickle_malformed (error, "not a (key, value) pair");
          if (!job_pickle_dict_set (target, item->items->pdata[0], item->items->pdata[1],
                                    r->budget, error))
            return FALSE;
        }
      else if (!job_pickle_set_add (target, item, r->budget, error))
        return FALSE;
    }
  return TRUE;
}

static JobPickleNode *
new_dtype (JobPickleReader *r,
           JobPickleNode   *args,
           GError         **error)
{
  JobPickleNode *descr;
  JobPickleNode *node;

  if (args->items->len != 3)
    return fail_malformed (error, "dtype arguments");
  descr = arg (args, 0);
  if (descr->kind != JOB_PICKLE_STR || descr->str_len < 1 || descr->str_len > 16 ||
      strlen (descr->str) != descr->str_len)
    return fail_malformed (error, "dtype arguments");
  node = job_pickle_stack_new_node (r, JOB_PICKLE_DTYPE, error);
  if (node == NULL)
    return NULL;
  node->str = g_strdup (descr->str);
  node->str_len = descr->str_len;
  return node;
}

static gboolean
is_ndarray_class (JobPickleNode *node)
{
  return node->kind == JOB_PICKLE_GLOBAL &&
         (node->global == JOB_PICKLE_GLOBAL_NDARRAY || node->global == JOB_PICKLE_GLOBAL_MEMMAP);
}

static void
set_array_type (JobPickleNode *array,
                JobPickleNode *dtype)
{
  memcpy (array->typestr, dtype->typestr, sizeof array->typestr);
  array->item_size = dtype->item_size;
  array->is_object = dtype->is_object;
}

/* numpy.core.multiarray.scalar(dtype, raw bytes) */
static JobPickleNode *
new_scalar (JobPickleReader *r,
            JobPickleNode   *args,
            GError         **error)
{
  JobPickleNode *scalar = NULL;
  JobPickleNode *array, *dtype, *data;

  if (args->items->len != 2)
    return fail_malformed (error, "numpy scalar arguments");
  dtype = arg (args, 0);
  data = arg (args, 1);
  if (!job_pickle_dtype_check (dtype, error))
    return NULL;
  if (dtype->is_object)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_UNSUPPORTED,
                   _("numpy object scalars are not supported"));
      return NULL;
    }
  if (data->kind != JOB_PICKLE_BYTES || g_bytes_get_size (data->bytes) != dtype->item_size)
    return fail_malformed (error, "numpy scalar data");

  scalar = job_pickle_stack_new_container (r, JOB_PICKLE_SCALAR, error);
  array = scalar ? job_pickle_stack_new_node (r, JOB_PICKLE_ARRAY, error) : NULL;
  if (array == NULL)
    return NULL;
  g_ptr_array_add (scalar->items, array);
  set_array_type (array, dtype);
  array->n_dims = 0;
  array->bytes = job_pickle_to_native_order (array, data->bytes);
  array->built = TRUE;
  return g_steal_pointer (&scalar);
}

static const char *
global_name (JobPickleGlobal global)
{
  switch (global)
    {
    case JOB_PICKLE_GLOBAL_WRAPPER:
      return "joblib.numpy_pickle.NumpyArrayWrapper";
    case JOB_PICKLE_GLOBAL_NDARRAY:
      return "numpy.ndarray";
    case JOB_PICKLE_GLOBAL_MEMMAP:
      return "numpy.memmap";
    case JOB_PICKLE_GLOBAL_DTYPE:
      return "numpy.dtype";
    case JOB_PICKLE_GLOBAL_RECONSTRUCT:
      return "numpy.core.multiarray._reconstruct";
    case JOB_PICKLE_GLOBAL_SCALAR:
      return "numpy.core.multiarray.scalar";
    case JOB_PICKLE_GLOBAL_ORDERED_DICT:
      return "collections.OrderedDict";
    case JOB_PICKLE_GLOBAL_COMPLEX:
      return "complex";
    case JOB_PICKLE_GLOBAL_SET:
      return "set";
    case JOB_PICKLE_GLOBAL_FROZENSET:
      return "frozenset";
    case JOB_PICKLE_GLOBAL_BYTEARRAY:
      return "bytearray";
    case JOB_PICKLE_GLOBAL_BYTES:
      return "bytes";
    case JOB_PICKLE_GLOBAL_ENCODE:
      return "_codecs.encode";
    default:
      return "?";
    }
}

static JobPickleNode *
cannot_call (JobPickleNode *callable,
             const char    *how,
             GError       **error)
{
  g_set_error (error, JOB_ERROR, JOB_ERROR_UNSUPPORTED,
               _("The file makes %s of %s in a way the safe reader does not"),
                  how, global_name (callable->global));
  return NULL;
}

JobPickleNode *
job_pickle_reduce (JobPickleReader *r,
                   JobPickleNode   *callable,
                   JobPickleNode   *args,
                   GError         **error)
{
  guint          n = args->items->len;
  JobPickleNode *node = NULL;

  switch (callable->global)
    {
    case JOB_PICKLE_GLOBAL_DTYPE:
      return new_dtype (r, args, error);
    case JOB_PICKLE_GLOBAL_RECONSTRUCT:
      /* _reconstruct(ndarray, (0,), b"b"), then BUILD gives the state */
      if (n != 3 || !is_ndarray_class (arg (args, 0)))
        return fail_malformed (error, "array reconstruction");
      return job_pickle_stack_new_node (r, JOB_PICKLE_ARRAY, error);
    case JOB_PICKLE_GLOBAL_SCALAR:
      return new_scalar (r, args, error);
    case JOB_PICKLE_GLOBAL_ORDERED_DICT:
    case JOB_PICKLE_GLOBAL_SET:
    case JOB_PICKLE_GLOBAL_FROZENSET:
      if (n > 1)
        return fail_malformed (error, "too many arguments");
      node = job_pickle_stack_new_container (r,
                                             callable->global == JOB_PICKLE_GLOBAL_SET
                                               ? JOB_PICKLE_SET
                                             : callable->global == JOB_PICKLE_GLOBAL_FROZENSET
                                               ? JOB_PICKLE_FROZENSET
                                               : JOB_PICKLE_ORDERED_DICT,
                                             error);
      if (node == NULL || (n == 1 && !add_all (r, node, arg (args, 0), error)))
        return NULL;
      return g_steal_pointer (&node);
    case JOB_PICKLE_GLOBAL_COMPLEX:
      if (n > 2 || (n >= 1 && !is_number (arg (args, 0))) ||
          (n == 2 && !is_number (arg (args, 1))))
        return fail_malformed (error, "complex arguments");
      node = job_pickle_stack_new_node (r, JOB_PICKLE_COMPLEX, error);
      if (node == NULL)
        return NULL;
      node->complex[0] = n >= 1 ? number_value (arg (args, 0)) : 0;
      node->complex[1] = n == 2 ? number_value (arg (args, 1)) : 0;
      return g_steal_pointer (&node);
    case JOB_PICKLE_GLOBAL_BYTEARRAY:
    case JOB_PICKLE_GLOBAL_BYTES:
      {
        JobPickleKind kind = callable->global == JOB_PICKLE_GLOBAL_BYTES
                               ? JOB_PICKLE_BYTES
                               : JOB_PICKLE_BYTEARRAY;

        if (n == 2 && arg (args, 0)->kind == JOB_PICKLE_STR && is_latin1_name (arg (args, 1)))
          return encode_latin1 (r, arg (args, 0), kind, error);
        if (n > 1 || (n == 1 && arg (args, 0)->kind != JOB_PICKLE_BYTES))
          return fail_malformed (error, "bytes arguments");
        node = job_pickle_stack_new_node (r, kind, error);
        if (node == NULL)
          return NULL;
        node->bytes = n == 1 ? g_bytes_ref (arg (args, 0)->bytes) : g_bytes_new (NULL, 0);
        return g_steal_pointer (&node);
      }
    case JOB_PICKLE_GLOBAL_ENCODE:
      if (n != 2 || arg (args, 0)->kind != JOB_PICKLE_STR || !is_latin1_name (arg (args, 1)))
        return fail_malformed (error, "_codecs.encode arguments");
      return encode_latin1 (r, arg (args, 0), JOB_PICKLE_BYTES, error);
    case JOB_PICKLE_GLOBAL_WRAPPER:
    case JOB_PICKLE_GLOBAL_NDARRAY:
    case JOB_PICKLE_GLOBAL_MEMMAP:
    default:
      return cannot_call (callable, "a call", error);
    }
}

JobPickleNode *
job_pickle_new_object (JobPickleReader *r,
                       JobPickleNode   *cls,
                       JobPickleNode   *args,
                       GError         **error)
{
  if (args->items->len != 0)
    return fail_malformed (error, "constructor arguments");
  if (cls->global == JOB_PICKLE_GLOBAL_WRAPPER && !r->nested)
    return job_pickle_stack_new_node (r, JOB_PICKLE_WRAPPER, error);
  if (cls->global == JOB_PICKLE_GLOBAL_ORDERED_DICT)
    return job_pickle_stack_new_container (r, JOB_PICKLE_ORDERED_DICT, error);
  return cannot_call (cls, "an instance", error);
}

static JobPickleNode *
lookup_attribute (JobPickleNode *dict,
                  const char    *name)
{
  for (guint i = 0; i < dict->items->len; i++)
    {
      JobPickleNode *key = dict->items->pdata[i];

      if (key->kind == JOB_PICKLE_STR && strcmp (key->str, name) == 0)
        return dict->values->pdata[i];
    }
  return NULL;
}

/* The state of an array made by _reconstruct: (1, shape, dtype,
 * is_fortran, raw bytes or, for object arrays, the list of items in C
 * order). */
static gboolean
build_reconstructed (JobPickleReader *r,
                     JobPickleNode   *array,
                     JobPickleNode   *state,
                     GError         **error)
{
  JobPickleNode *dtype, *fortran, *data;
  guint64        n_bytes, n_elements;

  if (array->built || state->kind != JOB_PICKLE_TUPLE || state->items->len != 5 ||
      arg (state, 0)->kind != JOB_PICKLE_INT)
    return job_pickle_malformed (error, "array state");
  dtype = arg (state, 2);
  fortran = arg (state, 3);
  data = arg (state, 4);
  if (!job_pickle_dtype_check (dtype, error) ||
      !job_pickle_shape_from_tuple (array, arg (state, 1), error))
    return FALSE;
  if (fortran->kind != JOB_PICKLE_BOOL)
    return job_pickle_malformed (error, "array state");
  set_array_type (array, dtype);
  array->fortran = fortran->boolean;
  if (!job_pickle_array_n_bytes (array, &n_bytes, &n_elements, error))
    return FALSE;
  if (array->is_object)
    {
      if (data->kind != JOB_PICKLE_LIST || data->items->len != n_elements)
        return job_pickle_malformed (error, "object array items");
      array->items = g_ptr_array_new_full (n_elements, NULL);
      for (guint i = 0; i < data->items->len; i++)
        g_ptr_array_add (array->items, data->items->pdata[i]);
    }
  else
    {
      if (data->kind != JOB_PICKLE_BYTES || g_bytes_get_size (data->bytes) != n_bytes)
        return job_pickle_malformed (error, "array data");
      array->bytes = job_pickle_to_native_order (array, data->bytes);
    }
  array->built = TRUE;
  return TRUE;
}

/* joblib's NumpyArrayWrapper: its state says what the raw bytes that
 * follow in the file are. Returns: (transfer full): the array */
static JobPickleNode *
read_wrapped_array (JobPickleReader *r,
                    JobPickleNode   *state,
                    GError         **error)
{
  JobPickleNode     *array = NULL;
  g_autoptr (GBytes) data = NULL;
  JobPickleNode     *subclass, *shape, *order, *dtype, *allow_mmap, *alignment;
  guint64            n_bytes, n_elements;

  if (state->kind != JOB_PICKLE_DICT)
    return fail_malformed (error, "array wrapper state");
  subclass = lookup_attribute (state, "subclass");
  shape = lookup_attribute (state, "shape");
  order = lookup_attribute (state, "order");
  dtype = lookup_attribute (state, "dtype");
  allow_mmap = lookup_attribute (state, "allow_mmap");
  alignment = lookup_attribute (state, "numpy_array_alignment_bytes");
  if (subclass == NULL || shape == NULL || order == NULL || dtype == NULL)
    return fail_malformed (error, "array wrapper state");
  if (!is_ndarray_class (subclass))
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_UNSUPPORTED,
                   _("Subclasses of numpy.ndarray other than numpy.memmap are not supported"));
      return NULL;
    }
  if (order->kind != JOB_PICKLE_STR || order->str_len != 1 ||
      (order->str[0] != 'C' && order->str[0] != 'F'))
    return fail_malformed (error, "array order");
  if (!job_pickle_dtype_check (dtype, error))
    return NULL;

  if (dtype->is_object)
    {
      /* joblib pickles object arrays whole, right after the wrapper. */
      array = job_pickle_stack_run_nested (r, error);
      if (array == NULL)
        return NULL;
      if (array->kind != JOB_PICKLE_ARRAY || !array->built || !array->is_object)
        return fail_malformed (error, "object array");
      if (!job_pickle_shape_from_tuple (array, shape, error))
        return NULL;
      if (!job_pickle_array_n_bytes (array, &n_bytes, &n_elements, error))
        return NULL;
      if (n_elements != array->items->len)
        return fail_malformed (error, "object array shape");
      return g_steal_pointer (&array);
    }

  array = job_pickle_stack_new_node (r, JOB_PICKLE_ARRAY, error);
  if (array == NULL || !job_pickle_shape_from_tuple (array, shape, error))
    return NULL;
  set_array_type (array, dtype);
  array->fortran = order->str[0] == 'F';
  if (!job_pickle_array_n_bytes (array, &n_bytes, &n_elements, error))
    return NULL;

  /* joblib >= 1.2: one byte says how many padding bytes follow. */
  if (alignment != NULL && alignment->kind != JOB_PICKLE_NONE)
    {
      guint8 padding[256];

      if (!job_pickle_source_read (r->source, padding, 1, error) ||
          !job_pickle_source_read (r->source, padding, padding[0], error))
        return NULL;
    }
  data = job_pickle_source_bytes (r->source, n_bytes,
                                  allow_mmap != NULL && allow_mmap->kind == JOB_PICKLE_BOOL &&
                                    allow_mmap->boolean,
                                  r->budget, error);
  if (data == NULL)
    return NULL;
  array->bytes = job_pickle_to_native_order (array, data);
  array->built = TRUE;
  return g_steal_pointer (&array);
}

JobPickleNode *
job_pickle_build (JobPickleReader *r,
                  JobPickleNode   *target,
                  JobPickleNode   *state,
                  GError         **error)
{
  if (target->kind == JOB_PICKLE_WRAPPER)
    return read_wrapped_array (r, state, error);
  if (target->kind == JOB_PICKLE_DTYPE)
    {
      if (!job_pickle_dtype_build (target, state, error))
        return NULL;
      return target;
    }
  if (target->kind == JOB_PICKLE_ARRAY)
    {
      if (!build_reconstructed (r, target, state, error))
        return NULL;
      return target;
    }
  g_set_error (error, JOB_ERROR, JOB_ERROR_UNSUPPORTED,
               _("The file sets the state of a %s, which the safe reader "
                 "does not do"),
                  job_pickle_kind_name (target->kind));
  return NULL;
}
