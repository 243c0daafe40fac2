/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE  /* F_OFD_SETLKW */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <glib/gstdio.h>
#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>
#include <json-glib/json-glib.h>

#include "job-cache-entry-private.h"
#include "job-cache-metadata-private.h"
#include "job-cache-reclaimer-private.h"
#include "job-cache-remover-private.h"
#include "job-cache-store-private.h"
#include "job-cache-touch-private.h"
#include "job-error.h"
#include "job-error-private.h"
#include "job-compression.h"
#include "job-persist.h"
#include "job-persist-private.h"

/* Outputs up to this size are read whole, then parsed from memory. */
#define SMALL_OUTPUT (256 * 1024)
#include "job-i18n-private.h"

char *
job_cache_store_function_dir (const char *root,
                              const char *function_name)
{
  g_autofree char *folder = g_strdup (function_name);
  gboolean changed = FALSE;

  /* Names become one path component: no separators, no dot files. */
  for (char *p = folder; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '_' && *p != '-' && *p != '.')
      {
        *p = '_';
        changed = TRUE;
      }
  if (folder[0] == '.' || folder[0] == '\0')
    {
      char *prefixed = g_strconcat ("_", folder, NULL);
      g_free (folder);
      folder = prefixed;
      changed = TRUE;
    }

  /* Two names that sanitize alike ("a/b" and "a_b") must not share their
   * entries: a changed name gets a hash of the exact name. */
  if (changed)
    {
      char *tagged = g_strdup_printf ("%s-%016" G_GINT64_MODIFIER "x", folder,
                                      (guint64) XXH3_64bits (function_name, strlen (function_name)));
      g_free (folder);
      folder = tagged;
    }

  return g_build_filename (root, folder, NULL);
}

/* Writes all of @data to @fd. */
static gboolean
write_all (int           fd,
           const guint8 *data,
           gsize         size)
{
  while (size > 0)
    {
      gssize n = write (fd, data, size);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          if (n == 0)
            errno = EIO;
          return FALSE;
        }
      data += n;
      size -= (gsize) n;
    }
  return TRUE;
}

/* Results are written with the persistence format (job_dump's): one
 * self-describing file, arrays 64-byte aligned so that an uncompressed
 * result loads as zero-copy views with JobMemory:mmap.
 *
 * Creates @path (a new name in a folder of ours: O_EXCL, never through a
 * link) and writes @value to it; *@size gets the file's size. A small value is encoded in memory and written with
 * one write(): GFile's replace() probed the path twice and wrapped the fd
 * in stream objects, about a third of the CPU time of a miss. A big one
 * streams through the fd, never held twice in memory. */
gboolean
job_cache_store_write_output (const char                  *path,
                   GVariant                    *value,
                   const JobCacheOutputOptions *options,
                   guint64                     *size,
                   GError                     **error)
{
  JobCompression compression;
  int level;
  int fd;
  gboolean ok;

  if (!job_compression_parse (options->compression, &compression, &level, error))
    return FALSE;
  fd = g_open (path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0)
    return job_set_error_from_errno (error, errno, _("Cannot create"), path);

  if (g_variant_get_size (value) <= SMALL_OUTPUT)
    {
      g_autoptr(GOutputStream) memory = g_memory_output_stream_new_resizable ();

      ok = job_dump_to_stream (value, memory, compression, level, NULL, error) &&
           g_output_stream_close (memory, NULL, error);
      if (ok)
        {
          GMemoryOutputStream *out = G_MEMORY_OUTPUT_STREAM (memory);

          *size = g_memory_output_stream_get_data_size (out);
          ok = write_all (fd, g_memory_output_stream_get_data (out), *size) ||
               job_set_error_from_errno (error, errno, _("Cannot write"), path);
        }
      if (close (fd) != 0 && ok)
        ok = job_set_error_from_errno (error, errno, _("Cannot write"), path);
    }
  else
    {
      g_autoptr(GOutputStream) stream = g_unix_output_stream_new (fd, TRUE);
      struct stat st;

      ok = job_dump_to_stream (value, stream, compression, level, NULL, error);
      *size = ok && fstat (fd, &st) == 0 ? (guint64) st.st_size : 0;
      if (!g_output_stream_close (stream, NULL, ok ? error : NULL))
        ok = FALSE;
    }
  return ok;
}

/* Most outputs are a few dozen bytes: one read() into a buffer this
 * size gets all of one, with no fstat() for its size first. */
#define PROBE_SIZE 4096

