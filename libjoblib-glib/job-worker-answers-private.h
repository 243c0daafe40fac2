/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "job-worker-request-private.h"
#include "job-worker-protocol-private.h"

G_BEGIN_DECLS

/* The answers of a worker (RESULTS, ERROR and DONE frames) applied to the
 * oldest request it was sent, for the process pool and the Slurm pool
 * alike. Answers come in task order (docs/worker-protocol.md): a RESULTS
 * frame starts right after the last answered task, an ERROR is at or
 * after it, DONE ends the request. Used on the pool's thread only. */

typedef enum
{
  JOB_WORKER_ANSWER_TASKS,    /* RESULTS or ERROR: tasks of the head got their outcome */
  JOB_WORKER_ANSWER_DONE,     /* DONE: the head is complete; the caller pops and finishes it */
  JOB_WORKER_ANSWER_UNKNOWN,  /* an answer to another call, or out of task order */
  JOB_WORKER_ANSWER_TOO_MANY, /* more results than the head has tasks left */
  JOB_WORKER_ANSWER_MALFORMED, /* RESULTS whose array of values has broken framing */
} JobWorkerAnswer;

/* Applies @message (RESULTS, ERROR or DONE; @body as decoded) to @head,
 * the worker's oldest request in flight (NULL when none). The outcomes
 * of an abandoned request are dropped; a DONE adds the worker's duration.
 * For UNKNOWN, TOO_MANY and MALFORMED nothing changes and @problem (when not NULL)
 * says what was wrong; @id and @index (nullable) are the call and task
 * the frame named. */
JobWorkerAnswer job_worker_answer_apply        (JobWorkerRequest *head,
                                                JobWorkerMessage   message,
                                                GVariant          *body,
                                                guint64           *id,
                                                guint32           *index,
                                                char             **problem);

/* Marks the next task of @head (nullable) as running, for the timeout
 * watch of the run: answers come in order, so that is its first task
 * without an outcome. */
void            job_worker_answer_mark_running (JobWorkerRequest *head);

G_END_DECLS
