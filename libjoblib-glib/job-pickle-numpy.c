/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "job-i18n-private.h"
#include "job-pickle-private.h"

/* numpy pickles a dtype as dtype(descr, False, True) and then BUILDs it
 * with (version, byteorder, subdescr, names, fields, elsize, alignment,
 * flags[, metadata]); the reader takes plain (unstructured) dtypes only. */

static gboolean
is_int (JobPickleNode *node)
{
  return node->kind == JOB_PICKLE_INT;
}

static gboolean
invalid (GError    **error,
         const char *what)
{
  g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_DATA,
               _("Malformed numpy data in the file: %s"), what);
  return FALSE;
}

/* The unit of a datetime64/timedelta64 dtype from its metadata:
 * ({}, (b"ns", num, den, events)). */
static gboolean
datetime_unit (JobPickleNode *metadata,
               char          *unit,
               gsize          unit_size,
               GError       **error)
{
  JobPickleNode *info, *name, *num;
  gsize          len;
  const char    *data;

  if (metadata->kind != JOB_PICKLE_TUPLE || metadata->items->len != 2)
    return invalid (error, "datetime metadata");
  info = metadata->items->pdata[1];
  if (info->kind != JOB_PICKLE_TUPLE || info->items->len != 4)
    return invalid (error, "datetime metadata");
  name = info->items->pdata[0];
  num = info->items->pdata[1];
  if (name->kind != JOB_PICKLE_BYTES || !is_int (num) ||
      num->integer < 1 || num->integer > 1000000)
    return invalid (error, "datetime unit");
  data = g_bytes_get_data (name->bytes, &len);
  if (len == 0 || len > 7)
    return invalid (error, "datetime unit");
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalpha (data[i]))
      return invalid (error, "datetime unit");
  if (len == 7 && memcmp (data, "generic", 7) == 0)
    unit[0] = '\0';
  else if (num->integer == 1)
    g_snprintf (unit, unit_size, "[%.*s]", (int) len, data);
  else
    g_snprintf (unit, unit_size, "[%" G_GINT64_FORMAT "%.*s]", num->integer, (int) len, data);
  return TRUE;
}

gboolean
job_pickle_dtype_build (JobPickleNode *dtype,
                        JobPickleNode *state,
                        GError       **error)
{
  JobPickleNode *order_node, *elsize_node;
  char           order, kind;
  char           unit[24] = "";
  guint64        size = 0;
  const char    *digits;
  char          *end = NULL;

  if (dtype->built)
    return invalid (error, "a dtype given its state twice");
  if (state->kind != JOB_PICKLE_TUPLE || state->items->len < 8 || state->items->len > 9)
    return invalid (error, "dtype state");
  order_node = state->items->pdata[1];
  elsize_node = state->items->pdata[5];
  if (!is_int (state->items->pdata[0]) || order_node->kind != JOB_PICKLE_STR ||
      order_node->str_len != 1 || strchr ("<>|=", order_node->str[0]) == NULL ||
      !is_int (elsize_node))
    return invalid (error, "dtype state");
  for (guint i = 2; i <= 4; i++)
    if (((JobPickleNode *) state->items->pdata[i])->kind != JOB_PICKLE_NONE)
      {
        g_set_error (error, JOB_ERROR, JOB_ERROR_UNSUPPORTED,
                     _("Structured and sub-array numpy dtypes are not supported"));
        return FALSE;
      }

  order = order_node->str[0];
  if (order == '=')
    order = G_BYTE_ORDER == G_LITTLE_ENDIAN ? '<' : '>';
  kind = dtype->str[0];
  digits = dtype->str + 1;
  if (g_ascii_isdigit (*digits))
    size = g_ascii_strtoull (digits, &end, 10);
  if (end == NULL || *end != '\0' || size > G_MAXINT32)
    return invalid (error, "dtype descriptor");

  switch (kind)
    {
    case 'b':
    case 'i':
    case 'u':
    case 'f':
    case 'c':
      if (size == 0 || size > 32 || (size & (size - 1)) != 0 ||
          (kind == 'b' && size != 1))
        return invalid (error, "dtype size");
      dtype->item_size = size;
      break;
    case 'S':
    case 'V':
      dtype->item_size = size;
      order = '|';
      break;
    case 'U':
      dtype->item_size = size * 4;
      break;
    case 'M':
    case 'm':
      if (size != 8 || state->items->len != 9)
        return invalid (error, "datetime dtype");
      if (!datetime_unit (state->items->pdata[8], unit, sizeof unit, error))
        return FALSE;
      dtype->item_size = 8;
      break;
    case 'O':
      if (size != 8 && size != 4)
        return invalid (error, "object dtype");
      dtype->item_size = size;
      dtype->is_object = TRUE;
      break;
    default:
      g_set_error (error, JOB_ERROR, JOB_ERROR_UNSUPPORTED,
                   _("The numpy dtype “%s” is not supported"), dtype->str);
      return FALSE;
    }
  if ((kind == 'S' || kind == 'V' || kind == 'U') &&
      elsize_node->integer != (gint64) dtype->item_size)
    return invalid (error, "dtype element size");
  if (dtype->item_size == 1 && kind != 'U')
    order = '|';
  else if (order == '|' && kind != 'S' && kind != 'V' && kind != 'O')
    return invalid (error, "dtype byte order");

  if (dtype->is_object)
    g_strlcpy (dtype->typestr, "|O", sizeof dtype->typestr);
  else if (kind == 'U')
    g_snprintf (dtype->typestr, sizeof dtype->typestr, "%cU%" G_GUINT64_FORMAT, order, size);
  else
    g_snprintf (dtype->typestr, sizeof dtype->typestr, "%c%c%" G_GUINT64_FORMAT "%s",
                order, kind, size, unit);
  dtype->built = TRUE;
  return TRUE;
}

