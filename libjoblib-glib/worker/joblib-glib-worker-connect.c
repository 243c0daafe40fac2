/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* joblib-glib-worker-connect: runs a worker program (native, Python or
 * GJS) on a connection to a driver instead of on pipes from a parent.
 *
 *   joblib-glib-worker-connect HOST:PORT KIND -- PROGRAM [ARG…]
 *
 * It connects to HOST:PORT, proves that it belongs to the run with the
 * token found in JOB_WORKER_TOKEN (the environment, never the command
 * line, which any user of the machine can read), then hands the
 * connection to PROGRAM as its standard input and output: PROGRAM speaks
 * the worker protocol as it does on pipes, without a copy in between.
 * When JOB_WORKER_TLS_CERT holds the driver's certificate (PEM), the
 * connection is TLS, the driver must present exactly that certificate,
 * and this program relays bytes between the TLS connection and PROGRAM's
 * pipes.
 *
 * The first frame on the connection is the authentication frame, a HELLO
 * of kind "connect" whose extra fields are `token`, `kind` (the worker
 * kind that follows), `job` (SLURM_JOB_ID) and `node` (SLURMD_NODENAME);
 * PROGRAM's own HELLO comes next. See docs/slurm.md.
 *
 * Exit status: PROGRAM's; 3 when the driver cannot be reached. */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib-unix.h>

#include "job-worker-protocol-private.h"

#define CONNECT_ATTEMPTS 5

static gboolean
on_accept_certificate (GTlsConnection       *connection,
                       GTlsCertificate      *peer,
                       GTlsCertificateFlags  errors,
                       gpointer              user_data)
{
  /* Pinned: the driver's own, usually self-signed, certificate. */
  return g_tls_certificate_is_same (peer, G_TLS_CERTIFICATE (user_data));
}

static GIOStream *
connect_to_driver (const char  *address,
                   const char  *tls_pem,
                   GError     **error)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GIOStream) tls = NULL;
  g_autoptr(GTlsCertificate) pinned = NULL;

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
  g_socket_set_option (g_socket_connection_get_socket (connection),
                       IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  if (tls_pem == NULL)
    return G_IO_STREAM (g_steal_pointer (&connection));

  pinned = g_tls_certificate_new_from_pem (tls_pem, -1, error);
  if (pinned == NULL)
    return NULL;
  tls = g_tls_client_connection_new (G_IO_STREAM (connection), NULL, error);
  if (tls == NULL)
    return NULL;
  g_signal_connect (tls, "accept-certificate", G_CALLBACK (on_accept_certificate), pinned);
  if (!g_tls_connection_handshake (G_TLS_CONNECTION (tls), NULL, error))
    return NULL;
  return g_steal_pointer (&tls);
}

static gboolean
send_credentials (GIOStream   *stream,
                  const char  *kind,
                  const char  *token,
                  GError     **error)
{
  GVariantBuilder extra;
  const char *job = g_getenv ("SLURM_JOB_ID");
  const char *node = g_getenv ("SLURMD_NODENAME");

  g_variant_builder_init (&extra, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&extra, "{sv}", "token", g_variant_new_string (token));
  g_variant_builder_add (&extra, "{sv}", "kind", g_variant_new_string (kind));
  g_variant_builder_add (&extra, "{sv}", "job", g_variant_new_string (job != NULL ? job : ""));
  g_variant_builder_add (&extra, "{sv}", "node",
                         g_variant_new_string (node != NULL ? node : g_get_host_name ()));
  return job_worker_write_frame (g_io_stream_get_output_stream (stream),
                                 JOB_WORKER_MESSAGE_HELLO,
                                 g_variant_new ("(sxa{sv})", "connect", (gint64) getpid (),
                                                &extra),
                                 NULL, error);
}

/* Plain TCP: the socket becomes the program's stdin and stdout. */
static int
exec_on_socket (GIOStream  *stream,
                char      **argv)
{
  GSocket *socket = g_socket_connection_get_socket (G_SOCKET_CONNECTION (stream));
  int fd = g_socket_get_fd (socket);

  /* GSocket made it non-blocking; workers expect blocking descriptors. */
  g_unix_set_fd_nonblocking (fd, FALSE, NULL);
  if (dup2 (fd, STDIN_FILENO) < 0 || dup2 (fd, STDOUT_FILENO) < 0)
    {
      g_printerr ("joblib-glib-worker-connect: dup2: %s\n", g_strerror (errno));
      return 3;
    }
  execvp (argv[0], argv);
  g_printerr ("joblib-glib-worker-connect: cannot run %s: %s\n", argv[0], g_strerror (errno));
  return 127;
}

typedef struct
{
  GMainLoop   *loop;
  GSubprocess *process;
  int          status;
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
                char      **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  Relay relay = { loop, NULL, 3 };

  relay.process = g_subprocess_newv ((const char * const *) argv,
                                     G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                     G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
  if (relay.process == NULL)
    {
      g_printerr ("joblib-glib-worker-connect: %s\n", error->message);
      return 127;
    }

  g_output_stream_splice_async (g_subprocess_get_stdin_pipe (relay.process),
                                g_io_stream_get_input_stream (stream),
                                G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET,
                                G_PRIORITY_DEFAULT, NULL, on_splice_done, NULL);
  g_output_stream_splice_async (g_io_stream_get_output_stream (stream),
                                g_subprocess_get_stdout_pipe (relay.process),
                                G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE,
                                G_PRIORITY_DEFAULT, NULL, on_splice_done, NULL);
  g_subprocess_wait_async (relay.process, NULL, on_process_exited, &relay);
  g_main_loop_run (loop);

  g_io_stream_close (stream, NULL, NULL);
  g_object_unref (relay.process);
  return relay.status;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GIOStream) stream = NULL;
  g_autofree char *token = NULL;
  g_autofree char *tls_pem = NULL;
  const char *address;
  const char *kind;

  if (argc < 5 || strcmp (argv[3], "--") != 0)
    {
      g_printerr ("usage: %s HOST:PORT KIND -- PROGRAM [ARG…]\n"
                  "  with the run's token in JOB_WORKER_TOKEN\n", argv[0]);
      return 2;
    }
  address = argv[1];
  kind = argv[2];

  token = g_strdup (g_getenv ("JOB_WORKER_TOKEN"));
  tls_pem = g_strdup (g_getenv ("JOB_WORKER_TLS_CERT"));
  if (token == NULL || token[0] == '\0')
    {
      g_printerr ("joblib-glib-worker-connect: JOB_WORKER_TOKEN is not set\n");
      return 2;
    }
  /* The worker and whatever it runs need not see them. */
  g_unsetenv ("JOB_WORKER_TOKEN");
  g_unsetenv ("JOB_WORKER_TLS_CERT");
  if (tls_pem != NULL && tls_pem[0] == '\0')
    g_clear_pointer (&tls_pem, g_free);

  stream = connect_to_driver (address, tls_pem, &error);
  if (stream == NULL || !send_credentials (stream, kind, token, &error))
    {
      g_printerr ("joblib-glib-worker-connect: cannot reach the driver at %s: %s\n",
                  address, error->message);
      return 3;
    }

  if (tls_pem == NULL)
    return exec_on_socket (stream, argv + 4);
  return relay_over_tls (stream, argv + 4);
}
