/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Runs a callback on a main context once a GCancellable is cancelled,
 * whichever thread cancels it.
 *
 * Thread safety: create and free a watch on the thread that owns
 * @context; the cancellable may be cancelled from any thread. */
typedef struct _JobCancelWatch JobCancelWatch;

/* @callback (called once, on @context; its return value is ignored) gets
 * @user_data, which @destroy frees when the watch is freed. */
JobCancelWatch *job_cancel_watch_new  (GCancellable   *cancellable,
                                       GMainContext   *context,
                                       const char     *name,
                                       GSourceFunc     callback,
                                       gpointer        user_data,
                                       GDestroyNotify  destroy);
/* Disconnects from the cancellable and removes the source; allowed
 * from inside the callback. */
void            job_cancel_watch_free (JobCancelWatch *watch);

G_END_DECLS
