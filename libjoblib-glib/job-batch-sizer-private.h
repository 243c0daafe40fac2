/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* joblib's auto batching: start at one task per batch, aim for batches of
 * 0.2–2 s, smooth the measured durations (EWMA 0.8/0.2) and grow at most
 * twice per adjustment. The state belongs to one run and is touched only on
 * the run's context. */
typedef struct
{
  guint  batch_size;
  double smoothed_duration;  /* seconds, 0 when not measured yet */
} JobBatchSizer;

#define JOB_BATCH_SIZER_MIN_IDEAL_DURATION 0.2
#define JOB_BATCH_SIZER_MAX_IDEAL_DURATION 2.0

void  job_batch_sizer_init            (JobBatchSizer *self);
guint job_batch_sizer_get_size        (JobBatchSizer *self);
void  job_batch_sizer_batch_completed (JobBatchSizer *self,
                                       guint          batch_size,
                                       double         duration);
guint job_batch_sizer_tail_size       (JobBatchSizer *self,
                                       guint          remaining,
                                       guint          n_jobs);

G_END_DECLS
