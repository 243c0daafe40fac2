/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Frees the disk space of cache folders that are already out of every
 * reader's sight: a cleared tree renamed to a trash folder, entries that
 * reduce_size renamed to `.trash-` names. Removing a folder costs an
 * unlink per file and an rmdir, which on a file system with online
 * discard waits for the device; the call that renamed them returns at
 * once and one background thread per process (started on demand, gone
 * when idle) removes them, with helper threads for big batches. A
 * process that exits normally waits for it (atexit); one that is killed
 * leaves the trash folders, which the next JobMemory opened next to them
 * sweeps.
 *
 * Each removal belongs to the cache root (`<location>/joblib-glib`) it
 * was taken from, so that a caller can wait for its own cache's removals
 * without waiting for other caches of the process.
 *
 * Thread safety: every function is thread-safe. */

/* Queues the removal of the cache tree at @path (function folders
 * holding entry folders; a local path), taken from the cache at @root.
 * Removal retries a few times when writers that still held the old tree
 * add files to it. */
void job_cache_reclaimer_add_tree    (const char *root,
                                      const char *path);
/* Queues the removal of the entry folders in @paths (local paths;
 * taken), taken from the cache at @root. */
void job_cache_reclaimer_add_folders (const char *root,
                                      GPtrArray  *paths);
/* Blocks until every folder queued so far, in this process, is removed
 * (or given up on), and the descriptors held on them are closed. */
void job_cache_reclaimer_wait        (void);
/* Blocks until every folder queued so far from the cache at @root, in
 * this process, is removed (or given up on): their names are gone, the
 * descriptors that keep their blocks may still be open (closed on the
 * background thread). The calling thread removes the ones no thread has
 * started on yet itself, rather than sleeping while the background
 * thread gets to them. */
void job_cache_reclaimer_wait_root   (const char *root);

G_END_DECLS
