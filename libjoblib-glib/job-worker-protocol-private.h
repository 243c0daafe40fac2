/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The worker protocol: how a parent and a worker process talk over a byte
 * stream (pipes for local workers, a socket later). It knows nothing of
 * the transport; docs/worker-protocol.md is its reference for workers in
 * other languages.
 *
 * A frame is an 8-byte header followed by a payload:
 *
 *   offset 0  u32 little-endian  payload length in bytes
 *   offset 4  u8                 protocol version (JOB_WORKER_PROTOCOL_VERSION)
 *   offset 5  u8                 message type (JobWorkerMessage)
 *   offset 6  u16                reserved, 0
 *
 * The payload is one GVariant, serialized little-endian, whose type is
 * fixed by the message type:
 *
 *   HELLO      worker → parent  (sxa{sv})  kind, pid, extra info
 *   CALL       parent → worker  (tba(sa{sv})auava(uusst))
 *                 call id, stop after the first error, the function
 *                 references, per task the index of its reference, per
 *                 task its argument tuple (arguments sent through shared
 *                 memory are `()` there), then the shared-memory arguments
 *                 in task order (task, position, file path, GVariant type
 *                 string, size in bytes)
 *   RESULTS    worker → parent  (tuav)     call id, index of the first
 *                 task, the values of consecutive tasks from there
 *   ERROR      worker → parent  (tusis)    call id, task index, error
 *                 domain (quark string), code, message
 *   DONE       worker → parent  (td)       call id, seconds spent on it
 *   GOODBYE    either way       (s)        reason; empty when normal
 *   INIT       parent → worker  ((sa{sv})v) an initializer: a function
 *                 reference and its argument tuple, run once; on failure
 *                 the worker sends ERROR for call 0, task 0, and exits
 *
 * The worker sends HELLO first, then answers each CALL with RESULTS and
 * ERROR frames that together cover the tasks it ran, in task order, then
 * DONE; calls are answered in order. A task not reported before DONE was
 * skipped (stop after the first error). Version 2 replaced the RESULT
 * frame per task of version 1 by RESULTS, and the task tuples of CALL by
 * parallel arrays: per-task GVariant work dominated small tasks.
 */

#define JOB_WORKER_PROTOCOL_VERSION 2
#define JOB_WORKER_FRAME_HEADER_SIZE 8
/* Frames above this are refused unless a reader asks for more. */
#define JOB_WORKER_FRAME_DEFAULT_MAX (1u << 30)

typedef enum
{
  JOB_WORKER_MESSAGE_HELLO = 1,
  JOB_WORKER_MESSAGE_CALL,
  JOB_WORKER_MESSAGE_RESULTS,
  JOB_WORKER_MESSAGE_ERROR,
  JOB_WORKER_MESSAGE_DONE,
  JOB_WORKER_MESSAGE_GOODBYE,
  JOB_WORKER_MESSAGE_INIT,
} JobWorkerMessage;

/* The status page: a worker that finds JOB_WORKER_STATUS_FD in its
 * environment maps that fd (shared, 4096 bytes) and stores, before each
 * task, the batch id (u64 at offset 0) then the task position (u32 at
 * offset 8). The parent reads it when the worker dies to name the task
 * that was running, even when results before it were still buffered. */
#define JOB_WORKER_STATUS_FD_ENV "JOB_WORKER_STATUS_FD"
#define JOB_WORKER_STATUS_SIZE 4096

typedef struct
{
  volatile guint64 batch_id;
  volatile guint32 position;
  volatile guint32 running;
} JobWorkerStatus;

const GVariantType *job_worker_message_get_type (JobWorkerMessage   message);
const char         *job_worker_message_get_name (JobWorkerMessage   message);

void      job_worker_frame_append       (GByteArray        *out,
                                         JobWorkerMessage   message,
                                         GVariant          *body);
void      job_worker_frame_append_call  (GByteArray        *out,
                                         guint64            call_id,
                                         gboolean           stop_on_error,
                                         GVariant * const  *references,
                                         guint              n_references,
                                         const guint32     *indexes,
                                         GVariant * const  *args,
                                         guint              n_tasks,
                                         GVariant          *shared);
/* RESULTS and DONE frames, written without building a GVariant: the
 * bytes of job_worker_frame_append() for the same values. */
void      job_worker_frame_append_results (GByteArray      *out,
                                           guint64          call_id,
                                           guint32          first,
                                           GVariant * const *values,
                                           guint            n_values);
void      job_worker_frame_append_done  (GByteArray        *out,
                                         guint64            call_id,
                                         double             seconds);
gboolean  job_worker_frame_parse_header (const guint8      *header,
                                         gsize              max_length,
                                         guint32           *length,
                                         JobWorkerMessage  *message,
                                         GError           **error);
GVariant *job_worker_frame_decode       (JobWorkerMessage   message,
                                         GBytes            *payload,
                                         gboolean           check_normal,
                                         GError           **error);

/* Blocking helpers for workers. read_frame returns NULL without an error
 * at a clean end of stream. */
GVariant *job_worker_read_frame         (GInputStream      *in,
                                         gsize              max_length,
                                         JobWorkerMessage  *message,
                                         GCancellable      *cancellable,
                                         GError           **error);
/* The same over any source: @read_all reads @count bytes into @buffer,
 * fewer only where the source ends (as g_input_stream_read_all()). */
typedef gboolean (*JobWorkerReadAllFunc) (gpointer        source,
                                          void           *buffer,
                                          gsize           count,
                                          gsize          *n_read,
                                          GCancellable   *cancellable,
                                          GError        **error);
GVariant *job_worker_read_frame_from    (JobWorkerReadAllFunc read_all,
                                         gpointer          source,
                                         gsize             max_length,
                                         JobWorkerMessage *message,
                                         GCancellable     *cancellable,
                                         GError          **error);
gboolean  job_worker_write_frame        (GOutputStream     *out,
                                         JobWorkerMessage   message,
                                         GVariant          *body,
                                         GCancellable      *cancellable,
                                         GError           **error);

G_END_DECLS
