/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz target for the worker protocol's frame reader: the bytes a parent
 * reads from a worker's pipe, or a worker from its parent's. Both trust
 * nothing the peer sends (job-worker-protocol.c).
 *
 * The input is a byte stream of any number of frames. Each is read with
 * job_worker_read_frame() (header checks, size limit, payload decode and
 * normal-form check), and every value read is then taken apart the way
 * the readers do. The first error ends the stream, as it ends a worker.
 *
 * Built with -Dfuzzing=true (tools/fuzz.sh) it is a libFuzzer target;
 * otherwise main() runs it over the files and directories given on the
 * command line (the seed corpus tests/fuzz/corpus-frame/) as a plain test.
 */
#include "config.h"

#include <gio/gio.h>

#include "job-error.h"
#include "job-worker-protocol-private.h"

/* A small limit: a fuzzer's huge length fields are refused up front,
 * as a reader refuses frames above its limit. */
#define FUZZ_MAX_FRAME (1024 * 1024)

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

/* Reads every child and basic value of @value, bounded in depth. */
static void
walk (GVariant *value,
      guint     depth)
{
  if (g_variant_is_container (value))
    {
      gsize n = g_variant_n_children (value);

      for (gsize i = 0; i < n && i < 256 && depth < 64; i++)
        {
          g_autoptr(GVariant) child = g_variant_get_child_value (value, i);

          walk (child, depth + 1);
        }
      return;
    }
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING) ||
      g_variant_is_of_type (value, G_VARIANT_TYPE_OBJECT_PATH) ||
      g_variant_is_of_type (value, G_VARIANT_TYPE_SIGNATURE))
    g_assert (g_variant_get_string (value, NULL) != NULL);
  else
    g_variant_get_size (value);
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autoptr(GBytes) bytes = g_bytes_new (data, size);
  g_autoptr(GInputStream) stream = g_memory_input_stream_new_from_bytes (bytes);

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) body = NULL;
      JobWorkerMessage message = 0;

      body = job_worker_read_frame (stream, FUZZ_MAX_FRAME, &message, NULL, &error);
      if (body == NULL)
        {
          /* a clean end of stream or a protocol error, never another kind */
          g_assert (error == NULL || g_error_matches (error, JOB_ERROR, JOB_ERROR_PROTOCOL));
          break;
        }
      g_assert (g_variant_is_of_type (body, job_worker_message_get_type (message)));
      g_assert (g_variant_is_normal_form (body));
      walk (body, 0);
    }

  return 0;
}

#ifndef JOB_FUZZING_LIBFUZZER
#include "fuzz-main.h"
#endif
