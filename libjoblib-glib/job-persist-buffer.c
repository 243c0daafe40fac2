/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-buffer-pool-private.h"
#include "job-persist-buffer-private.h"

/* From JOB_BUFFER_POOL_MIN_SIZE on an array's buffer is its own mapping,
 * with transparent huge pages asked for: reading 80 MiB into 4 KiB pages
 * costs 20 000 page faults, about three times the copy itself (numpy
 * does the same for its big arrays). Those come from the buffer pool, so
 * that the next load reuses the pages of an array freed just before. */

static void
pooled_free (gpointer user_data)
{
  job_buffer_pool_release (user_data);
}

/* A buffer of @size bytes for an array, NULL when there is no memory;
 * *@mapping is set when the buffer came from the pool, else it came from
 * g_try_malloc(). Its bytes are undefined: the caller fills all of them. */
guint8 *
job_persist_buffer_alloc (gsize     size,
                          gpointer *mapping)
{
  *mapping = NULL;
  if (size < JOB_BUFFER_POOL_MIN_SIZE)
    return g_try_malloc (size);
  return job_buffer_pool_acquire (size, (JobPooledBuffer **) mapping);
}

/* The GBytes that owns @buffer from now on. */
GBytes *
job_persist_buffer_take (guint8   *buffer,
                         gsize     size,
                         gpointer  mapping)
{
  if (mapping != NULL)
    return g_bytes_new_with_free_func (buffer, size, pooled_free, mapping);
  return g_bytes_new_take (buffer, size);
}

void
job_persist_buffer_free (guint8   *buffer,
                         gpointer  mapping)
{
  if (mapping != NULL)
    job_buffer_pool_release (mapping);
  else
    g_free (buffer);
}
