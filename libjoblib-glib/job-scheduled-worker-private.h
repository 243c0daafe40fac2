/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "job-worker-launcher-private.h"
#include "job-worker-request-private.h"

G_BEGIN_DECLS

/* A worker as the worker pool's scheduler sees it: the calls it was sent
 * and has not finished, how many more it may take now, and its idle
 * timer. The scheduler (job-worker-scheduler.c) decides what it runs and
 * when it goes; this file only keeps its accounts. Pool thread only. */

typedef struct
{
  struct _JobWorkerScheduler *scheduler; /* the one it belongs to */
  JobLaunchedWorker  *launched;    /* (owned) until the launcher released it */
  GQueue              requests;    /* (element-type JobWorkerRequest) in flight, in order */
  int                 inner_threads;
  guint               setup;       /* the scheduler's setup when it started */
  GError             *init_error;  /* (owned) (nullable) its initializer failed */
  char               *goodbye;     /* (owned) (nullable) reason the worker gave */
  gboolean            ready;       /* it can take calls */
  gboolean            in_use;      /* scheduled; else it is leaving */

  /* job-scheduled-worker.c only */
  GSource            *idle_source; /* (owned) (nullable) */
  GSourceFunc         on_idle;
  double              call_sec;    /* mean seconds per call, smoothed; < 0: none ended yet */
  gint64              head_since;  /* when the first of requests became the first */
} JobScheduledWorker;

JobScheduledWorker *job_scheduled_worker_new        (struct _JobWorkerScheduler *scheduler,
                                                     int                  inner_threads,
                                                     guint                setup);
/* Also stops its idle timer; not its launched worker. */
void                job_scheduled_worker_free       (JobScheduledWorker  *worker);

/* Calls @on_timeout (with @worker) once it has been idle for @seconds
 * (none when negative or unlimited, or when it is busy, not ready or
 * leaving); replaces an earlier timer. */
void                job_scheduled_worker_arm_idle   (JobScheduledWorker  *worker,
                                                     double               seconds,
                                                     GSourceFunc          on_timeout);
void                job_scheduled_worker_disarm_idle (JobScheduledWorker *worker);

/* Whether it was started with these settings. */
gboolean            job_scheduled_worker_is_current (JobScheduledWorker  *worker,
                                                     int                  inner_threads,
                                                     guint                setup);
/* Sends the worker initializer (@reference (nullable), its @args) when
 * it is of the worker's kind: before any call, so that the worker runs
 * it first. Workers of other kinds could not resolve it and get none. */
void                job_scheduled_worker_send_init  (JobScheduledWorker  *worker,
                                                     GVariant            *reference,
                                                     GVariant            *args);
/* "worker 4242" (the launcher's words when it has some). */
char               *job_scheduled_worker_describe   (JobScheduledWorker  *worker);
/* When @error_body, an ERROR frame, is the initializer's (call 0) and
 * the first, keeps it as init_error and returns TRUE. */
gboolean            job_scheduled_worker_take_init_error (JobScheduledWorker *worker,
                                                          GVariant           *error_body);

/* How many calls it may hold now; @now: the monotonic time, read here
 * when it is 0 and needed, so that one round of the scheduler reads the
 * clock once. */
guint               job_scheduled_worker_get_depth  (JobScheduledWorker  *worker,
                                                     gint64              *now);
/* @request was sent to it (its idle timer stops). */
void                job_scheduled_worker_sent       (JobScheduledWorker  *worker,
                                                     JobWorkerRequest    *request,
                                                     gint64               now);
/* The first of its requests is done (its DONE came): takes it out and
 * returns it; the next one is marked running. */
JobWorkerRequest   *job_scheduled_worker_call_done  (JobScheduledWorker  *worker);
/* It is gone though the pool counted on it (@error or @description:
 * how): warns when it did not end cleanly and no task will say so. */
void                job_scheduled_worker_warn_unseen_end (JobScheduledWorker *worker,
                                                          const GError       *error,
                                                          const char         *description);
/* Keeps the reason of a GOODBYE frame. */
void                job_scheduled_worker_take_goodbye (JobScheduledWorker *worker,
                                                       GVariant           *goodbye_body);

G_END_DECLS
