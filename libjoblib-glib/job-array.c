/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "job-array-private.h"
#include "job-i18n-private.h"

/**
 * JobArray:
 *
 * An n-dimensional numeric array: a numpy type string (`"<f8"`, `"<i4"`,
 * `"|u1"`, `"<c16"`…), a shape, and the elements in C order in a #GBytes.
 *
 * Arrays are immutable and reference counted atomically: they can be
 * shared between threads freely. They travel inside #GVariant values as
 * `(ssatay)` tuples ([method@Joblib.Array.to_variant]) whose byte array
 * shares the array's #GBytes, so [func@Joblib.dump] writes the buffer
 * straight to the file and [func@Joblib.load] can hand back views of a
 * mapped file.
 *
 * Supported type strings: byte order `<`, `>`, `|` or `=` (native), then
 * `b1` (bool), `i1 i2 i4 i8`, `u1 u2 u4 u8`, `f2 f4 f8`, `c8 c16`.
 */
struct _JobArray
{
  gatomicrefcount  ref_count;
  char             typestr[8];
  gsize            item_size;
  guint            n_dims;
  gsize            shape[JOB_ARRAY_MAX_DIMS];
  gsize            n_elements;
  GBytes          *data;  /* (owned) */
};

G_DEFINE_BOXED_TYPE (JobArray, job_array, job_array_ref, job_array_unref)

gboolean
job_array_parse_typestr (const char  *typestr,
                         char         normalized[8],
                         gsize       *item_size,
                         JobError     code,
                         GError     **error)
{
  static const char *const supported[] = {
    "b1", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8",
    "f2", "f4", "f8", "c8", "c16",
  };
  char order;

  if (typestr == NULL || strlen (typestr) < 2 || strlen (typestr) > 4 ||
      strchr ("<>|=", typestr[0]) == NULL)
    {
      g_set_error (error, JOB_ERROR, code,
                   _("“%s” is not a numpy type string such as “<f8”"),
                   typestr ? typestr : "(null)");
      return FALSE;
    }

  for (guint i = 0; i < G_N_ELEMENTS (supported); i++)
    {
      if (strcmp (typestr + 1, supported[i]) != 0)
        continue;

      *item_size = g_ascii_strtoull (typestr + 2, NULL, 10);
      order = typestr[0];
      if (order == '=')
        order = G_BYTE_ORDER == G_LITTLE_ENDIAN ? '<' : '>';
      if (*item_size == 1)
        order = '|';
      else if (order == '|')
        {
          g_set_error (error, JOB_ERROR, code,
                       _("Type string “%s” needs a byte order"), typestr);
          return FALSE;
        }
      normalized[0] = order;
      strcpy (normalized + 1, typestr + 1);
      return TRUE;
    }

  g_set_error (error, JOB_ERROR, JOB_ERROR_UNSUPPORTED,
               _("Arrays of type “%s” are not supported"), typestr);
  return FALSE;
}

/* Validates everything but the data, and computes the buffer size. */
static JobArray *
job_array_new_header (const char  *typestr,
                      const gsize *shape,
                      guint        n_dims,
                      JobError     code,
                      gsize       *n_bytes,
                      GError     **error)
{
  g_autoptr(JobArray) self = NULL;

  self = g_new0 (JobArray, 1);
  g_atomic_ref_count_init (&self->ref_count);

  if (!job_array_parse_typestr (typestr, self->typestr, &self->item_size,
                                code, error))
    return NULL;

  if (n_dims > JOB_ARRAY_MAX_DIMS)
    {
      g_set_error (error, JOB_ERROR, code,
                   _("An array has at most %d dimensions, not %u"),
                   JOB_ARRAY_MAX_DIMS, n_dims);
      return NULL;
    }

  /* A zero anywhere makes the array empty, however large the rest. */
  self->n_dims = n_dims;
  self->n_elements = 1;
  for (guint i = 0; i < n_dims; i++)
    {
      self->shape[i] = shape[i];
      if (shape[i] == 0)
        self->n_elements = 0;
    }
  for (guint i = 0; i < n_dims && self->n_elements > 0; i++)
    if (!g_size_checked_mul (&self->n_elements, self->n_elements, shape[i]))
      self->n_elements = G_MAXSIZE;
  if (!g_size_checked_mul (n_bytes, self->n_elements, self->item_size) ||
      *n_bytes > G_MAXSSIZE)
    {
      g_set_error (error, JOB_ERROR, code,
                   _("The array shape overflows the address space"));
      return NULL;
    }

  return g_steal_pointer (&self);
}

