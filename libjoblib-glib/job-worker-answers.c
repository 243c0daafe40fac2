/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <inttypes.h>
#include <math.h>

#include "job-batch-private.h"
#include "job-i18n-private.h"
#include "job-worker-answers-private.h"

static guint64
child_uint64 (GVariant *tuple,
              gsize     index)
{
  g_autoptr(GVariant) child = g_variant_get_child_value (tuple, index);

  return g_variant_get_uint64 (child);
}

static guint32
child_uint32 (GVariant *tuple,
              gsize     index)
{
  g_autoptr(GVariant) child = g_variant_get_child_value (tuple, index);

  return g_variant_get_uint32 (child);
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

  /* Typed reads of the children: a format string costs more than a
   * small task's whole answer (every frame passed the type check). */
  id = child_uint64 (body, 0);
  if (message != JOB_WORKER_MESSAGE_DONE)
    index = child_uint32 (body, 1);
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
        gsize n = g_variant_n_children (values);

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
            g_autoptr(GVariant) boxed = g_variant_get_child_value (values, i);
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
        g_autoptr(GVariant) child = g_variant_get_child_value (body, 1);
        double seconds = g_variant_get_double (child);

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
