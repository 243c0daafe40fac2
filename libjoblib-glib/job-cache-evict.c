/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "job-cache-entry-private.h"
#include "job-cache-evict-private.h"
#include "job-cache-gio-store-private.h"
#include "job-cache-reclaimer-private.h"
#include "job-cache-remover-private.h"
#include "job-cache-store-private.h"
#include "job-error-private.h"
#include "job-i18n-private.h"

/* A writer or remover killed in the middle leaves its hidden .tmp- or
 * .trash- folder behind: invisible to readers, but never freed. One that
 * has not changed for LEFTOVER_AGE_USEC is nobody's work in progress. */
#define LEFTOVER_AGE_USEC ((gint64) 3600 * G_USEC_PER_SEC)

/* One entry as eviction needs it: no JobCacheEntry object, no path. */
typedef struct
{
  guint   function;    /* index in the functions' folder names */
  char    name[33];    /* the entry folder's name */
  gboolean has_lock;   /* a per-key <name>.lock file is beside it */
  gint64  last_access; /* the folder's mtime, in microseconds */
  guint64 size;        /* output + metadata.json, when read */
} Candidate;

static gint64
mtime_usec (const struct stat *st)
{
  return (gint64) st->st_mtim.tv_sec * G_USEC_PER_SEC + st->st_mtim.tv_nsec / 1000;
}

static guint64
file_size_at (int         dir_fd,
              const char *entry,
              const char *file)
{
  char path[64];
  struct stat st;

  g_snprintf (path, sizeof path, "%s/%s", entry, file);
  return fstatat (dir_fd, path, &st, 0) == 0 ? (guint64) st.st_size : 0;
}

/* Lists one function folder: its entries into @out, fd-relative (one
 * fstatat per entry, three with @sizes), its old leftovers into
 * @leftovers (full paths). */