gboolean
job_array_compute_size (const char  *typestr,
                        const gsize *shape,
                        guint        n_dims,
                        JobError     code,
                        gsize       *n_bytes,
                        GError     **error)
{
  g_autoptr(JobArray) header = job_array_new_header (typestr, shape, n_dims,
                                                     code, n_bytes, error);

  return header != NULL;
}

JobArray *
job_array_new_checked (const char  *typestr,
                       const gsize *shape,
                       guint        n_dims,
                       GBytes      *data,
                       JobError     code,
                       GError     **error)
{
  g_autoptr(JobArray) self = NULL;
  gsize n_bytes;

  self = job_array_new_header (typestr, shape, n_dims, code, &n_bytes, error);
  if (self == NULL)
    return NULL;

  if (data == NULL && n_bytes == 0)
    self->data = g_bytes_new (NULL, 0);
  else if (data != NULL && g_bytes_get_size (data) == n_bytes)
    self->data = g_bytes_ref (data);
  else
    {
      g_set_error (error, JOB_ERROR, code,
                   _("An array of %zu elements of type %s needs %zu bytes, not %zu"),
                   self->n_elements, self->typestr, n_bytes,
                   data != NULL ? g_bytes_get_size (data) : 0);
      return NULL;
    }

  return g_steal_pointer (&self);
}

/**
 * job_array_new:
 * @typestr: a numpy type string such as `"<f8"`
 * @shape: (array length=n_dims) (nullable): the size of each dimension
 * @n_dims: the number of dimensions; 0 makes a 0-d array (one element)
 * @data: (nullable): the elements in C order, exactly
 *   `n_elements × item_size` bytes; %NULL for an empty array
 * @error: return location for a #GError
 *
 * Creates an array that shares @data (no copy). Thread-safe.
 *
 * Returns: (transfer full): a new array, or %NULL with
 *   [error@Joblib.Error.INVALID_ARGUMENT] (bad type string, shape or data
 *   size) or [error@Joblib.Error.UNSUPPORTED] (type not supported)
 */
JobArray *
job_array_new (const char   *typestr,
               const gsize  *shape,
               guint         n_dims,
               GBytes       *data,
               GError      **error)
{
  g_return_val_if_fail (shape != NULL || n_dims == 0, NULL);

  return job_array_new_checked (typestr, shape, n_dims, data,
                                JOB_ERROR_INVALID_ARGUMENT, error);
}

/**
 * job_array_new_zeros:
 * @typestr: a numpy type string such as `"<f8"`
 * @shape: (array length=n_dims) (nullable): the size of each dimension
 * @n_dims: the number of dimensions
 * @error: return location for a #GError
 *
 * Creates an array of zeros. Thread-safe.
 *
 * Returns: (transfer full): a new array, or %NULL with an error as
 *   [ctor@Joblib.Array.new], or [error@Joblib.Error.TOO_LARGE] when the
 *   memory cannot be allocated
 */
JobArray *
job_array_new_zeros (const char   *typestr,
                     const gsize  *shape,
                     guint         n_dims,
                     GError      **error)
{
  g_autoptr(JobArray) self = NULL;
  gsize n_bytes;
  gpointer mem;

  g_return_val_if_fail (shape != NULL || n_dims == 0, NULL);

  self = job_array_new_header (typestr, shape, n_dims,
                               JOB_ERROR_INVALID_ARGUMENT, &n_bytes, error);
  if (self == NULL)
    return NULL;

  mem = g_try_malloc0 (n_bytes);
  if (mem == NULL && n_bytes > 0)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_TOO_LARGE,
                   _("Cannot allocate %zu bytes for an array"),
                   n_bytes);
      return NULL;
    }
  self->data = g_bytes_new_take (mem, n_bytes);
  return g_steal_pointer (&self);
}

