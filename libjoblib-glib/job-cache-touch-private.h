/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * The LRU touches of one process, coalesced: an entry folder's mtime is its
 * last access (see job-cache-store-private.h), and setting it costs one
 * system call (about 3 µs on a VM, a quarter of a hit). A hot entry hit
 * again and again needs it only once in a while: within
 * JOB_CACHE_TOUCH_INTERVAL of this process's last touch of the same entry,
 * a hit leaves the mtime as it is. Eviction then orders hot entries to the
 * second, where joblib goes by atime (under relatime, to the day).
 *
 * Thread-safe: one lock around a table of at most a few thousand paths,
 * emptied when it grows past that.
 */

#define JOB_CACHE_TOUCH_INTERVAL G_USEC_PER_SEC

gboolean job_cache_touch_is_due           (const char *entry_dir);
/* For tests: the interval in microseconds (0: touch on every hit); returns
 * the previous one. Empties the table. */
gint64   job_cache_touch_set_interval     (gint64      interval_usec);

G_END_DECLS
