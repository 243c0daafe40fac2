/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "job-buffer-pool-private.h"

/* Huge pages only back the 2 MiB-aligned stretches of a mapping, and
 * Linux 6 puts an anonymous mapping on such a boundary only when its
 * length is a multiple of 2 MiB: a buffer of 16 777 408 bytes got 4 KiB
 * pages only, and reading a file into it took 8-13 ms instead of 1.3. */
#define HUGE_PAGE_SIZE ((gsize) 2 * 1024 * 1024)

#define DEFAULT_MAX_BYTES ((gsize) 128 * 1024 * 1024)
#define DEFAULT_IDLE_USEC (G_USEC_PER_SEC)

struct _JobPooledBuffer
{
  guint8 *data;
  gsize   capacity;     /* the mapping's length, whole pages */
  gint64  released_at;  /* monotonic, while pooled */
};

/* Everything below is under `lock`. */
static GMutex   lock;
static GCond    reaper_cond;
static gboolean configured;
static gsize    max_bytes;
static gint64   idle_usec;
/* Pooled buffers, the most recently released first. */
static GQueue   pooled = G_QUEUE_INIT;
static gsize    pooled_bytes;
static gboolean reaper_running;
static guint64  n_reused, n_mapped, n_unmapped;

static gsize
page_size (void)
{
  static gsize page;

  if (g_once_init_enter (&page))
    g_once_init_leave (&page, (gsize) sysconf (_SC_PAGESIZE));
  return page;
}

static gsize
round_to_pages (gsize size)
{
  return (size + page_size () - 1) & ~(page_size () - 1);
}

/* fork() copies the pool but not its thread: the child must not believe
 * a reaper runs for it, or what it pools would stay until it exits. The
 * lock is held across fork() so that the child's copy is consistent. */
static void
before_fork (void)
{
  g_mutex_lock (&lock);
}

static void
after_fork_in_parent (void)
{
  g_mutex_unlock (&lock);
}

static void
after_fork_in_child (void)
{
  reaper_running = FALSE;
  g_mutex_unlock (&lock);
}

/* Under the lock: the cap from the environment, else the default, at
 * most 1/32 of the RAM. */
static void
configure_once (void)
{
  const char *text;
  long pages = sysconf (_SC_PHYS_PAGES);

  if (configured)
    return;
  configured = TRUE;
  pthread_atfork (before_fork, after_fork_in_parent, after_fork_in_child);
  idle_usec = DEFAULT_IDLE_USEC;
  max_bytes = DEFAULT_MAX_BYTES;
  if (pages > 0)
    max_bytes = MIN (max_bytes, (gsize) pages / 32 * page_size ());
  text = g_getenv ("JOB_BUFFER_POOL_MAX_BYTES");
  if (text != NULL)
    {
      guint64 value;

      if (g_ascii_string_to_unsigned (text, 10, 0, G_MAXSIZE, &value, NULL))
        max_bytes = (gsize) value;
      else
        g_warning ("JOB_BUFFER_POOL_MAX_BYTES=%s is not a number of bytes; "
                   "keeping %" G_GSIZE_FORMAT, text, max_bytes);
    }
}

static void
unmap_buffer (JobPooledBuffer *buffer)
{
  munmap (buffer->data, buffer->capacity);
  g_free (buffer);
}

static void
unmap_list (GList *buffers)
{
  g_list_free_full (buffers, (GDestroyNotify) unmap_buffer);
}

/* Under the lock: takes the oldest pooled buffers out until @room more
 * bytes fit under the cap; returns them, to unmap after unlocking. */
static GList *
evict_for (gsize room)
{
  GList *evicted = NULL;

  while (!g_queue_is_empty (&pooled) &&
         (room > max_bytes || pooled_bytes > max_bytes - room))
    {
      JobPooledBuffer *oldest = g_queue_pop_tail (&pooled);

      pooled_bytes -= oldest->capacity;
      n_unmapped++;
      evicted = g_list_prepend (evicted, oldest);
    }
  return evicted;
}

/* The pool's own thread: unmaps each buffer that has waited idle_usec,
 * and ends when the pool is empty (the next release starts another). */
static gpointer
reap (gpointer data)
{
  g_mutex_lock (&lock);
  while (!g_queue_is_empty (&pooled))
    {
      JobPooledBuffer *oldest = g_queue_peek_tail (&pooled);
      gint64 deadline = oldest->released_at + idle_usec;
      GList *expired = NULL;

      if (g_get_monotonic_time () < deadline)
        {
          /* woken early by a new configuration, or by nothing: look
           * again either way */
          g_cond_wait_until (&reaper_cond, &lock, deadline);
          continue;
        }
      while ((oldest = g_queue_peek_tail (&pooled)) != NULL &&
             oldest->released_at + idle_usec <= g_get_monotonic_time ())
        {
          g_queue_pop_tail (&pooled);
          pooled_bytes -= oldest->capacity;
          n_unmapped++;
          expired = g_list_prepend (expired, oldest);
        }
      g_mutex_unlock (&lock);
      unmap_list (expired);
      g_mutex_lock (&lock);
    }
  reaper_running = FALSE;
  g_mutex_unlock (&lock);
  return NULL;
}

