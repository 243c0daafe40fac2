/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Clearing a local cache tree (JobMemory's clear): the tree is renamed
 * to a trash folder beside it in one step, so that no call sees it half
 * removed; its files are then removed on the reclaimer's background
 * thread (job-cache-reclaimer-private.h). Thread-safe. */

/* Takes the cache tree at @root (a local path) out of sight, and queues
 * its removal; TRUE when there is none. */
gboolean job_cache_clear_tree  (const char  *root,
                                GError     **error);
/* Removes the trash folders a killed clear left next to @root, after
 * waiting for this process's pending removals. Blocking. */
void     job_cache_clear_sweep (const char  *root);

G_END_DECLS
