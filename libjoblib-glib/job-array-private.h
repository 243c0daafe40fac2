/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "job-array.h"
#include "job-error.h"

G_BEGIN_DECLS

/* The first element of a JobArray's variant form. */
#define JOB_ARRAY_VARIANT_TAG "joblib.array"

gboolean  job_array_parse_typestr  (const char  *typestr,
                                    char         normalized[8],
                                    gsize       *item_size,
                                    JobError     code,
                                    GError     **error);
gboolean  job_array_compute_size   (const char  *typestr,
                                    const gsize *shape,
                                    guint        n_dims,
                                    JobError     code,
                                    gsize       *n_bytes,
                                    GError     **error);
JobArray *job_array_new_checked    (const char  *typestr,
                                    const gsize *shape,
                                    guint        n_dims,
                                    GBytes      *data,
                                    JobError     code,
                                    GError     **error);

G_END_DECLS
