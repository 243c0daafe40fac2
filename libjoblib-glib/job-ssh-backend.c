/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-error.h"
#include "job-i18n-private.h"
#include "job-ssh-backend.h"
#include "job-remote-backend-private.h"
#include "job-ssh-launcher-private.h"

/**
 * JobSshBackend:
 *
 * Runs batches on machines you can `ssh` into. Registered as `"ssh"`:
 * the same [class@Joblib.Parallel] code that runs on threads or local
 * processes runs on a few lab machines.
 *
 * Each worker starts with `ssh HOST joblib-glib-worker-connect …`
 * (OpenSSH's client through `GSubprocess`, so the user's own keys, agent
 * and `~/.ssh/config` apply; `BatchMode=yes`: a host that would ask for
 * a password is left out instead). The connector dials back to the
 * driver and hands the connection to the worker program of the
 * functions' reference kind, as on a Slurm cluster: before any work,
 * worker and driver prove to each other that they hold a random token
 * that each worker gets through ssh's encrypted input, never on a
 * command line, and that admits one connection only; the token never
 * crosses the network. Off loopback the connection is TLS by default
 * ([property@Joblib.RemoteBackend:tls]).
 *
 * Hosts come from [property@Joblib.SshBackend:hosts] (`"lab1:4"` runs
 * four workers on lab1, `"lab2"` one) and
 * [property@Joblib.SshBackend:hosts-file]. The worker programs are found
 * on each host at the paths they have here (an installation in the same
 * prefix); [method@Joblib.SshBackend.set_host_program] names another
 * `joblib-glib-worker-connect` for one host. A host that cannot be
 * reached, refuses the login, lacks the worker program or cannot reach
 * the driver is left out of the run with a warning naming it and the
 * cause ([method@Joblib.SshBackend.get_down_hosts]); the run goes on
 * with the other hosts, and fails with an error naming every host only
 * when none is left.
 *
 * A worker whose connection or ssh session is lost has its unanswered
 * tasks sent to other workers, and another worker starts; a task lost
 * more than [property@Joblib.RemoteBackend:max-retries] times fails with
 * [error@Joblib.Error.WORKER_DIED]. Cancelling a run stops the workers
 * running its tasks; [method@Joblib.Backend.shutdown] (and finalization)
 * returns once every ssh it started has exited, which happens only
 * after the remote worker and its connector are gone.
 *
 * Arguments larger than [property@Joblib.RemoteBackend:max-nbytes] go
 * through files in [property@Joblib.RemoteBackend:shared-folder] when it is
 * set (a folder every host sees at the same path), through the
 * connection otherwise.
 *
 * Thread safety: the methods may be called from any thread; the workers
 * are managed by a thread of the backend, and batches complete on the
 * thread-default main context of the caller of
 * [method@Joblib.Backend.run_batch_async]. Properties apply from the
 * next [method@Joblib.Backend.configure].
 */
struct _JobSshBackend
{
  JobRemoteBackend  parent_instance;
  GMutex            mutex;       /* guards the fields below */
  char            **hosts;
  char             *hosts_file;
  char            **ssh_command;
  GHashTable       *programs;    /* host → connect program */
};