/* The value of an uncompressed output of less than PROBE_SIZE bytes read
 * from @fd, or NULL with the file offset back at 0 (a larger, compressed
 * or unreadable output: the caller then reads it the ordinary way, and
 * reports errors). A short read() means the end of a regular file;
 * should a file system return one early, the parse fails and the caller
 * reads the file whole. */
static GVariant *
read_small_output (int fd)
{
  guint8 probe[PROBE_SIZE];
  g_autoptr(GBytes) bytes = NULL;
  GVariant *value = NULL;
  gssize n;

  do
    n = read (fd, probe, sizeof probe);
  while (n < 0 && errno == EINTR);
  if (n >= JOB_PERSIST_PREAMBLE_SIZE && n < (gssize) sizeof probe &&
      memcmp (probe, JOB_PERSIST_MAGIC, JOB_PERSIST_MAGIC_SIZE) == 0)
    {
      bytes = g_bytes_new (probe, (gsize) n);
      /* in memory already, and less than PROBE_SIZE: no other bound (the
       * physical memory's costs a sysinfo() call) */
      value = job_persist_load_bytes (bytes, G_MAXUINT64, NULL);
    }
  /* a regular file seeks; if this one does not, the ordinary read that
   * follows fails and says so */
  if (value == NULL && n > 0)
    (void) lseek (fd, 0, SEEK_SET);
  return value;
}

GVariant *
job_cache_store_read_output (const char                  *path,
                             const JobCacheOutputOptions *options,
                             gint64                      *created_usec,
                             GError                     **error)
{
  g_autoptr(GInputStream) stream = NULL;
  JobCompression compression = JOB_COMPRESSION_NONE;
  int level;
  struct stat st;
  int fd;

  if (job_cache_path_is_uri (path))
    return job_cache_gio_store_read_output (path, options, created_usec, error);
  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  /* Only uncompressed files map; asking for a map of a compressed one
   * would warn on every hit. */
  job_compression_parse (options->compression, &compression, &level, NULL);
  if (fd >= 0 && created_usec == NULL &&
      !(options->use_mmap && compression == JOB_COMPRESSION_NONE))
    {
      GVariant *value = read_small_output (fd);

      if (value != NULL)
        {
          close (fd);
          return value;
        }
    }
  if (fd < 0 || fstat (fd, &st) != 0)
    {
      job_set_error_from_errno (error, errno, _("Cannot open"), path);
      if (fd >= 0)
        close (fd);
      return NULL;
    }
  if (created_usec != NULL)
    *created_usec = (gint64) st.st_mtim.tv_sec * G_USEC_PER_SEC + st.st_mtim.tv_nsec / 1000;

  if (options->use_mmap && compression == JOB_COMPRESSION_NONE)
    {
      g_autoptr(GFile) file = g_file_new_for_path (path);

      close (fd);
      return job_load (file, JOB_LOAD_MMAP, job_persist_default_max_size (), NULL, error);
    }

  /* Small results (most hits) are read in one call and parsed from
   * memory: GFile's open + stat and GUnixInputStream's pollability probe
   * (an epoll_create per stream) doubled the time of a small hit. Big
   * ones stream from the fd we opened, never held twice in memory. */
  if (st.st_size <= SMALL_OUTPUT)
    {
      gsize size = (gsize) st.st_size;
      guint8 *buf = g_malloc (MAX (size, 1));
      gssize n = 0;
      gsize done = 0;
      g_autoptr(GBytes) bytes = NULL;

      while (done < size && ((n = read (fd, buf + done, size - done)) > 0 ||
                             (n < 0 && errno == EINTR)))
        done += MAX (n, 0);
      close (fd);
      bytes = g_bytes_new_take (buf, done);
      /* Uncompressed (what the cache writes unless told to compress):
       * parsed in place, without the stream objects of
       * job_load_from_stream(), which cost a small hit more than the
       * parsing itself. */
      if (done >= JOB_PERSIST_MAGIC_SIZE &&
          memcmp (buf, JOB_PERSIST_MAGIC, JOB_PERSIST_MAGIC_SIZE) == 0)
        return job_persist_load_bytes (bytes, job_persist_default_max_size (), error);
      stream = g_memory_input_stream_new_from_bytes (bytes);
    }
  else
    stream = g_unix_input_stream_new (fd, TRUE);

  /* The cache reads what it wrote: the size bound alone, no ratio cap,
   * or a big array of zeros could never be read back. */
  return job_load_from_stream (stream, job_persist_default_max_size (), NULL, error);
}

