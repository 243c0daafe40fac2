/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* One bulk map on the thread backend: a range of items cut into chunks
 * that the calling thread and helper threads claim with one atomic
 * increment each, so that no object is allocated per item and a helper
 * that never gets a thread costs nothing (the caller claims its chunks).
 *
 * Thread rules: job_thread_map_run() is called by the thread that created
 * the map and blocks it until every chunk is done; job_thread_map_help()
 * runs in any other thread (a pool thread) and may run after the map has
 * finished, in which case it claims nothing and returns. The chunk
 * function runs in any of those threads, several at once. */
typedef struct _JobThreadMap JobThreadMap;

/* Runs items [start, end): returns FALSE with @error set on failure. */
typedef gboolean (*JobThreadMapChunkFunc) (gsize          start,
                                           gsize          end,
                                           gpointer       data,
                                           GCancellable  *cancellable,
                                           GError       **error);

JobThreadMap *job_thread_map_new   (gsize                  n_items,
                                    guint                  n_threads,
                                    JobThreadMapChunkFunc  func,
                                    gpointer               data,
                                    GCancellable          *cancellable);
JobThreadMap *job_thread_map_ref   (JobThreadMap          *self);
void          job_thread_map_unref (JobThreadMap          *self);
/* The number of chunks the map was cut into. */
guint         job_thread_map_get_n_chunks (JobThreadMap   *self);
void          job_thread_map_help  (JobThreadMap          *self);
gboolean      job_thread_map_run   (JobThreadMap          *self,
                                    GError               **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobThreadMap, job_thread_map_unref)

G_END_DECLS
