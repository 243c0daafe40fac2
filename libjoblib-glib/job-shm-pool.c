/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "job-error.h"
#include "job-i18n-private.h"
#include "job-shm-pool-private.h"
#include "job-shm-private.h"

/* Free files kept at most: a run has a few large arguments in flight
 * per worker; more free files than that would only hold memory. */
#define MAX_FREE_FILES 16
/* How long free files stay once no file is in use: a run's dispatcher
 * may let every call end before it hands over the next ones. */
#define LINGER_MSEC 200

struct _JobShmPool
{
  guint       ref_count;
  GPtrArray  *free;      /* (element-type JobShmFile) (owned) */
  guint       in_use;    /* files handed out and not released */
  GHashTable *memory;    /* (owned) folder → 1 (tmpfs) or 2 (not) */
  GSource    *linger;    /* (owned) (nullable) removes the free files */
};

static void
shm_file_remove (JobShmFile *file)
{
  if (file->map != NULL)
    munmap (file->map, file->map_length);
  g_unlink (file->path);
  if (file->fd >= 0)
    close (file->fd);
  g_free (file->path);
  g_free (file);
}

JobShmPool *
job_shm_pool_new (void)
{
  JobShmPool *pool = g_new0 (JobShmPool, 1);

  pool->ref_count = 1;
  pool->free = g_ptr_array_new_with_free_func ((GDestroyNotify) shm_file_remove);
  pool->memory = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return pool;
}

JobShmPool *
job_shm_pool_ref (JobShmPool *pool)
{
  pool->ref_count++;
  return pool;
}

void
job_shm_pool_unref (JobShmPool *pool)
{
  if (--pool->ref_count > 0)
    return;
  if (pool->linger != NULL)
    {
      g_source_destroy (pool->linger);
      g_source_unref (pool->linger);
    }
  g_ptr_array_unref (pool->free);
  g_hash_table_unref (pool->memory);
  g_free (pool);
}

static gboolean
folder_is_memory (JobShmPool *pool,
                  const char *folder)
{
  gpointer known = g_hash_table_lookup (pool->memory, folder);

  if (known == NULL)
    {
      known = GUINT_TO_POINTER (job_shm_folder_is_memory (folder) ? 1 : 2);
      g_hash_table_insert (pool->memory, g_strdup (folder), known);
    }
  return GPOINTER_TO_UINT (known) == 1;
}

/* The free file of @folder to write @size bytes over: one of that size,
 * else the smallest larger one (truncated: its other pages are kept),
 * else the largest (grown); -1 when none is in that folder. */
static int
pick_free (JobShmPool *pool,
           const char *folder,
           gsize       size)
{
  gsize folder_len = strlen (folder);
  int best = -1;

  for (guint i = 0; i < pool->free->len; i++)
    {
      JobShmFile *file = g_ptr_array_index (pool->free, i);
      JobShmFile *chosen = best >= 0 ? g_ptr_array_index (pool->free, best) : NULL;

      if (strncmp (file->path, folder, folder_len) != 0 || file->path[folder_len] != '/' ||
          strchr (file->path + folder_len + 1, '/') != NULL)
        continue;
      if (file->size == size)
        return i;
      if (chosen == NULL ||
          (file->size > size && (chosen->size < size || file->size < chosen->size)) ||
          (file->size < size && chosen->size < size && file->size > chosen->size))
        best = i;
    }
  return best;
}

/* Copies @data into a reusable file through the pool's own map of it:
 * pwrite() copies in the kernel, which on a VM can pay a fault per page
 * of the caller's buffer (its pages enter the kernel's view of the
 * process one by one: 16 MB written in 30 ms instead of 1.5). The pages
 * are allocated first, so that a full folder is an error of
 * posix_fallocate() and never a SIGBUS in memcpy(). FALSE when that
 * cannot be done: the caller then writes the file instead. */
static gboolean
write_mapped (JobShmFile   *file,
              const guint8 *data,
              gsize         size)
{
  if (size == 0 || posix_fallocate (file->fd, 0, size) != 0)
    return FALSE;
  if (file->map == NULL || file->map_length < size)
    {
      void *map;

      if (file->map != NULL)
        munmap (file->map, file->map_length);
      file->map = NULL;
      map = mmap (NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, file->fd, 0);
      if (map == MAP_FAILED)
        return FALSE;
      file->map = map;
      file->map_length = size;
    }
  memcpy (file->map, data, size);
  return TRUE;
}

JobShmFile *
job_shm_pool_write (JobShmPool  *pool,
                    const char  *folder,
                    GVariant    *value,
                    GError     **error)
{
  /* For a value built from a buffer (a byte array of a GBytes), this is
   * the buffer itself: no copy before the write. */
  const guint8 *data = g_variant_get_data (value);
  gsize size = g_variant_get_size (value);
  JobShmFile *file = NULL;
  int index;

  if (folder == NULL)
    folder = job_shm_get_default_folder ();

  if (folder_is_memory (pool, folder) && (index = pick_free (pool, folder, size)) >= 0)
    {
      file = g_ptr_array_steal_index_fast (pool->free, index);
      if (file->size != size && ftruncate (file->fd, size) != 0)
        {
          int saved_errno = errno;

          g_set_error (error, JOB_ERROR, JOB_ERROR_FAILED,
                       _("Could not write %zu bytes to “%s”: %s"),
                       size, file->path, g_strerror (saved_errno));
          shm_file_remove (file);
          return NULL;
        }
    }
  else
    {
      file = g_new0 (JobShmFile, 1);
      file->fd = job_shm_create (folder, &file->path, error);
      if (file->fd < 0)
        {
          g_free (file);
          return NULL;
        }
      file->reusable = folder_is_memory (pool, folder);
    }
  file->size = size;

  if (!(file->reusable && write_mapped (file, data, size)) &&
      !job_shm_write (file->fd, file->path, data, size, error))
    {
      shm_file_remove (file);
      return NULL;
    }
  /* Written once: the descriptor is not needed any more. */
  if (!file->reusable)
    {
      close (file->fd);
      file->fd = -1;
    }

  pool->in_use++;
  return file;
}

static gboolean
on_linger_end (gpointer data)
{
  JobShmPool *pool = data;

  g_clear_pointer (&pool->linger, g_source_unref);
  if (pool->in_use == 0)
    g_ptr_array_set_size (pool->free, 0);
  return G_SOURCE_REMOVE;
}

void
job_shm_pool_release (JobShmPool *pool,
                      JobShmFile *file,
                      gboolean    reuse)
{
  g_return_if_fail (pool->in_use > 0);

  pool->in_use--;
  if (reuse && file->reusable && pool->free->len < MAX_FREE_FILES)
    g_ptr_array_add (pool->free, file);
  else
    shm_file_remove (file);

  /* Maybe the end of a run: nothing of it stays in the folder for long. */
  if (pool->in_use == 0 && pool->free->len > 0)
    {
      if (pool->linger != NULL)
        {
          g_source_destroy (pool->linger);
          g_source_unref (pool->linger);
        }
      pool->linger = g_timeout_source_new (LINGER_MSEC);
      g_source_set_static_name (pool->linger, "[joblib-glib] shared-memory files linger");
      g_source_set_callback (pool->linger, on_linger_end, pool, NULL);
      g_source_attach (pool->linger, g_main_context_get_thread_default ());
    }
}

void
job_shm_pool_drop_free (JobShmPool *pool)
{
  g_ptr_array_set_size (pool->free, 0);
}

guint
job_shm_pool_count_free (JobShmPool *pool)
{
  return pool->free->len;
}
