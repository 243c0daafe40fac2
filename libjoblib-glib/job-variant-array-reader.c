/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-variant-array-reader-private.h"

#include "job-error.h"
#include "job-i18n-private.h"
#include "job-variant-framing-private.h"

/* The serialized form of an array of variable-sized elements (the GVariant
 * specification, "Arrays"): the elements one after the other, each at the
 * alignment of its type (8 for `v`), then one little-endian framing offset
 * per element, the end of that element. The width of an offset depends on
 * the size of the whole array. */
#define VARIANT_ALIGNMENT 8

static gsize
align_element (guint64 end)
{
  return (gsize) end + (-(gsize) end & (VARIANT_ALIGNMENT - 1));
}

/**
 * job_variant_array_reader_init:
 * @self: (out caller-allocates): a reader
 * @array: an `av` value
 * @error: return location for a #JOB_ERROR_PROTOCOL error
 *
 * Reads the framing of @array in one pass: its last offset must lie inside
 * it and leave room for a whole number of offsets, and each element must end
 * at or after its aligned start and before the offsets (GLib's normal-form
 * check refuses the same arrays). On failure @self holds nothing.
 *
 * Returns: whether the framing is sound
 */
gboolean
job_variant_array_reader_init (JobVariantArrayReader  *self,
                               GVariant               *array,
                               GError                **error)
{
  gsize size;
  guint64 last_end;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (array != NULL, FALSE);
  g_return_val_if_fail (g_variant_is_of_type (array, G_VARIANT_TYPE ("av")), FALSE);

  *self = (JobVariantArrayReader) { 0 };
  size = g_variant_get_size (array);
  if (size == 0)
    {
      self->array = g_variant_ref (array);
      return TRUE;
    }

  self->data = g_variant_get_data (array);
  self->offset_size = job_variant_offset_size (size);
  last_end = job_variant_read_offset (self->data + size - self->offset_size, self->offset_size);
  if (last_end > size || (size - last_end) % self->offset_size != 0)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_PROTOCOL,
                   _("Malformed array of values (%zu bytes, last offset %" G_GUINT64_FORMAT ")"),
                   size, last_end);
      *self = (JobVariantArrayReader) { 0 };
      return FALSE;
    }
  self->elements_end = last_end;
  self->n_elements = (size - last_end) / self->offset_size;

  /* Every offset once, before any element is handed out: a frame is then
   * taken or refused whole. */
  for (gsize i = 0, start = 0; i < self->n_elements; i++)
    {
      guint64 end = job_variant_read_offset (self->data + last_end + i * self->offset_size,
                                             self->offset_size);

      if (end < start || end > last_end)
        {
          g_set_error (error, JOB_ERROR, JOB_ERROR_PROTOCOL,
                       _("Malformed array of values: element %zu ends at %" G_GUINT64_FORMAT
                         ", outside %zu…%" G_GUINT64_FORMAT),
                       i, end, start, last_end);
          *self = (JobVariantArrayReader) { 0 };
          return FALSE;
        }
      start = align_element (end);
    }
  self->array = g_variant_ref (array);
  return TRUE;
}

/**
 * job_variant_array_reader_get_n:
 * @self: an initialized reader
 *
 * Returns: how many elements the array's framing announces
 */
gsize
job_variant_array_reader_get_n (JobVariantArrayReader *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->n_elements;
}

/**
 * job_variant_array_reader_next:
 * @self: an initialized reader
 *
 * The next element, a `v` over the array's bytes that keeps the array
 * alive. Its bounds were checked by job_variant_array_reader_init().
 *
 * Returns: (transfer full) (nullable): the element, %NULL past the last one
 */
GVariant *
job_variant_array_reader_next (JobVariantArrayReader *self)
{
  gsize start;
  gsize end;

  g_return_val_if_fail (self != NULL, NULL);

  if (self->index >= self->n_elements)
    return NULL;

  start = self->next_start;
  end = job_variant_read_offset (self->data + self->elements_end +
                                 self->index * self->offset_size,
                                 self->offset_size);
  self->index++;
  self->next_start = align_element (end);

  return g_variant_ref_sink (g_variant_new_from_data (G_VARIANT_TYPE_VARIANT,
                                                      self->data + start, end - start,
                                                      FALSE,
                                                      (GDestroyNotify) g_variant_unref,
                                                      g_variant_ref (self->array)));
}

/**
 * job_variant_array_reader_clear:
 * @self: a reader, initialized or zero-filled
 *
 * Drops the reader's reference to its array; elements already read keep
 * their own.
 */
void
job_variant_array_reader_clear (JobVariantArrayReader *self)
{
  g_return_if_fail (self != NULL);

  g_clear_pointer (&self->array, g_variant_unref);
  *self = (JobVariantArrayReader) { 0 };
}
