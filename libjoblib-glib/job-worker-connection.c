/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <gio/gfiledescriptorbased.h>
#include <glib-unix.h>

#include "job-error.h"
#include "job-i18n-private.h"
#include "job-worker-connection-private.h"

/* Reads ask for at least this much: a batch of small results arrives in
 * one read. */
#define READ_CHUNK (64 * 1024)

struct _JobWorkerConnection
{
  gatomicrefcount               ref_count;
  char                         *kind;
  gint64                        pid;          /* from the HELLO */
  JobWorkerConnectionFlags      flags;
  GIOStream                    *stream;       /* (owned) (nullable) */
  GInputStream                 *in;           /* (owned) pollable */
  GOutputStream                *out;          /* (owned) (nullable) pollable */
  /* The pipes of a local worker are read and written with read(2) and
   * writev(2) on their descriptors (non-blocking): GIO's pollable
   * streams poll before every read and twice before every write. */
  int                           in_fd;        /* -1 through the stream */
  int                           out_fd;       /* -1 through the stream */
  GSource                      *in_source;    /* (owned) (nullable) */
  GSource                      *out_source;   /* (owned) (nullable) */
  GSource                      *end_source;   /* (owned) (nullable) */
  guint8                       *rbuf;         /* (owned) (nullable) */
  gsize                         rlen;         /* bytes in rbuf */
  gsize                         ralloc;       /* size of rbuf */
  GQueue                        wqueue;       /* (element-type GBytes) (owned) */
  gsize                         wpos;         /* written of the head */
  GError                       *error;        /* (owned) (nullable) why it ended */
  JobWorkerConnectionFrameFunc  frame_func;
  JobWorkerConnectionEndFunc    end_func;
  gpointer                      user_data;
  guint                         hello : 1;
  guint                         closing : 1;  /* the connection is over */
  guint                         held : 1;     /* in the thread's held writes */
};

/* Writes held on this thread (see job_worker_connection_hold_writes()). */
typedef struct
{
  guint      depth;
  GPtrArray *connections;  /* (element-type JobWorkerConnection) (owned) */
} HeldWrites;

static void
held_writes_free (gpointer data)
{
  HeldWrites *held = data;

  g_ptr_array_unref (held->connections);
  g_free (held);
}

static GPrivate held_writes = G_PRIVATE_INIT (held_writes_free);

static void connection_lost (JobWorkerConnection *connection,
                             GError              *error);

JobWorkerConnection *
job_worker_connection_ref (JobWorkerConnection *connection)
{
  g_atomic_ref_count_inc (&connection->ref_count);
  return connection;
}

static void
destroy_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

void
job_worker_connection_unref (JobWorkerConnection *connection)
{
  if (!g_atomic_ref_count_dec (&connection->ref_count))
    return;

  destroy_source (&connection->in_source);
  destroy_source (&connection->out_source);
  destroy_source (&connection->end_source);
  if (connection->stream != NULL)
    g_io_stream_close (connection->stream, NULL, NULL);
  g_clear_object (&connection->stream);
  g_clear_object (&connection->in);
  g_clear_object (&connection->out);
  g_free (connection->rbuf);
  g_queue_clear_full (&connection->wqueue, (GDestroyNotify) g_bytes_unref);
  g_clear_error (&connection->error);
  g_free (connection->kind);
  g_free (connection);
}

static gboolean
handle_hello (JobWorkerConnection  *connection,
              JobWorkerMessage      message,
              GVariant             *body,
              GError              **error)
{
  const char *kind;

  if (message == JOB_WORKER_MESSAGE_GOODBYE)
    {
      const char *reason;

      g_variant_get (body, "(&s)", &reason);
      g_set_error (error, JOB_ERROR, JOB_ERROR_PROTOCOL,
                   _("The worker left before its handshake: %s"), reason);
      return FALSE;
    }
  if (message != JOB_WORKER_MESSAGE_HELLO)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_PROTOCOL,
                   _("The worker sent a “%s” frame before its handshake"),
                   job_worker_message_get_name (message));
      return FALSE;
    }

  g_variant_get (body, "(&sx@a{sv})", &kind, &connection->pid, NULL);
  if (g_strcmp0 (kind, connection->kind) != 0)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_PROTOCOL,
                   _("The worker says it is a “%s” worker, expected “%s”"),
                   kind, connection->kind);
      return FALSE;
    }

  connection->hello = TRUE;
  return TRUE;
}

