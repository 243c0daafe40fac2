/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>
#include <glib-unix.h>

#include "job-error.h"
#include "job-i18n-private.h"
#include "job-process-worker-private.h"

/* Reads ask for at least this much: a batch of small results arrives in
 * one read. */
#define READ_CHUNK (64 * 1024)
/* The default pipe holds 64 KiB; 1 MiB makes bulk transfers three times
 * faster here (notes/machine-limits.md) and lets more calls queue up. */
#define PIPE_SIZE (1024 * 1024)

struct _JobProcessWorker
{
  gatomicrefcount            ref_count;
  char                      *kind;
  GSubprocess               *process;      /* (owned) */
  GPid                       pid;
  GInputStream              *in;           /* (owned) from the worker */
  GOutputStream             *out;          /* (owned) (nullable) to the worker */
  GSource                   *in_source;    /* (owned) (nullable) */
  GSource                   *out_source;   /* (owned) (nullable) */
  GByteArray                *rbuf;         /* (owned) */
  GQueue                     wqueue;       /* (element-type GBytes) (owned) */
  gsize                      wpos;         /* written of the head */
  JobWorkerStatus           *status;       /* (nullable) shared page */
  GError                    *error;        /* (owned) (nullable) why the connection ended */
  JobProcessWorkerFrameFunc  frame_func;
  JobProcessWorkerEndFunc    end_func;
  gpointer                   user_data;
  guint                      hello : 1;
  guint                      closing : 1;  /* the connection is over */
  guint                      ended : 1;    /* the process was reaped */
};

static void connection_lost (JobProcessWorker *worker,
                             GError           *error);

JobProcessWorker *
job_process_worker_ref (JobProcessWorker *worker)
{
  g_atomic_ref_count_inc (&worker->ref_count);
  return worker;
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
job_process_worker_unref (JobProcessWorker *worker)
{
  if (!g_atomic_ref_count_dec (&worker->ref_count))
    return;

  destroy_source (&worker->in_source);
  destroy_source (&worker->out_source);
  /* Never leave a process behind: the owner normally waited for the end,
   * this covers an owner that let go early. GLib reaps it. */
  if (!worker->ended)
    g_subprocess_force_exit (worker->process);
  g_clear_object (&worker->process);
  g_clear_object (&worker->in);
  g_clear_object (&worker->out);
  g_byte_array_unref (worker->rbuf);
  g_queue_clear_full (&worker->wqueue, (GDestroyNotify) g_bytes_unref);
  if (worker->status != NULL)
    munmap (worker->status, JOB_WORKER_STATUS_SIZE);
  g_clear_error (&worker->error);
  g_free (worker->kind);
  g_free (worker);
}

static void
set_pipe (int fd)
{
  GError *error = NULL;

  /* Best effort: the size is capped by /proc/sys/fs/pipe-max-size. */
  (void) fcntl (fd, F_SETPIPE_SZ, PIPE_SIZE);
  if (!g_unix_set_fd_nonblocking (fd, TRUE, &error))
    {
      g_warning (_ ("Could not make a worker pipe non-blocking: %s"), error->message);
      g_error_free (error);
    }
}

static gboolean
handle_hello (JobProcessWorker  *worker,
              JobWorkerMessage   message,
              GVariant          *body,
              GError           **error)
{
  const char *kind;
  gint64 pid;

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

  g_variant_get (body, "(&sx@a{sv})", &kind, &pid, NULL);
  if (g_strcmp0 (kind, worker->kind) != 0)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_PROTOCOL,
                   _("The worker says it is a “%s” worker, expected “%s”"),
                   kind, worker->kind);
      return FALSE;
    }

  worker->hello = TRUE;
  return TRUE;
}

