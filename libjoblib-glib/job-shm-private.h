/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Shared-memory files for arguments too big for the worker pipe: the
 * parent writes a value's serialized bytes into a file of a memory-backed
 * folder, the worker maps it read-only, and the parent removes it when the
 * call ends, whatever became of the worker. */

#define JOB_SHM_PREFIX "joblib-glib-"

/* /dev/shm when it is a writable folder, else g_get_tmp_dir(). */
const char *job_shm_get_default_folder (void);

/* Creates a new empty file of @folder (NULL: the default), mode 0600,
 * named JOB_SHM_PREFIX PID "-" 6 characters, and returns its descriptor
 * (close-on-exec) and its path in @path, or -1. The first file of a
 * process in a folder sweeps it first (job_shm_sweep()). Thread-safe. */
int         job_shm_create             (const char    *folder,
                                        char         **path,
                                        GError       **error);
/* Writes @size bytes of @data at the start of @fd (@path names it in the
 * error). Thread-safe. */
gboolean    job_shm_write              (int            fd,
                                        const char    *path,
                                        const guint8  *data,
                                        gsize          size,
                                        GError       **error);
/* Whether @folder (NULL: the default) is memory-backed (tmpfs): only
 * processes of this machine can map its files, and they all see the same
 * pages. Thread-safe. */
gboolean    job_shm_folder_is_memory   (const char    *folder);

/* Removes the files of @folder that a process gone since wrote
 * (a parent killed before it could remove them): regular files of this
 * user, mode 0600, named JOB_SHM_PREFIX PID "-" 6 characters, where no
 * process PID is alive. Never follows a link, never touches the files of
 * a live process or of another user. Returns how many it removed.
 * Thread-safe. */
guint       job_shm_sweep              (const char  *folder);

G_END_DECLS
