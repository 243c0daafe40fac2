/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-batch-inbox-private.h"

typedef struct
{
  JobBatch *batch;      /* (owned) */
  gpointer  item_data;
} Posted;

struct _JobBatchInbox
{
  gatomicrefcount    ref_count;
  GMainContext      *context;   /* (owned) */
  JobBatchInboxFunc  func;

  GMutex             mutex;     /* guards the two fields below */
  GArray            *posted;    /* (element-type Posted) not delivered yet */
  gboolean           scheduled; /* a delivery source is attached */
};

JobBatchInbox *
job_batch_inbox_new (GMainContext      *context,
                     JobBatchInboxFunc  func)
{
  JobBatchInbox *inbox = g_new0 (JobBatchInbox, 1);

  g_atomic_ref_count_init (&inbox->ref_count);
  inbox->context = g_main_context_ref (context);
  inbox->func = func;
  g_mutex_init (&inbox->mutex);
  inbox->posted = g_array_new (FALSE, FALSE, sizeof (Posted));
  return inbox;
}

JobBatchInbox *
job_batch_inbox_ref (JobBatchInbox *inbox)
{
  g_atomic_ref_count_inc (&inbox->ref_count);
  return inbox;
}

void
job_batch_inbox_unref (JobBatchInbox *inbox)
{
  if (!g_atomic_ref_count_dec (&inbox->ref_count))
    return;

  /* Only when the owner's context went away with a delivery pending: the
   * items' data is the owner's, which cannot be freed here. */
  for (guint i = 0; i < inbox->posted->len; i++)
    job_batch_unref (g_array_index (inbox->posted, Posted, i).batch);
  g_array_unref (inbox->posted);
  g_mutex_clear (&inbox->mutex);
  g_main_context_unref (inbox->context);
  g_free (inbox);
}

/* On the owner's context: everything posted so far, in order. Batches
 * posted while these are delivered wait for the next source, so that a
 * busy pool cannot keep the owner's loop in one callback. */
static gboolean
deliver (gpointer data)
{
  JobBatchInbox *inbox = data;
  GArray *posted;

  g_mutex_lock (&inbox->mutex);
  posted = inbox->posted;
  inbox->posted = g_array_new (FALSE, FALSE, sizeof (Posted));
  inbox->scheduled = FALSE;
  g_mutex_unlock (&inbox->mutex);

  for (guint i = 0; i < posted->len; i++)
    {
      Posted *item = &g_array_index (posted, Posted, i);

      inbox->func (item->batch, item->item_data);
      job_batch_unref (item->batch);
    }
  g_array_unref (posted);
  return G_SOURCE_REMOVE;
}

void
job_batch_inbox_post (JobBatchInbox *inbox,
                      JobBatch      *batch,
                      gpointer       item_data)
{
  Posted item = { job_batch_ref (batch), item_data };
  gboolean schedule;

  g_mutex_lock (&inbox->mutex);
  g_array_append_val (inbox->posted, item);
  schedule = !inbox->scheduled;
  inbox->scheduled = TRUE;
  g_mutex_unlock (&inbox->mutex);

  if (schedule)
    {
      g_autoptr(GSource) source = g_idle_source_new ();

      g_source_set_priority (source, G_PRIORITY_DEFAULT);
      g_source_set_static_name (source, "[joblib-glib] finished batches");
      g_source_set_callback (source, deliver, job_batch_inbox_ref (inbox),
                             (GDestroyNotify) job_batch_inbox_unref);
      g_source_attach (source, inbox->context);
    }
}