/* Hands every complete frame of the read buffer to the owner. */
static gboolean
dispatch_frames (JobWorkerConnection  *connection,
                 GError              **error)
{
  gsize pos = 0;
  gboolean ok = TRUE;

  while (!connection->closing &&
         connection->rlen - pos >= JOB_WORKER_FRAME_HEADER_SIZE)
    {
      g_autoptr(GBytes) payload = NULL;
      g_autoptr(GVariant) body = NULL;
      JobWorkerMessage message;
      guint32 length;

      if (!job_worker_frame_parse_header (connection->rbuf + pos,
                                          JOB_WORKER_FRAME_DEFAULT_MAX,
                                          &length, &message, error))
        {
          ok = FALSE;
          break;
        }
      if (connection->rlen - pos - JOB_WORKER_FRAME_HEADER_SIZE < length)
        break;

      if (pos == 0 && length > READ_CHUNK &&
          connection->rlen == JOB_WORKER_FRAME_HEADER_SIZE + length)
        {
          /* A big frame alone in the buffer: hand the buffer over rather
           * than copying it (a second copy of a 1 GiB frame may not fit). */
          payload = g_bytes_new_with_free_func (connection->rbuf + JOB_WORKER_FRAME_HEADER_SIZE,
                                                length, g_free, connection->rbuf);
          connection->rbuf = NULL;
          connection->rlen = connection->ralloc = 0;
        }
      else
        {
          guint8 *copy = g_try_malloc (MAX (length, 1));

          if (copy == NULL)
            {
              g_set_error (error, JOB_ERROR, JOB_ERROR_PROTOCOL,
                           _("Out of memory for a “%s” frame of %u bytes"),
                           job_worker_message_get_name (message), length);
              ok = FALSE;
              break;
            }
          memcpy (copy, connection->rbuf + pos + JOB_WORKER_FRAME_HEADER_SIZE, length);
          payload = g_bytes_new_take (copy, length);
          pos += JOB_WORKER_FRAME_HEADER_SIZE + length;
        }

      body = job_worker_frame_decode (message, payload, TRUE, error);
      if (body == NULL)
        {
          ok = FALSE;
          break;
        }

      if (!connection->hello)
        {
          if (!handle_hello (connection, message, body, error))
            {
              ok = FALSE;
              break;
            }
          continue;
        }

      if (message == JOB_WORKER_MESSAGE_HELLO || message == JOB_WORKER_MESSAGE_CALL ||
          message == JOB_WORKER_MESSAGE_INIT)
        {
          g_set_error (error, JOB_ERROR, JOB_ERROR_PROTOCOL,
                       _("The worker sent an unexpected “%s” frame"),
                       job_worker_message_get_name (message));
          ok = FALSE;
          break;
        }

      connection->frame_func (connection, message, body, connection->user_data);
    }

  if (pos > 0 && !connection->closing)
    {
      memmove (connection->rbuf, connection->rbuf + pos, connection->rlen - pos);
      connection->rlen -= pos;
    }
  return ok;
}

/* Makes room for @want more bytes. The buffer grows with the data that
 * arrived, never with what a header announces: a header promising 1 GiB
 * followed by one byte costs 64 KiB, and an allocation that fails ends
 * this connection, not the process. */
