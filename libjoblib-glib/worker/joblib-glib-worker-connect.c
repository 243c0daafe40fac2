/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* joblib-glib-worker-connect: runs a worker program (native, Python or
 * GJS) on a connection to a driver instead of on pipes from a parent.
 *
 *   joblib-glib-worker-connect [--exit-with-driver|--stdin] HOST:PORT KIND -- PROGRAM [ARG…]
 *
 * It connects to HOST:PORT and authenticates both ways with the token
 * found in JOB_WORKER_TOKEN (the environment, never the command line,
 * which any user of the machine can read): it proves that it holds the
 * token and makes the driver prove it too, without the token crossing
 * the network (challenge and response, job-worker-auth-private.h and
 * docs/worker-protocol.md). A driver that cannot prove it is left before
 * PROGRAM starts. Then it hands the connection to PROGRAM as its
 * standard input and output: PROGRAM speaks the worker protocol as it
 * does on pipes, without a copy in between.
 *
 * When JOB_WORKER_TLS_PIN holds the SHA-256 fingerprint (hex) of the
 * driver's certificate, the connection is TLS, the driver must present
 * exactly that certificate, and this program relays bytes between the
 * TLS connection and PROGRAM's pipes. (JOB_WORKER_TLS_CERT, the PEM
 * certificate itself, is accepted too.)
 *
 * The worker names itself to the driver with JOB_WORKER_ID and
 * JOB_WORKER_NODE when set (launchers that are not Slurm: the driver
 * matches the connection to the worker it started), else with Slurm's
 * SLURM_JOB_ID and SLURMD_NODENAME, else "" and the host name.
 *
 * --exit-with-driver: PROGRAM runs as a child of this program, which
 * kills it (SIGKILL) as soon as the driver closes the connection, even
 * in the middle of a task; PROGRAM dies with this program, and this
 * program with the thread that started it (parent-death signals). For
 * launchers that cannot kill what they started (a task of a Dask or
 * IPython Parallel cluster): closing the connection stops the worker,
 * and a worker whose Dask worker process or engine dies goes with it.
 *
 * --stdin: the settings above come from standard input instead of the
 * environment, as NAME=VALUE lines ending with an empty line (the SSH
 * backend writes them into `ssh HOST joblib-glib-worker-connect --stdin
 * …`: no token in a command line or in the remote session's
 * environment), and standard input then stays a lifeline: when it ends
 * (the ssh session that started this program is gone, or the driver
 * closed it), PROGRAM is killed as with --exit-with-driver, which
 * --stdin implies.
 *
 * Exit status: PROGRAM's (128 + the signal when it was killed); 3 when
 * the driver cannot be reached or does not authenticate; 2 for bad
 * usage or settings. */
#define _GNU_SOURCE  /* POLLRDHUP */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gio/gunixinputstream.h>
#include <glib-unix.h>

#include "job-worker-auth-private.h"
#include "job-worker-protocol-private.h"

#define CONNECT_ATTEMPTS 5

static gboolean
on_accept_certificate (GTlsConnection       *connection,
                       GTlsCertificate      *peer,
                       GTlsCertificateFlags  errors,
                       gpointer              user_data)
{
  g_autoptr(GByteArray) der = NULL;
  g_autofree char *fingerprint = NULL;

  /* Pinned: the driver's own, usually self-signed, certificate. */
  g_object_get (peer, "certificate", &der, NULL);
  if (der == NULL)
    return FALSE;
  fingerprint = job_worker_auth_fingerprint (der);
  return g_ascii_strcasecmp (fingerprint, user_data) == 0;
}

static GIOStream *
connect_to_driver (const char  *address,
                   const char  *pin,
                   GError     **error)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GIOStream) tls = NULL;
  GSocket *socket;

  g_socket_client_set_timeout (client, 30);
  for (int attempt = 1; connection == NULL; attempt++)
    {
      g_clear_error (error);
      connection = g_socket_client_connect_to_host (client, address, 0, NULL, error);
      if (connection == NULL && attempt == CONNECT_ATTEMPTS)
        return NULL;
      if (connection == NULL)
        g_usleep (G_USEC_PER_SEC / 5 * attempt);
    }
  socket = g_socket_connection_get_socket (connection);
  g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  /* A driver that stops answering during the authentication. */
  g_socket_set_timeout (socket, 30);
  if (pin == NULL)
    return G_IO_STREAM (g_steal_pointer (&connection));

  tls = g_tls_client_connection_new (G_IO_STREAM (connection), NULL, error);
  if (tls == NULL)
    return NULL;
  g_signal_connect (tls, "accept-certificate", G_CALLBACK (on_accept_certificate),
                    (gpointer) pin);
  if (!g_tls_connection_handshake (G_TLS_CONNECTION (tls), NULL, error))
    return NULL;
  return g_steal_pointer (&tls);
}

