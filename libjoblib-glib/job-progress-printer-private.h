/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Writes joblib's verbose lines, e.g.
 *   [Parallel(n_jobs=2)]: Done   6 out of   6 | elapsed:    0.0s finished
 * Owned by one run; called on the run's context only. */
typedef struct _JobProgressPrinter JobProgressPrinter;

typedef void (*JobProgressWriter) (const char *line,
                                   gpointer    user_data);

JobProgressPrinter *job_progress_printer_new           (int                n_jobs_requested,
                                                        int                verbose,
                                                        JobProgressWriter  writer,
                                                        gpointer           user_data);
void                job_progress_printer_free          (JobProgressPrinter *self);
void                job_progress_printer_started       (JobProgressPrinter *self,
                                                        const char         *backend_name,
                                                        int                 n_workers);
void                job_progress_printer_batch_done    (JobProgressPrinter *self,
                                                        guint               n_completed,
                                                        guint               n_dispatched_batches,
                                                        int                 total,
                                                        guint               pre_dispatch_tasks);
void                job_progress_printer_finished      (JobProgressPrinter *self,
                                                        guint               n_completed);
char               *job_progress_printer_format_time   (double              seconds);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobProgressPrinter, job_progress_printer_free)

G_END_DECLS
