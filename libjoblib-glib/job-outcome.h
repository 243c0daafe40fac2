/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (JOBLIB_GLIB_INSIDE) && !defined (JOBLIB_GLIB_COMPILATION)
# error "Only <joblib-glib.h> can be included directly."
#endif

#include <glib-object.h>

#include "job-version-macros.h"

G_BEGIN_DECLS

#define JOB_TYPE_OUTCOME (job_outcome_get_type ())

typedef struct _JobOutcome JobOutcome;

JOB_AVAILABLE_IN_ALL
GType         job_outcome_get_type     (void) G_GNUC_CONST;
JOB_AVAILABLE_IN_ALL
JobOutcome   *job_outcome_new_value    (guint         index,
                                        GVariant     *value);
JOB_AVAILABLE_IN_ALL
JobOutcome   *job_outcome_new_error    (guint         index,
                                        const GError *error);
JOB_AVAILABLE_IN_ALL
JobOutcome   *job_outcome_ref          (JobOutcome   *self);
JOB_AVAILABLE_IN_ALL
void          job_outcome_unref        (JobOutcome   *self);
JOB_AVAILABLE_IN_ALL
guint         job_outcome_get_index    (JobOutcome   *self);
JOB_AVAILABLE_IN_ALL
gboolean      job_outcome_is_success   (JobOutcome   *self);
JOB_AVAILABLE_IN_ALL
GVariant     *job_outcome_get_value    (JobOutcome   *self);
JOB_AVAILABLE_IN_ALL
const GError *job_outcome_get_error    (JobOutcome   *self);
JOB_AVAILABLE_IN_ALL
gboolean      job_outcome_propagate    (JobOutcome   *self,
                                        GVariant    **value,
                                        GError      **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobOutcome, job_outcome_unref)

G_END_DECLS
