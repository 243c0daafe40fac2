/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "job-cache-entry-private.h"
#include "job-cache-gio-store-private.h"
#include "job-cache-metadata-private.h"
#include "job-compression.h"
#include "job-hash.h"
#include "job-i18n-private.h"
#include "job-persist.h"
#include "job-persist-private.h"

/* Writers and removers killed in the middle leave these behind. */
#define TMP_PREFIX ".tmp-"
#define TRASH_PREFIX ".trash-"
#define ROOT_TRASH_PREFIX ".joblib-glib-trash-"
#define LEFTOVER_AGE_USEC ((gint64) 3600 * G_USEC_PER_SEC)

#define TIME_ATTRIBUTES G_FILE_ATTRIBUTE_TIME_MODIFIED "," G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC

/* Mounting. */

typedef struct
{
  gboolean  done;
  GError   *error;
} MountWait;

static void
on_mounted (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  MountWait *wait = user_data;

  g_file_mount_enclosing_volume_finish (G_FILE (source), result, &wait->error);
  wait->done = TRUE;
  g_main_context_wakeup (g_main_context_get_thread_default ());
}

/* "sftp://user@host:port": one mount serves every path under it. */
static char *
mount_key (const char *uri)
{
  const char *authority = strstr (uri, "://");
  const char *end;

  if (authority == NULL)
    return g_strdup (uri);
  end = strchr (authority + 3, '/');
  return end != NULL ? g_strndup (uri, end - uri) : g_strdup (uri);
}

/* A location that could not be mounted is tried again after this long;
 * meanwhile its operations fail at once (an unreachable host would
 * otherwise cost a connection timeout per operation). */
#define MOUNT_RETRY_USEC (30 * G_USEC_PER_SEC)

/* GIO does not mount on demand: the first use of a location mounts it,
 * once per process, without a GMountOperation (no password prompt). */
static void
ensure_mounted (GFile      *file,
                const char *uri)
{
  static GMutex lock;
  static GHashTable *known;  /* mount key → time of the last failure, 0 when mounted */
  g_autofree char *key = mount_key (uri);
  g_autoptr(GMount) mount = NULL;
  g_autoptr(GError) error = NULL;
  gpointer failed_at;
  gint64 now = g_get_monotonic_time ();
  gboolean mounted = TRUE;

  g_mutex_lock (&lock);
  if (known == NULL)
    known = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  failed_at = g_hash_table_lookup (known, key);
  if (failed_at != NULL && (*(gint64 *) failed_at == 0 ||
                            now - *(gint64 *) failed_at < MOUNT_RETRY_USEC))
    {
      g_mutex_unlock (&lock);
      return;
    }
  g_mutex_unlock (&lock);

  mount = g_file_find_enclosing_mount (file, NULL, &error);
  if (mount == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_MOUNTED))
    {
      GMainContext *context = g_main_context_new ();
      MountWait wait = { FALSE, NULL };

      g_main_context_push_thread_default (context);
      g_file_mount_enclosing_volume (file, G_MOUNT_MOUNT_NONE, NULL, NULL, on_mounted, &wait);
      while (!wait.done)
        g_main_context_iteration (context, TRUE);
      g_main_context_pop_thread_default (context);
      g_main_context_unref (context);
      if (wait.error != NULL &&
          !g_error_matches (wait.error, G_IO_ERROR, G_IO_ERROR_ALREADY_MOUNTED))
        {
          /* The operation that follows fails with NOT_MOUNTED, which
           * its caller reports. */
          g_debug ("Cannot mount %s: %s", key, wait.error->message);
          mounted = FALSE;
        }
      g_clear_error (&wait.error);
    }

  g_mutex_lock (&lock);
  g_hash_table_insert (known, g_steal_pointer (&key), g_memdup2 (mounted ? &(gint64) { 0 } : &now,
                                                                  sizeof (gint64)));
  g_mutex_unlock (&lock);
}

static GFile *
file_for (const char *uri)
{
  GFile *file = g_file_new_for_uri (uri);

  ensure_mounted (file, uri);
  return file;
}

