/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * JobBufferPool: large array buffers (their own anonymous mapping, on a
 * 2 MiB boundary, huge pages asked for) and a bounded pool of freed ones.
 *
 * A fresh mapping costs its page faults and the kernel's zeroing of every
 * page before a load can copy into it: about a third of a raw load of
 * 16 MiB. A buffer handed back is kept, pages in place, for a short time
 * (one second by default) and given to the next load of a size it fits
 * (no more than an eighth larger), so loads in a row write into warm
 * memory, as numpy's buffers recycled by glibc do for joblib; unlike
 * glibc's heap, nothing else can take or trim those pages in between.
 * The pool holds at most a cap in bytes (128 MiB, at most 1/32 of the
 * RAM; the environment variable JOB_BUFFER_POOL_MAX_BYTES sets another,
 * 0 turns the pool off); a buffer that would pass it is unmapped at
 * once. A thread of the pool, running only while it holds buffers,
 * unmaps each one that has waited for the idle time.
 *
 * A reused buffer is not zeroed: it holds the bytes of an array this
 * process loaded before, and callers overwrite all of it or hand it
 * back.
 *
 * Thread rules: every function may be called from any thread; the pool
 * is one lock, held only to take or put an entry (never over a system
 * call).
 */
typedef struct _JobPooledBuffer JobPooledBuffer;

/* Buffers from this size on are mappings of their own; smaller ones are
 * left to malloc(). */
#define JOB_BUFFER_POOL_MIN_SIZE ((gsize) 4 * 1024 * 1024)

/* A buffer of @size bytes (at least JOB_BUFFER_POOL_MIN_SIZE): from the
 * pool when one fits, else a new mapping. Returns its first byte, and
 * its handle in *@buffer; NULL when there is no memory. */
guint8 *job_buffer_pool_acquire (gsize             size,
                                 JobPooledBuffer **buffer);
/* Hands @buffer (transfer full) back: pooled, or unmapped when the pool
 * is off or full. */
void    job_buffer_pool_release (JobPooledBuffer  *buffer);

/* For tests and benchmarks. */
typedef struct
{
  gsize   pooled_bytes;   /* held now */
  guint   pooled_count;
  guint64 reused;         /* acquisitions served from the pool */
  guint64 mapped;         /* new mappings made */
  guint64 unmapped;       /* mappings given back to the system */
  gboolean reaper_running;
} JobBufferPoolStats;

void    job_buffer_pool_get_stats (JobBufferPoolStats *stats);
/* Sets the cap (bytes) and the idle time (microseconds, > 0); buffers
 * over the new cap are unmapped now. */
void    job_buffer_pool_configure (gsize               max_bytes,
                                   gint64              idle_usec);
/* Unmaps every pooled buffer now. */
void    job_buffer_pool_trim      (void);

G_END_DECLS
