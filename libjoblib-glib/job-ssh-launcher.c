/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "job-error.h"
#include "job-i18n-private.h"
#include "job-ssh-launcher-private.h"
#include "job-worker-command-private.h"
#include "job-worker-dialback-private.h"

/* What ssh said last is kept for messages: its final lines. */
#define STDERR_TAIL 2048

/* The launcher. */

typedef struct _SshWorker SshWorker;

typedef struct
{
  JobWorkerLauncher   parent;

  GMutex              lock;          /* guards the fields up to "pool thread only" */
  JobSshSettings      settings;
  guint               generation;    /* bumped by every set_settings */
  GHashTable         *down;          /* host → why; this run */

  /* pool thread only */
  JobSshSettings      current;
  guint               current_generation;
  JobWorkerDialback  *dialback;      /* (owned) listener, tokens, TLS pin */
  GPtrArray          *workers;       /* (element-type SshWorker) ssh still running or
                                      * worker not released */
  guint64             next_id;
  gboolean            shutting_down;
} JobSshLauncher;

struct _SshWorker
{
  guint               refs;
  JobSshLauncher     *launcher;
  JobLaunchedWorker  *worker;        /* (nullable) NULL once released */
  char               *id;            /* (owned) JOB_WORKER_ID */
  char               *key;           /* (owned) (nullable) its token's name */
  char               *host;          /* (owned) (nullable) */
  GSubprocess        *ssh;           /* (owned) (nullable) */
  GCancellable       *cancellable;   /* (owned) the stderr reads */
  GString            *stderr_tail;
  GSource            *kill_source;   /* (owned) (nullable) */
  int                 inner_threads; /* the worker's JobWorkerSetup, for a */
  gboolean            inner_explicit; /* start on another host */
  char              **environment;   /* (owned) (nullable) */
  gboolean            connected;
  gboolean            stopping;
  gboolean            exited;
};

static JobSshLauncher *
launcher_of (JobWorkerLauncher *launcher)
{
  return (JobSshLauncher *) launcher;
}

static SshWorker *
ssh_worker_ref (SshWorker *ssh_worker)
{
  ssh_worker->refs++;
  return ssh_worker;
}

static void
ssh_worker_unref (SshWorker *ssh_worker)
{
  if (--ssh_worker->refs > 0)
    return;
  g_assert (ssh_worker->kill_source == NULL);
  g_free (ssh_worker->id);
  g_free (ssh_worker->key);
  g_free (ssh_worker->host);
  g_clear_object (&ssh_worker->ssh);
  g_clear_object (&ssh_worker->cancellable);
  g_string_free (ssh_worker->stderr_tail, TRUE);
  g_strfreev (ssh_worker->environment);
  g_free (ssh_worker);
}

static void
forget_key (SshWorker *ssh_worker)
{
  if (ssh_worker->key != NULL)
    job_worker_dialback_release (ssh_worker->launcher->dialback, ssh_worker->key);
  g_clear_pointer (&ssh_worker->key, g_free);
}

/* Workers per host, for placing the next one. */
static guint
n_on_host (JobSshLauncher *self,
           const char     *host)
{
  guint n = 0;

  for (guint i = 0; i < self->workers->len; i++)
    {
      SshWorker *other = g_ptr_array_index (self->workers, i);

      n += other->worker != NULL && !other->exited && g_strcmp0 (other->host, host) == 0;
    }
  return n;
}

/* The up host with the most free slots for its size; a full cluster
 * (hosts went down) still places workers, on the least loaded host. */
static const JobSshHost *
pick_host (JobSshLauncher *self)
{
  const JobSshHost *best = NULL;
  double best_load = 0;

  g_mutex_lock (&self->lock);
  for (guint i = 0; i < self->current.hosts->len; i++)
    {
      const JobSshHost *host = g_ptr_array_index (self->current.hosts, i);
      double load;

      if (g_hash_table_contains (self->down, host->name))
        continue;
      load = (double) n_on_host (self, host->name) / MAX (host->slots, 1);
      if (best == NULL || load < best_load)
        {
          best = host;
          best_load = load;
        }
    }
  g_mutex_unlock (&self->lock);
  return best;
}

