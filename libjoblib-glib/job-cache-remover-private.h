/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Removing cache folders, rm -r style: fd-relative, no symbolic link
 * followed. Renaming entries out of sight first and calling this later,
 * off the caller's thread, is job-cache-reclaimer-private.h's job. */

/* One at a time, on the calling thread; thread-safe. Removes the tree at
 * @path (a folder, a file, or a link, never followed; a URI through
 * GIO), TRUE when there is none. */
gboolean         job_cache_remove_tree    (const char  *path,
                                           GError     **error);
/* The same for @name relative to @dir_fd (AT_FDCWD for a path). */
gboolean         job_cache_remove_at      (int          dir_fd,
                                           const char  *name,
                                           GError     **error);

/* Removes the entry folder at @path (a local path, or a link or file,
 * never followed): its `output` and `metadata.json` by name, then the
 * folder; a folder holding anything else is removed as by
 * job_cache_remove_at(). TRUE when there is none.
 *
 * With @held, the folder and its two files are kept open, their
 * descriptors added to @held (element-type int): their names are gone,
 * but the file system frees their blocks only when the caller closes
 * them. Where freeing a block waits for the device (online discard),
 * that moves the wait out of this call. */
gboolean         job_cache_remove_entry_folder (const char  *path,
                                                GArray      *held,
                                                GError     **error);

G_END_DECLS