static gboolean
reserve (JobWorkerConnection  *connection,
         gsize                 want,
         GError              **error)
{
  gsize needed = connection->rlen + want;
  guint8 *data;

  if (needed <= connection->ralloc)
    return TRUE;
  data = g_try_realloc (connection->rbuf, needed);
  if (data == NULL)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_PROTOCOL,
                   _("Out of memory for a frame: cannot grow the read buffer to %zu bytes"),
                   needed);
      return FALSE;
    }
  connection->rbuf = data;
  connection->ralloc = needed;
  return TRUE;
}

/* A read that does not wait: -1 without @error when nothing is there. */
static gssize
read_input (JobWorkerConnection  *connection,
            guint8               *buffer,
            gsize                 want,
            GError              **error)
{
  GError *local_error = NULL;
  gssize n;

  if (connection->in_fd < 0)
    {
      n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (connection->in),
                                                    buffer, want, NULL, &local_error);
      if (n < 0 && g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        g_clear_error (&local_error);
      else if (n < 0)
        g_propagate_error (error, local_error);
      return n;
    }

  do
    n = read (connection->in_fd, buffer, want);
  while (n < 0 && errno == EINTR);
  if (n < 0 && errno != EAGAIN)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("Error reading from the worker: %s"), g_strerror (saved));
    }
  return n;
}

