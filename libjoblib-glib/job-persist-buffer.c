/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <sys/mman.h>
#include <unistd.h>

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

/* Huge pages only back the 2 MiB-aligned stretches of a mapping, and
 * Linux 6 puts an anonymous mapping on such a boundary only when its
 * length is a multiple of 2 MiB: a buffer of 16 777 408 bytes got 4 KiB
 * pages only, and reading a file into it took 8-13 ms instead of 1.3. */
#define HUGE_PAGE_SIZE ((gsize) 2 * 1024 * 1024)

/* A buffer of @size bytes for an array, NULL when there is no memory;
 * *@mapping is set when the buffer is a mapping, else it came from
 * g_try_malloc(). */
guint8 *
job_persist_buffer_alloc (gsize     size,
                          gpointer *mapping)
{
  gsize    page = (gsize) sysconf (_SC_PAGESIZE);
  Mapping *owned;
  guint8  *reserved, *data, *end;
  gsize    head;

  *mapping = NULL;
  if (size < HUGE_PAGES_MIN_SIZE)
    return g_try_malloc (size);
  if (size > G_MAXSIZE - HUGE_PAGE_SIZE)
    return NULL;

  /* Reserve one huge page more, keep the aligned part, give back the
   * rest. */
  reserved = mmap (NULL, size + HUGE_PAGE_SIZE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (reserved == MAP_FAILED)
    return NULL;
  data = (guint8 *) (((guintptr) reserved + HUGE_PAGE_SIZE - 1) & ~(guintptr) (HUGE_PAGE_SIZE - 1));
  head = data - reserved;
  /* munmap() takes whole pages: the tail starts at the page after the
   * buffer's last byte */
  end = (guint8 *) (((guintptr) data + size + page - 1) & ~(guintptr) (page - 1));
  if (head > 0)
    munmap (reserved, head);
  if (end < reserved + size + HUGE_PAGE_SIZE)
    munmap (end, reserved + size + HUGE_PAGE_SIZE - end);
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