static gint64
modified_usec (GFileInfo *info)
{
  return (gint64) g_file_info_get_attribute_uint64 (info, G_FILE_ATTRIBUTE_TIME_MODIFIED) *
         G_USEC_PER_SEC +
         g_file_info_get_attribute_uint32 (info, G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC);
}

/* Removing. */

static gboolean
delete_tree (GFile   *file,
             GError **error)
{
  g_autoptr(GFileEnumerator) children = NULL;
  g_autoptr(GError) local_error = NULL;
  GFileInfo *info;
  GFile *child;

  children = g_file_enumerate_children (file, G_FILE_ATTRIBUTE_STANDARD_NAME ","
                                        G_FILE_ATTRIBUTE_STANDARD_TYPE,
                                        G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, &local_error);
  while (children != NULL &&
         g_file_enumerator_iterate (children, &info, &child, NULL, &local_error) && info != NULL)
    {
      if (g_file_info_get_file_type (info) == G_FILE_TYPE_DIRECTORY)
        {
          if (!delete_tree (child, error))
            return FALSE;
        }
      else if (!g_file_delete (child, NULL, &local_error) &&
               !g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      g_clear_error (&local_error);
    }
  g_clear_error (&local_error);
  if (!g_file_delete (file, NULL, &local_error) &&
      !g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  return TRUE;
}

gboolean
job_cache_gio_store_remove_tree (const char  *uri,
                                 GError     **error)
{
  g_autoptr(GFile) file = file_for (uri);

  return delete_tree (file, error);
}

static char *
unique_name (const char *prefix,
             const char *base)
{
  g_autofree char *random = g_uuid_string_random ();

  return g_strconcat (prefix, base != NULL ? base : "", base != NULL ? "-" : "", random, NULL);
}

/* Renamed away first, so that readers see the entry whole or not at all;
 * in place where the location cannot rename. */
static gboolean
remove_entry (GFile   *entry,
              GError **error)
{
  g_autoptr(GFile) parent = g_file_get_parent (entry);
  g_autofree char *base = g_file_get_basename (entry);
  g_autofree char *name = unique_name (TRASH_PREFIX, base);
  g_autoptr(GFile) trash = g_file_get_child (parent, name);
  g_autoptr(GError) local_error = NULL;

  if (g_file_move (entry, trash, G_FILE_COPY_NOFOLLOW_SYMLINKS | G_FILE_COPY_NO_FALLBACK_FOR_MOVE,
                   NULL, NULL, NULL, &local_error))
    return delete_tree (trash, error);
  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    return TRUE;
  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED))
    return delete_tree (entry, error);
  g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

gboolean
job_cache_gio_store_remove_entry (const char  *uri,
                                  GError     **error)
{
  g_autoptr(GFile) entry = file_for (uri);

  return remove_entry (entry, error);
}

/* Reading. */

GVariant *
job_cache_gio_store_read_output (const char                  *uri,
                                 const JobCacheOutputOptions *options,
                                 gint64                      *created_usec,
                                 GError                     **error)
{
  g_autoptr(GFile) file = file_for (uri);
  g_autoptr(GFileInputStream) stream = g_file_read (file, NULL, error);

  if (stream == NULL)
    return NULL;
  if (created_usec != NULL)
    {
      g_autoptr(GFileInfo) info = g_file_input_stream_query_info (stream, TIME_ATTRIBUTES,
                                                                  NULL, NULL);

      if (info == NULL)
        info = g_file_query_info (file, TIME_ATTRIBUTES, G_FILE_QUERY_INFO_NONE, NULL, NULL);
      *created_usec = info != NULL ? modified_usec (info) : g_get_real_time ();
    }
  /* A buffer in between: GVfs streams cost a round trip per read. */
  {
    g_autoptr(GInputStream) buffered =
      g_buffered_input_stream_new_sized (G_INPUT_STREAM (stream), 256 * 1024);

    return job_load_from_stream (buffered, job_persist_default_max_size (), NULL, error);
  }
}

gboolean
job_cache_gio_store_output_created (const char *uri,
                                    gint64     *created_usec)
{
  g_autoptr(GFile) file = file_for (uri);
  g_autoptr(GFileInfo) info = g_file_query_info (file, TIME_ATTRIBUTES,
                                                 G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS,
                                                 NULL, NULL);

  if (info == NULL)
    return FALSE;
  if (created_usec != NULL)
    *created_usec = modified_usec (info);
  return TRUE;
}

gboolean
job_cache_gio_store_entry_exists (const char *uri)
{
  g_autoptr(GFile) file = file_for (uri);

  return g_file_query_file_type (file, G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL) ==
         G_FILE_TYPE_DIRECTORY;
}

void
job_cache_gio_store_touch (const char *uri)
{
  g_autoptr(GFile) file = file_for (uri);

  /* The LRU clock; where it cannot be set, eviction goes by creation. */
  g_file_set_attribute_uint64 (file, G_FILE_ATTRIBUTE_TIME_MODIFIED,
                               (guint64) (g_get_real_time () / G_USEC_PER_SEC),
                               G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, NULL);
}

gboolean
job_cache_gio_store_read_metadata (const char  *entry_uri,
                                   double      *duration,
                                   char       **input_args)
{
  g_autoptr(GFile) entry = file_for (entry_uri);
  g_autoptr(GFile) file = g_file_get_child (entry, "metadata.json");
  g_autofree char *contents = NULL;
  gsize length = 0;

  /* Bounded like a local metadata.json is by its mapping: a few MiB. */
  if (!g_file_load_contents (file, NULL, &contents, &length, NULL, NULL) ||
      length > 16 * 1024 * 1024)
    return FALSE;
  return job_cache_metadata_parse (contents, length, duration, input_args);
}

/* Writing. */

static gboolean
make_folder (GFile   *folder,
             GError **error)
{
  g_autoptr(GError) local_error = NULL;

  if (g_file_make_directory_with_parents (folder, NULL, &local_error) ||
      g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_EXISTS))
    return TRUE;
  g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

/* Where folders cannot be moved: the files are copied into the entry,
 * the output first (a reader that sees it early finds it cut short:
 * its checksum fails), the metadata last. */
static gboolean
copy_in_place (GFile   *tmp,
               GFile   *entry,
               GError **error)
{
  const char * const names[] = { "output", "metadata.json" };

  if (!make_folder (entry, error))
    return FALSE;
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autoptr(GFile) from = g_file_get_child (tmp, names[i]);
      g_autoptr(GFile) to = g_file_get_child (entry, names[i]);

      if (!g_file_copy (from, to, G_FILE_COPY_OVERWRITE, NULL, NULL, NULL, error))
        return FALSE;
    }
  return delete_tree (tmp, error);
}

