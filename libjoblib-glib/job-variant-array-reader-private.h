/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Reads the elements of an `av` from an untrusted frame in one pass.
 *
 * g_variant_get_child_value() on an array that is not known to be in
 * normal form checks the framing offsets of every element before the one
 * asked for, and the GLib of Debian 12 does not remember how far it
 * checked between calls: reading n elements in order costs O(n²). A
 * frame's bulk array is not checked for normal form as a whole (GLib's
 * check walks byte arrays byte by byte), so its elements are read here:
 * each framing offset is read and bounds-checked once, and each element
 * becomes a `v` over the frame's own bytes (no copy), still untrusted,
 * so that GLib never reads outside it whatever its bytes.
 *
 * A reader is a stack value used by one thread; it holds a reference to
 * the array until job_variant_array_reader_clear(). */
typedef struct
{
  GVariant     *array;        /* (owned) (nullable) */
  const guint8 *data;
  gsize         elements_end; /* where the framing offsets start */
  gsize         n_elements;
  gsize         index;        /* of the next element */
  gsize         next_start;   /* byte where the next element starts */
  guint         offset_size;
} JobVariantArrayReader;

gboolean  job_variant_array_reader_init  (JobVariantArrayReader  *self,
                                          GVariant               *array,
                                          GError                **error);
gsize     job_variant_array_reader_get_n (JobVariantArrayReader  *self);
GVariant *job_variant_array_reader_next  (JobVariantArrayReader  *self);
void      job_variant_array_reader_clear (JobVariantArrayReader  *self);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (JobVariantArrayReader, job_variant_array_reader_clear)

G_END_DECLS