static GVariant *
bytes_variant (const guint8 *data,
               gsize         size)
{
  return g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, data, size, 1);
}

/* The worker's side of job-worker-auth-private.h. */
static gboolean
authenticate (GIOStream   *stream,
              const char  *kind,
              const char  *token,
              const char  *channel,
              GError     **error)
{
  g_autofree char *key = NULL;
  g_autofree char *secret = NULL;
  g_autoptr(GVariant) challenge = NULL;
  g_autoptr(GVariant) extra = NULL;
  g_autoptr(GVariant) nonce = NULL;
  g_autoptr(GVariant) driver_proof = NULL;
  GVariantBuilder builder;
  guint8 worker_nonce[JOB_WORKER_AUTH_NONCE_SIZE];
  guint8 proof[JOB_WORKER_AUTH_PROOF_SIZE];
  const char *job = g_getenv ("JOB_WORKER_ID");
  const char *node = g_getenv ("JOB_WORKER_NODE");
  const char *challenge_kind;
  JobWorkerAuthExchange exchange = { 0, };
  JobWorkerMessage message;
  gsize n = 0;

  if (job == NULL || job[0] == '\0')
    job = g_getenv ("SLURM_JOB_ID");
  if (node == NULL || node[0] == '\0')
    node = g_getenv ("SLURMD_NODENAME");
  job_worker_auth_split_token (token, &key, &secret);
  exchange.key = key;
  exchange.kind = kind;
  exchange.job = job != NULL ? job : "";
  exchange.node = node != NULL ? node : g_get_host_name ();
  exchange.channel = channel;
  exchange.worker_nonce = worker_nonce;

  job_worker_auth_fill_nonce (worker_nonce);
  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&builder, "{sv}", "kind", g_variant_new_string (kind));
  g_variant_builder_add (&builder, "{sv}", "job", g_variant_new_string (exchange.job));
  g_variant_builder_add (&builder, "{sv}", "node", g_variant_new_string (exchange.node));
  g_variant_builder_add (&builder, "{sv}", "key", g_variant_new_string (key));
  g_variant_builder_add (&builder, "{sv}", "nonce",
                         bytes_variant (worker_nonce, sizeof worker_nonce));
  if (!job_worker_write_frame (g_io_stream_get_output_stream (stream), JOB_WORKER_MESSAGE_HELLO,
                               g_variant_new ("(sxa{sv})", "connect", (gint64) getpid (),
                                              &builder),
                               NULL, error))
    return FALSE;

  challenge = job_worker_read_frame (g_io_stream_get_input_stream (stream), 4096, &message,
                                     NULL, error);
  if (challenge == NULL)
    {
      if (error != NULL && *error == NULL)
        g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                             "the driver closed the connection (wrong token?)");
      return FALSE;
    }
  if (message != JOB_WORKER_MESSAGE_HELLO)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "the driver did not answer with a challenge");
      return FALSE;
    }
  g_variant_get (challenge, "(&sx@a{sv})", &challenge_kind, NULL, &extra);
  nonce = g_variant_lookup_value (extra, "nonce", G_VARIANT_TYPE_BYTESTRING);
  driver_proof = g_variant_lookup_value (extra, "proof", G_VARIANT_TYPE_BYTESTRING);
  if (nonce != NULL)
    exchange.driver_nonce = g_variant_get_fixed_array (nonce, &n, 1);
  if (!g_str_equal (challenge_kind, "challenge") || n != JOB_WORKER_AUTH_NONCE_SIZE)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "the driver did not answer with a challenge");
      return FALSE;
    }
  if (!job_worker_auth_check (JOB_WORKER_AUTH_DRIVER, secret, &exchange, driver_proof))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                           "the driver could not prove that it holds the token; "
                           "it is not the driver of this job");
      return FALSE;
    }

  job_worker_auth_prove (JOB_WORKER_AUTH_WORKER, secret, &exchange, proof);
  memset (secret, 0, strlen (secret));
  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&builder, "{sv}", "proof", bytes_variant (proof, sizeof proof));
  return job_worker_write_frame (g_io_stream_get_output_stream (stream), JOB_WORKER_MESSAGE_HELLO,
                                 g_variant_new ("(sxa{sv})", "proof", (gint64) getpid (),
                                                &builder),
                                 NULL, error);
}