enum {
  PROP_0,
  PROP_HOSTS,
  PROP_HOSTS_FILE,
  PROP_SSH_COMMAND,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (JobSshBackend, job_ssh_backend, JOB_TYPE_REMOTE_BACKEND)

/* The hosts of the properties and the file, under the mutex. */
static GPtrArray *
read_hosts (JobSshBackend  *self,
            GError        **error)
{
  g_autoptr(GPtrArray) hosts = g_ptr_array_new_with_free_func ((GDestroyNotify) job_ssh_host_free);

  for (gsize i = 0; self->hosts != NULL && self->hosts[i] != NULL; i++)
    {
      JobSshHost *host = g_new0 (JobSshHost, 1);

      if (!job_ssh_host_parse (self->hosts[i], host, error))
        {
          g_free (host);
          return NULL;
        }
      g_ptr_array_add (hosts, host);
    }
  if (self->hosts_file != NULL && !job_ssh_hosts_file_read (self->hosts_file, hosts, error))
    return NULL;
  if (hosts->len == 0)
    {
      g_set_error_literal (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
                           _("The SSH backend has no hosts: set its hosts or hosts-file"));
      return NULL;
    }
  return g_steal_pointer (&hosts);
}

static int
job_ssh_backend_get_n_workers (JobRemoteBackend *backend,
                               int               n_jobs)
{
  JobSshBackend *self = JOB_SSH_BACKEND (backend);
  g_autoptr(GPtrArray) hosts = NULL;
  int slots = 0;

  g_mutex_lock (&self->mutex);
  hosts = read_hosts (self, NULL);
  g_mutex_unlock (&self->mutex);
  for (guint i = 0; hosts != NULL && i < hosts->len; i++)
    slots += ((JobSshHost *) g_ptr_array_index (hosts, i))->slots;
  return slots > 0 ? slots : MAX (n_jobs, 1);
}

/* Every run takes the properties as they are then: hosts (the file read
 * again), programs, listening, limits; and every host is up again. */
static gboolean
job_ssh_backend_prepare (JobRemoteBackend  *backend,
                         int                n_jobs,
                         int                inner_max_num_threads,
                         gboolean           new_run,
                         GError           **error)
{
  JobSshBackend *self = JOB_SSH_BACKEND (backend);
  JobSshSettings settings;
  JobRemoteSettings remote;
  g_autoptr(GPtrArray) hosts = NULL;
  guint slots = 0;

  g_mutex_lock (&self->mutex);
  hosts = read_hosts (self, error);
  if (hosts == NULL)
    {
      g_mutex_unlock (&self->mutex);
      return FALSE;
    }
  job_ssh_settings_init (&settings);
  for (guint i = 0; i < hosts->len; i++)
    {
      JobSshHost *host = g_ptr_array_index (hosts, i);
      JobSshHost *copy = g_new0 (JobSshHost, 1);

      copy->name = g_strdup (host->name);
      copy->slots = host->slots;
      slots += host->slots;
      g_ptr_array_add (settings.hosts, copy);
    }
  settings.ssh_command = g_strdupv (self->ssh_command);
  settings.programs = g_hash_table_ref (self->programs);
  g_mutex_unlock (&self->mutex);

  job_remote_backend_dup_settings (backend, &remote);
  settings.commands = g_hash_table_ref (remote.commands);
  settings.listen_address = g_strdup (remote.listen_address);
  settings.port = remote.port;
  settings.certificate = remote.certificate != NULL ? g_object_ref (remote.certificate) : NULL;
  settings.tls = remote.tls;
  job_ssh_launcher_set_settings (job_remote_backend_get_launcher (backend), &settings);
  job_ssh_settings_clear (&settings);

  /* A remote host's CPUs are its own: the thread variables travel only
   * when the run sets them. */
  job_remote_backend_configure_pool (backend, &remote, (int) slots,
                                     MAX (inner_max_num_threads, 1),
                                     inner_max_num_threads > 0, FALSE);
  job_remote_settings_clear (&remote);
  return TRUE;
}

static void
job_ssh_backend_finalize (GObject *object)
{
  JobSshBackend *self = JOB_SSH_BACKEND (object);

  g_strfreev (self->hosts);
  g_free (self->hosts_file);
  g_strfreev (self->ssh_command);
  g_hash_table_unref (self->programs);
  g_mutex_clear (&self->mutex);

  G_OBJECT_CLASS (job_ssh_backend_parent_class)->finalize (object);
}

static void
job_ssh_backend_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  JobSshBackend *self = JOB_SSH_BACKEND (object);

  g_mutex_lock (&self->mutex);
  switch (prop_id)
    {
    case PROP_HOSTS: g_value_set_boxed (value, self->hosts); break;
    case PROP_HOSTS_FILE: g_value_set_string (value, self->hosts_file); break;
    case PROP_SSH_COMMAND: g_value_set_boxed (value, self->ssh_command); break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
  g_mutex_unlock (&self->mutex);
}

static void
job_ssh_backend_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  JobSshBackend *self = JOB_SSH_BACKEND (object);
  gboolean changed = FALSE;