char *
job_cache_store_trash_path (const char *function_dir,
                            const char *name)
{
  static gint counter;  /* (atomic) */

  /* Unique to this process and call, so no mkdtemp is needed. */
  return g_strdup_printf ("%s/.trash-%s-%d-%d", function_dir, name, (int) getpid (),
                          g_atomic_int_add (&counter, 1));
}

/* Renames the entry away and adds its new path to @renamed. */
static gboolean
rename_entry (const char  *entry_dir,
              GPtrArray   *renamed,
              GError     **error)
{
  g_autofree char *parent = g_path_get_dirname (entry_dir);
  g_autofree char *base = g_path_get_basename (entry_dir);
  g_autofree char *trash = NULL;
  g_autofree char *lock_path = g_strconcat (entry_dir, ".lock", NULL);
  int lock_fd;

  /* Rename first, so that readers see the entry whole or not at all. */
  trash = job_cache_store_trash_path (parent, base);
  if (g_rename (entry_dir, trash) != 0)
    {
      if (errno != ENOENT)
        return job_set_error_from_errno (error, errno, _("Cannot remove"), entry_dir);
    }
  else
    g_ptr_array_add (renamed, g_steal_pointer (&trash));

  /* The lock file goes too, unless someone holds it: lockers check that
   * the file they locked is still the one at the path. */
  lock_fd = g_open (lock_path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0);
  if (lock_fd >= 0)
    {
      if (flock (lock_fd, LOCK_EX | LOCK_NB) == 0)
        g_unlink (lock_path);
      close (lock_fd);
    }

  return TRUE;
}

/* Hands the renamed entries (of the cache whose entry @entry_dir is:
 * <root>/<function>/<entry>) to the reclaimer's thread, as one batch. */
static void
queue_renamed (const char *entry_dir,
               GPtrArray  *renamed)
{
  g_autofree char *function_dir = g_path_get_dirname (entry_dir);
  g_autofree char *root = g_path_get_dirname (function_dir);

  job_cache_reclaimer_add_folders (root, renamed);
}

gboolean
job_cache_store_remove_entry (const char  *entry_dir,
                              GError     **error)
{
  GPtrArray *renamed;
  gboolean ok;

  if (job_cache_path_is_uri (entry_dir))
    return job_cache_gio_store_remove_entry (entry_dir, error);
  renamed = g_ptr_array_new_with_free_func (g_free);
  ok = rename_entry (entry_dir, renamed, error);
  queue_renamed (entry_dir, renamed);
  return ok;
}

guint
job_cache_store_remove_entries (GPtrArray  *entry_dirs,
                                GError    **error)
{
  GPtrArray *renamed;
  guint removed = 0;

  g_return_val_if_fail (entry_dirs != NULL, 0);

  if (entry_dirs->len == 0)
    return 0;
  if (job_cache_path_is_uri (entry_dirs->pdata[0]))
    {
      for (; removed < entry_dirs->len; removed++)
        if (!job_cache_gio_store_remove_entry (entry_dirs->pdata[removed], error))
          break;
      return removed;
    }
  renamed = g_ptr_array_new_full (entry_dirs->len, g_free);
  for (; removed < entry_dirs->len; removed++)
    if (!rename_entry (entry_dirs->pdata[removed], renamed, error))
      break;
  /* one batch: the reclaimer removes its folders on several threads */
  queue_renamed (entry_dirs->pdata[0], renamed);
  return removed;
}

