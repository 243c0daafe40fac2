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
} JobAutoBatch;

#define JOB_AUTO_BATCH_MIN_IDEAL_DURATION 0.2
#define JOB_AUTO_BATCH_MAX_IDEAL_DURATION 2.0

void  job_auto_batch_init      (JobAutoBatch *self);
guint job_auto_batch_get_size  (JobAutoBatch *self);
void  job_auto_batch_completed (JobAutoBatch *self,
                                guint         batch_size,
                                double        duration);
guint job_auto_batch_tail_size (JobAutoBatch *self,
                                guint         remaining,
                                guint         n_jobs);

G_END_DECLS
