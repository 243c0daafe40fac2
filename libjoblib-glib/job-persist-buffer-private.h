/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Buffers for the arrays a load reads: from 4 MiB up their own mapping
 * with huge pages asked for (page faults cost more than the copy), taken
 * from and handed back to the buffer pool (job-buffer-pool-private.h),
 * else g_try_malloc(). @mapping is opaque: NULL for a malloc'ed buffer.
 * A buffer's bytes are undefined until the caller writes them (a pooled
 * one holds an earlier array's); the caller fills all of them before
 * _take, or gives the buffer back with _free.
 * Thread-safe: each buffer belongs to its caller. */

guint8 *job_persist_buffer_alloc (gsize     size,
                                  gpointer *mapping);
GBytes *job_persist_buffer_take  (guint8   *buffer,
                                  gsize     size,
                                  gpointer  mapping);
void    job_persist_buffer_free  (guint8   *buffer,
                                  gpointer  mapping);

G_END_DECLS
