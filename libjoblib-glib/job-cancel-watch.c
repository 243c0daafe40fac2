/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-cancel-watch-private.h"

/* The cancellable wakes the context through a source that its
 * "cancelled" handler makes ready. Not a g_cancellable_source_new():
 * GLib 2.74 leaks a GCancellableSource whose last reference is dropped
 * while another thread is still inside g_cancellable_cancel() (the source
 * takes a reference for its signal handler, then disconnects the handler
 * that would drop it), which is what happens when a run is cancelled from
 * another thread. The handler here holds its own reference to the source,
 * and g_cancellable_disconnect() waits for a running handler. */

struct _JobCancelWatch
{
  GCancellable *cancellable;  /* (owned) */
  GSource      *source;       /* (owned) */
  gulong        handler_id;
};

static gboolean
watch_source_dispatch (GSource     *source,
                       GSourceFunc  callback,
                       gpointer     user_data)
{
  g_source_set_ready_time (source, -1);
  callback (user_data);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs watch_source_funcs = {
  NULL, NULL, watch_source_dispatch, NULL, NULL, NULL
};

/* On the cancelling thread: only thread-safe GSource calls. */
static void
wake_source (GCancellable *cancellable,
             gpointer      user_data)
{
  g_source_set_ready_time (user_data, 0);
}

JobCancelWatch *
job_cancel_watch_new (GCancellable   *cancellable,
                      GMainContext   *context,
                      const char     *name,
                      GSourceFunc     callback,
                      gpointer        user_data,
                      GDestroyNotify  destroy)
{
  JobCancelWatch *watch = g_new0 (JobCancelWatch, 1);

  watch->cancellable = g_object_ref (cancellable);
  watch->source = g_source_new (&watch_source_funcs, sizeof (GSource));
  g_source_set_static_name (watch->source, name);
  g_source_set_callback (watch->source, callback, user_data, destroy);
  g_source_attach (watch->source, context);
  /* Connected once attached: a cancel from now on wakes the context. */
  watch->handler_id = g_cancellable_connect (cancellable, G_CALLBACK (wake_source),
                                             g_source_ref (watch->source),
                                             (GDestroyNotify) g_source_unref);
  return watch;
}

void
job_cancel_watch_free (JobCancelWatch *watch)
{
  if (watch->handler_id != 0)
    g_cancellable_disconnect (watch->cancellable, watch->handler_id);
  g_source_destroy (watch->source);
  g_source_unref (watch->source);
  g_object_unref (watch->cancellable);
  g_free (watch);
}
