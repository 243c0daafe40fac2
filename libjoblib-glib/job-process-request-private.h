/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "job-batch.h"

G_BEGIN_DECLS

/* What the process pool sends to workers: a batch handed to the pool
 * (JobProcessBatch) is split into one request per function-reference kind
 * (usually one); a request is one CALL frame for one worker. Used on the
 * pool's thread only. */

typedef struct
{
  GTask    *task;        /* (owned) returns when every request is done */
  JobBatch *batch;       /* (owned) */
  guint     n_requests;
  double    duration;    /* seconds, as reported by the workers */
} JobProcessBatch;

typedef struct
{
  JobProcessBatch *op;         /* (nullable): NULL once abandoned */
  char            *kind;       /* (owned) */
  GArray          *positions;  /* (owned) (element-type guint) batch positions */
  guint64          id;
  GBytes          *frame;      /* (owned) (nullable) the CALL frame */
  GPtrArray       *shm_paths;  /* (owned) (nullable) removed when freed */
  guint            n_reported; /* tasks answered so far, in order */
} JobProcessRequest;

JobProcessBatch *job_process_batch_new          (GTask              *task,
                                                 JobBatch           *batch);
GPtrArray       *job_process_batch_split        (JobProcessBatch    *op,
                                                 guint64            *next_id);
void             job_process_batch_release      (JobProcessBatch    *op);

gboolean         job_process_request_build      (JobProcessRequest  *request,
                                                 guint64             max_nbytes,
                                                 const char         *folder,
                                                 GError            **error);
gboolean         job_process_request_is_cancelled (JobProcessRequest *request);
void             job_process_request_abandon    (JobProcessRequest  *request,
                                                 const GError       *error);
void             job_process_request_finish     (JobProcessRequest  *request,
                                                 const GError       *error);
void             job_process_request_free       (JobProcessRequest  *request);

G_END_DECLS