gboolean
job_pickle_dtype_check (JobPickleNode *dtype,
                        GError       **error)
{
  if (dtype->kind == JOB_PICKLE_DTYPE && dtype->built)
    return TRUE;
  return invalid (error, "a dtype without its state");
}

gboolean
job_pickle_shape_from_tuple (JobPickleNode *array,
                             JobPickleNode *tuple,
                             GError       **error)
{
  if (tuple->kind != JOB_PICKLE_TUPLE || tuple->items->len > JOB_ARRAY_MAX_DIMS)
    return invalid (error, "array shape");
  for (guint i = 0; i < tuple->items->len; i++)
    {
      JobPickleNode *dim = tuple->items->pdata[i];

      if (!is_int (dim) || dim->integer < 0)
        return invalid (error, "array shape");
      array->shape[i] = (guint64) dim->integer;
    }
  array->n_dims = tuple->items->len;
  return TRUE;
}

gboolean
job_pickle_array_n_bytes (JobPickleNode *array,
                          guint64       *n_bytes,
                          guint64       *n_elements,
                          GError       **error)
{
  guint64 count = 1;

  for (guint i = 0; i < array->n_dims; i++)
    if (array->shape[i] == 0)
      count = 0;
  for (guint i = 0; i < array->n_dims && count > 0; i++)
    if (!g_uint64_checked_mul (&count, count, array->shape[i]))
      goto overflow;
  if (!g_uint64_checked_mul (n_bytes, count, array->item_size) || *n_bytes > G_MAXSSIZE)
    goto overflow;
  *n_elements = count;
  return TRUE;

overflow:
  g_set_error (error, JOB_ERROR, JOB_ERROR_TOO_LARGE,
               _("The array shape overflows the address space"));
  return FALSE;
}

/* joblib gives arrays in the machine's byte order whatever the file
 * holds: swaps a copy of @data when needed. */
GBytes *
job_pickle_to_native_order (JobPickleNode *array,
                            GBytes        *data)
{
  const char native = G_BYTE_ORDER == G_LITTLE_ENDIAN ? '<' : '>';
  gsize      unit = array->item_size;
  gsize      size;
  guint8    *copy;

  if (array->typestr[0] == '|' || array->typestr[0] == native || array->is_object)
    return g_bytes_ref (data);
  if (array->typestr[1] == 'c')
    unit /= 2;
  else if (array->typestr[1] == 'U')
    unit = 4;
  array->typestr[0] = native;
  if (unit <= 1)
    return g_bytes_ref (data);

  copy = g_bytes_unref_to_data (g_bytes_ref (data), &size);
  for (gsize at = 0; at + unit <= size; at += unit)
    for (gsize i = 0; i < unit / 2; i++)
      {
        guint8 byte = copy[at + i];

        copy[at + i] = copy[at + unit - 1 - i];
        copy[at + unit - 1 - i] = byte;
      }
  return g_bytes_new_take (copy, size);
}