/* Plain TCP: the socket becomes the program's stdin and stdout. */
static int
exec_on_socket (GIOStream  *stream,
                char      **argv)
{
  GSocket *socket = g_socket_connection_get_socket (G_SOCKET_CONNECTION (stream));
  int fd = g_socket_get_fd (socket);

  /* GSocket made it non-blocking; workers expect blocking descriptors,
   * and no timeout: a worker may wait for work for hours. */
  g_unix_set_fd_nonblocking (fd, FALSE, NULL);
  g_socket_set_timeout (socket, 0);
  if (dup2 (fd, STDIN_FILENO) < 0 || dup2 (fd, STDOUT_FILENO) < 0)
    {
      g_printerr ("joblib-glib-worker-connect: dup2: %s\n", g_strerror (errno));
      return 3;
    }
  execvp (argv[0], argv);
  g_printerr ("joblib-glib-worker-connect: cannot run %s: %s\n", argv[0], g_strerror (errno));
  return 127;
}

static int
status_of (int status)
{
  if (WIFEXITED (status))
    return WEXITSTATUS (status);
  return 128 + WTERMSIG (status);
}

/* Plain TCP, --exit-with-driver: the program gets the socket as on
 * exec_on_socket(), as a child; this process keeps a copy only to see
 * the driver hang up (POLLRDHUP reads nothing: the bytes stay the
 * program's), then kills it. */
/* --stdin: NAME=VALUE lines up to an empty one, read a byte at a time
 * (nothing past the empty line is consumed). */
static gboolean
read_settings (GError **error)
{
  static const char * const names[] = {
    "JOB_WORKER_TOKEN", "JOB_WORKER_TLS_PIN", "JOB_WORKER_TLS_CERT",
    "JOB_WORKER_ID", "JOB_WORKER_NODE",
  };
  g_autoptr(GString) line = g_string_new (NULL);
  guint n_lines = 0;

  for (;;)
    {
      char c;
      ssize_t n = read (STDIN_FILENO, &c, 1);
      const char *equal;
      gboolean known = FALSE;

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                               "standard input ended before the empty line that ends the settings");
          return FALSE;
        }
      if (c != '\n')
        {
          /* A PEM certificate is the longest setting. */
          if (line->len >= 16 * 1024)
            {
              g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                                   "a setting on standard input is too long");
              return FALSE;
            }
          g_string_append_c (line, c);
          continue;
        }
      if (line->len == 0)
        return TRUE;
      equal = strchr (line->str, '=');
      for (gsize i = 0; equal != NULL && i < G_N_ELEMENTS (names); i++)
        known |= strlen (names[i]) == (gsize) (equal - line->str) &&
                 strncmp (line->str, names[i], equal - line->str) == 0;
      if (!known || ++n_lines > G_N_ELEMENTS (names))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "unexpected setting on standard input: %.*s",
                       (int) (equal != NULL ? (gsize) (equal - line->str) : MIN (line->len, 40)),
                       line->str);
          return FALSE;
        }
      /* PEM lines travel with "\n" escaped. */
      {
        g_autofree char *name = g_strndup (line->str, equal - line->str);
        g_autofree char *value = g_strcompress (equal + 1);

        g_setenv (name, value, TRUE);
        memset (value, 0, strlen (value));
      }
      memset (line->str, 0, line->len);
      g_string_truncate (line, 0);
    }
}

