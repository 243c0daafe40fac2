/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * JobShmPool: the shared-memory files of the arguments larger than
 * max-nbytes (job-shm-private.h), reused while a run lasts.
 *
 * A fresh file costs its pages twice: the parent's write allocates them
 * and the worker's first read of each maps it, one fault per page (16 MB:
 * about 4 ms for the write and 8 ms for the faults on a 2-vCPU VM, where
 * writing into pages already there costs 1.2 ms). So in a memory-backed
 * folder (tmpfs, so only workers of this machine can map it), a file
 * whose call the worker answered goes back to the pool, and the next
 * large argument is written over it: the same pages, still mapped in the
 * workers that read it (job-shm-mappings-private.h). The pool removes its
 * free files 0.2 s after the last file in use was released (the end of
 * a run: a run's dispatcher may let every call end before it hands the
 * next ones over), and when the pool goes; files in other folders (a
 * shared folder of remote workers) are written once and removed when
 * their call ends.
 *
 * Only on one thread (the worker pool's; its timer runs on that thread's
 * thread-default main context), but _unref, which may be called from any
 * thread once that thread is done with the pool.
 */

typedef struct _JobShmPool JobShmPool;

typedef struct
{
  char    *path;       /* (owned) */
  int      fd;         /* open while the file is in the pool, else -1 */
  gsize    size;       /* the file's length */
  gboolean reusable;   /* in a memory-backed folder */
  void    *map;        /* (nullable) a reusable file's pages, mapped */
  gsize    map_length;
} JobShmFile;

JobShmPool *job_shm_pool_new     (void);
JobShmPool *job_shm_pool_ref     (JobShmPool   *pool);
/* The last reference removes the free files. */
void        job_shm_pool_unref   (JobShmPool   *pool);

/* Writes the serialized form of @value into a file of @folder (NULL: the
 * default), a free one of the pool when the folder is memory-backed, and
 * returns it, in use until job_shm_pool_release(). */
JobShmFile *job_shm_pool_write   (JobShmPool   *pool,
                                  const char   *folder,
                                  GVariant     *value,
                                  GError      **error);
/* Ends the use of @file: back to the pool when @reuse (no process reads
 * it any more: its call was answered) and the file is reusable, else
 * removed. When no file is in use any more, the free files are removed
 * 0.2 s later unless a file is in use again by then. */
void        job_shm_pool_release (JobShmPool   *pool,
                                  JobShmFile   *file,
                                  gboolean      reuse);
/* Removes the free files now. */
void        job_shm_pool_drop_free (JobShmPool *pool);
/* Files now in the pool, not in use (for tests). */
guint       job_shm_pool_count_free (JobShmPool *pool);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobShmPool, job_shm_pool_unref)

G_END_DECLS