/* Hands every complete frame of the read buffer to the owner. */
static gboolean
dispatch_frames (JobProcessWorker  *worker,
                 GError           **error)
{
  gsize pos = 0;
  gboolean ok = TRUE;

  while (!worker->closing && worker->rbuf->len - pos >= JOB_WORKER_FRAME_HEADER_SIZE)
    {
      g_autoptr(GBytes) payload = NULL;
      g_autoptr(GVariant) body = NULL;
      JobWorkerMessage message;
      guint32 length;

      if (!job_worker_frame_parse_header (worker->rbuf->data + pos,
                                          JOB_WORKER_FRAME_DEFAULT_MAX,
                                          &length, &message, error))
        {
          ok = FALSE;
          break;
        }
      if (worker->rbuf->len - pos - JOB_WORKER_FRAME_HEADER_SIZE < length)
        break;

      payload = g_bytes_new (worker->rbuf->data + pos + JOB_WORKER_FRAME_HEADER_SIZE,
                             length);
      pos += JOB_WORKER_FRAME_HEADER_SIZE + length;

      body = job_worker_frame_decode (message, payload, TRUE, error);
      if (body == NULL)
        {
          ok = FALSE;
          break;
        }

      if (!worker->hello)
        {
          if (!handle_hello (worker, message, body, error))
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

      worker->frame_func (worker, message, body, worker->user_data);
    }

  if (pos > 0 && !worker->closing)
    g_byte_array_remove_range (worker->rbuf, 0, pos);
  return ok;
}

static gboolean
on_readable (GObject  *stream,
             gpointer  user_data)
{
  g_autoptr(JobProcessWorker) worker = job_process_worker_ref (user_data);

  while (!worker->closing)
    {
      GError *error = NULL;
      guint old_len = worker->rbuf->len;
      gsize want = READ_CHUNK;
      gssize n;

      /* A large frame is read in one go once its header is known. */
      if (old_len >= JOB_WORKER_FRAME_HEADER_SIZE)
        {
          guint32 length;

          memcpy (&length, worker->rbuf->data, 4);
          length = GUINT32_FROM_LE (length);
          if (length <= JOB_WORKER_FRAME_DEFAULT_MAX &&
              length + JOB_WORKER_FRAME_HEADER_SIZE > old_len)
            want = MAX (want, length + JOB_WORKER_FRAME_HEADER_SIZE - old_len);
        }

      g_byte_array_set_size (worker->rbuf, old_len + want);
      n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (worker->in),
                                                    worker->rbuf->data + old_len,
                                                    want, NULL, &error);
      g_byte_array_set_size (worker->rbuf, old_len + MAX (n, 0));

      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          g_error_free (error);
          break;
        }
      if (n < 0)
        {
          connection_lost (worker, error);
          break;
        }
      if (n == 0)
        {
          if (worker->rbuf->len > 0)
            {
              g_set_error (&error, JOB_ERROR, JOB_ERROR_PROTOCOL,
                           _("The worker’s output ended inside a frame"));
              connection_lost (worker, error);
            }
          else
            connection_lost (worker, NULL);
          break;
        }

      if (!dispatch_frames (worker, &error))
        {
          connection_lost (worker, error);
          break;
        }
      if ((gsize) n < want)
        break;
    }

  if (worker->closing)
    {
      g_clear_pointer (&worker->in_source, g_source_unref);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

/* Frames are queued as they are (calls can be large) and written as the
 * pipe accepts them. Returns TRUE once everything was written. */
static gboolean
flush_output (JobProcessWorker *worker)
{
  while (worker->out != NULL && !g_queue_is_empty (&worker->wqueue))
    {
      GBytes *head = g_queue_peek_head (&worker->wqueue);
      gsize size;
      const guint8 *data = g_bytes_get_data (head, &size);
      GError *error = NULL;
      gssize n;

      n = g_pollable_output_stream_write_nonblocking (G_POLLABLE_OUTPUT_STREAM (worker->out),
                                                      data + worker->wpos,
                                                      size - worker->wpos,
                                                      NULL, &error);
      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          g_error_free (error);
          return FALSE;
        }
      if (n < 0)
        {
          /* The worker is gone (EPIPE); reading tells how it ended. */
          g_error_free (error);
          break;
        }
      worker->wpos += n;
      if (worker->wpos == size)
        {
          g_bytes_unref (g_queue_pop_head (&worker->wqueue));
          worker->wpos = 0;
        }
    }

  g_queue_clear_full (&worker->wqueue, (GDestroyNotify) g_bytes_unref);
  worker->wpos = 0;
  return TRUE;
}

