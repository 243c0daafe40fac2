/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-context-call-private.h"

typedef struct
{
  GSourceFunc func;
  gpointer    data;
  GMutex      mutex;
  GCond       cond;
  gboolean    done;  /* guarded by mutex */
} SyncCall;

static gboolean
run_sync_call (gpointer user_data)
{
  SyncCall *call = user_data;

  call->func (call->data);
  g_mutex_lock (&call->mutex);
  call->done = TRUE;
  g_cond_signal (&call->cond);
  g_mutex_unlock (&call->mutex);
  return G_SOURCE_REMOVE;
}

void
job_context_call_sync (GMainContext *context,
                       GThread      *owner,
                       GSourceFunc   func,
                       gpointer      data)
{
  SyncCall call = { func, data, };

  if (g_thread_self () == owner)
    {
      func (data);
      return;
    }

  g_mutex_init (&call.mutex);
  g_cond_init (&call.cond);
  g_main_context_invoke (context, run_sync_call, &call);
  g_mutex_lock (&call.mutex);
  while (!call.done)
    g_cond_wait (&call.cond, &call.mutex);
  g_mutex_unlock (&call.mutex);
  g_mutex_clear (&call.mutex);
  g_cond_clear (&call.cond);
}
