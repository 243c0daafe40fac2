/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "job-error.h"
#include "job-shm-mappings-private.h"
#include "job-shm-private.h"

/* Maps kept at most: the parent's pool keeps as many free files. */
#define MAX_MAPPINGS 16

typedef struct
{
  JobShmMappings *owner;     /* (nullable) NULL once dropped from the cache */
  char           *path;      /* (owned) */
  int             fd;        /* kept open: its link count says when the file went */
  dev_t           dev;
  ino_t           ino;
  void           *addr;
  gsize           length;    /* of the map */
  guint           users;     /* GBytes alive */
  gint64          last_use;
} Mapping;

struct _JobShmMappings
{
  GPtrArray  *cached;        /* (element-type Mapping) */
  GHashTable *memory;        /* (owned) folder → 1 (tmpfs) or 2 (not) */
};

static void
mapping_destroy (Mapping *mapping)
{
  if (mapping->length > 0)
    munmap (mapping->addr, mapping->length);
  if (mapping->fd >= 0)
    close (mapping->fd);
  g_free (mapping->path);
  g_free (mapping);
}

/* Out of the cache; gone with its last GBytes. */
static void
mapping_drop (Mapping *mapping)
{
  g_ptr_array_remove_fast (mapping->owner->cached, mapping);
  mapping->owner = NULL;
  if (mapping->users == 0)
    mapping_destroy (mapping);
}

static void
mapping_unuse (gpointer data)
{
  Mapping *mapping = data;

  mapping->users--;
  mapping->last_use = g_get_monotonic_time ();
  if (mapping->users == 0 && mapping->owner == NULL)
    mapping_destroy (mapping);
}

JobShmMappings *
job_shm_mappings_new (void)
{
  JobShmMappings *mappings = g_new0 (JobShmMappings, 1);

  mappings->cached = g_ptr_array_new ();
  mappings->memory = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return mappings;
}

void
job_shm_mappings_free (JobShmMappings *mappings)
{
  while (mappings->cached->len > 0)
    mapping_drop (g_ptr_array_index (mappings->cached, 0));
  g_ptr_array_unref (mappings->cached);
  g_hash_table_unref (mappings->memory);
  g_free (mappings);
}

static gboolean
in_memory_folder (JobShmMappings *mappings,
                  const char     *path)
{
  g_autofree char *folder = g_path_get_dirname (path);
  gpointer known = g_hash_table_lookup (mappings->memory, folder);

  if (known == NULL)
    {
      known = GUINT_TO_POINTER (job_shm_folder_is_memory (folder) ? 1 : 2);
      g_hash_table_insert (mappings->memory, g_steal_pointer (&folder), known);
    }
  return GPOINTER_TO_UINT (known) == 1;
}

GBytes *
job_shm_mappings_get (JobShmMappings  *mappings,
                      const char      *path,
                      guint64          size,
                      GError         **error)
{
  Mapping *mapping = NULL;
  struct stat st;
  int fd;

  /* Read-only: the worker must not change what the parent wrote. */
  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0 || fstat (fd, &st) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   "Could not open shared-memory argument “%s”: %s",
                   path, g_strerror (saved_errno));
      if (fd >= 0)
        close (fd);
      return NULL;
    }
  if (!S_ISREG (st.st_mode) || (guint64) st.st_size != size || size > G_MAXSIZE)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_PROTOCOL,
                   "shared-memory argument “%s” has %" G_GUINT64_FORMAT
                   " bytes, expected %" G_GUINT64_FORMAT,
                   path, (guint64) st.st_size, size);
      close (fd);
      return NULL;
    }
  if (size == 0)
    {
      close (fd);
      return g_bytes_new (NULL, 0);
    }

  for (guint i = 0; i < mappings->cached->len && mapping == NULL; i++)
    {
      Mapping *cached = g_ptr_array_index (mappings->cached, i);

      if (cached->dev == st.st_dev && cached->ino == st.st_ino)
        {
          /* The parent may have grown the file since. */
          if (cached->length >= size && g_str_equal (cached->path, path))
            mapping = cached;
          else
            mapping_drop (cached);
        }
    }

  if (mapping != NULL)
    close (fd);
  else
    {
      void *addr = mmap (NULL, size, PROT_READ, MAP_SHARED, fd, 0);

      if (addr == MAP_FAILED)
        {
          int saved_errno = errno;

          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                       "Could not map shared-memory argument “%s”: %s",
                       path, g_strerror (saved_errno));
          close (fd);
          return NULL;
        }
      mapping = g_new0 (Mapping, 1);
      mapping->path = g_strdup (path);
      mapping->fd = fd;
      mapping->dev = st.st_dev;
      mapping->ino = st.st_ino;
      mapping->addr = addr;
      mapping->length = size;
      if (in_memory_folder (mappings, path) &&
          (mappings->cached->len < MAX_MAPPINGS ||
           job_shm_mappings_trim (mappings, 0) < MAX_MAPPINGS))
        {
          mapping->owner = mappings;
          g_ptr_array_add (mappings->cached, mapping);
        }
      else
        {
          /* Written once by the parent: mapped for this task only. */
          close (mapping->fd);
          mapping->fd = -1;
        }
    }

  mapping->users++;
  mapping->last_use = g_get_monotonic_time ();
  return g_bytes_new_with_free_func (mapping->addr, size, mapping_unuse, mapping);
}

guint
job_shm_mappings_trim (JobShmMappings *mappings,
                       gint64          idle_usec)
{
  gint64 now = g_get_monotonic_time ();

  for (guint i = mappings->cached->len; i-- > 0; )
    {
      Mapping *mapping = g_ptr_array_index (mappings->cached, i);
      struct stat st;

      if (mapping->users > 0)
        continue;
      /* A removed file's pages stay while it is mapped. */
      if (now - mapping->last_use >= idle_usec ||
          fstat (mapping->fd, &st) != 0 || st.st_nlink == 0)
        mapping_drop (mapping);
    }
  return mappings->cached->len;
}
