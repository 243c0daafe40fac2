/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Frees the disk space of cache folders that are already out of every
 * reader's sight: a cleared tree renamed to a trash folder, entries that
 * reduce_size renamed to `.trash-` names. Removing a folder costs an
 * unlink per file; the call that renamed them returns at once and one
 * background thread per process (started on demand, gone when idle)
 * removes them. A process that exits normally waits for it (atexit);
 * one that is killed leaves the trash folders, which the next JobMemory
 * opened next to them sweeps.
 *
 * Thread safety: every function is thread-safe. */

/* Queues the removal of the cache tree at @path (function folders
 * holding entry folders; a local path). Removal retries a few times
 * when writers that still held the old tree add files to it. */
void job_cache_reclaimer_add_tree    (const char *path);
/* Queues the removal of the folders in @paths (local paths; taken). */
void job_cache_reclaimer_add_folders (GPtrArray  *paths);
/* Blocks until every folder queued so far, in this process, is removed
 * (or given up on). */
void job_cache_reclaimer_wait        (void);

G_END_DECLS