static GError *
all_down_error (JobSshLauncher *self)
{
  g_autoptr(GString) causes = g_string_new (NULL);

  g_mutex_lock (&self->lock);
  for (guint i = 0; i < self->current.hosts->len; i++)
    {
      const JobSshHost *host = g_ptr_array_index (self->current.hosts, i);
      const char *cause = g_hash_table_lookup (self->down, host->name);

      g_string_append_printf (causes, "%s%s: %s", causes->len > 0 ? "; " : "", host->name,
                              cause != NULL ? cause : _("no answer yet"));
    }
  g_mutex_unlock (&self->lock);
  if (self->current.hosts->len == 0)
    return g_error_new_literal (JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
                                _("The SSH backend has no hosts: set its hosts or hosts-file"));
  return g_error_new (JOB_ERROR, JOB_ERROR_FAILED,
                      _("No SSH host can run workers: %s"), causes->str);
}

/* Settings of this run, copied onto the pool thread; a new run forgets
 * which hosts were down. */
static void
refresh_settings (JobSshLauncher *self)
{
  g_mutex_lock (&self->lock);
  if (self->current_generation != self->generation)
    {
      job_ssh_settings_copy (&self->settings, &self->current);
      self->current_generation = self->generation;
      g_hash_table_remove_all (self->down);
    }
  g_mutex_unlock (&self->lock);
}

/* Connections back. */

static void
on_accepted (GIOStream  *stream,
             const char *kind,
             const char *job_id,
             const char *node,
             const char *key,
             gpointer    user_data)
{
  JobSshLauncher *self = user_data;
  SshWorker *found = NULL;
  g_autofree char *loss = NULL;

  for (guint i = 0; i < self->workers->len && found == NULL; i++)
    {
      SshWorker *candidate = g_ptr_array_index (self->workers, i);

      if (!candidate->connected && candidate->worker != NULL &&
          g_strcmp0 (candidate->id, job_id) == 0 && g_strcmp0 (candidate->key, key) == 0 &&
          g_strcmp0 (job_launched_worker_get_kind (candidate->worker), kind) == 0)
        found = candidate;
    }
  if (found == NULL)
    {
      /* Its token was good, but its worker was given up meanwhile. */
      g_io_stream_close (stream, NULL, NULL);
      return;
    }

  /* A token admits one connection. */
  forget_key (found);
  found->connected = TRUE;
  loss = g_strdup_printf (_("the connection to the ssh worker %s on %s was lost"),
                          found->id, found->host);
  job_launched_worker_attach_stream (found->worker, stream, loss);
}

static gboolean
ensure_listener (JobSshLauncher  *self,
                 GError         **error)
{
  return job_worker_dialback_ensure_listening (self->dialback, self->current.listen_address,
                                               self->current.port, self->current.certificate,
                                               self->current.tls, error);
}

/* Starting. */

