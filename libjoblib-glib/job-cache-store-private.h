/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "job-cache-gio-store-private.h"

G_BEGIN_DECLS

/*
 * The on-disk side of JobMemory, with plain POSIX calls on paths under a
 * native location: a cache hit is open + fstat + read + close + one
 * utimensat, a few microseconds, which GIO's GFile layers would multiply.
 *
 *   <root>/<function>/version                 the function's version
 *   <root>/<function>/<hex>/output            the result
 *   <root>/<function>/<hex>/metadata.json     duration, time, input args
 *   <root>/<function>/.locks                  single-flight across processes:
 *                                             a call that computes locks one
 *                                             byte (fcntl F_OFD_SETLKW)
 *   <root>/<function>/<hex>.lock              the same, per key, where the
 *                                             filesystem has no such locks
 *                                             (only while a call computes)
 *
 * <root> is <location>/joblib-glib and <hex> the 32 hexadecimal digits of
 * the arguments' hash. An entry folder appears whole (written in a
 * temporary folder, then renamed) and disappears whole (renamed away, then
 * deleted). Its modification time is the entry's last access: set
 * explicitly on a hit, so LRU works on noatime and relatime mounts (at most
 * once a second per entry and process: job-cache-touch-private.h).
 * The output file's modification time is the entry's creation time.
 *
 * A location without a local path (sftp:// through GVfs…) has a URI for
 * <location>: every function below hands it to job-cache-gio-store.c,
 * which keeps the same tree through GFile (and says what it cannot
 * guarantee there).
 */

char       *job_cache_store_function_dir  (const char  *root,
                                           const char  *function_name);
/* Output format: the one pair of functions that reads and writes results. */
gboolean    job_cache_store_write_output  (const char                  *path,
                                           GVariant                    *value,
                                           const JobCacheOutputOptions *options,
                                           guint64                     *size,
                                           GError                     **error);
GVariant   *job_cache_store_read_output   (const char                  *path,
                                           const JobCacheOutputOptions *options,
                                           gint64                      *created_usec,
                                           GError                     **error);

/* Stores an entry (temporary folder, renamed into place once). The
 * function folder's version file is written when it is missing; with
 * *@version_known TRUE, the caller knows it is there (seen in this same
 * folder: see JobCacheLock.kept) and it is not looked for, unless the
 * function folder had to be made. *@version_known is TRUE on return once
 * the file is known to be there. */
gboolean    job_cache_store_write_entry   (const char                  *function_dir,
                                           const char                  *version,
                                           gboolean                    *version_known,
                                           const char                  *hex,
                                           GVariant                    *output,
                                           const char                  *metadata_json,
                                           const JobCacheOutputOptions *options,
                                           guint64                     *size,
                                           GError                     **error);
gboolean    job_cache_store_entry_exists  (const char  *entry_dir);
/* Whether the output is there; its modification time is the entry's
 * creation. */
gboolean    job_cache_store_output_created (const char *output_path,
                                            gint64     *created_usec);
void        job_cache_store_touch         (const char  *entry_dir);
/* Renames the entry to a hidden `.trash-` name (readers see it whole or
 * not at all) and queues its files for the reclaimer's thread. */
gboolean    job_cache_store_remove_entry  (const char  *entry_dir,
                                           GError     **error);
/* The same for the entries @entry_dirs of one function folder, queued as
 * one batch; stops at the first failure. Returns how many were removed. */
guint       job_cache_store_remove_entries (GPtrArray  *entry_dirs,
                                            GError    **error);
/* A fresh `.trash-` path in @function_dir for the entry @name. */
char       *job_cache_store_trash_path    (const char  *function_dir,
                                           const char  *name);
guint       job_cache_store_check_version (const char  *function_dir,
                                           const char  *function_name,
                                           const char  *version);
gboolean    job_cache_store_read_metadata (const char  *entry_dir,
                                           double      *duration,
                                           char       **input_args);

/* A key's cross-process lock: a byte of the function's `.locks` file
 * here (or a flock()ed per-key file), an exclusively created one on a
 * remote location; neither when none could be taken (the call computes
 * without it). */
typedef struct
{
  int      fd;
  GFile   *remote;  /* (owned) (nullable) */
  gboolean per_key; /* fd locks <hex>.lock, unlinked on unlock */
  dev_t    dev;     /* the locked file's, to keep its fd for reuse */
  ino_t    ino;
  /* the fd was kept from this process's last lock of the same `.locks`,
   * still the file at its path: the function folder is the one of then
   * (the open fd keeps its inode number from being reused) */
  gboolean kept;
} JobCacheLock;

void        job_cache_store_lock          (const char   *function_dir,
                                           const char   *hex,
                                           JobCacheLock *lock);
void        job_cache_store_unlock        (const char   *function_dir,
                                           const char   *hex,
                                           JobCacheLock *lock);

GPtrArray  *job_cache_store_scan          (const char  *root,
                                           const char  *only_function,
                                           gboolean     with_metadata);
/* Closes the `.locks` files kept open for reuse (before a clear moves
 * them away: a file still open may keep a remote filesystem from
 * removing its folder). */
void        job_cache_store_lock_pool_flush (void);

G_END_DECLS
