/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * JobShmMappings: a worker's maps of the shared-memory files of its
 * arguments (job-shm-pool-private.h). A file of a memory-backed folder
 * stays mapped after its task, and the next task given the same file
 * (the parent wrote new arguments over it) reads it through the same
 * map: no fault per page again. The file is opened and checked by every
 * get: the same file (device and inode), of the expected length. Maps
 * of files removed since, or not used for a second, are dropped by
 * _trim(), which the worker calls when it waits for work; files of other
 * folders are mapped for their task only.
 *
 * Not thread-safe: one worker thread.
 */

typedef struct _JobShmMappings JobShmMappings;

JobShmMappings *job_shm_mappings_new   (void);
void            job_shm_mappings_free  (JobShmMappings  *mappings);

/* The @size bytes of the file at @path, read-only, as a GBytes that keeps
 * the map while it lives; a file whose length is not @size is an error
 * (JOB_ERROR_PROTOCOL). */
GBytes         *job_shm_mappings_get   (JobShmMappings  *mappings,
                                        const char      *path,
                                        guint64          size,
                                        GError         **error);
/* Drops the maps not in use whose file was removed or that were not used
 * for @idle_usec (0: every map not in use). Returns how many maps stay. */
guint           job_shm_mappings_trim  (JobShmMappings  *mappings,
                                        gint64           idle_usec);

G_END_DECLS