/**
 * job_array_is_array_variant:
 * @variant: a #GVariant
 *
 * Tells whether @variant is the variant form of an array: of type
 * %JOB_ARRAY_VARIANT_TYPE with the `"joblib.array"` tag. It does not check
 * the rest; [ctor@Joblib.Array.new_from_variant] does.
 *
 * Returns: whether @variant stands for an array
 */
gboolean
job_array_is_array_variant (GVariant *variant)
{
  g_autoptr(GVariant) tag = NULL;

  g_return_val_if_fail (variant != NULL, FALSE);

  if (!g_variant_is_of_type (variant, JOB_ARRAY_VARIANT_TYPE))
    return FALSE;
  tag = g_variant_get_child_value (variant, 0);
  return g_strcmp0 (g_variant_get_string (tag, NULL), JOB_ARRAY_VARIANT_TAG) == 0;
}

/**
 * job_array_new_from_variant:
 * @variant: a variant of type %JOB_ARRAY_VARIANT_TYPE
 * @error: return location for a #GError
 *
 * Makes an array back from its variant form. The data is the byte array's
 * own buffer, not a copy, as long as the byte array is in serialized form
 * (as after [func@Joblib.load] or [method@Joblib.Array.to_variant]).
 * Thread-safe.
 *
 * Returns: (transfer full): the array, or %NULL with
 *   [error@Joblib.Error.INVALID_DATA] when @variant does not describe a
 *   valid array
 */
JobArray *
job_array_new_from_variant (GVariant  *variant,
                            GError   **error)
{
  g_autoptr(GVariant) typestr = NULL;
  g_autoptr(GVariant) shape = NULL;
  g_autoptr(GVariant) data = NULL;
  g_autoptr(GBytes) bytes = NULL;
  const guint64 *dims;
  gsize n_dims;
  gsize shape_copy[JOB_ARRAY_MAX_DIMS];

  g_return_val_if_fail (variant != NULL, NULL);

  if (!job_array_is_array_variant (variant))
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_DATA,
                   _("A value of type “%s” is not an array"),
                   g_variant_get_type_string (variant));
      return NULL;
    }

  typestr = g_variant_get_child_value (variant, 1);
  shape = g_variant_get_child_value (variant, 2);
  data = g_variant_get_child_value (variant, 3);
  dims = g_variant_get_fixed_array (shape, &n_dims, sizeof (guint64));
  if (n_dims > JOB_ARRAY_MAX_DIMS)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_DATA,
                   _("An array has at most %d dimensions, not %zu"),
                   JOB_ARRAY_MAX_DIMS, n_dims);
      return NULL;
    }
  for (gsize i = 0; i < n_dims; i++)
    {
      if (dims[i] > G_MAXSIZE)
        {
          g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_DATA,
                       _("The array shape overflows the address space"));
          return NULL;
        }
      shape_copy[i] = dims[i];
    }

  bytes = g_variant_get_data_as_bytes (data);
  return job_array_new_checked (g_variant_get_string (typestr, NULL),
                                shape_copy, n_dims, bytes,
                                JOB_ERROR_INVALID_DATA, error);
}

/**
 * job_array_to_variant:
 * @self: a #JobArray
 *
 * Gets the variant form of @self: `("joblib.array", typestr, shape, data)`
 * of type %JOB_ARRAY_VARIANT_TYPE, whose byte array shares the array's
 * buffer. Put it anywhere in a value given to [func@Joblib.dump].
 * Thread-safe.
 *
 * Returns: (transfer full): a new variant (not floating)
 */