gboolean
job_cache_gio_store_write_entry (const char                  *function_dir,
                                 const char                  *version,
                                 const char                  *hex,
                                 GVariant                    *output,
                                 const char                  *metadata_json,
                                 const JobCacheOutputOptions *options,
                                 guint64                     *size,
                                 GError                     **error)
{
  g_autoptr(GFile) dir = file_for (function_dir);
  g_autoptr(GFile) version_file = g_file_get_child (dir, "version");
  g_autoptr(GFile) entry = g_file_get_child (dir, hex);
  g_autofree char *tmp_name = unique_name (TMP_PREFIX, NULL);
  g_autoptr(GFile) tmp = g_file_get_child (dir, tmp_name);
  g_autoptr(GFile) output_file = g_file_get_child (tmp, "output");
  g_autoptr(GFile) metadata_file = g_file_get_child (tmp, "metadata.json");
  g_autoptr(GError) local_error = NULL;
  JobCompression compression;
  int level;

  if (!job_compression_parse (options->compression, &compression, &level, error) ||
      !make_folder (dir, error))
    return FALSE;
  if (!g_file_query_exists (version_file, NULL))
    g_file_replace_contents (version_file, version, strlen (version), NULL, FALSE,
                             G_FILE_CREATE_NONE, NULL, NULL, NULL);
  if (!g_file_make_directory (tmp, NULL, error))
    return FALSE;

  if (!job_dump (output, output_file, compression, level, NULL, error) ||
      !g_file_replace_contents (metadata_file, metadata_json, strlen (metadata_json), NULL,
                                FALSE, G_FILE_CREATE_NONE, NULL, NULL, error))
    {
      delete_tree (tmp, NULL);
      return FALSE;
    }

  if (size != NULL)
    {
      g_autoptr(GFileInfo) info = g_file_query_info (output_file,
                                                     G_FILE_ATTRIBUTE_STANDARD_SIZE,
                                                     G_FILE_QUERY_INFO_NONE, NULL, NULL);

      *size = strlen (metadata_json) + (info != NULL ? (guint64) g_file_info_get_size (info) : 0);
    }

  for (guint attempt = 0; attempt < 2; attempt++)
    {
      g_clear_error (&local_error);
      if (g_file_move (tmp, entry, G_FILE_COPY_NOFOLLOW_SYMLINKS |
                       G_FILE_COPY_NO_FALLBACK_FOR_MOVE, NULL, NULL, NULL, &local_error))
        return TRUE;
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED))
        {
          if (copy_in_place (tmp, entry, error))
            return TRUE;
          delete_tree (tmp, NULL);
          return FALSE;
        }
      /* A corrupt entry is in the way: the caller holds the key's lock. */
      if (attempt > 0 ||
          (!g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_EXISTS) &&
           !g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_WOULD_MERGE) &&
           !g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_IS_DIRECTORY)) ||
          !remove_entry (entry, NULL))
        break;
    }
  delete_tree (tmp, NULL);
  g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