static int
watch_on_socket (GIOStream  *stream,
                 char      **argv,
                 gboolean    lifeline)
{
  GSocket *socket = g_socket_connection_get_socket (G_SOCKET_CONNECTION (stream));
  int fd = g_socket_get_fd (socket);
  pid_t parent = getpid ();
  pid_t child;
  int status = 0;

  g_unix_set_fd_nonblocking (fd, FALSE, NULL);
  g_socket_set_timeout (socket, 0);
  child = fork ();
  if (child < 0)
    {
      g_printerr ("joblib-glib-worker-connect: fork: %s\n", g_strerror (errno));
      return 3;
    }
  if (child == 0)
    {
      /* Async-signal-safe calls only until exec. */
      if (prctl (PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid () != parent ||
          dup2 (fd, STDIN_FILENO) < 0 || dup2 (fd, STDOUT_FILENO) < 0)
        _exit (3);
      execvp (argv[0], argv);
      _exit (127);
    }

  for (;;)
    {
      struct pollfd watched[2] = { { fd, POLLRDHUP, 0 }, { STDIN_FILENO, POLLIN, 0 } };
      pid_t done = waitpid (child, &status, WNOHANG);
      gboolean gone = FALSE;

      if (done == child)
        return status_of (status);
      /* A pidfd would wake on the exit too; GLib 2.74 has no wrapper and
       * a fifth of a second is nothing next to a worker's life. */
      if (poll (watched, lifeline ? 2 : 1, 200) > 0)
        {
          char buffer[256];

          gone = (watched[0].revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
          /* The lifeline: only its end matters. */
          if (lifeline && (watched[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0)
            gone |= read (STDIN_FILENO, buffer, sizeof buffer) <= 0 && errno != EINTR;
        }
      if (gone)
        {
          kill (child, SIGKILL);
          while (waitpid (child, &status, 0) < 0 && errno == EINTR)
            ;
          return status_of (status);
        }
    }
}

typedef struct
{
  GMainLoop   *loop;
  GSubprocess *process;
  int          status;
  gboolean     exit_with_driver;
} Relay;

static void
on_splice_done (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  /* Either way ends: the driver closed (the worker's input closes, it
   * exits) or the worker exited (its output ends, the connection closes). */
  g_output_stream_splice_finish (G_OUTPUT_STREAM (source), result, NULL);
}

static void
on_driver_closed (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  Relay *relay = user_data;

  g_output_stream_splice_finish (G_OUTPUT_STREAM (source), result, NULL);
  if (relay->exit_with_driver)
    g_subprocess_force_exit (relay->process);
}

static void
on_lifeline_read (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  Relay *relay = user_data;
  g_autoptr(GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source),
                                                              result, NULL);

  if (bytes == NULL || g_bytes_get_size (bytes) == 0)
    {
      g_subprocess_force_exit (relay->process);
      return;
    }
  g_input_stream_read_bytes_async (G_INPUT_STREAM (source), 256, G_PRIORITY_DEFAULT, NULL,
                                   on_lifeline_read, relay);
}

static void
set_death_signal (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static void
on_process_exited (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Relay *relay = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  if (g_subprocess_get_if_exited (relay->process))
    relay->status = g_subprocess_get_exit_status (relay->process);
  else
    relay->status = 128 + g_subprocess_get_term_sig (relay->process);
  g_main_loop_quit (relay->loop);
}

/* TLS: the program talks on pipes, relayed to and from the connection. */
static int
relay_over_tls (GIOStream  *stream,
                char      **argv,
                gboolean    exit_with_driver,
                gboolean    lifeline)
{
  g_autoptr(GInputStream) lifeline_stream = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  Relay relay = { loop, NULL, 3, exit_with_driver };

  if (exit_with_driver)
    g_subprocess_launcher_set_child_setup (launcher, set_death_signal, NULL, NULL);
  relay.process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv, &error);
  if (relay.process == NULL)
    {
      g_printerr ("joblib-glib-worker-connect: %s\n", error->message);
      return 127;
    }

  g_output_stream_splice_async (g_subprocess_get_stdin_pipe (relay.process),
                                g_io_stream_get_input_stream (stream),
                                G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET,
                                G_PRIORITY_DEFAULT, NULL, on_driver_closed, &relay);
  g_output_stream_splice_async (g_io_stream_get_output_stream (stream),
                                g_subprocess_get_stdout_pipe (relay.process),
                                G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE,
                                G_PRIORITY_DEFAULT, NULL, on_splice_done, NULL);
  g_subprocess_wait_async (relay.process, NULL, on_process_exited, &relay);
  if (lifeline)
    {
      lifeline_stream = g_unix_input_stream_new (STDIN_FILENO, FALSE);
      g_input_stream_read_bytes_async (lifeline_stream, 256, G_PRIORITY_DEFAULT, NULL,
                                       on_lifeline_read, &relay);
    }
  g_main_loop_run (loop);

  g_io_stream_close (stream, NULL, NULL);
  g_object_unref (relay.process);
  return relay.status;
}

/* The pin: JOB_WORKER_TLS_PIN, or the fingerprint of the certificate in
 * JOB_WORKER_TLS_CERT; NULL for plain TCP. */
static char *
find_pin (GError **error)
{
  const char *pin = g_getenv ("JOB_WORKER_TLS_PIN");
  const char *pem = g_getenv ("JOB_WORKER_TLS_CERT");
  g_autoptr(GTlsCertificate) certificate = NULL;
  g_autoptr(GByteArray) der = NULL;

  if (pin != NULL && pin[0] != '\0')
    {
      if (strlen (pin) != 64 || strspn (pin, "0123456789abcdefABCDEF") != 64)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "JOB_WORKER_TLS_PIN is not a SHA-256 fingerprint in hex");
          return NULL;
        }
      return g_strdup (pin);
    }
  if (pem == NULL || pem[0] == '\0')
    return NULL;
  certificate = g_tls_certificate_new_from_pem (pem, -1, error);
  if (certificate == NULL)
    return NULL;
  g_object_get (certificate, "certificate", &der, NULL);
  return job_worker_auth_fingerprint (der);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GIOStream) stream = NULL;
  g_autofree char *token = NULL;
  g_autofree char *pin = NULL;
  const char *address;
  const char *kind;
  gboolean exit_with_driver = FALSE;
  gboolean lifeline = FALSE;
  int first = 1;

  for (; first < argc && g_str_has_prefix (argv[first], "--") && argv[first][2] != '\0';
       first++)
    {
      if (strcmp (argv[first], "--exit-with-driver") == 0)
        exit_with_driver = TRUE;
      else if (strcmp (argv[first], "--stdin") == 0)
        exit_with_driver = lifeline = TRUE;
      else
        break;
    }
  if (argc - first < 4 || strcmp (argv[first + 2], "--") != 0)
    {
      g_printerr ("usage: %s [--exit-with-driver|--stdin] HOST:PORT KIND -- PROGRAM [ARG…]\n"
                  "  with the run's token in JOB_WORKER_TOKEN (or, with --stdin, in a\n"
                  "  JOB_WORKER_TOKEN=… line on standard input, then an empty line)\n",
                  argv[0]);
      return 2;
    }
  address = argv[first];
  kind = argv[first + 1];
  if (exit_with_driver)
    {
      pid_t parent = getppid ();

      /* The parent may have gone before the signal was asked for. */
      if (prctl (PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid () != parent)
        return 3;
    }

  if (lifeline && !read_settings (&error))
    {
      g_printerr ("joblib-glib-worker-connect: %s\n", error->message);
      return 2;
    }

  token = g_strdup (g_getenv ("JOB_WORKER_TOKEN"));
  if (token == NULL || token[0] == '\0')
    {
      g_printerr ("joblib-glib-worker-connect: JOB_WORKER_TOKEN is not set\n");
      return 2;
    }
  pin = find_pin (&error);
  if (error != NULL)
    {
      g_printerr ("joblib-glib-worker-connect: %s\n", error->message);
      return 2;
    }
  /* The worker and whatever it runs need not see them. */
  g_unsetenv ("JOB_WORKER_TOKEN");
  g_unsetenv ("JOB_WORKER_TLS_PIN");
  g_unsetenv ("JOB_WORKER_TLS_CERT");

  stream = connect_to_driver (address, pin, &error);
  if (stream == NULL ||
      !authenticate (stream, kind, token, pin != NULL ? pin : "", &error))
    {
      g_printerr ("joblib-glib-worker-connect: cannot work for the driver at %s: %s\n",
                  address, error->message);
      return 3;
    }
  memset (token, 0, strlen (token));

  if (pin == NULL && exit_with_driver)
    return watch_on_socket (stream, argv + first + 3, lifeline);
  if (pin == NULL)
    return exec_on_socket (stream, argv + first + 3);
  return relay_over_tls (stream, argv + first + 3, exit_with_driver, lifeline);
}