GVariant *
job_array_to_variant (JobArray *self)
{
  guint64 dims[JOB_ARRAY_MAX_DIMS];
  GVariant *children[4];

  g_return_val_if_fail (self != NULL, NULL);

  for (guint i = 0; i < self->n_dims; i++)
    dims[i] = self->shape[i];
  children[0] = g_variant_new_string (JOB_ARRAY_VARIANT_TAG);
  children[1] = g_variant_new_string (self->typestr);
  children[2] = g_variant_new_fixed_array (G_VARIANT_TYPE_UINT64, dims,
                                           self->n_dims, sizeof (guint64));
  children[3] = g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING,
                                          self->data, TRUE);
  return g_variant_ref_sink (g_variant_new_tuple (children, 4));
}

/**
 * job_array_ref:
 * @self: a #JobArray
 *
 * Acquires a reference. Thread-safe.
 *
 * Returns: (transfer full): @self
 */
JobArray *
job_array_ref (JobArray *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

/**
 * job_array_unref:
 * @self: (transfer full): a #JobArray
 *
 * Releases a reference. Thread-safe.
 */
void
job_array_unref (JobArray *self)
{
  g_return_if_fail (self != NULL);

  if (g_atomic_ref_count_dec (&self->ref_count))
    {
      g_clear_pointer (&self->data, g_bytes_unref);
      g_free (self);
    }
}

/**
 * job_array_get_typestr:
 * @self: a #JobArray
 *
 * Gets the type string, normalized: `=` becomes the native byte order and
 * one-byte types use `|`.
 *
 * Returns: (transfer none): the numpy type string
 */
const char *
job_array_get_typestr (JobArray *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->typestr;
}

/**
 * job_array_get_shape:
 * @self: a #JobArray
 * @n_dims: (out) (optional): return location for the number of dimensions
 *
 * Gets the shape.
 *
 * Returns: (array length=n_dims) (transfer none): the shape
 */
const gsize *
job_array_get_shape (JobArray *self,
                     guint    *n_dims)
{
  g_return_val_if_fail (self != NULL, NULL);

  if (n_dims != NULL)
    *n_dims = self->n_dims;
  return self->shape;
}

/**
 * job_array_get_n_dims:
 * @self: a #JobArray
 *
 * Gets the number of dimensions, 0 for a scalar array.
 *
 * Returns: the number of dimensions, 0 for a scalar array
 */
guint
job_array_get_n_dims (JobArray *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->n_dims;
}

/**
 * job_array_get_n_elements:
 * @self: a #JobArray
 *
 * Gets the number of elements, the product of the shape.
 *
 * Returns: the number of elements, the product of the shape
 */
gsize
job_array_get_n_elements (JobArray *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->n_elements;
}

/**
 * job_array_get_item_size:
 * @self: a #JobArray
 *
 * Gets the size of one element in bytes.
 *
 * Returns: the size of one element in bytes
 */
gsize
job_array_get_item_size (JobArray *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->item_size;
}

/**
 * job_array_get_data:
 * @self: a #JobArray
 *
 * Gets the elements in C order. The bytes may be a view of a mapped file
 * (see %JOB_LOAD_MMAP).
 *
 * Returns: (transfer none): the data
 */
GBytes *
job_array_get_data (JobArray *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->data;
}

/**
 * job_array_get_element:
 * @self: a #JobArray
 * @index: (array length=n_index): one index per dimension
 * @n_index: the number of indices, which must equal the number of
 *   dimensions
 *
 * Finds an element, for C code that reads it in its stored type and byte
 * order. An index out of bounds is a programmer error.
 *
 * Returns: (transfer none): a pointer to the element's bytes
 */
gconstpointer
job_array_get_element (JobArray    *self,
                       const gsize *index,
                       guint        n_index)
{
  gsize flat = 0;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (n_index == self->n_dims, NULL);
  g_return_val_if_fail (self->n_elements > 0, NULL);

  for (guint i = 0; i < n_index; i++)
    {
      g_return_val_if_fail (index[i] < self->shape[i], NULL);
      flat = flat * self->shape[i] + index[i];
    }
  return (const guint8 *) g_bytes_get_data (self->data, NULL) + flat * self->item_size;
}

/* Copies one element into @out in native byte order. */
static void
read_native (JobArray *self,
             gsize     flat_index,
             guint8    out[16])
{
  const guint8 *p = g_bytes_get_data (self->data, NULL);
  gsize part = self->typestr[1] == 'c' ? self->item_size / 2 : self->item_size;
  gboolean swap = self->typestr[0] == (G_BYTE_ORDER == G_LITTLE_ENDIAN ? '>' : '<');

  memcpy (out, p + flat_index * self->item_size, self->item_size);
  if (swap)
    for (gsize i = 0; i < part / 2; i++)
      {
        guint8 t = out[i];
        out[i] = out[part - 1 - i];
        out[part - 1 - i] = t;
      }
}

static gdouble
half_to_double (guint16 h)
{
  int exponent = (h >> 10) & 0x1f;
  int mantissa = h & 0x3ff;
  gdouble value;

  if (exponent == 0)
    value = ldexp (mantissa, -24);
  else if (exponent == 31)
    value = mantissa ? NAN : INFINITY;
  else
    value = ldexp (mantissa + 1024, exponent - 25);
  return (h & 0x8000) ? -value : value;
}

/**
 * job_array_get_double:
 * @self: a #JobArray
 * @flat_index: the index of the element in C order
 *
 * Reads an element as a double, whatever its type and byte order. For
 * complex types this is the real part. An index out of bounds is a
 * programmer error.
 *
 * Returns: the element's value
 */
gdouble
job_array_get_double (JobArray *self,
                      gsize     flat_index)
{
  union { guint8 b[16]; guint16 u16; gfloat f; gdouble d; } v;

  g_return_val_if_fail (self != NULL, 0.0);
  g_return_val_if_fail (flat_index < self->n_elements, 0.0);

  switch (self->typestr[1])
    {
    case 'f':
    case 'c':
      read_native (self, flat_index, v.b);
      if (self->item_size == 2)
        return half_to_double (v.u16);
      if (self->item_size == 4 || (self->item_size == 8 && self->typestr[1] == 'c'))
        return v.f;
      return v.d;
    default:
      return (gdouble) job_array_get_int64 (self, flat_index);
    }
}

/**
 * job_array_get_int64:
 * @self: a #JobArray
 * @flat_index: the index of the element in C order
 *
 * Reads an element as a 64-bit integer, whatever its type and byte order.
 * Floating-point values are truncated toward zero; `u8` values above
 * %G_MAXINT64 wrap. An index out of bounds is a programmer error.
 *
 * Returns: the element's value
 */
gint64
job_array_get_int64 (JobArray *self,
                     gsize     flat_index)
{
  union { guint8 b[16]; gint8 i8; gint16 i16; gint32 i32; gint64 i64;
          guint16 u16; guint32 u32; guint64 u64; } v;

  g_return_val_if_fail (self != NULL, 0);
  g_return_val_if_fail (flat_index < self->n_elements, 0);

  if (self->typestr[1] == 'f' || self->typestr[1] == 'c')
    return (gint64) job_array_get_double (self, flat_index);

  read_native (self, flat_index, v.b);
  switch (self->item_size)
    {
    case 1:
      return self->typestr[1] == 'i' ? v.i8 : v.b[0];
    case 2:
      return self->typestr[1] == 'i' ? v.i16 : v.u16;
    case 4:
      return self->typestr[1] == 'i' ? v.i32 : (gint64) v.u32;
    default:
      return v.i64;
    }
}

/**
 * job_array_equal:
 * @a: a #JobArray
 * @b: a #JobArray
 *
 * Compares type string, shape and bytes.
 *
 * Returns: whether @a and @b are the same array
 */
gboolean
job_array_equal (JobArray *a,
                 JobArray *b)
{
  g_return_val_if_fail (a != NULL && b != NULL, FALSE);

  return strcmp (a->typestr, b->typestr) == 0 &&
         a->n_dims == b->n_dims &&
         memcmp (a->shape, b->shape, a->n_dims * sizeof (gsize)) == 0 &&
         g_bytes_equal (a->data, b->data);
}