static char **
worker_argv (JobSshLauncher        *self,
             const char            *kind,
             const JobWorkerSetup  *setup,
             GError               **error)
{
  const char * const *custom = self->current.commands != NULL
                               ? g_hash_table_lookup (self->current.commands, kind) : NULL;
  g_auto(GStrv) program = custom != NULL ? g_strdupv ((char **) custom)
                                         : job_worker_command_dup (kind, error);
  g_autoptr(GStrvBuilder) argv = g_strv_builder_new ();
  g_autoptr(GPtrArray) threads = g_ptr_array_new_with_free_func (g_free);
  gboolean any = FALSE;

  if (program == NULL)
    return NULL;
  /* The remote host's environment is its own: only what a run asks for
   * explicitly travels, through env(1). */
  g_strv_builder_add (argv, "env");
  job_worker_setup_add_thread_variables (setup, threads, TRUE);
  for (guint i = 0; i < threads->len; i++)
    {
      g_strv_builder_add (argv, g_ptr_array_index (threads, i));
      any = TRUE;
    }
  for (gsize i = 0; setup->environment != NULL && setup->environment[i] != NULL; i++)
    {
      g_strv_builder_add (argv, setup->environment[i]);
      any = TRUE;
    }
  if (!any)
    {
      g_auto(GStrv) bare = NULL;

      g_strv_builder_unref (g_steal_pointer (&argv));
      bare = g_strdupv (program);
      return g_steal_pointer (&bare);
    }
  g_strv_builder_addv (argv, (const char **) program);
  return g_strv_builder_end (argv);
}

static char *
remote_command (JobSshLauncher     *self,
                const char         *host,
                const char         *kind,
                const char * const *argv)
{
  const char *program = self->current.programs != NULL
                        ? g_hash_table_lookup (self->current.programs, host) : NULL;
  g_autofree char *found = program == NULL
                           ? job_worker_command_find_program ("joblib-glib-worker-connect")
                           : NULL;
  g_autofree char *quoted_program = g_shell_quote (program != NULL ? program : found);
  g_autofree char *quoted_address =
    g_shell_quote (job_worker_dialback_get_address (self->dialback));
  g_autofree char *quoted_kind = g_shell_quote (kind);
  GString *command = g_string_new ("exec ");

  g_string_append_printf (command, "%s --stdin %s %s --", quoted_program, quoted_address,
                          quoted_kind);
  for (gsize i = 0; argv[i] != NULL; i++)
    {
      g_autofree char *quoted = g_shell_quote (argv[i]);

      g_string_append_printf (command, " %s", quoted);
    }
  return g_string_free (command, FALSE);
}

static void spawn_on_host (SshWorker *ssh_worker, const JobSshHost *host, GError **error);

static void
on_stderr (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  SshWorker *ssh_worker = user_data;
  g_autoptr(GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source),
                                                              result, NULL);
  gsize size = bytes != NULL ? g_bytes_get_size (bytes) : 0;

  if (size == 0 || ssh_worker->stderr_tail == NULL)
    {
      ssh_worker_unref (ssh_worker);
      return;
    }
  g_string_append_len (ssh_worker->stderr_tail, g_bytes_get_data (bytes, NULL), size);
  if (ssh_worker->stderr_tail->len > STDERR_TAIL)
    g_string_erase (ssh_worker->stderr_tail, 0, ssh_worker->stderr_tail->len - STDERR_TAIL);
  g_input_stream_read_bytes_async (G_INPUT_STREAM (source), 4096, G_PRIORITY_DEFAULT,
                                   ssh_worker->cancellable, on_stderr, ssh_worker);
}

/* Why ssh ended: its last line of error output, else its status. */
static char *
describe_exit (SshWorker *ssh_worker)
{
  g_auto(GStrv) lines = g_strsplit (ssh_worker->stderr_tail->str, "\n", -1);
  GSubprocess *ssh = ssh_worker->ssh;

  for (gsize i = g_strv_length (lines); i > 0; i--)
    {
      g_strstrip (lines[i - 1]);
      if (lines[i - 1][0] != '\0')
        return g_strdup (lines[i - 1]);
    }
  if (g_subprocess_get_if_signaled (ssh))
    return g_strdup_printf (_("ssh was killed by signal %d"), g_subprocess_get_term_sig (ssh));
  if (g_subprocess_get_exit_status (ssh) == 255)
    return g_strdup (_("ssh could not connect or log in (exit status 255)"));
  if (g_subprocess_get_exit_status (ssh) == 127)
    return g_strdup (_("the worker program is not there (exit status 127)"));
  return g_strdup_printf (_("the worker ended before it connected (exit status %d)"),
                          g_subprocess_get_exit_status (ssh));
}