static gboolean
on_readable (GObject  *stream,
             gpointer  user_data)
{
  g_autoptr(JobWorkerConnection) connection = job_worker_connection_ref (user_data);

  /* The calls that the answers read here free go out in one write per
   * worker, after all of them. */
  job_worker_connection_hold_writes ();
  while (!connection->closing)
    {
      GError *error = NULL;
      gsize old_len = connection->rlen;
      gsize want = READ_CHUNK;
      gssize n;

      /* A large frame is read in steps that double what arrived so far:
       * few reads, and memory in proportion to the bytes received. */
      if (old_len >= JOB_WORKER_FRAME_HEADER_SIZE)
        {
          guint32 length;

          memcpy (&length, connection->rbuf, 4);
          length = GUINT32_FROM_LE (length);
          if (length <= JOB_WORKER_FRAME_DEFAULT_MAX &&
              (gsize) length + JOB_WORKER_FRAME_HEADER_SIZE > old_len)
            want = MAX (want, MIN ((gsize) length + JOB_WORKER_FRAME_HEADER_SIZE - old_len,
                                   old_len));
        }

      if (!reserve (connection, want, &error))
        {
          connection_lost (connection, error);
          break;
        }
      n = read_input (connection, connection->rbuf + old_len, want, &error);
      connection->rlen = old_len + MAX (n, 0);

      if (n < 0 && error == NULL)
        break;   /* nothing more for now */
      if (n < 0)
        {
          connection_lost (connection, error);
          break;
        }
      if (n == 0)
        {
          gboolean pipes = (connection->flags & JOB_WORKER_CONNECTION_FLAGS_PIPES) != 0;

          /* A process that ends early says why through its exit status. */
          if (connection->rlen > 0 && pipes)
            g_set_error (&error, JOB_ERROR, JOB_ERROR_PROTOCOL,
                         _("The worker’s output ended inside a frame"));
          else if (connection->rlen > 0)
            g_set_error (&error, JOB_ERROR, JOB_ERROR_PROTOCOL,
                         _("The connection ended inside a frame"));
          else if (!connection->hello && !pipes)
            g_set_error (&error, JOB_ERROR, JOB_ERROR_PROTOCOL,
                         _("The connection ended before the worker’s handshake"));
          connection_lost (connection, error);
          break;
        }

      if (!dispatch_frames (connection, &error))
        {
          connection_lost (connection, error);
          break;
        }
      if ((gsize) n < want)
        break;
    }

  job_worker_connection_release_writes ();
  if (connection->closing)
    {
      g_clear_pointer (&connection->in_source, g_source_unref);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

/* One writev(2) of the frames queued (as many as one call takes): FALSE
 * when the pipe is full (no @error) or broken. */
#define MAX_IOV 64

static gboolean
write_queued (JobWorkerConnection  *connection,
              GError              **error)
{
  struct iovec iov[MAX_IOV];
  int n_iov = 0;
  gssize n;

  for (GList *l = connection->wqueue.head; l != NULL && n_iov < MAX_IOV; l = l->next)
    {
      gsize size;
      const guint8 *data = g_bytes_get_data (l->data, &size);
      gsize skip = n_iov == 0 ? connection->wpos : 0;

      iov[n_iov].iov_base = (guint8 *) data + skip;
      iov[n_iov].iov_len = size - skip;
      n_iov++;
    }

  do
    n = writev (connection->out_fd, iov, n_iov);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    {
      int saved = errno;

      if (saved != EAGAIN)
        g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                     _("Error writing to the worker: %s"), g_strerror (saved));
      return FALSE;
    }

  /* drop what went out */
  while (n > 0)
    {
      gsize size = g_bytes_get_size (g_queue_peek_head (&connection->wqueue));
      gsize left = size - connection->wpos;

      if ((gsize) n < left)
        {
          connection->wpos += n;
          break;
        }
      n -= left;
      g_bytes_unref (g_queue_pop_head (&connection->wqueue));
      connection->wpos = 0;
    }
  return TRUE;
}

/* Frames are queued as they are (calls can be large) and written as the
 * stream accepts them. Returns TRUE once everything queued was written. */
static gboolean
flush_output (JobWorkerConnection *connection)
{
  while (!connection->closing && connection->out != NULL &&
         !g_queue_is_empty (&connection->wqueue))
    {
      GBytes *head = g_queue_peek_head (&connection->wqueue);
      gsize size;
      const guint8 *data = g_bytes_get_data (head, &size);
      GError *error = NULL;
      gssize n;

      if (connection->out_fd >= 0)
        {
          if (!write_queued (connection, &error))
            {
              if (error == NULL)
                return FALSE;
              if ((connection->flags & JOB_WORKER_CONNECTION_FLAGS_PIPES) != 0)
                {
                  g_error_free (error);
                  g_queue_clear_full (&connection->wqueue, (GDestroyNotify) g_bytes_unref);
                  connection->wpos = 0;
                  break;
                }
              connection_lost (connection, error);
              break;
            }
          continue;
        }

      n = g_pollable_output_stream_write_nonblocking (G_POLLABLE_OUTPUT_STREAM (connection->out),
                                                      data + connection->wpos,
                                                      size - connection->wpos,
                                                      NULL, &error);
      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          g_error_free (error);
          return FALSE;
        }
      if (n < 0 && (connection->flags & JOB_WORKER_CONNECTION_FLAGS_PIPES) != 0)
        {
          /* The worker is gone (EPIPE); reading tells how it ended. */
          g_error_free (error);
          g_queue_clear_full (&connection->wqueue, (GDestroyNotify) g_bytes_unref);
          connection->wpos = 0;
          break;
        }
      if (n < 0)
        {
          connection_lost (connection, error);
          break;
        }
      connection->wpos += n;
      if (connection->wpos == size)
        {
          g_bytes_unref (g_queue_pop_head (&connection->wqueue));
          connection->wpos = 0;
        }
    }

  return TRUE;
}

static gboolean
on_writable (GObject  *stream,
             gpointer  user_data)
{
  JobWorkerConnection *connection = user_data;

  if (!flush_output (connection))
    return G_SOURCE_CONTINUE;

  g_clear_pointer (&connection->out_source, g_source_unref);
  return G_SOURCE_REMOVE;
}

/* Writes what is queued, or what the stream takes and the rest once it
 * is writable again. */
static void
write_or_watch (JobWorkerConnection *connection)
{
  if (flush_output (connection))
    return;
  connection->out_source =
    g_pollable_output_stream_create_source (G_POLLABLE_OUTPUT_STREAM (connection->out), NULL);
  g_source_set_static_name (connection->out_source, "[joblib-glib] worker connection output");
  g_source_set_callback (connection->out_source, G_SOURCE_FUNC (on_writable),
                         connection, NULL);
  g_source_attach (connection->out_source, g_main_context_get_thread_default ());
}

