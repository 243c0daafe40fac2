/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * A thread with a main context and loop of its own, where a worker pool
 * (process or Slurm) keeps all of its state: the one copy of the
 * mechanism both pools use. Other threads hand it work with
 * job_pool_thread_invoke() or wait for it with _invoke_sync().
 *
 * job_pool_thread_free() ends it from any thread. From another thread it
 * quits the loop, joins the thread and then calls @free_func(@data) on
 * the calling thread. From the pool's own thread (the pool's owner let go
 * inside one of the pool's callbacks) the running callback must finish
 * first: @last_func(@data), if any, runs from a high-priority idle, the
 * loop quits, and @free_func(@data) runs on the pool's thread once the
 * loop has returned. Either way the context is still valid in
 * @free_func (it may iterate it to run pending callbacks) and freed
 * right after.
 */
typedef struct _JobPoolThread JobPoolThread;

JobPoolThread *job_pool_thread_new         (const char     *name);
void           job_pool_thread_free        (JobPoolThread  *self,
                                            GSourceFunc     last_func,
                                            GDestroyNotify  free_func,
                                            gpointer        data);
GMainContext  *job_pool_thread_get_context (JobPoolThread  *self);
gboolean       job_pool_thread_is_current  (JobPoolThread  *self);
/* Runs @func (a GSourceFunc run once) on the thread, later or at once if
 * called there (g_main_context_invoke()). */
void           job_pool_thread_invoke      (JobPoolThread  *self,
                                            GSourceFunc     func,
                                            gpointer        data);
/* Runs @func on the thread and waits until it has returned; on the
 * thread itself, runs it at once. */
void           job_pool_thread_invoke_sync (JobPoolThread  *self,
                                            GSourceFunc     func,
                                            gpointer        data);

G_END_DECLS