static void
remove_entries_of (GFile *dir,
                   guint *removed)
{
  g_autoptr(GFileEnumerator) children = NULL;
  g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func (g_object_unref);
  GFileInfo *info;
  GFile *child;

  children = g_file_enumerate_children (dir, G_FILE_ATTRIBUTE_STANDARD_NAME,
                                        G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, NULL);
  while (children != NULL &&
         g_file_enumerator_iterate (children, &info, &child, NULL, NULL) && info != NULL)
    if (job_cache_is_entry_name (g_file_info_get_name (info)))
      g_ptr_array_add (entries, g_object_ref (child));
  for (guint i = 0; i < entries->len; i++)
    *removed += remove_entry (entries->pdata[i], NULL);
}

guint
job_cache_gio_store_check_version (const char *function_dir,
                                   const char *function_name,
                                   const char *version)
{
  g_autoptr(GFile) dir = file_for (function_dir);
  g_autoptr(GFile) version_file = g_file_get_child (dir, "version");
  g_autofree char *old = NULL;
  gsize length = 0;
  guint cleared = 0;

  /* No version yet: the first stored entry writes it. */
  if (!g_file_load_contents (version_file, NULL, &old, &length, NULL, NULL) ||
      (length == strlen (version) && memcmp (old, version, length) == 0))
    return 0;

  g_warning (_("Function “%s” changed version (“%.*s” → “%s”): clearing its cached results"),
             function_name, (int) MIN (length, 256), old, version);
  remove_entries_of (dir, &cleared);
  g_file_replace_contents (version_file, version, strlen (version), NULL, FALSE,
                           G_FILE_CREATE_NONE, NULL, NULL, NULL);
  return cleared;
}

/* Locks. */

/* "HOST PID": a lock of a process of this host that is gone is stale. */
static gboolean
lock_is_stale (GFile *lock)
{
  g_autofree char *contents = NULL;
  g_autoptr(GFileInfo) info = NULL;
  g_auto(GStrv) fields = NULL;
  gsize length = 0;

  if (!g_file_load_contents (lock, NULL, &contents, &length, NULL, NULL))
    return FALSE;   /* gone: try again */
  fields = g_strsplit (g_strstrip (contents), " ", 3);
  if (g_strv_length (fields) >= 2 && g_strcmp0 (fields[0], g_get_host_name ()) == 0)
    {
      guint64 pid = 0;

      if (g_ascii_string_to_unsigned (fields[1], 10, 1, G_MAXINT, &pid, NULL) &&
          kill ((pid_t) pid, 0) != 0 && errno == ESRCH)
        return TRUE;
    }
  info = g_file_query_info (lock, TIME_ATTRIBUTES, G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS,
                            NULL, NULL);
  return info != NULL &&
         g_get_real_time () - modified_usec (info) > (gint64) JOB_CACHE_GIO_LOCK_STALE * G_USEC_PER_SEC;
}