/* Queues @frames (a reference is taken) for the worker. */
void
job_worker_connection_send (JobWorkerConnection *connection,
                            GBytes              *frames)
{
  HeldWrites *held;

  if (connection->closing || connection->out == NULL)
    return;

  g_queue_push_tail (&connection->wqueue, g_bytes_ref (frames));
  if (connection->out_source != NULL)
    return;   /* written when the stream takes more */

  held = g_private_get (&held_writes);
  if (held != NULL && held->depth > 0)
    {
      if (!connection->held)
        {
          connection->held = TRUE;
          g_ptr_array_add (held->connections, job_worker_connection_ref (connection));
        }
      return;
    }
  write_or_watch (connection);
}

/* Writes sent on this thread until the matching _release_writes() wait
 * for it, so that the frames sent to one worker in the meantime go out
 * in one write. Nests. */
void
job_worker_connection_hold_writes (void)
{
  HeldWrites *held = g_private_get (&held_writes);

  if (held == NULL)
    {
      held = g_new0 (HeldWrites, 1);
      held->connections = g_ptr_array_new_with_free_func ((GDestroyNotify) job_worker_connection_unref);
      g_private_set (&held_writes, held);
    }
  held->depth++;
}

void
job_worker_connection_release_writes (void)
{
  HeldWrites *held = g_private_get (&held_writes);

  g_return_if_fail (held != NULL && held->depth > 0);

  if (--held->depth > 0)
    return;
  /* Writing may end a connection, whose end is reported later: nothing
   * here adds to the array while it is walked. */
  for (guint i = 0; i < held->connections->len; i++)
    {
      JobWorkerConnection *connection = g_ptr_array_index (held->connections, i);

      connection->held = FALSE;
      if (!connection->closing && connection->out != NULL && connection->out_source == NULL)
        write_or_watch (connection);
    }
  g_ptr_array_set_size (held->connections, 0);
}

static gboolean
report_end (gpointer user_data)
{
  JobWorkerConnection *connection = user_data;

  g_clear_pointer (&connection->end_source, g_source_unref);
  connection->end_func (connection, connection->error, connection->user_data);
  return G_SOURCE_REMOVE;
}

/* The connection is over: close it now, report from an idle callback. */
static void
connection_lost (JobWorkerConnection *connection,
                 GError              *error)
{
  if (connection->closing)
    {
      g_clear_error (&error);
      return;
    }

  connection->closing = TRUE;
  connection->error = error;
  destroy_source (&connection->out_source);
  if (connection->stream != NULL)
    g_io_stream_close (connection->stream, NULL, NULL);

  connection->end_source = g_idle_source_new ();
  g_source_set_static_name (connection->end_source, "[joblib-glib] worker connection end");
  g_source_set_callback (connection->end_source, report_end,
                         job_worker_connection_ref (connection),
                         (GDestroyNotify) job_worker_connection_unref);
  g_source_attach (connection->end_source, g_main_context_get_thread_default ());
}