static void
ssh_worker_remove (SshWorker *ssh_worker)
{
  if (g_ptr_array_remove (ssh_worker->launcher->workers, ssh_worker))
    ssh_worker_unref (ssh_worker);
}

static void
on_ssh_exited (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  SshWorker *ssh_worker = user_data;
  JobSshLauncher *self = ssh_worker->launcher;
  g_autofree char *cause = NULL;
  const JobSshHost *host;
  gboolean new_down;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  ssh_worker->exited = TRUE;
  if (ssh_worker->kill_source != NULL)
    {
      g_source_destroy (ssh_worker->kill_source);
      g_clear_pointer (&ssh_worker->kill_source, g_source_unref);
    }
  if (source != G_OBJECT (ssh_worker->ssh))
    {
      /* A try on a host that went down, replaced since. */
      ssh_worker_unref (ssh_worker);
      return;
    }

  if (ssh_worker->worker == NULL)
    {
      /* Released: nothing waits for it any more. */
      ssh_worker_remove (ssh_worker);
      ssh_worker_unref (ssh_worker);
      return;
    }
  if (ssh_worker->connected)
    {
      /* The session is gone: the worker goes with it (lifeline), and its
       * connection's end reports the loss. */
      JobWorkerConnection *connection = job_launched_worker_get_connection (ssh_worker->worker);

      if (connection != NULL)
        job_worker_connection_kill (connection);
      ssh_worker_unref (ssh_worker);
      return;
    }
  forget_key (ssh_worker);
  if (ssh_worker->stopping || self->shutting_down)
    {
      job_launched_worker_ended (ssh_worker->worker, NULL,
                                 _("the ssh worker stopped before it connected"));
      ssh_worker_unref (ssh_worker);
      return;
    }

  /* It never connected: the host cannot run workers for this run. */
  cause = describe_exit (ssh_worker);
  g_mutex_lock (&self->lock);
  new_down = !g_hash_table_contains (self->down, ssh_worker->host);
  if (new_down)
    g_hash_table_insert (self->down, g_strdup (ssh_worker->host), g_strdup (cause));
  g_mutex_unlock (&self->lock);
  if (new_down)
    g_warning (_("SSH host %s cannot run workers, going on without it: %s"),
               ssh_worker->host, cause);

  host = pick_host (self);
  if (host != NULL)
    {
      g_autoptr(GError) error = NULL;

      spawn_on_host (ssh_worker, host, &error);
      if (error == NULL)
        {
          ssh_worker_unref (ssh_worker);
          return;
        }
      job_launched_worker_ended (ssh_worker->worker, error, NULL);
    }
  else
    {
      g_autoptr(GError) error = all_down_error (self);

      job_launched_worker_ended (ssh_worker->worker, error, NULL);
    }
  ssh_worker_unref (ssh_worker);
}