GFile *
job_cache_gio_store_lock (const char *function_dir,
                          const char *hex)
{
  g_autoptr(GFile) dir = file_for (function_dir);
  g_autofree char *name = g_strconcat (hex, ".lock", NULL);
  g_autoptr(GFile) lock = g_file_get_child (dir, name);
  g_autofree char *owner = g_strdup_printf ("%s %d\n", g_get_host_name (), (int) getpid ());
  gulong wait_usec = 10 * 1000;

  if (!make_folder (dir, NULL))
    return NULL;
  for (;;)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GFileOutputStream) stream = g_file_create (lock, G_FILE_CREATE_NONE, NULL, &error);

      if (stream != NULL)
        {
          g_output_stream_write_all (G_OUTPUT_STREAM (stream), owner, strlen (owner),
                                     NULL, NULL, NULL);
          g_output_stream_close (G_OUTPUT_STREAM (stream), NULL, NULL);
          return g_steal_pointer (&lock);
        }
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_EXISTS))
        return NULL;
      if (lock_is_stale (lock))
        {
          g_file_delete (lock, NULL, NULL);
          continue;
        }
      g_usleep (wait_usec);
      wait_usec = MIN (wait_usec * 2, G_USEC_PER_SEC / 4);
    }
}

void
job_cache_gio_store_unlock (GFile *lock)
{
  if (lock == NULL)
    return;
  g_file_delete (lock, NULL, NULL);
  g_object_unref (lock);
}

/* Listing. */

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

static void
scan_function (GPtrArray  *out,
               GFile      *dir,
               const char *function_name,
               gboolean    with_metadata)
{
  g_autoptr(GFileEnumerator) children = NULL;
  GFileInfo *info;
  GFile *child;

  children = g_file_enumerate_children (dir, G_FILE_ATTRIBUTE_STANDARD_NAME ","
                                        G_FILE_ATTRIBUTE_STANDARD_TYPE "," TIME_ATTRIBUTES,
                                        G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, NULL);
  while (children != NULL &&
         g_file_enumerator_iterate (children, &info, &child, NULL, NULL) && info != NULL)
    {
      const char *name = g_file_info_get_name (info);
      g_autoptr(GFileEnumerator) files = NULL;
      g_autofree char *uri = NULL;
      g_autofree char *hash = NULL;
      g_autofree char *input_args = NULL;
      GFileInfo *file_info;
      guint64 size = 0;
      gint64 created = 0;
      double duration = -1.0;

      if (!job_cache_is_entry_name (name) ||
          g_file_info_get_file_type (info) != G_FILE_TYPE_DIRECTORY)
        continue;
      /* One listing of the entry gives both sizes and the creation time. */
      files = g_file_enumerate_children (child, G_FILE_ATTRIBUTE_STANDARD_NAME ","
                                         G_FILE_ATTRIBUTE_STANDARD_SIZE "," TIME_ATTRIBUTES,
                                         G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, NULL);
      while (files != NULL &&
             g_file_enumerator_iterate (files, &file_info, NULL, NULL, NULL) && file_info != NULL)
        {
          const char *file_name = g_file_info_get_name (file_info);

          if (strcmp (file_name, "output") == 0)
            created = modified_usec (file_info);
          if (strcmp (file_name, "output") == 0 || strcmp (file_name, "metadata.json") == 0)
            size += g_file_info_get_size (file_info);
        }
      uri = g_file_get_uri (child);
      if (with_metadata)
        job_cache_gio_store_read_metadata (uri, &duration, &input_args);
      hash = g_strconcat (JOB_HASH_ALGORITHM ":", name, NULL);
      g_ptr_array_add (out, job_cache_entry_new (uri, function_name, hash, size,
                                                 modified_usec (info), created,
                                                 duration, input_args));
    }
}

