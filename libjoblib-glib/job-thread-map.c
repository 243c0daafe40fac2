/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-error.h"
#include "job-i18n-private.h"
#include "job-thread-map-private.h"

/* Chunks per thread: enough that a thread finishing early takes work from
 * a slow one, few enough that claiming a chunk (one atomic add) is noise
 * next to the items in it. */
#define CHUNKS_PER_THREAD 16

struct _JobThreadMap
{
  gatomicrefcount        ref_count;
  gsize                  n_items;
  gsize                  chunk_size;
  guint                  n_chunks;
  guint                  next_chunk;   /* (atomic) */
  gint                   failed;       /* (atomic) */
  JobThreadMapChunkFunc  func;         /* cleared when the map is done */
  gpointer               data;
  GCancellable          *cancellable;  /* (owned) (nullable) */

  GMutex                 lock;
  GCond                  done_cond;
  guint                  done_chunks;  /* (lock) */
  GError                *error;        /* (lock) (owned) (nullable): first one */
  gsize                  error_start;  /* (lock) */
};

JobThreadMap *
job_thread_map_new (gsize                  n_items,
                    guint                  n_threads,
                    JobThreadMapChunkFunc  func,
                    gpointer               data,
                    GCancellable          *cancellable)
{
  JobThreadMap *self;
  gsize n_chunks;

  g_return_val_if_fail (n_items > 0, NULL);
  g_return_val_if_fail (func != NULL, NULL);

  n_chunks = MIN (n_items, (gsize) MAX (n_threads, 1) * CHUNKS_PER_THREAD);

  self = g_new0 (JobThreadMap, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->n_items = n_items;
  self->chunk_size = (n_items + n_chunks - 1) / n_chunks;
  self->n_chunks = (guint) ((n_items + self->chunk_size - 1) / self->chunk_size);
  self->func = func;
  self->data = data;
  self->cancellable = cancellable ? g_object_ref (cancellable) : NULL;
  g_mutex_init (&self->lock);
  g_cond_init (&self->done_cond);
  return self;
}

JobThreadMap *
job_thread_map_ref (JobThreadMap *self)
{
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
job_thread_map_unref (JobThreadMap *self)
{
  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;

  g_clear_object (&self->cancellable);
  g_clear_error (&self->error);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->done_cond);
  g_free (self);
}

guint
job_thread_map_get_n_chunks (JobThreadMap *self)
{
  return self->n_chunks;
}

/* Claims and runs chunks until none is left; returns how many it claimed. */
static guint
work (JobThreadMap *self)
{
  guint claimed = 0;

  for (;;)
    {
      guint chunk = (guint) g_atomic_int_add (&self->next_chunk, 1);
      g_autoptr(GError) error = NULL;
      gsize start, end;

      if (chunk >= self->n_chunks)
        break;
      claimed++;

      /* After a failure or a cancellation the remaining chunks are
       * claimed and counted, not run. */
      if (g_atomic_int_get (&self->failed))
        continue;

      start = (gsize) chunk * self->chunk_size;
      end = MIN (start + self->chunk_size, self->n_items);

      if (!g_cancellable_set_error_if_cancelled (self->cancellable, &error) &&
          self->func (start, end, self->data, self->cancellable, &error))
        continue;

      if (error == NULL)
        g_set_error (&error, JOB_ERROR, JOB_ERROR_TASK_FAILED,
                     _("Items %zu to %zu failed without saying why"),
                     start, end - 1);

      g_atomic_int_set (&self->failed, TRUE);
      g_mutex_lock (&self->lock);
      /* Keep the error of the lowest item, whichever thread saw it
       * first, so that a failing map reports the same error each time. */
      if (self->error == NULL || start < self->error_start)
        {
          g_clear_error (&self->error);
          self->error = g_steal_pointer (&error);
          self->error_start = start;
        }
      g_mutex_unlock (&self->lock);
    }

  return claimed;
}

static void
count_done (JobThreadMap *self,
            guint         claimed)
{
  if (claimed == 0)
    return;

  g_mutex_lock (&self->lock);
  self->done_chunks += claimed;
  if (self->done_chunks == self->n_chunks)
    g_cond_broadcast (&self->done_cond);
  g_mutex_unlock (&self->lock);
}

void
job_thread_map_help (JobThreadMap *self)
{
  count_done (self, work (self));
}

gboolean
job_thread_map_run (JobThreadMap  *self,
                    GError       **error)
{
  count_done (self, work (self));

  g_mutex_lock (&self->lock);
  while (self->done_chunks < self->n_chunks)
    g_cond_wait (&self->done_cond, &self->lock);
  g_mutex_unlock (&self->lock);

  /* Every chunk is counted: no helper calls func or reads data again. */
  if (self->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&self->error));
      return FALSE;
    }
  return TRUE;
}