  g_mutex_lock (&self->mutex);
  switch (prop_id)
    {
    case PROP_HOSTS: changed = job_remote_set_strv (&self->hosts, value); break;
    case PROP_HOSTS_FILE: changed = job_remote_set_string (&self->hosts_file, value); break;
    case PROP_SSH_COMMAND: changed = job_remote_set_strv (&self->ssh_command, value); break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
  g_mutex_unlock (&self->mutex);

  if (changed)
    g_object_notify_by_pspec (object, pspec);
}

static void
job_ssh_backend_class_init (JobSshBackendClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  JobRemoteBackendClass *remote_class = JOB_REMOTE_BACKEND_CLASS (klass);
  GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->finalize = job_ssh_backend_finalize;
  object_class->get_property = job_ssh_backend_get_property;
  object_class->set_property = job_ssh_backend_set_property;
  remote_class->prepare = job_ssh_backend_prepare;
  remote_class->get_n_workers = job_ssh_backend_get_n_workers;

  /**
   * JobSshBackend:hosts:
   *
   * The hosts to run workers on, as `ssh` takes them (names, `user@host`,
   * aliases of `~/.ssh/config`), each with an optional number of workers:
   * `"lab1:4"`, `"lab2"` (one). An IPv6 address with a count goes in
   * brackets: `"[fe80::1]:2"`.
   */
  properties[PROP_HOSTS] =
    g_param_spec_boxed ("hosts", NULL, NULL, G_TYPE_STRV, flags);
  /**
   * JobSshBackend:hosts-file:
   *
   * A file of more hosts, one `HOST[:WORKERS]` a line, `#` starting a
   * comment; read again by every run.
   */
  properties[PROP_HOSTS_FILE] =
    g_param_spec_string ("hosts-file", NULL, NULL, NULL, flags);
  /**
   * JobSshBackend:ssh-command:
   *
   * The ssh client and its options, before the host: `["ssh", "-F",
   * "my_config"]`, `["ssh", "-J", "gateway"]`; %NULL: `ssh`. The backend
   * adds `-T -o BatchMode=yes`.
   */
  properties[PROP_SSH_COMMAND] =
    g_param_spec_boxed ("ssh-command", NULL, NULL, G_TYPE_STRV, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
job_ssh_backend_init (JobSshBackend *self)
{
  g_mutex_init (&self->mutex);
  self->programs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  job_remote_backend_set_launcher (JOB_REMOTE_BACKEND (self), "joblib-ssh",
                                   job_ssh_launcher_new (), TRUE);
}

/**
 * job_ssh_backend_new:
 * @hosts: (nullable) (array zero-terminated=1): the hosts, as
 *   [property@Joblib.SshBackend:hosts]
 *
 * Creates an SSH backend for @hosts.
 *
 * Returns: (transfer full): a new #JobSshBackend
 */
JobSshBackend *
job_ssh_backend_new (const char * const *hosts)
{
  return g_object_new (JOB_TYPE_SSH_BACKEND, "hosts", hosts, NULL);
}

/**
 * job_ssh_backend_set_worker_command:
 * @self: a #JobSshBackend
 * @kind: a reference kind (`"native"`, `"python"`, `"gjs"`…)
 * @argv: (nullable) (array zero-terminated=1): the worker program and its
 *   arguments as they run on the hosts, or %NULL for the default
 *
 * Sets the worker program of @kind for this backend's workers (for
 * example `["/opt/venv/bin/python3", "-m", "joblib_glib.worker"]`).
 * Applies from the next run.
 */
void
job_ssh_backend_set_worker_command (JobSshBackend      *self,
                                    const char         *kind,
                                    const char * const *argv)
{
  g_return_if_fail (JOB_IS_SSH_BACKEND (self));
  g_return_if_fail (kind != NULL && kind[0] != '\0');
  g_return_if_fail (argv == NULL || argv[0] != NULL);

  job_remote_backend_set_command (JOB_REMOTE_BACKEND (self), kind, argv);
}

/**
 * job_ssh_backend_set_host_program:
 * @self: a #JobSshBackend
 * @host: a host, as named in [property@Joblib.SshBackend:hosts] (without
 *   its worker count)
 * @program: (nullable): the path of `joblib-glib-worker-connect` on
 *   @host, or %NULL for the default (its path here)
 *
 * Names the connect-back program on one host, for a host where
 * joblib-glib is installed elsewhere. Applies from the next run.
 */
void
job_ssh_backend_set_host_program (JobSshBackend *self,
                                  const char    *host,
                                  const char    *program)
{
  g_return_if_fail (JOB_IS_SSH_BACKEND (self));
  g_return_if_fail (host != NULL && host[0] != '\0');
  g_return_if_fail (program == NULL || program[0] != '\0');

  g_mutex_lock (&self->mutex);
  if (program == NULL)
    g_hash_table_remove (self->programs, host);
  else
    g_hash_table_insert (self->programs, g_strdup (host), g_strdup (program));
  g_mutex_unlock (&self->mutex);
}

/**
 * job_ssh_backend_start_workers:
 * @self: a #JobSshBackend
 * @kind: the reference kind of the workers (`"native"`, `"python"`…)
 * @n_workers: how many must be connected
 * @timeout: seconds to wait
 * @error: return location for a #GError
 *
 * Configures the backend as a run would, starts a worker on every slot
 * of the hosts and waits until @n_workers of them are connected: a run
 * that follows starts at full speed. They stay until shutdown.
 *
 * Returns: %TRUE once @n_workers are connected; %FALSE with
 *   [error@Joblib.Error.TIMEOUT] after @timeout seconds, or with the
 *   error that keeps every host from running workers
 */
gboolean
job_ssh_backend_start_workers (JobSshBackend  *self,
                               const char     *kind,
                               int             n_workers,
                               double          timeout,
                               GError        **error)
{
  g_return_val_if_fail (JOB_IS_SSH_BACKEND (self), FALSE);
  g_return_val_if_fail (kind != NULL, FALSE);
  g_return_val_if_fail (n_workers >= 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return job_remote_backend_start_workers (JOB_REMOTE_BACKEND (self), kind, n_workers,
                                           timeout, error);
}

/**
 * job_ssh_backend_listen:
 * @self: a #JobSshBackend
 * @error: return location for a #GError
 *
 * Starts listening for workers now (else the first run does) and says
 * where, as workers dial it.
 *
 * Returns: (transfer full): `"HOST:PORT"`, or %NULL with @error set
 */
char *
job_ssh_backend_listen (JobSshBackend  *self,
                        GError        **error)
{
  g_return_val_if_fail (JOB_IS_SSH_BACKEND (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!job_backend_configure (JOB_BACKEND (self), 1, error))
    return NULL;
  return job_remote_backend_ask (JOB_REMOTE_BACKEND (self),
                                 (JobRemoteQuestion) job_ssh_launcher_listen, error);
}

/**
 * job_ssh_backend_get_worker_pids:
 * @self: a #JobSshBackend
 * @n_pids: (out): the number of workers
 *
 * Lists the process ids of the connected workers, each on its own host,
 * in no order; a worker is listed once its first frame arrived.
 *
 * Returns: (transfer full) (array length=n_pids): the pids
 */
int *
job_ssh_backend_get_worker_pids (JobSshBackend *self,
                                 guint         *n_pids)
{
  GArray *pids;

  g_return_val_if_fail (JOB_IS_SSH_BACKEND (self), NULL);
  g_return_val_if_fail (n_pids != NULL, NULL);

  pids = job_worker_pool_get_pids (job_remote_backend_get_pool (JOB_REMOTE_BACKEND (self)));
  /* A worker says its pid in its first frame, after it connected. */
  for (guint i = pids->len; i > 0; i--)
    if (g_array_index (pids, int, i - 1) <= 0)
      g_array_remove_index_fast (pids, i - 1);
  *n_pids = pids->len;
  return (int *) g_array_free (pids, FALSE);
}

/**
 * job_ssh_backend_get_down_hosts:
 * @self: a #JobSshBackend
 *
 * Lists the hosts left out of the current run, each as `"HOST: cause"`
 * (the last thing ssh or the worker program said).
 *
 * Returns: (transfer full) (array zero-terminated=1): the hosts
 */
char **
job_ssh_backend_get_down_hosts (JobSshBackend *self)
{
  g_return_val_if_fail (JOB_IS_SSH_BACKEND (self), NULL);

  return job_ssh_launcher_dup_down (job_remote_backend_get_launcher (JOB_REMOTE_BACKEND (self)));
}

/**
 * job_ssh_backend_get_n_refused:
 * @self: a #JobSshBackend
 *
 * Counts the connections that were refused because they could not
 * prove that they hold a token of this backend.
 *
 * Returns: the number of refused connections
 */
guint
job_ssh_backend_get_n_refused (JobSshBackend *self)
{
  g_return_val_if_fail (JOB_IS_SSH_BACKEND (self), 0);

  return job_remote_backend_ask_uint (JOB_REMOTE_BACKEND (self),
                                      job_ssh_launcher_get_n_refused);
}
