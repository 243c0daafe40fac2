/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Buffers for the arrays a load reads: g_try_malloc() (which hands a
 * freed buffer out again), from 4 MiB up with huge pages asked for (page
 * faults cost more than the copy), and from 32 MiB up a mapping of their
 * own on a huge-page boundary. @mapping is opaque: NULL for a malloc'ed
 * buffer.
 * Thread-safe: each buffer belongs to its caller. */

guint8 *job_persist_buffer_alloc (gsize     size,
                                  gpointer *mapping);
GBytes *job_persist_buffer_take  (guint8   *buffer,
                                  gsize     size,
                                  gpointer  mapping);
void    job_persist_buffer_free  (guint8   *buffer,
                                  gpointer  mapping);

G_END_DECLS