GPtrArray *
job_cache_gio_store_scan (const char *root,
                          const char *only_function,
                          gboolean    with_metadata)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GFile) root_file = file_for (root);
  g_autoptr(GFileEnumerator) children = NULL;
  g_autoptr(GPtrArray) functions = g_ptr_array_new_with_free_func (g_free);
  GFileInfo *info;

  children = g_file_enumerate_children (root_file, G_FILE_ATTRIBUTE_STANDARD_NAME ","
                                        G_FILE_ATTRIBUTE_STANDARD_TYPE,
                                        G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, NULL);
  while (children != NULL &&
         g_file_enumerator_iterate (children, &info, NULL, NULL, NULL) && info != NULL)
    if (g_file_info_get_name (info)[0] != '.' &&
        g_file_info_get_file_type (info) == G_FILE_TYPE_DIRECTORY)
      g_ptr_array_add (functions, g_strdup (g_file_info_get_name (info)));
  g_ptr_array_sort (functions, compare_names);

  for (guint i = 0; i < functions->len; i++)
    {
      g_autoptr(GFile) dir = NULL;

      if (only_function != NULL && strcmp (only_function, functions->pdata[i]) != 0)
        continue;
      dir = g_file_get_child (root_file, functions->pdata[i]);
      scan_function (out, dir, functions->pdata[i], with_metadata);
    }
  return out;
}

static void
sweep_folder (GFile      *dir,
              const char *prefix,
              const char *other_prefix,
              gint64      min_age_usec)
{
  g_autoptr(GFileEnumerator) children = NULL;
  gint64 now = g_get_real_time ();
  GFileInfo *info;
  GFile *child;

  children = g_file_enumerate_children (dir, G_FILE_ATTRIBUTE_STANDARD_NAME ","
                                        G_FILE_ATTRIBUTE_STANDARD_TYPE "," TIME_ATTRIBUTES,
                                        G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, NULL);
  while (children != NULL &&
         g_file_enumerator_iterate (children, &info, &child, NULL, NULL) && info != NULL)
    {
      const char *name = g_file_info_get_name (info);

      if ((g_str_has_prefix (name, prefix) ||
           (other_prefix != NULL && g_str_has_prefix (name, other_prefix))) &&
          g_file_info_get_file_type (info) == G_FILE_TYPE_DIRECTORY &&
          now - modified_usec (info) >= min_age_usec)
        delete_tree (child, NULL);
    }
}

void
job_cache_gio_store_sweep (const char *root)
{
  g_autoptr(GFile) root_file = file_for (root);
  g_autoptr(GFileEnumerator) children = NULL;
  GFileInfo *info;
  GFile *child;

  children = g_file_enumerate_children (root_file, G_FILE_ATTRIBUTE_STANDARD_NAME ","
                                        G_FILE_ATTRIBUTE_STANDARD_TYPE,
                                        G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, NULL);
  while (children != NULL &&
         g_file_enumerator_iterate (children, &info, &child, NULL, NULL) && info != NULL)
    if (g_file_info_get_name (info)[0] != '.' &&
        g_file_info_get_file_type (info) == G_FILE_TYPE_DIRECTORY)
      sweep_folder (child, TMP_PREFIX, TRASH_PREFIX, LEFTOVER_AGE_USEC);
}

gboolean
job_cache_gio_store_clear (const char  *root,
                           GError     **error)
{
  g_autoptr(GFile) root_file = file_for (root);
  g_autoptr(GFile) parent = g_file_get_parent (root_file);
  g_autofree char *name = unique_name (ROOT_TRASH_PREFIX, NULL);
  g_autoptr(GFile) trash = g_file_get_child (parent, name);
  g_autoptr(GError) local_error = NULL;
  g_autofree char *parse_name = NULL;

  /* Trees of clears that were killed before they were done: no reader
   * looks at them. */
  sweep_folder (parent, ROOT_TRASH_PREFIX, NULL, 0);
  if (g_file_move (root_file, trash, G_FILE_COPY_NOFOLLOW_SYMLINKS |
                   G_FILE_COPY_NO_FALLBACK_FOR_MOVE, NULL, NULL, NULL, &local_error))
    return delete_tree (trash, error);
  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    return TRUE;
  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED))
    return delete_tree (root_file, error);
  parse_name = g_file_get_parse_name (root_file);
  g_set_error (error, local_error->domain, local_error->code,
               _("Cannot clear the cache in %s: %s"), parse_name, local_error->message);
  return FALSE;
}