static void
spawn_on_host (SshWorker         *ssh_worker,
               const JobSshHost  *host,
               GError           **error)
{
  JobSshLauncher *self = ssh_worker->launcher;
  const char *kind = job_launched_worker_get_kind (ssh_worker->worker);
  g_autoptr(GSubprocessLauncher) spawner =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                               G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GStrvBuilder) argv = g_strv_builder_new ();
  g_auto(GStrv) full = NULL;
  g_auto(GStrv) worker = NULL;
  g_autofree char *command = NULL;
  g_autofree char *key = NULL;
  const char *token;
  const char *pin = job_worker_dialback_get_pin (self->dialback);
  g_autoptr(GString) settings = g_string_new (NULL);
  JobWorkerSetup setup = { ssh_worker->inner_threads, ssh_worker->inner_explicit,
                           (const char * const *) ssh_worker->environment };
  GSubprocess *ssh;

  worker = worker_argv (self, kind, &setup, error);
  if (worker == NULL)
    return;
  command = remote_command (self, host->name, kind, (const char * const *) worker);
  if (self->current.ssh_command != NULL && self->current.ssh_command[0] != NULL)
    g_strv_builder_addv (argv, (const char **) self->current.ssh_command);
  else
    g_strv_builder_add (argv, "ssh");
  /* No terminal, no prompt: a host that wants a password is down. */
  g_strv_builder_add_many (argv, "-T", "-o", "BatchMode=yes", "--", host->name, command, NULL);
  full = g_strv_builder_end (argv);

  /* A token of its own: it admits this worker's connection only. */
  job_worker_dialback_new_run (self->dialback);
  token = job_worker_dialback_hold (self->dialback, &key);
  g_string_append_printf (settings, "JOB_WORKER_TOKEN=%s\nJOB_WORKER_ID=%s\nJOB_WORKER_NODE=%s\n",
                          token, ssh_worker->id, host->name);
  if (pin != NULL)
    g_string_append_printf (settings, "JOB_WORKER_TLS_PIN=%s\n", pin);
  g_string_append_c (settings, '\n');

  ssh = g_subprocess_launcher_spawnv (spawner, (const char * const *) full, error);
  if (ssh == NULL)
    {
      job_worker_dialback_release (self->dialback, key);
      return;
    }

  /* The settings fit in the pipe: this write does not wait for ssh. */
  g_output_stream_write_all (g_subprocess_get_stdin_pipe (ssh), settings->str, settings->len,
                             NULL, NULL, NULL);
  memset (settings->str, 0, settings->len);

  forget_key (ssh_worker);
  ssh_worker->key = g_steal_pointer (&key);
  g_free (ssh_worker->host);
  ssh_worker->host = g_strdup (host->name);
  g_clear_object (&ssh_worker->ssh);
  ssh_worker->ssh = ssh;
  ssh_worker->exited = FALSE;
  g_string_truncate (ssh_worker->stderr_tail, 0);
  g_input_stream_read_bytes_async (g_subprocess_get_stderr_pipe (ssh), 4096, G_PRIORITY_DEFAULT,
                                   ssh_worker->cancellable, on_stderr,
                                   ssh_worker_ref (ssh_worker));
  g_subprocess_wait_async (ssh, NULL, on_ssh_exited, ssh_worker_ref (ssh_worker));
}

static gboolean
launcher_start (JobWorkerLauncher    *launcher,
                JobLaunchedWorker    *worker,
                const JobWorkerSetup *setup,
                GError              **error)
{
  JobSshLauncher *self = launcher_of (launcher);
  const JobSshHost *host;
  SshWorker *ssh_worker;

  refresh_settings (self);
  if (!ensure_listener (self, error))
    return FALSE;
  host = pick_host (self);
  if (host == NULL)
    {
      g_propagate_error (error, all_down_error (self));
      return FALSE;
    }

  ssh_worker = g_new0 (SshWorker, 1);
  ssh_worker->refs = 1;   /* the workers array's */
  ssh_worker->launcher = self;
  ssh_worker->worker = worker;
  ssh_worker->id = g_strdup_printf ("ssh-%" G_GUINT64_FORMAT, ++self->next_id);
  ssh_worker->cancellable = g_cancellable_new ();
  ssh_worker->stderr_tail = g_string_new (NULL);
  ssh_worker->inner_threads = setup->inner_threads;
  ssh_worker->inner_explicit = setup->inner_explicit;
  ssh_worker->environment = g_strdupv ((char **) setup->environment);
  g_ptr_array_add (self->workers, ssh_worker);
  spawn_on_host (ssh_worker, host, error);
  if (ssh_worker->ssh == NULL)
    {
      ssh_worker->worker = NULL;
      ssh_worker_remove (ssh_worker);
      return FALSE;
    }
  job_launched_worker_set_data (worker, ssh_worker);
  return TRUE;
}

/* Stopping. */

