/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "job-batch.h"

G_BEGIN_DECLS

/*
 * JobBatchInbox: where finished batches come back to the thread that
 * submitted them, several per wake-up. A worker pool posts each finished
 * batch from its own thread; the first post since the owner's last
 * delivery wakes the owner's main context once, and that one callback
 * delivers every batch posted until then, in the order they were posted.
 * With many small batches in flight this replaces a GTask, its source and
 * a wake-up per batch by one source and one wake-up per group.
 *
 * Thread rules: _new, and the deliveries, on the thread that iterates
 * @context; _post, _ref and _unref from any thread. The reference count
 * is atomic; whoever posts holds a reference until _post returns.
 */
typedef struct _JobBatchInbox JobBatchInbox;

/* Called on @context with each posted batch and the @item_data given to
 * _post (its owner's to free). */
typedef void (*JobBatchInboxFunc) (JobBatch *batch,
                                   gpointer  item_data);

JobBatchInbox *job_batch_inbox_new   (GMainContext      *context,
                                      JobBatchInboxFunc  func);
JobBatchInbox *job_batch_inbox_ref   (JobBatchInbox     *inbox);
void           job_batch_inbox_unref (JobBatchInbox     *inbox);
/* Any thread: queues @batch (a reference is taken) for delivery. */
void           job_batch_inbox_post  (JobBatchInbox     *inbox,
                                      JobBatch          *batch,
                                      gpointer           item_data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobBatchInbox, job_batch_inbox_unref)

G_END_DECLS
