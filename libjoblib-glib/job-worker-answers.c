/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "job-batch-private.h"
#include "job-i18n-private.h"
#include "job-variant-array-reader-private.h"
#include "job-worker-answers-private.h"

/* The leading fixed-size members of the answers, `(tu…)` and `(td)`:
 * by the GVariant framing, the `t` is at offset 0 and the `u` or `d` at
 * offset 8 of the payload whatever follows, so they are read in place
 * (a child read costs over a thousand instructions, several per task).
 * A payload too short for a member reads as 0, as a child read would. */
static guint64
member_uint64 (GVariant *tuple,
               gsize     offset)
{
  const guint8 *data = g_variant_get_data (tuple);
  guint64 value = 0;

  if (g_variant_get_size (tuple) >= offset + sizeof value)
    memcpy (&value, data + offset, sizeof value);
  return value;
}

static guint32
member_uint32 (GVariant *tuple,
               gsize     offset)
{
  const guint8 *data = g_variant_get_data (tuple);
  guint32 value = 0;

  if (g_variant_get_size (tuple) >= offset + sizeof value)
    memcpy (&value, data + offset, sizeof value);
  return value;
}

static double
member_double (GVariant *tuple,
               gsize     offset)
{
  guint64 bits = member_uint64 (tuple, offset);
  double value;

  memcpy (&value, &bits, sizeof value);
  return value;
}

JobWorkerAnswer
job_worker_answer_apply (JobWorkerRequest *head,
                         JobWorkerMessage   message,
                         GVariant          *body,
                         guint64           *id_out,
                         guint32           *index_out,
                         char             **problem)
{
  guint64 id = 0;
  guint32 index = 0;

  /* Every frame passed the type check (and its normal form, but for the
   * bulk of large ones), and is in host byte order once decoded. */
  id = member_uint64 (body, 0);
  if (message != JOB_WORKER_MESSAGE_DONE)
    index = member_uint32 (body, 8);
  if (id_out != NULL)
    *id_out = id;
  if (index_out != NULL)
    *index_out = index;

  if (head == NULL || head->id != id ||
      (message == JOB_WORKER_MESSAGE_RESULTS && index != head->n_reported) ||
      (message == JOB_WORKER_MESSAGE_ERROR &&
       (index < head->n_reported || index >= head->positions->len)))
    {
      if (problem != NULL)
        *problem = g_strdup_printf (_("answer to an unknown call %" PRIu64 " (task %u)"),
                                    id, index);
      return JOB_WORKER_ANSWER_UNKNOWN;
    }

  switch (message)
    {
    case JOB_WORKER_MESSAGE_RESULTS:
      {
        g_autoptr(GVariant) values = g_variant_get_child_value (body, 2);
        g_auto(JobVariantArrayReader) reader = { 0 };
        g_autoptr(GError) framing_error = NULL;
        gsize n;

        /* The values are the frame's bulk: read in one pass (see
         * job-variant-array-reader-private.h). */
        if (!job_variant_array_reader_init (&reader, values, &framing_error))
          {
            if (problem != NULL)
              *problem = g_strdup (framing_error->message);
            return JOB_WORKER_ANSWER_MALFORMED;
          }
        n = job_variant_array_reader_get_n (&reader);
        if (n > head->positions->len - index)
          {
            if (problem != NULL)
              *problem = g_strdup_printf (_("%zu results for the %u "
                                            "tasks left of call %" PRIu64),
                                          n, head->positions->len - index, id);
            return JOB_WORKER_ANSWER_TOO_MANY;
          }

        head->n_reported = index + n;
        for (gsize i = 0; head->op != NULL && i < n; i++)
          {
            g_autoptr(GVariant) boxed = job_variant_array_reader_next (&reader);
            g_autoptr(GVariant) value = g_variant_get_variant (boxed);

            job_batch_set_result (head->op->batch,
                                  g_array_index (head->positions, guint, index + i), value);
          }
        return JOB_WORKER_ANSWER_TASKS;
      }

    case JOB_WORKER_MESSAGE_ERROR:
      {
        g_autoptr(GError) error = NULL;
        const char *domain;
        const char *text;
        int code;

        head->n_reported = index + 1;
        if (head->op == NULL)
          return JOB_WORKER_ANSWER_TASKS;
        g_variant_get (body, "(tu&si&s)", NULL, NULL, &domain, &code, &text);
        error = g_error_new_literal (g_quark_from_string (domain), code, text);
        job_batch_set_error (head->op->batch,
                             g_array_index (head->positions, guint, index), error);
        return JOB_WORKER_ANSWER_TASKS;
      }

    case JOB_WORKER_MESSAGE_DONE:
      {
        double seconds = member_double (body, 8);

        head->seconds = isnan (seconds) ? 0.0 : MAX (seconds, 0.0);
        if (head->op != NULL)
          head->op->duration += MAX (seconds, 0.0);
        return JOB_WORKER_ANSWER_DONE;
      }

    case JOB_WORKER_MESSAGE_HELLO:
    case JOB_WORKER_MESSAGE_CALL:
    case JOB_WORKER_MESSAGE_GOODBYE:
    case JOB_WORKER_MESSAGE_INIT:
    default:
      g_assert_not_reached ();
    }
}

void
job_worker_answer_mark_running (JobWorkerRequest *head)
{
  if (head != NULL && head->op != NULL && head->n_reported < head->positions->len)
    job_batch_set_running (head->op->batch,
                           g_array_index (head->positions, guint, head->n_reported),
                           g_get_monotonic_time ());
}
