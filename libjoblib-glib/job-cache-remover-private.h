/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Removes many cache folders at once. unlink() and rmdir() mostly wait
 * (for the file system journal, or for a core on a loaded machine), so
 * the folders go in parallel on a few threads rather than one by one.
 *
 * Thread safety: one remover is used from the thread that created it;
 * its work runs on a private thread pool. */
typedef struct _JobCacheRemover JobCacheRemover;

JobCacheRemover *job_cache_remover_new    (void);
void             job_cache_remover_add_at (JobCacheRemover  *self,
                                           int               dir_fd,
                                           const char       *name);
gboolean         job_cache_remover_finish (JobCacheRemover  *self,
                                           GError          **error);

gboolean         job_cache_remover_remove_tree (const char  *path,
                                                GError     **error);

/* One at a time, on the calling thread; thread-safe. Removes the tree at
 * @path (a folder, a file, or a link, never followed; a URI through
 * GIO), TRUE when there is none. */
gboolean         job_cache_remove_tree    (const char  *path,
                                           GError     **error);
/* The same for @name relative to @dir_fd (AT_FDCWD for a path). */
gboolean         job_cache_remove_at      (int          dir_fd,
                                           const char  *name,
                                           GError     **error);

G_END_DECLS
