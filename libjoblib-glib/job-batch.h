/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (JOBLIB_GLIB_INSIDE) && !defined (JOBLIB_GLIB_COMPILATION)
# error "Only <joblib-glib.h> can be included directly."
#endif

#include "job-call.h"

G_BEGIN_DECLS

#define JOB_TYPE_BATCH (job_batch_get_type ())

typedef struct _JobBatch JobBatch;

JOB_AVAILABLE_IN_ALL
GType         job_batch_get_type             (void) G_GNUC_CONST;
JOB_AVAILABLE_IN_ALL
JobBatch     *job_batch_new                  (guint          first_index,
                                              JobCall      **calls,
                                              guint          n_calls,
                                              GCancellable  *cancellable);
JOB_AVAILABLE_IN_ALL
JobBatch     *job_batch_ref                  (JobBatch      *self);
JOB_AVAILABLE_IN_ALL
void          job_batch_unref                (JobBatch      *self);
JOB_AVAILABLE_IN_ALL
guint         job_batch_get_first_index      (JobBatch      *self);
JOB_AVAILABLE_IN_ALL
guint         job_batch_get_n_tasks          (JobBatch      *self);
JOB_AVAILABLE_IN_ALL
JobCall      *job_batch_get_call             (JobBatch      *self,
                                              guint          position);
JOB_AVAILABLE_IN_ALL
GCancellable *job_batch_get_cancellable      (JobBatch      *self);
JOB_AVAILABLE_IN_ALL
gboolean      job_batch_get_main_thread_only (JobBatch      *self);
JOB_AVAILABLE_IN_ALL
void          job_batch_set_result           (JobBatch      *self,
                                              guint          position,
                                              GVariant      *value);
JOB_AVAILABLE_IN_ALL
void          job_batch_set_error            (JobBatch      *self,
                                              guint          position,
                                              const GError  *error);
JOB_AVAILABLE_IN_ALL
GVariant     *job_batch_get_result           (JobBatch      *self,
                                              guint          position);
JOB_AVAILABLE_IN_ALL
const GError *job_batch_get_error            (JobBatch      *self,
                                              guint          position);
JOB_AVAILABLE_IN_ALL
void          job_batch_execute              (JobBatch      *self);
JOB_AVAILABLE_IN_ALL
double        job_batch_get_duration         (JobBatch      *self);
JOB_AVAILABLE_IN_ALL
void          job_batch_set_duration         (JobBatch      *self,
                                              double         seconds);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobBatch, job_batch_unref)

G_END_DECLS
