/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "job-batch.h"
#include "job-nesting-private.h"

G_BEGIN_DECLS

/* Monotonic time (µs) at which the task now running in the batch started,
 * or 0 when none runs; read by the timeout watch from the dispatcher. */
gint64   job_batch_get_running_since     (JobBatch *self,
                                          guint    *position);
void     job_batch_set_stop_on_error     (JobBatch *self,
                                          gboolean  stop_on_error);
void     job_batch_set_track_running     (JobBatch *self,
                                          gboolean  track_running);
gboolean job_batch_get_started           (JobBatch *self);
/* The nesting of the batch's tasks, current while they execute. */
void     job_batch_set_nesting           (JobBatch   *self,
                                          JobNesting *nesting);
/* Moves the result out of the batch: the dispatcher keeps it without a
 * reference round trip. */
GVariant *job_batch_steal_result         (JobBatch *self,
                                          guint     position);
/* For backends that do not run job_batch_execute() in this process
 * (processes): what job_batch_execute() records itself. */
void     job_batch_set_running           (JobBatch *self,
                                          guint     position,
                                          gint64    since);
gboolean job_batch_get_stop_on_error     (JobBatch *self);
/* Runs the next tasks, at least one, while the slice stays within
 * @budget_usec with one more task as long as the last; TRUE once every
 * task has run. job_batch_execute() is one slice of G_MAXINT64. Same
 * thread rules as job_batch_execute(); slices may come from different
 * iterations of a main loop, never from two threads at once. */
gboolean job_batch_execute_slice         (JobBatch *self,
                                          gint64    budget_usec);

G_END_DECLS
