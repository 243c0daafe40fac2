/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <sys/mman.h>

#include "job-persist-buffer-private.h"

/* From this size on an array's buffer is its own mapping, with
 * transparent huge pages asked for: reading 80 MiB into 4 KiB pages costs
 * 20 000 page faults, about three times the copy itself (numpy does the
 * same for its big arrays). */
#define HUGE_PAGES_MIN_SIZE (4 * 1024 * 1024)

typedef struct
{
  void  *data;
  gsize  size;
} Mapping;

static void
mapping_free (gpointer user_data)
{
  Mapping *mapping = user_data;

  munmap (mapping->data, mapping->size);
  g_free (mapping);
}

/* A buffer of @size bytes for an array, NULL when there is no memory;
 * *@mapping is set when the buffer is a mapping, else it came from
 * g_try_malloc(). */
guint8 *
job_persist_buffer_alloc (gsize     size,
                          gpointer *mapping)
{
  Mapping *owned;
  void    *data;

  *mapping = NULL;
  if (size < HUGE_PAGES_MIN_SIZE)
    return g_try_malloc (size);

  data = mmap (NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (data == MAP_FAILED)
    return NULL;
#ifdef MADV_HUGEPAGE
  /* only advice: without huge pages the buffer works the same */
  madvise (data, size, MADV_HUGEPAGE);
#endif
  owned = g_new (Mapping, 1);
  owned->data = data;
  owned->size = size;
  *mapping = owned;
  return data;
}

/* The GBytes that owns @buffer from now on. */
GBytes *
job_persist_buffer_take (guint8   *buffer,
                         gsize     size,
                         gpointer  mapping)
{
  if (mapping != NULL)
    return g_bytes_new_with_free_func (buffer, size, mapping_free, mapping);
  return g_bytes_new_take (buffer, size);
}

void
job_persist_buffer_free (guint8   *buffer,
                         gpointer  mapping)
{
  if (mapping != NULL)
    mapping_free (mapping);
  else
    g_free (buffer);
}