static JobPooledBuffer *
map_buffer (gsize size)
{
  JobPooledBuffer *buffer;
  gsize capacity = round_to_pages (size);
  guint8 *reserved, *data;
  gsize head, tail;

  /* Reserve one huge page more, keep the aligned part, give back the
   * rest. */
  reserved = mmap (NULL, capacity + HUGE_PAGE_SIZE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (reserved == MAP_FAILED)
    return NULL;
  data = (guint8 *) (((guintptr) reserved + HUGE_PAGE_SIZE - 1) & ~(guintptr) (HUGE_PAGE_SIZE - 1));
  head = data - reserved;
  tail = HUGE_PAGE_SIZE - head;
  if (head > 0)
    munmap (reserved, head);
  if (tail > 0)
    munmap (data + capacity, tail);
#ifdef MADV_HUGEPAGE
  /* only advice: without huge pages the buffer works the same */
  madvise (data, capacity, MADV_HUGEPAGE);
#endif
  buffer = g_new (JobPooledBuffer, 1);
  buffer->data = data;
  buffer->capacity = capacity;
  buffer->released_at = 0;
  return buffer;
}

guint8 *
job_buffer_pool_acquire (gsize             size,
                         JobPooledBuffer **buffer)
{
  JobPooledBuffer *found = NULL;
  gsize needed;

  g_return_val_if_fail (size >= JOB_BUFFER_POOL_MIN_SIZE, NULL);
  g_return_val_if_fail (buffer != NULL, NULL);

  *buffer = NULL;
  if (size > G_MAXSIZE - 2 * HUGE_PAGE_SIZE)
    return NULL;
  needed = round_to_pages (size);

  g_mutex_lock (&lock);
  configure_once ();
  /* the smallest that fits and wastes at most an eighth; among equals,
   * the most recently used (its pages are the likeliest in cache) */
  for (GList *l = pooled.head; l != NULL; l = l->next)
    {
      JobPooledBuffer *candidate = l->data;

      if (candidate->capacity >= needed && candidate->capacity - needed <= needed / 8 &&
          (found == NULL || candidate->capacity < found->capacity))
        found = candidate;
    }
  if (found != NULL)
    {
      g_queue_remove (&pooled, found);
      pooled_bytes -= found->capacity;
      n_reused++;
    }
  g_mutex_unlock (&lock);

  if (found == NULL)
    {
      found = map_buffer (size);
      if (found == NULL)
        return NULL;
      g_mutex_lock (&lock);
      n_mapped++;
      g_mutex_unlock (&lock);
    }
  *buffer = found;
  return found->data;
}

void
job_buffer_pool_release (JobPooledBuffer *buffer)
{
  GList *evicted = NULL;
  gboolean keep = FALSE, start_reaper = FALSE;

  g_return_if_fail (buffer != NULL);

  g_mutex_lock (&lock);
  configure_once ();
  if (buffer->capacity <= max_bytes)
    {
      evicted = evict_for (buffer->capacity);
      buffer->released_at = g_get_monotonic_time ();
      g_queue_push_head (&pooled, buffer);
      pooled_bytes += buffer->capacity;
      keep = TRUE;
      if (!reaper_running)
        start_reaper = reaper_running = TRUE;
    }
  else
    n_unmapped++;
  g_mutex_unlock (&lock);

  unmap_list (evicted);
  if (!keep)
    unmap_buffer (buffer);
  if (start_reaper)
    {
      GThread *reaper = g_thread_try_new ("job-buffer-pool", reap, NULL, NULL);

      if (reaper != NULL)
        g_thread_unref (reaper);
      else
        {
          /* nothing would ever give the pool's memory back: keep none */
          g_mutex_lock (&lock);
          reaper_running = FALSE;
          evicted = evict_for (G_MAXSIZE);
          g_mutex_unlock (&lock);
          unmap_list (evicted);
        }
    }
}

void
job_buffer_pool_get_stats (JobBufferPoolStats *stats)
{
  g_return_if_fail (stats != NULL);

  g_mutex_lock (&lock);
  stats->pooled_bytes = pooled_bytes;
  stats->pooled_count = g_queue_get_length (&pooled);
  stats->reused = n_reused;
  stats->mapped = n_mapped;
  stats->unmapped = n_unmapped;
  stats->reaper_running = reaper_running;
  g_mutex_unlock (&lock);
}

void
job_buffer_pool_configure (gsize  new_max_bytes,
                           gint64 new_idle_usec)
{
  GList *evicted;

  g_return_if_fail (new_idle_usec > 0);

  g_mutex_lock (&lock);
  configure_once ();
  max_bytes = new_max_bytes;
  idle_usec = new_idle_usec;
  evicted = evict_for (0);
  g_cond_signal (&reaper_cond);
  g_mutex_unlock (&lock);
  unmap_list (evicted);
}

void
job_buffer_pool_trim (void)
{
  GList *evicted;

  g_mutex_lock (&lock);
  evicted = evict_for (G_MAXSIZE);
  g_cond_signal (&reaper_cond);
  g_mutex_unlock (&lock);
  unmap_list (evicted);
}
