/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-auto-batch-private.h"

/* Batches shorter than this gain nothing from being split at the tail:
 * handing a batch to a sleeping worker costs tens of microseconds here. */
#define TAIL_SPLIT_MIN_DURATION 0.005

void
job_auto_batch_init (JobAutoBatch *self)
{
  self->batch_size = 1;
  self->smoothed_duration = 0.0;
}

guint
job_auto_batch_get_size (JobAutoBatch *self)
{
  return self->batch_size;
}

static void
adjust (JobAutoBatch *self)
{
  guint old_size = self->batch_size;
  double duration = self->smoothed_duration;
  double ideal;
  guint new_size = old_size;

  if (duration > 0 && duration < JOB_AUTO_BATCH_MIN_IDEAL_DURATION)
    {
      /* Too short to hide the scheduling cost: aim at twice the ideal (to
       * limit oscillations) but never more than double at once, so that a
       * wrong estimate cannot starve the other workers. */
      ideal = 2.0 * old_size * JOB_AUTO_BATCH_MIN_IDEAL_DURATION / duration;
      new_size = (guint) MIN (MIN (2.0 * old_size, ideal), (double) G_MAXINT);
      new_size = MAX (new_size, 1);
    }
  else if (duration > JOB_AUTO_BATCH_MAX_IDEAL_DURATION && old_size >= 2)
    {
      /* Too long: stragglers would keep CPUs idle at the end. Shrink fast. */
      ideal = old_size * JOB_AUTO_BATCH_MIN_IDEAL_DURATION / duration;
      new_size = MAX ((guint) (2.0 * ideal), 1);
    }

  if (new_size != old_size)
    {
      self->batch_size = new_size;
      /* The smoothed duration describes the old size: start over. */
      self->smoothed_duration = 0.0;
    }
}

void
job_auto_batch_completed (JobAutoBatch *self,
                          guint         batch_size,
                          double        duration)
{
  /* Only batches of the current size tell us about it. */
  if (batch_size != self->batch_size)
    return;

  if (self->smoothed_duration == 0.0)
    self->smoothed_duration = MAX (duration, 1e-9);
  else
    self->smoothed_duration = 0.8 * self->smoothed_duration + 0.2 * duration;

  adjust (self);
}

/* Size of the next batch when only @remaining tasks are left: split them
 * finer so that all workers finish at about the same time, as joblib does,
 * but only when batches are long enough for that to matter. */
guint
job_auto_batch_tail_size (JobAutoBatch *self,
                          guint         remaining,
                          guint         n_jobs)
{
  guint size = self->batch_size;
  double per_task;

  if (remaining >= (guint64) size * n_jobs || n_jobs <= 1)
    return size;

  per_task = self->smoothed_duration / MAX (size, 1);
  if (per_task * size < TAIL_SPLIT_MIN_DURATION)
    return size;

  return MAX (1, remaining / (2 * n_jobs));
}
