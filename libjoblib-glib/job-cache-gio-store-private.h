/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>


G_BEGIN_DECLS

/*
 * The cache store on a location without a local path: sftp://, smb://,
 * dav://… through GVfs, or any other GFile implementation that can
 * write. Same tree, same operations as job-cache-store.c, which hands
 * every operation on a URI here; paths are URIs.
 *
 * What holds, and what changes next to a local folder:
 * - An entry still appears whole where the location can move a folder
 *   (sftp, smb, dav, ftp, nfs): written in a hidden temporary folder,
 *   then moved into place without overwriting. Where it cannot, the
 *   files are copied in place and the temporary folder removed: a reader
 *   that comes early finds no output, or one that fails its checksum,
 *   and computes the call again. A torn entry is never read as valid.
 * - Single flight across processes: there is no flock() on a remote
 *   file. The lock is "<hex>.lock" created exclusively (O_EXCL on the
 *   server); waiters poll until it goes. A lock left by a dead process
 *   of this host, or older than JOB_CACHE_GIO_LOCK_STALE seconds, is
 *   taken over: then two processes may compute the same call, and the
 *   last to store wins (both results are valid).
 * - Least recently used: the folder's time::modified is set on every hit
 *   where the location lets it be set (sftp does, to the second); where
 *   it does not, eviction goes by creation order.
 * - JobMemory:mmap has no effect: results are read through a stream.
 * - Removal is one round trip per file: clear and eviction are slower.
 * - A location that is not mounted yet is mounted on first use, without
 *   a GMountOperation: keys or an agent work, a password never prompts.
 *
 * Thread safety: callable from any thread; every call blocks on I/O.
 */

#define JOB_CACHE_GIO_LOCK_STALE 600

/* How results are written and read (both stores). */
typedef struct
{
  gboolean    use_mmap;
  const char *compression;  /* (nullable) */
} JobCacheOutputOptions;

/* A cache path is a local absolute path, or a URI. */
static inline gboolean
job_cache_path_is_uri (const char *path)
{
  return path != NULL && path[0] != '/';
}

/* An entry folder's name: the 32 lower-case hexadecimal digits of a hash. */
static inline gboolean
job_cache_is_entry_name (const char *name)
{
  gsize i;

  for (i = 0; name[i] != '\0'; i++)
    if (!g_ascii_isxdigit (name[i]) || g_ascii_isupper (name[i]))
      return FALSE;
  return i == 32;
}

GVariant  *job_cache_gio_store_read_output    (const char                  *uri,
                                               const JobCacheOutputOptions *options,
                                               gint64                      *created_usec,
                                               GError                     **error);
gboolean   job_cache_gio_store_output_created (const char                  *uri,
                                               gint64                      *created_usec);
gboolean   job_cache_gio_store_write_entry    (const char                  *function_dir,
                                               const char                  *version,
                                               const char                  *hex,
                                               GVariant                    *output,
                                               const char                  *metadata_json,
                                               const JobCacheOutputOptions *options,
                                               guint64                     *size,
                                               GError                     **error);
gboolean   job_cache_gio_store_entry_exists   (const char                  *uri);
void       job_cache_gio_store_touch          (const char                  *uri);
gboolean   job_cache_gio_store_remove_entry   (const char                  *uri,
                                               GError                     **error);
gboolean   job_cache_gio_store_remove_tree    (const char                  *uri,
                                               GError                     **error);
guint      job_cache_gio_store_check_version  (const char                  *function_dir,
                                               const char                  *function_name,
                                               const char                  *version);
gboolean   job_cache_gio_store_read_metadata  (const char                  *entry_uri,
                                               double                      *duration,
                                               char                       **input_args);
/* (transfer full) (nullable): the lock held, NULL when none could be
 * taken (the call then computes without it). */
GFile     *job_cache_gio_store_lock           (const char                  *function_dir,
                                               const char                  *hex);
void       job_cache_gio_store_unlock         (GFile                       *lock);
/* (element-type JobCacheEntry) */
GPtrArray *job_cache_gio_store_scan           (const char                  *root,
                                               const char                  *only_function,
                                               gboolean                     with_metadata);
/* Removes the .tmp- and .trash- folders that writers and removers that
 * were killed left behind, once they are an hour old. */
void       job_cache_gio_store_sweep          (const char                  *root);
/* Moves the whole tree away, then removes it. */
gboolean   job_cache_gio_store_clear          (const char                  *root,
                                               GError                     **error);

G_END_DECLS
