/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "job-scheduled-worker-private.h"
#include "job-shm-pool-private.h"
#include "job-worker-scheduler-private.h"

G_BEGIN_DECLS

/* The inside of JobWorkerScheduler, for the files that implement it:
 * job-worker-scheduler.c (workers, launcher reports, placing requests)
 * and job-worker-scheduler-stop.c (abort, shutdown). Nothing else
 * includes this. Pool thread only, as the scheduler. */

struct _JobWorkerScheduler
{
  JobWorkerSettings  settings;       /* (owned) the pool's, as last handed down */

  JobWorkerLauncher *launcher;       /* (owned) */
  JobWorkerLoss      loss;
  JobShmPool        *shm_pool;       /* (owned) files of large arguments */

  /* pool thread only */
  GQueue             queue;          /* (element-type JobWorkerRequest) waiting */
  GPtrArray         *workers;        /* (element-type JobScheduledWorker) in use */
  GPtrArray         *all;            /* (element-type JobScheduledWorker) not yet ended */
  GHashTable        *start_failures; /* kind → count of ends before ready */
  GHashTable        *kept;           /* kinds kept running without work */
  char              *start_error;    /* (owned) (nullable) why a kind failed */
  guint64            next_id;
  gboolean           pumping;
  gboolean           pump_again;
  gboolean           shutting_down;
};

/* Detaches @worker from scheduling and makes it go (killed if @kill);
 * it may be gone on return. */
void job_worker_scheduler_stop_worker (JobScheduledWorker *worker,
                                       gboolean            kill);

G_END_DECLS
