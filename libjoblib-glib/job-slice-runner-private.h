/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "job-batch.h"

G_BEGIN_DECLS

/* How long one slice of work on a main context may take: half a frame at
 * 60 Hz, so that the loop still has the other half to draw and to handle
 * input. */
#define JOB_SLICE_BUDGET_USEC 8000

/* Runs @batch on @context in slices of about JOB_SLICE_BUDGET_USEC (one
 * task when a task takes longer), whatever its size, leaving the context's
 * main loop free between two slices; then returns %TRUE on @task (whose
 * task data the runner does not use).
 *
 * This is the one way work enters a caller's main context: main-thread-only
 * functions on their owner context, the sequential backend on the run's.
 * The batches queued on one context run one after the other, in order,
 * from a single idle-priority source, so that two queued batches never
 * make one long iteration together. A batch's task that iterates @context
 * itself (a nested loop) lets the batches queued behind its own run.
 *
 * Thread safety: callable from any thread; the batch runs in the thread
 * that iterates @context, and @task returns from there. */
void job_slice_runner_run (GMainContext *context,
                           JobBatch     *batch,
                           GTask        *task);

G_END_DECLS