static void
scan_function (const char *function_dir,
               guint       function,
               gboolean    sizes,
               gint64      now,
               GArray     *out,
               GPtrArray  *leftovers)
{
  g_autoptr(GHashTable) locks = NULL;
  int fd = open (function_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  guint first = out->len;
  DIR *dir;
  struct dirent *child;

  if (fd < 0)
    return;
  dir = fdopendir (fd);
  if (dir == NULL)
    {
      close (fd);
      return;
    }

  while ((child = readdir (dir)) != NULL)
    {
      const char *name = child->d_name;
      struct stat st;

      if (job_cache_is_entry_name (name))
        {
          Candidate candidate = { .function = function };

          if (fstatat (fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR (st.st_mode))
            continue;
          memcpy (candidate.name, name, 33);
          candidate.last_access = mtime_usec (&st);
          if (sizes)
            candidate.size = file_size_at (fd, name, "output") +
                             file_size_at (fd, name, "metadata.json");
          g_array_append_val (out, candidate);
        }
      else if (g_str_has_suffix (name, ".lock"))
        {
          if (locks == NULL)
            locks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
          g_hash_table_add (locks, g_strndup (name, strlen (name) - 5));
        }
      else if ((g_str_has_prefix (name, ".tmp-") || g_str_has_prefix (name, ".trash-")) &&
               fstatat (fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR (st.st_mode) &&
               now - mtime_usec (&st) > LEFTOVER_AGE_USEC)
        g_ptr_array_add (leftovers, g_build_filename (function_dir, name, NULL));
    }
  closedir (dir);

  for (guint i = first; locks != NULL && i < out->len; i++)
    g_array_index (out, Candidate, i).has_lock =
      g_hash_table_contains (locks, g_array_index (out, Candidate, i).name);
}

static int
compare_last_access (gconstpointer a,
                     gconstpointer b)
{
  gint64 ta = ((const Candidate *) a)->last_access;
  gint64 tb = ((const Candidate *) b)->last_access;

  return ta < tb ? -1 : ta > tb;
}

/* Renames the entry out of sight (readers see it whole or not at all)
 * into @renamed; its per-key lock file goes too, unless someone holds
 * it (lockers check that the file they locked is still at the path). */
static gboolean
rename_away (const char      *function_dir,
             const Candidate *candidate,
             GPtrArray       *renamed,
             GError         **error)
{
  g_autofree char *entry = g_build_filename (function_dir, candidate->name, NULL);
  char *trash = job_cache_store_trash_path (function_dir, candidate->name);

  if (g_rename (entry, trash) != 0)
    {
      int saved = errno;

      g_free (trash);
      if (saved != ENOENT)
        return job_set_error_from_errno (error, saved, _("Cannot remove"), entry);
    }
  else
    g_ptr_array_add (renamed, trash);

  if (candidate->has_lock)
    {
      g_autofree char *lock_path = g_strconcat (entry, ".lock", NULL);
      int lock_fd = g_open (lock_path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0);

      if (lock_fd >= 0)
        {
          if (flock (lock_fd, LOCK_EX | LOCK_NB) == 0)
            g_unlink (lock_path);
          close (lock_fd);
        }
    }
  return TRUE;
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* Whether eviction, least recently used first, stops at an entry last
 * used at @last_access: it is not past the age limit, and the cache
 * (@total bytes, @count entries with it) fits the size limits. */
static gboolean
fits (guint64 bytes_limit,
      guint   items_limit,
      double  age_limit,
      gint64  now,
      gint64  last_access,
      guint64 total,
      guint   count)
{
  gboolean too_old = age_limit > 0 && (double) (now - last_access) > age_limit * G_USEC_PER_SEC;

  return !too_old && (bytes_limit == 0 || total <= bytes_limit) &&
         (items_limit == 0 || count <= items_limit);
}

static guint
evict_local (const char  *root,
             guint64      bytes_limit,
             guint        items_limit,
             double       age_limit,
             guint64     *remaining_bytes,
             guint       *remaining_items,
             GError     **error)
{
  g_autoptr(GPtrArray) functions = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) entries = g_array_new (FALSE, FALSE, sizeof (Candidate));
  g_autoptr(GPtrArray) leftovers = g_ptr_array_new_with_free_func (g_free);
  GPtrArray *renamed = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GDir) dir = g_dir_open (root, 0, NULL);
  gboolean sizes = bytes_limit > 0;
  gint64 now = g_get_real_time ();
  guint64 total = 0;
  guint count, removed = 0;
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    if (name[0] != '.')
      g_ptr_array_add (functions, g_build_filename (root, name, NULL));
  g_ptr_array_sort (functions, compare_names);
  for (guint i = 0; i < functions->len; i++)
    scan_function (functions->pdata[i], i, sizes, now, entries, leftovers);
  /* rare (a killed writer or remover), and hidden already: removed here,
   * so that a pass leaves none */
  for (guint i = 0; i < leftovers->len; i++)
    job_cache_remove_tree (leftovers->pdata[i], NULL);

  count = entries->len;
  for (guint i = 0; i < entries->len; i++)
    total += g_array_index (entries, Candidate, i).size;
  g_array_sort (entries, compare_last_access);

  /* Least recently used first: the entries past the age limit are all at
   * the front, then the ones that keep the cache over its size limits. */
  for (guint i = 0; i < entries->len; i++)
    {
      const Candidate *entry = &g_array_index (entries, Candidate, i);

      if (fits (bytes_limit, items_limit, age_limit, now, entry->last_access, total, count))
        break;
      if (!rename_away (functions->pdata[entry->function], entry, renamed, error))
        break;
      total -= entry->size;
      count--;
      removed++;
    }

  /* Out of every reader's sight already: the files go on the
   * reclaimer's thread, after this returns. */
  job_cache_reclaimer_add_folders (root, renamed);

  if (remaining_bytes != NULL)
    *remaining_bytes = total;
  if (remaining_items != NULL)
    *remaining_items = count;
  return removed;
}

static int
compare_entry_access (gconstpointer a,
                      gconstpointer b)
{
  gint64 ta = job_cache_entry_get_last_access_usec (*(JobCacheEntry * const *) a);
  gint64 tb = job_cache_entry_get_last_access_usec (*(JobCacheEntry * const *) b);

  return ta < tb ? -1 : ta > tb;
}

/* Through GIO: entry by entry, removed before this returns. */
static guint
evict_remote (const char  *root,
              guint64      bytes_limit,
              guint        items_limit,
              double       age_limit,
              guint64     *remaining_bytes,
              guint       *remaining_items,
              GError     **error)
{
  g_autoptr(GPtrArray) entries = job_cache_store_scan (root, NULL, FALSE);
  gint64 now = g_get_real_time ();
  guint64 total = 0;
  guint count = entries->len;
  guint removed = 0;

  job_cache_gio_store_sweep (root);
  for (guint i = 0; i < entries->len; i++)
    total += job_cache_entry_get_size (entries->pdata[i]);
  g_ptr_array_sort (entries, compare_entry_access);

  for (guint i = 0; i < entries->len; i++)
    {
      JobCacheEntry *entry = entries->pdata[i];

      if (fits (bytes_limit, items_limit, age_limit, now,
                job_cache_entry_get_last_access_usec (entry), total, count))
        break;
      if (!job_cache_gio_store_remove_entry (job_cache_entry_get_path (entry), error))
        break;
      total -= job_cache_entry_get_size (entry);
      count--;
      removed++;
    }

  if (remaining_bytes != NULL)
    *remaining_bytes = total;
  if (remaining_items != NULL)
    *remaining_items = count;
  return removed;
}

guint
job_cache_evict (const char  *root,
                 guint64      bytes_limit,
                 guint        items_limit,
                 double       age_limit,
                 guint64     *remaining_bytes,
                 guint       *remaining_items,
                 GError     **error)
{
  g_return_val_if_fail (root != NULL, 0);

  if (job_cache_path_is_uri (root))
    return evict_remote (root, bytes_limit, items_limit, age_limit, remaining_bytes,
                         remaining_items, error);
  return evict_local (root, bytes_limit, items_limit, age_limit, remaining_bytes,
                      remaining_items, error);
}
