/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Clearing a local cache tree (JobMemory's clear): the tree is first
 * renamed to a trash folder beside it, so that no call sees it half
 * removed, then removed. Thread-safe; blocking. */

/* Removes the cache tree at @root (a local path); TRUE when there is
 * none. */
gboolean job_cache_clear_tree  (const char  *root,
                                GError     **error);
/* Removes the trash folders a killed clear left next to @root. */
void     job_cache_clear_sweep (const char  *root);

G_END_DECLS