static gboolean
on_writable (GObject  *stream,
             gpointer  user_data)
{
  JobProcessWorker *worker = user_data;

  if (!flush_output (worker))
    return G_SOURCE_CONTINUE;

  g_clear_pointer (&worker->out_source, g_source_unref);
  return G_SOURCE_REMOVE;
}

/* Queues @frames (a reference is taken) for the worker. */
void
job_process_worker_send (JobProcessWorker *worker,
                         GBytes           *frames)
{
  if (worker->closing || worker->out == NULL)
    return;

  g_queue_push_tail (&worker->wqueue, g_bytes_ref (frames));
  if (worker->out_source == NULL && !flush_output (worker))
    {
      worker->out_source =
        g_pollable_output_stream_create_source (G_POLLABLE_OUTPUT_STREAM (worker->out), NULL);
      g_source_set_static_name (worker->out_source, "[joblib-glib] worker output");
      g_source_set_callback (worker->out_source, G_SOURCE_FUNC (on_writable),
                             worker, NULL);
      g_source_attach (worker->out_source, g_main_context_get_thread_default ());
    }
}

static char *
describe_exit (JobProcessWorker *worker)
{
  if (g_subprocess_get_if_signaled (worker->process))
    {
      int sig = g_subprocess_get_term_sig (worker->process);

      return g_strdup_printf (_("worker %d killed by signal %d (%s)"),
                              (int) worker->pid, sig, g_strsignal (sig));
    }

  return g_strdup_printf (_("worker %d exited with status %d"),
                          (int) worker->pid,
                          g_subprocess_get_exit_status (worker->process));
}

static void
on_wait_done (GObject      *source_object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(JobProcessWorker) worker = user_data;
  g_autofree char *description = NULL;

  /* Without a cancellable the wait only ends with the process. */
  g_subprocess_wait_finish (G_SUBPROCESS (source_object), result, NULL);
  worker->ended = TRUE;
  description = describe_exit (worker);
  worker->end_func (worker, worker->error, description, worker->user_data);
}

/* The connection is over (end of stream, read error, bad frame): make
 * sure the process ends, then report once it has been reaped, so that the
 * report can say how it ended. */
static void
connection_lost (JobProcessWorker *worker,
                 GError           *error)
{
  if (worker->closing)
    {
      g_clear_error (&error);
      return;
    }

  worker->closing = TRUE;
  worker->error = error;
  destroy_source (&worker->out_source);
  /* A worker that stopped talking is of no use; SIGKILL does not change
   * the status of one that already exited. */
  g_subprocess_force_exit (worker->process);
  g_subprocess_wait_async (worker->process, NULL, on_wait_done,
                           job_process_worker_ref (worker));
}