static gboolean
on_exit_overdue (gpointer user_data)
{
  SshWorker *ssh_worker = user_data;

  g_clear_pointer (&ssh_worker->kill_source, g_source_unref);
  if (!ssh_worker->exited)
    g_subprocess_force_exit (ssh_worker->ssh);
  return G_SOURCE_REMOVE;
}

/* Ends ssh's input, the remote worker's lifeline: the worker, its
 * connector and the session end there, and ssh exits here. One that does
 * not within JOB_SSH_LAUNCHER_EXIT_WAIT seconds is killed. */
static void
end_session (SshWorker *ssh_worker,
             gboolean   now)
{
  if (ssh_worker->ssh == NULL || ssh_worker->exited)
    return;
  g_output_stream_close (g_subprocess_get_stdin_pipe (ssh_worker->ssh), NULL, NULL);
  if (now)
    {
      g_subprocess_force_exit (ssh_worker->ssh);
      return;
    }
  if (ssh_worker->kill_source != NULL)
    return;
  ssh_worker->kill_source = g_timeout_source_new_seconds (JOB_SSH_LAUNCHER_EXIT_WAIT);
  g_source_set_static_name (ssh_worker->kill_source, "[joblib-glib] ssh exit");
  g_source_set_callback (ssh_worker->kill_source, on_exit_overdue,
                         ssh_worker_ref (ssh_worker), (GDestroyNotify) ssh_worker_unref);
  g_source_attach (ssh_worker->kill_source, g_main_context_get_thread_default ());
}

static void
launcher_stop (JobWorkerLauncher *launcher,
               JobLaunchedWorker *worker,
               gboolean           kill)
{
  SshWorker *ssh_worker = job_launched_worker_get_data (worker);
  JobWorkerConnection *connection = job_launched_worker_get_connection (worker);

  ssh_worker->stopping = TRUE;
  if (connection == NULL)
    {
      /* Not connected yet: its ssh's exit reports the end. */
      end_session (ssh_worker, TRUE);
      return;
    }
  if (kill)
    {
      job_worker_connection_kill (connection);
      end_session (ssh_worker, FALSE);
    }
  else
    job_worker_connection_close (connection);
}

static void
launcher_release (JobWorkerLauncher *launcher,
                  JobLaunchedWorker *worker)
{
  SshWorker *ssh_worker = job_launched_worker_get_data (worker);

  ssh_worker->worker = NULL;
  forget_key (ssh_worker);
  if (ssh_worker->ssh == NULL || ssh_worker->exited)
    ssh_worker_remove (ssh_worker);
  else
    end_session (ssh_worker, FALSE);
}

static gboolean
launcher_is_alive (JobWorkerLauncher *launcher,
                   JobLaunchedWorker *worker)
{
  JobWorkerConnection *connection = job_launched_worker_get_connection (worker);
  SshWorker *ssh_worker = job_launched_worker_get_data (worker);

  /* Starting counts as alive: the pool must not start more meanwhile. */
  if (connection == NULL)
    return ssh_worker->ssh != NULL && !ssh_worker->exited;
  return job_worker_connection_is_alive (connection);
}

static gint64
launcher_get_pid (JobWorkerLauncher *launcher,
                  JobLaunchedWorker *worker)
{
  JobWorkerConnection *connection = job_launched_worker_get_connection (worker);

  return connection != NULL ? job_worker_connection_get_pid (connection) : 0;
}

static char *
launcher_describe (JobWorkerLauncher *launcher,
                   JobLaunchedWorker *worker)
{
  SshWorker *ssh_worker = job_launched_worker_get_data (worker);

  return g_strdup_printf (_("ssh worker %s on %s"), ssh_worker->id,
                          ssh_worker->host != NULL ? ssh_worker->host : "?");
}

/* Listening stops first: a worker killed in the middle of its handshake
 * is then no refused connection to warn about. */
