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
#include "job-worker-connection-private.h"

/* The default pipe holds 64 KiB; 1 MiB makes bulk transfers three times
 * faster here (notes/machine-limits.md) and lets more calls queue up. */
#define PIPE_SIZE (1024 * 1024)

/* The frames go through a JobWorkerConnection over the pipes; this adds
 * the process: spawning, the status page, and reaping before the end is
 * reported. */
struct _JobProcessWorker
{
  gatomicrefcount            ref_count;
  GSubprocess               *process;      /* (owned) */
  GPid                       pid;
  JobWorkerConnection       *connection;   /* (owned) over the pipes */
  JobWorkerStatus           *status;       /* (nullable) shared page */
  GError                    *error;        /* (owned) (nullable) why the connection ended */
  GSource                   *grace_source; /* (owned) (nullable) kills it if it lingers */
  JobProcessWorkerFrameFunc  frame_func;
  JobProcessWorkerEndFunc    end_func;
  gpointer                   user_data;
  guint                      ended : 1;    /* the process was reaped */
  guint                      killed : 1;   /* by its owner, or for a broken connection */
};

JobProcessWorker *
job_process_worker_ref (JobProcessWorker *worker)
{
  g_atomic_ref_count_inc (&worker->ref_count);
  return worker;
}

void
job_process_worker_unref (JobProcessWorker *worker)
{
  if (!g_atomic_ref_count_dec (&worker->ref_count))
    return;

  if (worker->connection != NULL)
    {
      job_worker_connection_detach (worker->connection);
      job_worker_connection_unref (worker->connection);
    }
  /* Never leave a process behind: the owner normally waited for the end,
   * this covers an owner that let go early. GLib reaps it. */
  if (!worker->ended)
    g_subprocess_force_exit (worker->process);
  g_assert (worker->grace_source == NULL);
  g_clear_object (&worker->process);
  if (worker->status != NULL)
    munmap (worker->status, JOB_WORKER_STATUS_SIZE);
  g_clear_error (&worker->error);
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

static void
on_frame (JobWorkerConnection *connection,
          JobWorkerMessage     message,
          GVariant            *body,
          gpointer             user_data)
{
  g_autoptr(JobProcessWorker) worker = job_process_worker_ref (user_data);

  worker->frame_func (worker, message, body, worker->user_data);
}

/* Queues @frames (a reference is taken) for the worker. */
void
job_process_worker_send (JobProcessWorker *worker,
                         GBytes           *frames)
{
  job_worker_connection_send (worker->connection, frames);
}

static char *
describe_exit (JobProcessWorker *worker)
{
  if (g_subprocess_get_if_signaled (worker->process))
    {
      int sig = g_subprocess_get_term_sig (worker->process);

      if (worker->pid <= 0)
        return g_strdup_printf (_("a worker of unknown pid killed by signal %d (%s)"),
                                sig, g_strsignal (sig));
      return g_strdup_printf (_("worker %d killed by signal %d (%s)"),
                              (int) worker->pid, sig, g_strsignal (sig));
    }

  if (worker->pid <= 0)
    return g_strdup_printf (_("a worker of unknown pid exited with status %d"),
                            g_subprocess_get_exit_status (worker->process));
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
  if (worker->grace_source != NULL)
    {
      g_source_destroy (worker->grace_source);
      g_clear_pointer (&worker->grace_source, g_source_unref);
    }
  description = describe_exit (worker);
  worker->end_func (worker, worker->error, description, worker->user_data);
}

static gboolean
on_grace_expired (gpointer user_data)
{
  JobProcessWorker *worker = user_data;

  g_clear_pointer (&worker->grace_source, g_source_unref);
  worker->killed = TRUE;
  g_subprocess_force_exit (worker->process);
  return G_SOURCE_REMOVE;
}

/* The connection is over (end of stream, read error, bad frame, kill):
 * make sure the process ends, then report once it has been reaped, so
 * that the report can say how it ended. */
static void
on_connection_end (JobWorkerConnection *connection,
                   const GError        *error,
                   gpointer             user_data)
{
  JobProcessWorker *worker = user_data;

  if (error != NULL)
    worker->error = g_error_copy (error);
  if (error != NULL || worker->killed)
    {
      /* A worker that broke the protocol is of no use; SIGKILL does not
       * change the status of one that already exited. */
      worker->killed = TRUE;
      g_subprocess_force_exit (worker->process);
    }
  else
    {
      /* The worker closed its side: it is leaving (asked to, or on its
       * own, or it crashed). Its own exit status says which, unless it
       * lingers. */
      worker->grace_source = g_timeout_source_new (JOB_PROCESS_WORKER_EXIT_GRACE_MSEC);
      g_source_set_static_name (worker->grace_source, "[joblib-glib] worker exit grace");
      g_source_set_callback (worker->grace_source, on_grace_expired,
                             job_process_worker_ref (worker),
                             (GDestroyNotify) job_process_worker_unref);
      g_source_attach (worker->grace_source, g_main_context_get_thread_default ());
    }
  g_subprocess_wait_async (worker->process, NULL, on_wait_done,
                           job_process_worker_ref (worker));
}

/* Runs in the child between fork and exec (async-signal-safe only):
 * stores its pid in a page the parent shares with it until exec. */
static void
store_own_pid (gpointer user_data)
{
  volatile gint32 *slot = user_data;

  *slot = (gint32) getpid ();
}

/* The pid of @process. GSubprocess forgets the pid of a process once
 * GLib reaped it (g_subprocess_get_identifier() returns NULL), and GLib
 * reaps on its own thread: a worker that exits at once can be reaped
 * before g_subprocess_launcher_spawnv() returns, more so when the
 * spawning thread is slowed by load or by failing allocations. So the
 * child stores its own pid in @slot before exec; the identifier is only
 * the fallback when that page could not be mapped. 0: unknown. */
static GPid
pid_of (GSubprocess           *process,
        const volatile gint32 *slot)
{
  const char *identifier;

  if (slot != NULL && *slot > 0)
    return (GPid) *slot;
  identifier = g_subprocess_get_identifier (process);
  return identifier != NULL ? (GPid) g_ascii_strtoll (identifier, NULL, 10) : 0;
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
  GInputStream *in;
  GOutputStream *out;
  void *page = MAP_FAILED;
  volatile gint32 *pid_slot;
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

  /* Shared with the child until its exec only: the worker program
   * cannot write a pid of its choosing there. */
  pid_slot = mmap (NULL, sizeof (gint32), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (pid_slot == MAP_FAILED)
    pid_slot = NULL;
  else
    g_subprocess_launcher_set_child_setup (launcher, store_own_pid, (gpointer) pid_slot, NULL);

  process = g_subprocess_launcher_spawnv (launcher, argv, &local_error);
  if (process == NULL)
    {
      if (pid_slot != NULL)
        munmap ((void *) pid_slot, sizeof (gint32));
      if (page != MAP_FAILED)
        munmap (page, JOB_WORKER_STATUS_SIZE);
      g_set_error (error, JOB_ERROR, JOB_ERROR_NOT_FOUND,
                   _("Could not start the %s worker “%s”: %s"),
                   kind, argv[0], local_error->message);
      return NULL;
    }

  in = g_subprocess_get_stdout_pipe (process);
  out = g_subprocess_get_stdin_pipe (process);
  set_pipe (g_unix_input_stream_get_fd (G_UNIX_INPUT_STREAM (in)));
  set_pipe (g_unix_output_stream_get_fd (G_UNIX_OUTPUT_STREAM (out)));

  worker = g_new0 (JobProcessWorker, 1);
  g_atomic_ref_count_init (&worker->ref_count);
  worker->process = process;
  worker->pid = pid_of (process, pid_slot);
  if (pid_slot != NULL)
    munmap ((void *) pid_slot, sizeof (gint32));
  worker->status = page != MAP_FAILED ? page : NULL;
  worker->frame_func = frame_func;
  worker->end_func = end_func;
  worker->user_data = user_data;
  worker->connection = job_worker_connection_new_for_streams (in, out,
                                                              JOB_WORKER_CONNECTION_FLAGS_PIPES,
                                                              kind, on_frame, on_connection_end,
                                                              worker);

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
  return job_worker_connection_get_kind (worker->connection);
}

gboolean
job_process_worker_is_alive (JobProcessWorker *worker)
{
  return job_worker_connection_is_alive (worker->connection);
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
  job_worker_connection_close (worker->connection);
}

void
job_process_worker_kill (JobProcessWorker *worker)
{
  if (worker->ended)
    return;
  worker->killed = TRUE;
  job_worker_connection_kill (worker->connection);
  /* At once, even during the grace of a worker that is leaving: the end
   * is reported once it was reaped. */
  g_subprocess_force_exit (worker->process);
}

/* Whether the reaped worker left as a worker should: it exited with
 * status 0, after a connection that ended without error and without
 * being killed. */
gboolean
job_process_worker_ended_cleanly (JobProcessWorker *worker)
{
  return worker->ended && !worker->killed && worker->error == NULL &&
         g_subprocess_get_if_exited (worker->process) &&
         g_subprocess_get_exit_status (worker->process) == 0;
}