JobWorkerConnection *
job_worker_connection_new_for_streams (GInputStream                 *in,
                                       GOutputStream                *out,
                                       JobWorkerConnectionFlags      flags,
                                       const char                   *kind,
                                       JobWorkerConnectionFrameFunc  frame_func,
                                       JobWorkerConnectionEndFunc    end_func,
                                       gpointer                      user_data)
{
  JobWorkerConnection *connection;

  g_return_val_if_fail (G_IS_POLLABLE_INPUT_STREAM (in), NULL);
  g_return_val_if_fail (G_IS_POLLABLE_OUTPUT_STREAM (out), NULL);

  connection = g_new0 (JobWorkerConnection, 1);
  g_atomic_ref_count_init (&connection->ref_count);
  connection->kind = g_strdup (kind);
  connection->flags = flags;
  connection->in = g_object_ref (in);
  connection->out = g_object_ref (out);
  connection->in_fd = -1;
  connection->out_fd = -1;
  if ((flags & JOB_WORKER_CONNECTION_FLAGS_PIPES) != 0 &&
      G_IS_FILE_DESCRIPTOR_BASED (in) && G_IS_FILE_DESCRIPTOR_BASED (out))
    {
      int in_fd = g_file_descriptor_based_get_fd (G_FILE_DESCRIPTOR_BASED (in));
      int out_fd = g_file_descriptor_based_get_fd (G_FILE_DESCRIPTOR_BASED (out));

      if (g_unix_set_fd_nonblocking (in_fd, TRUE, NULL) &&
          g_unix_set_fd_nonblocking (out_fd, TRUE, NULL))
        {
          connection->in_fd = in_fd;
          connection->out_fd = out_fd;
        }
    }
  g_queue_init (&connection->wqueue);
  connection->frame_func = frame_func;
  connection->end_func = end_func;
  connection->user_data = user_data;

  connection->in_source =
    g_pollable_input_stream_create_source (G_POLLABLE_INPUT_STREAM (connection->in), NULL);
  g_source_set_static_name (connection->in_source, "[joblib-glib] worker connection input");
  g_source_set_callback (connection->in_source, G_SOURCE_FUNC (on_readable), connection, NULL);
  g_source_attach (connection->in_source, g_main_context_get_thread_default ());

  return connection;
}

JobWorkerConnection *
job_worker_connection_new (GIOStream                    *stream,
                           const char                   *kind,
                           JobWorkerConnectionFrameFunc  frame_func,
                           JobWorkerConnectionEndFunc    end_func,
                           gpointer                      user_data)
{
  JobWorkerConnection *connection;

  connection = job_worker_connection_new_for_streams (g_io_stream_get_input_stream (stream),
                                                      g_io_stream_get_output_stream (stream),
                                                      JOB_WORKER_CONNECTION_FLAGS_NONE,
                                                      kind, frame_func, end_func, user_data);
  if (connection != NULL)
    connection->stream = g_object_ref (stream);
  return connection;
}

const char *
job_worker_connection_get_kind (JobWorkerConnection *connection)
{
  return connection->kind;
}

gint64
job_worker_connection_get_pid (JobWorkerConnection *connection)
{
  return connection->pid;
}

gboolean
job_worker_connection_is_alive (JobWorkerConnection *connection)
{
  return !connection->closing;
}

/* Asks the worker to leave: GOODBYE, then the end of the connection;
 * whatever the stream does not take at once is dropped. Over pipes only
 * the output ends: the end is reported once the worker closed its side. */
void
job_worker_connection_close (JobWorkerConnection *connection)
{
  g_autoptr(GByteArray) frame = g_byte_array_new ();
  g_autoptr(GBytes) bytes = NULL;

  if (connection->closing || connection->out == NULL)
    return;

  job_worker_frame_append (frame, JOB_WORKER_MESSAGE_GOODBYE, g_variant_new ("(s)", ""));
  bytes = g_byte_array_free_to_bytes (g_steal_pointer (&frame));
  job_worker_connection_send (connection, bytes);
  flush_output (connection);
  if ((connection->flags & JOB_WORKER_CONNECTION_FLAGS_PIPES) != 0)
    {
      destroy_source (&connection->out_source);
      g_output_stream_close (connection->out, NULL, NULL);
      g_clear_object (&connection->out);
      connection->out_fd = -1;
    }
  else
    connection_lost (connection, NULL);
}

void
job_worker_connection_kill (JobWorkerConnection *connection)
{
  connection_lost (connection, NULL);
}

/* Ends the connection like job_worker_connection_kill() but reports
 * nothing more: neither frames nor the end reach the owner, which may be
 * going away. */
void
job_worker_connection_detach (JobWorkerConnection *connection)
{
  connection_lost (connection, NULL);
  destroy_source (&connection->end_source);
}
