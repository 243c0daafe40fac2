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

/* Writes the serialized form of @value into a new file of @folder (NULL:
 * the default) and returns its path. The first write of a process into a
 * folder sweeps it first (job_shm_sweep()). Thread-safe. */
char       *job_shm_write_variant      (const char  *folder,
                                        GVariant    *value,
                                        GError     **error);

/* Removes the files of @folder that a process gone since wrote
 * (a parent killed before it could remove them): regular files of this
 * user, mode 0600, named JOB_SHM_PREFIX PID "-" 6 characters, where no
 * process PID is alive. Never follows a link, never touches the files of
 * a live process or of another user. Returns how many it removed.
 * Thread-safe. */
guint       job_shm_sweep              (const char  *folder);

G_END_DECLS
