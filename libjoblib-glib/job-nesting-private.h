/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Where the tasks of a run stand among nested runs: a task that starts a
 * run of its own makes that run nested, and so on. Each run makes one
 * JobNesting for its tasks; its batches carry it, and job_batch_execute()
 * makes it the executing thread's current nesting while the tasks run, so
 * that a run started from a task (on a worker thread, in the caller or on
 * an owner context) finds its parent without being told.
 *
 * The rules (docs/threading.md): a nested run gets at most the share of
 * CPUs its parent leaves to each of its tasks; a run nested inside two
 * levels that ran in parallel runs sequentially (as joblib); a run never
 * shares a pool with a run it is nested in (its workers would be busy
 * waiting for it); and past JOB_PARALLEL_MAX_NESTING_DEPTH enclosing runs
 * a run fails with JOB_ERROR_NESTING_TOO_DEEP. So threads and descriptors
 * stay bounded whatever a recursion does.
 *
 * A JobNesting is immutable and atomically reference-counted: shared by a
 * run and its batches across threads. */
typedef struct _JobNesting JobNesting;

JobNesting *job_nesting_new             (JobNesting *parent,
                                         gconstpointer pool,
                                         int         n_workers);
JobNesting *job_nesting_ref             (JobNesting *self);
void        job_nesting_unref           (JobNesting *self);

/* The nesting of the task running in the calling thread, NULL outside any
 * task of a run (transfer none: valid while that task runs). */
JobNesting *job_nesting_get_current     (void);

/* Makes @self (nullable: then nothing changes) the calling thread's
 * current nesting; returns what to give job_nesting_leave() after. */
JobNesting *job_nesting_enter           (JobNesting *self);
void        job_nesting_leave           (JobNesting *previous);

/* How many runs enclose a task of this nesting (1 for the tasks of a
 * top-level run). */
guint       job_nesting_get_depth       (const JobNesting *self);

/* The most workers a run nested in @parent (nullable: not nested) may
 * use, given the @n_workers it asks for. */
int         job_nesting_limit_workers   (const JobNesting *parent,
                                         int               n_workers);

/* Whether a run nested in @parent would use @pool (a backend, compared
 * by address only) that an enclosing run uses. */
gboolean    job_nesting_uses_pool       (const JobNesting *parent,
                                         gconstpointer     pool);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobNesting, job_nesting_unref)

G_END_DECLS
