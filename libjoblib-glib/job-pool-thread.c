/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-context-call-private.h"
#include "job-pool-thread-private.h"

struct _JobPoolThread
{
  GThread        *thread;
  GMainContext   *context;      /* (owned) */
  GMainLoop      *loop;         /* (owned) */

  /* set by job_pool_thread_free() on the thread itself */
  gboolean        free_on_exit;
  GSourceFunc     last_func;
  GDestroyNotify  free_func;
  gpointer        free_data;
};

static void
free_now (JobPoolThread *self)
{
  g_main_loop_unref (self->loop);
  g_main_context_unref (self->context);
  g_free (self);
}

static gpointer
run (gpointer data)
{
  JobPoolThread *self = data;

  g_main_context_push_thread_default (self->context);
  g_main_loop_run (self->loop);
  g_main_context_pop_thread_default (self->context);

  if (self->free_on_exit)
    {
      if (self->free_func != NULL)
        self->free_func (self->free_data);
      free_now (self);
    }
  return NULL;
}

JobPoolThread *
job_pool_thread_new (const char *name)
{
  JobPoolThread *self = g_new0 (JobPoolThread, 1);

  self->context = g_main_context_new ();
  self->loop = g_main_loop_new (self->context, FALSE);
  self->thread = g_thread_new (name, run, self);
  return self;
}

GMainContext *
job_pool_thread_get_context (JobPoolThread *self)
{
  return self->context;
}

gboolean
job_pool_thread_is_current (JobPoolThread *self)
{
  return g_thread_self () == self->thread;
}

void
job_pool_thread_invoke (JobPoolThread *self,
                        GSourceFunc    func,
                        gpointer       data)
{
  g_main_context_invoke (self->context, func, data);
}

void
job_pool_thread_invoke_sync (JobPoolThread *self,
                             GSourceFunc    func,
                             gpointer       data)
{
  job_context_call_sync (self->context, self->thread, func, data);
}

static gboolean
quit (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

static gboolean
last_and_quit (gpointer data)
{
  JobPoolThread *self = data;

  if (self->last_func != NULL)
    self->last_func (self->free_data);
  g_main_loop_quit (self->loop);
  return G_SOURCE_REMOVE;
}

void
job_pool_thread_free (JobPoolThread  *self,
                      GSourceFunc     last_func,
                      GDestroyNotify  free_func,
                      gpointer        data)
{
  if (job_pool_thread_is_current (self))
    {
      g_autoptr(GSource) later = g_idle_source_new ();

      self->free_on_exit = TRUE;
      self->last_func = last_func;
      self->free_func = free_func;
      self->free_data = data;
      g_source_set_priority (later, G_PRIORITY_HIGH);
      g_source_set_static_name (later, "[joblib-glib] pool freed from its thread");
      g_source_set_callback (later, last_and_quit, self, NULL);
      g_source_attach (later, self->context);
      g_thread_unref (self->thread);
      return;
    }

  if (last_func != NULL)
    job_pool_thread_invoke_sync (self, last_func, data);
  job_pool_thread_invoke_sync (self, quit, self->loop);
  g_thread_join (self->thread);
  if (free_func != NULL)
    free_func (data);
  free_now (self);
}