/* Writes @text to the new file @path; *@size gets its length. */
static gboolean
write_text_file (const char  *path,
                 const char  *text,
                 guint64     *size,
                 GError     **error)
{
  int fd = g_open (path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  gsize length = strlen (text);
  gboolean ok;

  if (fd < 0)
    return job_set_error_from_errno (error, errno, _("Cannot create"), path);
  ok = write_all (fd, (const guint8 *) text, length);
  if (close (fd) != 0)
    ok = FALSE;
  if (!ok)
    return job_set_error_from_errno (error, errno, _("Cannot write"), path);
  *size = length;
  return TRUE;
}

gboolean
job_cache_store_write_entry (const char                  *function_dir,
                             const char                  *version,
                             gboolean                    *version_known,
                             const char                  *hex,
                             GVariant                    *output,
                             const char                  *metadata_json,
                             const JobCacheOutputOptions *options,
                             guint64                     *size,
                             GError                     **error)
{
  /* g_strconcat, not g_build_filename: a miss builds six paths, and the
   * parts need no separator clean-up. */
  g_autofree char *tmp = g_strconcat (function_dir, "/.tmp-XXXXXX", NULL);
  g_autofree char *entry = g_strconcat (function_dir, "/", hex, NULL);
  g_autofree char *version_path = g_strconcat (function_dir, "/version", NULL);
  g_autofree char *output_path = NULL;
  g_autofree char *metadata_path = NULL;
  guint64 output_size = 0, metadata_size = 0;

  if (job_cache_path_is_uri (function_dir))
    return job_cache_gio_store_write_entry (function_dir, version, hex, output, metadata_json,
                                            options, size, error);
  /* The function's folder exists on every miss but the first (the lock
   * lives there): make it only when the temporary folder cannot be. */
  if (g_mkdtemp_full (tmp, 0755) == NULL)
    {
      if (errno != ENOENT || g_mkdir_with_parents (function_dir, 0755) != 0)
        return job_set_error_from_errno (error, errno, _("Cannot create"), function_dir);
      strcpy (tmp + strlen (tmp) - 6, "XXXXXX");
      if (g_mkdtemp_full (tmp, 0755) == NULL)
        return job_set_error_from_errno (error, errno, _("Cannot create"), tmp);
      /* a new folder (a clear removed the old one): no version file yet */
      *version_known = FALSE;
    }
  /* The version file leaves only with its folder (a clear): once known
   * in this folder, it is not looked for on every miss. */
  if (!*version_known)
    *version_known = g_file_test (version_path, G_FILE_TEST_EXISTS) ||
                     g_file_set_contents_full (version_path, version, -1,
                                               G_FILE_SET_CONTENTS_CONSISTENT, 0644, NULL);

  /* No fsync: a cache entry lost in a crash is recomputed, and an entry
   * cut short by one fails its checksum and is recomputed too. */
  output_path = g_strconcat (tmp, "/output", NULL);
  metadata_path = g_strconcat (tmp, "/metadata.json", NULL);
  if (!job_cache_store_write_output (output_path, output, options, &output_size, error) ||
      !write_text_file (metadata_path, metadata_json, &metadata_size, error))
    {
      job_cache_remove_tree (tmp, NULL);
      return FALSE;
    }
  if (size != NULL)
    *size = output_size + metadata_size;

  if (g_rename (tmp, entry) != 0)
    {
      /* A corrupt entry is in the way: the caller holds the key's lock,
       * so nobody else writes it meanwhile. */
      if ((errno != ENOTEMPTY && errno != EEXIST) ||
          !job_cache_store_remove_entry (entry, NULL) ||
          g_rename (tmp, entry) != 0)
        {
          int saved_errno = errno;

          job_cache_remove_tree (tmp, NULL);
          return job_set_error_from_errno (error, saved_errno, _("Cannot create"), entry);
        }
    }

  return TRUE;
}

gboolean
job_cache_store_entry_exists (const char *entry_dir)
{
  if (job_cache_path_is_uri (entry_dir))
    return job_cache_gio_store_entry_exists (entry_dir);
  return g_file_test (entry_dir, G_FILE_TEST_IS_DIR);
}

gboolean
job_cache_store_output_created (const char *output_path,
                                gint64     *created_usec)
{
  GStatBuf st;

  if (job_cache_path_is_uri (output_path))
    return job_cache_gio_store_output_created (output_path, created_usec);
  if (g_stat (output_path, &st) != 0)
    return FALSE;
  if (created_usec != NULL)
    *created_usec = (gint64) st.st_mtim.tv_sec * G_USEC_PER_SEC + st.st_mtim.tv_nsec / 1000;
  return TRUE;
}

void
job_cache_store_touch (const char *entry_dir)
{
  if (job_cache_path_is_uri (entry_dir))
    {
      job_cache_gio_store_touch (entry_dir);
      return;
    }
  /* The folder's mtime is the LRU clock (see the header); a hot entry is
   * touched once per interval (job-cache-touch-private.h). */
  if (job_cache_touch_is_due (entry_dir))
    utimensat (AT_FDCWD, entry_dir, NULL, 0);
}

guint
job_cache_store_check_version (const char *function_dir,
                               const char *function_name,
                               const char *version)
{
  g_autofree char *path = g_build_filename (function_dir, "version", NULL);
  g_autofree char *old = NULL;
  guint cleared = 0;

  if (job_cache_path_is_uri (function_dir))
    return job_cache_gio_store_check_version (function_dir, function_name, version);
  if (g_file_get_contents (path, &old, NULL, NULL))
    {
      g_autoptr(GDir) dir = NULL;
      g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func (g_free);
      const char *name;

      if (g_strcmp0 (old, version) == 0)
        return 0;

      dir = g_dir_open (function_dir, 0, NULL);
      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        if (job_cache_is_entry_name (name))
          g_ptr_array_add (entries, g_build_filename (function_dir, name, NULL));

      g_warning (_("Function “%s” changed version (“%s” → “%s”): "
                   "clearing its %u cached results"),
                 function_name, old, version, entries->len);
      cleared = job_cache_store_remove_entries (entries, NULL);
    }
  else
    {
      /* No version yet: the first stored entry writes it. Checking must
       * not create folders (check_call_in_cache on an empty cache). */
      return 0;
    }

  /* Failing to record the version only means checking again next time. */
  g_file_set_contents_full (path, version, -1, G_FILE_SET_CONTENTS_CONSISTENT,
                            0644, NULL);

  return cleared;
}

gboolean
job_cache_store_read_metadata (const char  *entry_dir,
                               double      *duration,
                               char       **input_args)
{
  g_autofree char *path = g_build_filename (entry_dir, "metadata.json", NULL);
  g_autoptr(GMappedFile) mapped = NULL;

  if (job_cache_path_is_uri (entry_dir))
    return job_cache_gio_store_read_metadata (entry_dir, duration, input_args);
  mapped = g_mapped_file_new (path, FALSE, NULL);
  if (mapped == NULL)
    return FALSE;
  return job_cache_metadata_parse (g_mapped_file_get_contents (mapped),
                                   g_mapped_file_get_length (mapped),
                                   duration, input_args);
}

static gint64
stat_mtime_usec (const struct stat *st)
{
  return (gint64) st->st_mtim.tv_sec * G_USEC_PER_SEC + st->st_mtim.tv_nsec / 1000;
}

static void
scan_function (GPtrArray  *out,
               const char *function_dir,
               const char *function_name,
               gboolean    with_metadata)
{
  g_autoptr(GDir) dir = g_dir_open (function_dir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *entry = NULL;
      g_autofree char *output = NULL;
      g_autofree char *metadata = NULL;
      g_autofree char *hash = NULL;
      g_autofree char *input_args = NULL;
      struct stat st, output_st, metadata_st;
      guint64 size = 0;
      double duration = -1.0;
      gint64 created = 0;

      if (!job_cache_is_entry_name (name))
        continue;
      entry = g_build_filename (function_dir, name, NULL);
      if (g_stat (entry, &st) != 0 || !S_ISDIR (st.st_mode))
        continue;

      output = g_build_filename (entry, "output", NULL);
      metadata = g_build_filename (entry, "metadata.json", NULL);
      if (g_stat (output, &output_st) == 0)
        {
          size += output_st.st_size;
          created = stat_mtime_usec (&output_st);
        }
      if (g_stat (metadata, &metadata_st) == 0)
        size += metadata_st.st_size;
      if (with_metadata)
        job_cache_store_read_metadata (entry, &duration, &input_args);

      hash = g_strconcat ("xxh3-128:", name, NULL);
      g_ptr_array_add (out, job_cache_entry_new (entry, function_name, hash, size,
                                                 stat_mtime_usec (&st), created,
                                                 duration, input_args));
    }
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

GPtrArray *
job_cache_store_scan (const char *root,
                      const char *only_function,
                      gboolean    with_metadata)
{
  GPtrArray *out;
  g_autoptr(GPtrArray) functions = NULL;
  g_autoptr(GDir) dir = NULL;
  const char *name;

  if (job_cache_path_is_uri (root))
    return job_cache_gio_store_scan (root, only_function, with_metadata);
  out = g_ptr_array_new_with_free_func (g_object_unref);
  functions = g_ptr_array_new_with_free_func (g_free);
  dir = g_dir_open (root, 0, NULL);

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    if (name[0] != '.')
      g_ptr_array_add (functions, g_strdup (name));
  g_ptr_array_sort (functions, compare_names);

  for (guint i = 0; i < functions->len; i++)
    {
      g_autofree char *function_dir = NULL;

      if (only_function != NULL && strcmp (only_function, functions->pdata[i]) != 0)
        continue;
      function_dir = g_build_filename (root, functions->pdata[i], NULL);
      scan_function (out, function_dir, functions->pdata[i], with_metadata);
    }

  return out;
}
