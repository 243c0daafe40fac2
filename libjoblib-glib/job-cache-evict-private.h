/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Eviction: JobMemory's reduce_size and the limits enforced after
 * writes. Entries go least recently used first (the entry folder's
 * modification time is the LRU clock, see job-cache-store-private.h),
 * each renamed to a hidden `.trash-` name in one step, then freed by the
 * reclaimer's thread. The same pass removes the hidden `.tmp-` and
 * `.trash-` folders that killed writers and removers left, once an hour
 * old.
 *
 * Thread safety: thread-safe; blocking (a directory listing and a stat
 * per entry, three when @bytes_limit is set, and a rename per evicted
 * entry). Returns how many entries went; the totals left are returned in
 * @remaining_bytes (0 when no bytes limit was given: sizes are then not
 * read) and @remaining_items. */
guint job_cache_evict (const char  *root,
                       guint64      bytes_limit,
                       guint        items_limit,
                       double       age_limit,
                       guint64     *remaining_bytes,
                       guint       *remaining_items,
                       GError     **error);

G_END_DECLS