JobProcessWorker *
job_process_worker_spawn (const char                *kind,
                          const char * const        *argv,
                          const char * const        *environment,
                          gboolean                   overwrite,
                          const char * const        *extra_environment,
                          JobProcessWorkerFrameFunc  frame_func,
                          JobProcessWorkerEndFunc    end_func,
                          gpointer                   user_data,
                          GError                   **error)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GError) local_error = NULL;
  JobProcessWorker *worker;
  GSubprocess *process;
  void *page = MAP_FAILED;
  int status_fd;

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                        G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  for (gsize i = 0; environment != NULL && environment[i] != NULL &&
                    environment[i + 1] != NULL; i += 2)
    g_subprocess_launcher_setenv (launcher, environment[i], environment[i + 1],
                                  overwrite);
  /* The caller's own variables win, even over the thread limits. */
  for (gsize i = 0; extra_environment != NULL && extra_environment[i] != NULL; i++)
    {
      g_autofree char *name = g_strdup (extra_environment[i]);
      char *equal = strchr (name, '=');

      if (equal == NULL)
        continue;
      *equal = '\0';
      g_subprocess_launcher_setenv (launcher, name, equal + 1, TRUE);
    }

  /* The status page; anonymous, so nothing is left behind. */
  status_fd = memfd_create ("joblib-glib-worker-status", MFD_CLOEXEC);
  if (status_fd >= 0 && ftruncate (status_fd, JOB_WORKER_STATUS_SIZE) == 0)
    page = mmap (NULL, JOB_WORKER_STATUS_SIZE, PROT_READ | PROT_WRITE,
                 MAP_SHARED, status_fd, 0);
  if (page != MAP_FAILED)
    {
      g_subprocess_launcher_take_fd (launcher, status_fd, 3);
      g_subprocess_launcher_setenv (launcher, JOB_WORKER_STATUS_FD_ENV, "3", TRUE);
    }
  else if (status_fd >= 0)
    close (status_fd);

  process = g_subprocess_launcher_spawnv (launcher, argv, &local_error);
  if (process == NULL)
    {
      if (page != MAP_FAILED)
        munmap (page, JOB_WORKER_STATUS_SIZE);
      g_set_error (error, JOB_ERROR, JOB_ERROR_NOT_FOUND,
                   _("Could not start the %s worker “%s”: %s"),
                   kind, argv[0], local_error->message);
      return NULL;
    }

  worker = g_new0 (JobProcessWorker, 1);
  g_atomic_ref_count_init (&worker->ref_count);
  worker->kind = g_strdup (kind);
  worker->process = process;
  worker->pid = (GPid) g_ascii_strtoll (g_subprocess_get_identifier (process), NULL, 10);
  worker->in = g_object_ref (g_subprocess_get_stdout_pipe (process));
  worker->out = g_object_ref (g_subprocess_get_stdin_pipe (process));
  worker->rbuf = g_byte_array_sized_new (READ_CHUNK);
  g_queue_init (&worker->wqueue);
  worker->status = page != MAP_FAILED ? page : NULL;
  worker->frame_func = frame_func;
  worker->end_func = end_func;
  worker->user_data = user_data;

  set_pipe (g_unix_input_stream_get_fd (G_UNIX_INPUT_STREAM (worker->in)));
  set_pipe (g_unix_output_stream_get_fd (G_UNIX_OUTPUT_STREAM (worker->out)));

  worker->in_source =
    g_pollable_input_stream_create_source (G_POLLABLE_INPUT_STREAM (worker->in), NULL);
  g_source_set_static_name (worker->in_source, "[joblib-glib] worker input");
  g_source_set_callback (worker->in_source, G_SOURCE_FUNC (on_readable), worker, NULL);
  g_source_attach (worker->in_source, g_main_context_get_thread_default ());

  return worker;
}

GPid
job_process_worker_get_pid (JobProcessWorker *worker)
{
  return worker->pid;
}

const char *
job_process_worker_get_kind (JobProcessWorker *worker)
{
  return worker->kind;
}

gboolean
job_process_worker_is_alive (JobProcessWorker *worker)
{
  return !worker->closing;
}

gboolean
job_process_worker_get_running (JobProcessWorker *worker,
                                guint64          *batch_id,
                                guint32          *position)
{
  if (worker->status == NULL || !worker->status->running)
    return FALSE;

  *batch_id = worker->status->batch_id;
  *position = worker->status->position;
  return TRUE;
}

/* Asks the worker to leave: GOODBYE, then the end of its input. The end
 * is reported as usual once it exited. */
void
job_process_worker_close (JobProcessWorker *worker)
{
  g_autoptr(GByteArray) frame = g_byte_array_new ();
  g_autoptr(GBytes) bytes = NULL;

  if (worker->closing || worker->out == NULL)
    return;

  job_worker_frame_append (frame, JOB_WORKER_MESSAGE_GOODBYE, g_variant_new ("(s)", ""));
  bytes = g_byte_array_free_to_bytes (g_steal_pointer (&frame));
  job_process_worker_send (worker, bytes);
  /* Whatever the pipe does not take now is dropped: the worker leaves. */
  flush_output (worker);
  destroy_source (&worker->out_source);
  g_output_stream_close (worker->out, NULL, NULL);
  g_clear_object (&worker->out);
}

void
job_process_worker_kill (JobProcessWorker *worker)
{
  connection_lost (worker, NULL);
}