static void
launcher_begin_shutdown (JobWorkerLauncher *launcher)
{
  JobSshLauncher *self = launcher_of (launcher);

  self->shutting_down = TRUE;
  job_worker_dialback_stop_listening (self->dialback);
}

/* Every ssh has exited: nothing this launcher started runs anywhere. */
static void
launcher_end_shutdown (JobWorkerLauncher *launcher)
{
  JobSshLauncher *self = launcher_of (launcher);

  for (guint i = 0; i < self->workers->len; i++)
    end_session (g_ptr_array_index (self->workers, i), FALSE);
  while (self->workers->len > 0)
    g_main_context_iteration (g_main_context_get_thread_default (), TRUE);
  job_worker_dialback_stop_listening (self->dialback);
  self->shutting_down = FALSE;
}

static void
launcher_free (JobWorkerLauncher *launcher)
{
  JobSshLauncher *self = launcher_of (launcher);

  g_assert (self->workers->len == 0);
  g_ptr_array_unref (self->workers);
  job_worker_dialback_free (self->dialback);
  g_hash_table_unref (self->down);
  job_ssh_settings_clear (&self->settings);
  job_ssh_settings_clear (&self->current);
  g_mutex_clear (&self->lock);
  g_free (self);
}

static const JobWorkerLauncherClass ssh_launcher_class = {
  .name = "ssh",
  /* A login takes a fraction of a second to seconds: start them all. */
  .start_all_at_once = TRUE,
  .start = launcher_start,
  .stop = launcher_stop,
  .release = launcher_release,
  .free = launcher_free,
  .is_alive = launcher_is_alive,
  .get_pid = launcher_get_pid,
  .describe = launcher_describe,
  .begin_shutdown = launcher_begin_shutdown,
  .end_shutdown = launcher_end_shutdown,
};

JobWorkerLauncher *
job_ssh_launcher_new (void)
{
  JobSshLauncher *self = g_new0 (JobSshLauncher, 1);

  self->parent.klass = &ssh_launcher_class;
  g_mutex_init (&self->lock);
  job_ssh_settings_init (&self->settings);
  job_ssh_settings_init (&self->current);
  self->down = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->dialback = job_worker_dialback_new (on_accepted, self);
  self->workers = g_ptr_array_new ();
  return &self->parent;
}

void
job_ssh_launcher_set_settings (JobWorkerLauncher    *launcher,
                               const JobSshSettings *settings)
{
  JobSshLauncher *self = launcher_of (launcher);

  g_mutex_lock (&self->lock);
  job_ssh_settings_copy (settings, &self->settings);
  self->generation++;
  g_mutex_unlock (&self->lock);
}

char **
job_ssh_launcher_dup_down (JobWorkerLauncher *launcher)
{
  JobSshLauncher *self = launcher_of (launcher);
  g_autoptr(GStrvBuilder) down = g_strv_builder_new ();
  GHashTableIter iter;
  gpointer host, cause;

  g_mutex_lock (&self->lock);
  g_hash_table_iter_init (&iter, self->down);
  while (g_hash_table_iter_next (&iter, &host, &cause))
    {
      g_autofree char *line = g_strdup_printf ("%s: %s", (char *) host, (char *) cause);

      g_strv_builder_add (down, line);
    }
  g_mutex_unlock (&self->lock);
  return g_strv_builder_end (down);
}

/* On the pool thread. */
char *
job_ssh_launcher_listen (JobWorkerLauncher  *launcher,
                         GError            **error)
{
  JobSshLauncher *self = launcher_of (launcher);

  refresh_settings (self);
  if (!ensure_listener (self, error))
    return NULL;
  return g_strdup (job_worker_dialback_get_address (self->dialback));
}

/* On the pool thread. */
guint
job_ssh_launcher_get_n_refused (JobWorkerLauncher *launcher)
{
  JobSshLauncher *self = launcher_of (launcher);

  return job_worker_dialback_get_n_refused (self->dialback);
}
