/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * The framing offsets of serialized GVariant containers (the GVariant
 * specification, "Framing offsets"): little-endian integers, all of the
 * smallest width that addresses the whole container. One place for the code
 * that reads or writes serialized forms by hand (worker frames, persistence
 * headers, pickle trees); what it writes is checked by GLib's own readers
 * in the tests, and what it reads is bounds-checked by its callers.
 */

/* The width of the offsets of a container of @container_size bytes,
 * offsets included; 0 for an empty container. */
static inline gsize
job_variant_offset_size (gsize container_size)
{
  if (container_size > G_MAXUINT32)
    return 8;
  if (container_size > G_MAXUINT16)
    return 4;
  if (container_size > G_MAXUINT8)
    return 2;
  return container_size > 0 ? 1 : 0;
}

/* The width of @n_offsets offsets written after @body_size bytes: the
 * smallest with which the container they make can be addressed. */
static inline gsize
job_variant_offset_size_for_body (gsize body_size,
                                  gsize n_offsets)
{
  if (body_size + n_offsets == 0)
    return 0;
  if (body_size + n_offsets <= G_MAXUINT8)
    return 1;
  if (body_size + 2 * n_offsets <= G_MAXUINT16)
    return 2;
  if (body_size + 4 * n_offsets <= G_MAXUINT32)
    return 4;
  return 8;
}

/* The offset of @width bytes at @bytes, whatever the host's byte order. */
static inline guint64
job_variant_read_offset (const guint8 *bytes,
                         gsize         width)
{
  guint64 value = 0;

  for (gsize i = width; i > 0; i--)
    value = (value << 8) | bytes[i - 1];
  return value;
}

/* Appends @n offsets of @width bytes, @ends in order or last first. */
static inline void
job_variant_append_offsets (GByteArray  *out,
                            const gsize *ends,
                            gsize        n,
                            gsize        width,
                            gboolean     backwards)
{
  for (gsize i = 0; i < n; i++)
    {
      guint64 le = GUINT64_TO_LE ((guint64) ends[backwards ? n - 1 - i : i]);

      g_byte_array_append (out, (const guint8 *) &le, width);
    }
}

G_END_DECLS
