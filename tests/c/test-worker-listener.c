/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The cluster channel against hostile peers: the driver's listener and
 * joblib-glib-worker-connect authenticate each other before any work,
 * the token never crosses the network, and connections that do not
 * authenticate cost the driver little. */

#define _GNU_SOURCE  /* memmem */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <joblib-glib.h>

#include "job-tls-certificate-private.h"
#include "job-worker-auth-private.h"
#include "job-worker-listener-private.h"
#include "job-worker-protocol-private.h"

#define KEY "k1"
#define SECRET "5ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7"
#define TOKEN KEY "." SECRET

/* The admitted connection, as the listener hands it over. */
typedef struct
{
  GIOStream *stream;
  char      *kind;
  char      *job;
  char      *node;
  char      *key;
  gboolean   close;   /* close it at once (the test has no use for it) */
} Admitted;

static char *
key_func (const char *key,
          gpointer    user_data)
{
  return g_str_equal (key, KEY) ? g_strdup (SECRET) : NULL;
}

static void
on_admitted (JobWorkerListener *listener,
             GIOStream         *stream,
             const char        *kind,
             const char        *job,
             const char        *node,
             const char        *key,
             gpointer           user_data)
{
  Admitted *admitted = user_data;

  g_assert_null (admitted->stream);
  admitted->stream = g_object_ref (stream);
  admitted->kind = g_strdup (kind);
  admitted->job = g_strdup (job);
  admitted->node = g_strdup (node);
  admitted->key = g_strdup (key);
  if (admitted->close)
    g_io_stream_close (stream, NULL, NULL);
}

static void
admitted_clear (Admitted *admitted)
{
  g_clear_object (&admitted->stream);
  g_clear_pointer (&admitted->kind, g_free);
  g_clear_pointer (&admitted->job, g_free);
  g_clear_pointer (&admitted->node, g_free);
  g_clear_pointer (&admitted->key, g_free);
}

static JobWorkerListener *
new_listener (GTlsCertificate *certificate,
              Admitted        *admitted)
{
  g_autoptr(GError) error = NULL;
  JobWorkerListener *listener = job_worker_listener_new ("127.0.0.1", 0, certificate, key_func,
                                                         on_admitted, admitted, &error);

  g_assert_no_error (error);
  return listener;
}

/* A TCP relay that records every byte, both ways: what anyone on the
 * network path would see. */
typedef struct
{
  GSocket    *listening;   /* (owned) */
  guint16     target;
  GByteArray *seen;        /* (owned) */
  GThread    *thread;
} Proxy;

static gpointer
proxy_thread (gpointer data)
{
  Proxy *proxy = data;
  g_autoptr(GSocket) inner = g_socket_accept (proxy->listening, NULL, NULL);
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) outer = NULL;
  struct pollfd fds[2];
  guint8 buffer[4096];

  g_assert_nonnull (inner);
  outer = g_socket_client_connect_to_host (client, "127.0.0.1", proxy->target, NULL, NULL);
  g_assert_nonnull (outer);
  fds[0].fd = g_socket_get_fd (inner);
  fds[1].fd = g_socket_get_fd (g_socket_connection_get_socket (outer));
  for (;;)
    {
      fds[0].events = fds[1].events = POLLIN;
      if (poll (fds, 2, -1) < 0 && errno == EINTR)
        continue;
      for (int i = 0; i < 2; i++)
        if (fds[i].revents != 0)
          {
            gssize n = read (fds[i].fd, buffer, sizeof buffer);

            if (n <= 0)
              return NULL;
            g_byte_array_append (proxy->seen, buffer, n);
            g_assert_cmpint (write (fds[1 - i].fd, buffer, n), ==, n);
          }
    }
}

static Proxy *
proxy_start (guint16 target)
{
  Proxy *proxy = g_new0 (Proxy, 1);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GError) error = NULL;

  proxy->listening = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                   G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_socket_bind (proxy->listening, address, TRUE, &error);
  g_assert_no_error (error);
  g_socket_listen (proxy->listening, &error);
  g_assert_no_error (error);
  proxy->target = target;
  proxy->seen = g_byte_array_new ();
  proxy->thread = g_thread_new ("proxy", proxy_thread, proxy);
  return proxy;
}

static guint16
socket_port (GSocket *socket)
{
  g_autoptr(GSocketAddress) local = g_socket_get_local_address (socket, NULL);

  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
}

/* Waits for the relay to end (both sides closed) and returns what it saw. */
static GByteArray *
proxy_finish (Proxy *proxy)
{
  GByteArray *seen;

  g_thread_join (proxy->thread);
  g_object_unref (proxy->listening);
  seen = proxy->seen;
  g_free (proxy);
  return seen;
}

static gboolean
contains (GByteArray   *haystack,
          const guint8 *needle,
          gsize         size)
{
  return memmem (haystack->data, haystack->len, needle, size) != NULL;
}

/* joblib-glib-worker-connect ADDRESS native -- PROGRAM…, with @token and
 * @pin in its environment. */
static GSubprocess *
spawn_connect_full (const char          *address,
                    const char          *token,
                    const char          *pin,
                    gboolean             exit_with_driver,
                    const char * const  *program)
{
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  GSubprocess *process;

  g_subprocess_launcher_setenv (launcher, "JOB_WORKER_TOKEN", token, TRUE);
  g_subprocess_launcher_setenv (launcher, "SLURM_JOB_ID", "4242", TRUE);
  g_subprocess_launcher_setenv (launcher, "SLURMD_NODENAME", "node7", TRUE);
  if (exit_with_driver)
    {
      /* Launchers other than Slurm name their workers. */
      g_subprocess_launcher_setenv (launcher, "JOB_WORKER_ID", "w9", TRUE);
      g_subprocess_launcher_setenv (launcher, "JOB_WORKER_NODE", "tcp://127.0.0.1:1", TRUE);
    }
  if (pin != NULL)
    g_subprocess_launcher_setenv (launcher, "JOB_WORKER_TLS_PIN", pin, TRUE);
  g_ptr_array_add (argv, (gpointer) g_getenv ("JOB_WORKER_CONNECT_PATH"));
  if (exit_with_driver)
    g_ptr_array_add (argv, (gpointer) "--exit-with-driver");
  g_ptr_array_add (argv, (gpointer) address);
  g_ptr_array_add (argv, (gpointer) "native");
  g_ptr_array_add (argv, (gpointer) "--");
  for (gsize i = 0; program[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) program[i]);
  g_ptr_array_add (argv, NULL);
  process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  return process;
}

static GSubprocess *
spawn_connect (const char          *address,
               const char          *token,
               const char          *pin,
               const char * const  *program)
{
  return spawn_connect_full (address, token, pin, FALSE, program);
}

static void
wait_admitted (Admitted *admitted)
{
  while (admitted->stream == NULL)
    g_main_context_iteration (NULL, TRUE);
}

/* Waits for @process and returns its exit status; *@err gets its stderr. */
static int
wait_connect (GSubprocess  *process,
              char        **err)
{
  g_autoptr(GError) error = NULL;

  g_subprocess_communicate_utf8 (process, NULL, NULL, NULL, err, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (process));
  return g_subprocess_get_exit_status (process);
}

/* A worker with the token is admitted with its job and node, its program
 * then owns the connection, and the token is nowhere in the bytes that
 * crossed the network, in hex or raw. */
static void
test_admits_worker (void)
{
  Admitted admitted = { 0, };
  g_autoptr(JobWorkerListener) listener = new_listener (NULL, &admitted);
  Proxy *proxy = proxy_start (job_worker_listener_get_port (listener));
  g_autofree char *address = g_strdup_printf ("127.0.0.1:%u", socket_port (proxy->listening));
  const char * const program[] = { "/bin/sh", "-c", "printf from-the-program", NULL };
  g_autoptr(GSubprocess) process = spawn_connect (address, TOKEN, NULL, program);
  g_autoptr(GByteArray) seen = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  guint8 raw[32];
  char buffer[32] = { 0, };
  gsize n = 0;

  wait_admitted (&admitted);
  g_assert_cmpstr (admitted.kind, ==, "native");
  g_assert_cmpstr (admitted.job, ==, "4242");
  g_assert_cmpstr (admitted.node, ==, "node7");
  g_assert_cmpstr (admitted.key, ==, KEY);
  g_input_stream_read_all (g_io_stream_get_input_stream (admitted.stream), buffer,
                           strlen ("from-the-program"), &n, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (buffer, ==, "from-the-program");
  g_assert_cmpint (wait_connect (process, &err), ==, 0);
  g_io_stream_close (admitted.stream, NULL, NULL);
  seen = proxy_finish (proxy);

  g_assert_true (contains (seen, (const guint8 *) "from-the-program", 16));
  g_assert_false (contains (seen, (const guint8 *) SECRET, strlen (SECRET)));
  g_assert_false (contains (seen, (const guint8 *) SECRET, 16));
  for (gsize i = 0; i < sizeof raw; i++)
    raw[i] = g_ascii_xdigit_value (SECRET[2 * i]) * 16 + g_ascii_xdigit_value (SECRET[2 * i + 1]);
  g_assert_false (contains (seen, raw, 8));
  g_assert_cmpuint (job_worker_listener_get_n_refused (listener), ==, 0);
  admitted_clear (&admitted);
}

/* A fake worker's side of the exchange: `connect` with @key, then, when
 * the driver answers, a `proof` of @proof_secret (NULL: random bytes).
 * Returns whether the driver sent a challenge. */
static gboolean
fake_worker (guint16     port,
             const char *key,
             const char *proof_secret,
             gboolean    old_style)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GVariant) challenge = NULL;
  g_autoptr(GError) error = NULL;
  GIOStream *stream;
  GVariantBuilder extra;
  guint8 nonce[JOB_WORKER_AUTH_NONCE_SIZE];
  guint8 proof[JOB_WORKER_AUTH_PROOF_SIZE];
  JobWorkerMessage message;
  guint8 byte;
  gssize n;

  connection = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, &error);
  g_assert_no_error (error);
  stream = G_IO_STREAM (connection);
  job_worker_auth_fill_nonce (nonce);
  g_variant_builder_init (&extra, G_VARIANT_TYPE_VARDICT);
  if (old_style)
    g_variant_builder_add (&extra, "{sv}", "token", g_variant_new_string (SECRET));
  g_variant_builder_add (&extra, "{sv}", "kind", g_variant_new_string ("native"));
  g_variant_builder_add (&extra, "{sv}", "key", g_variant_new_string (key));
  g_variant_builder_add (&extra, "{sv}", "nonce",
                         g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, nonce, sizeof nonce, 1));
  job_worker_write_frame (g_io_stream_get_output_stream (stream), JOB_WORKER_MESSAGE_HELLO,
                          g_variant_new ("(sxa{sv})", "connect", (gint64) 1, &extra), NULL, &error);
  g_assert_no_error (error);

  challenge = job_worker_read_frame (g_io_stream_get_input_stream (stream), 4096, &message,
                                     NULL, &error);
  if (challenge != NULL)
    {
      g_autoptr(GVariant) fields = NULL;
      g_autoptr(GVariant) driver_nonce = NULL;
      JobWorkerAuthExchange exchange = { key, "native", "", "", "", nonce, NULL };
      gsize size = 0;

      g_variant_get (challenge, "(&sx@a{sv})", NULL, NULL, &fields);
      driver_nonce = g_variant_lookup_value (fields, "nonce", G_VARIANT_TYPE_BYTESTRING);
      exchange.driver_nonce = g_variant_get_fixed_array (driver_nonce, &size, 1);
      if (proof_secret != NULL)
        job_worker_auth_prove (JOB_WORKER_AUTH_WORKER, proof_secret, &exchange, proof);
      else
        job_worker_auth_fill_nonce (proof);
      g_variant_builder_init (&extra, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&extra, "{sv}", "proof",
                             g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, proof, sizeof proof, 1));
      job_worker_write_frame (g_io_stream_get_output_stream (stream), JOB_WORKER_MESSAGE_HELLO,
                              g_variant_new ("(sxa{sv})", "proof", (gint64) 1, &extra),
                              NULL, &error);
      g_assert_no_error (error);
    }
  g_clear_error (&error);

  /* Refused: closed without a word. */
  n = g_input_stream_read (g_io_stream_get_input_stream (stream), &byte, 1, NULL, &error);
  g_assert_true (n == 0 || error != NULL);
  return challenge != NULL;
}

typedef struct
{
  guint16     port;
  const char *key;
  const char *proof_secret;
  gboolean    old_style;
  gboolean    challenged;
  gboolean    done;
} FakeWorker;

static gpointer
fake_worker_thread (gpointer data)
{
  FakeWorker *fake = data;

  fake->challenged = fake_worker (fake->port, fake->key, fake->proof_secret, fake->old_style);
  g_atomic_int_set (&fake->done, TRUE);
  g_main_context_wakeup (NULL);
  return NULL;
}

static gboolean
run_fake_worker (JobWorkerListener *listener,
                 const char        *key,
                 const char        *proof_secret,
                 gboolean           old_style)
{
  FakeWorker fake = { job_worker_listener_get_port (listener), key, proof_secret, old_style };
  GThread *thread = g_thread_new ("fake-worker", fake_worker_thread, &fake);

  while (!g_atomic_int_get (&fake.done))
    g_main_context_iteration (NULL, TRUE);
  g_thread_join (thread);
  return fake.challenged;
}

/* Fake workers without the token are refused: a wrong proof, a proof
 * made with another secret, an unknown key, the old clear-text token. */
static void
test_refuses_fake_worker (void)
{
  Admitted admitted = { 0, };
  g_autoptr(JobWorkerListener) listener = new_listener (NULL, &admitted);

  g_test_expect_message ("Joblib", G_LOG_LEVEL_WARNING,
                         "Refused a worker connection from 127.0.0.1:*: wrong token");
  g_assert_true (run_fake_worker (listener, KEY, NULL, FALSE));
  g_test_expect_message ("Joblib", G_LOG_LEVEL_WARNING,
                         "Refused a worker connection from 127.0.0.1:*: wrong token");
  g_assert_true (run_fake_worker (listener, KEY, "not-the-secret", FALSE));
  g_test_expect_message ("Joblib", G_LOG_LEVEL_WARNING,
                         "Refused a worker connection from 127.0.0.1:*: wrong token");
  g_assert_false (run_fake_worker (listener, "k2", SECRET, FALSE));
  g_test_expect_message ("Joblib", G_LOG_LEVEL_WARNING,
                         "Refused a worker connection from 127.0.0.1:*token in clear*");
  g_assert_false (run_fake_worker (listener, KEY, SECRET, TRUE));
  g_test_assert_expected_messages ();
  g_assert_cmpuint (job_worker_listener_get_n_refused (listener), ==, 4);
  g_assert_null (admitted.stream);

  /* The same exchange with the secret is admitted: the refusals above
   * were for the token, not the test's frames. */
  admitted.close = TRUE;
  g_assert_true (run_fake_worker (listener, KEY, SECRET, FALSE));
  g_assert_nonnull (admitted.stream);
  admitted_clear (&admitted);
}

/* A fake driver: it answers the worker's `connect` with a challenge
 * whose proof is made with @secret (NULL: random bytes, or no answer at
 * all when @answer is FALSE), then waits for the worker to leave. */
typedef struct
{
  GSocket    *listening;  /* (owned) */
  const char *secret;
  gboolean    answer;
  gboolean    got_proof;
} FakeDriver;

static gpointer
fake_driver_thread (gpointer data)
{
  FakeDriver *fake = data;
  g_autoptr(GSocket) socket = g_socket_accept (fake->listening, NULL, NULL);
  g_autoptr(GSocketConnection) connection = g_socket_connection_factory_create_connection (socket);
  GIOStream *stream = G_IO_STREAM (connection);
  g_autoptr(GVariant) hello = NULL;
  g_autoptr(GVariant) fields = NULL;
  g_autoptr(GVariant) worker_nonce = NULL;
  g_autoptr(GVariant) next = NULL;
  GVariantBuilder extra;
  guint8 nonce[JOB_WORKER_AUTH_NONCE_SIZE];
  guint8 proof[JOB_WORKER_AUTH_PROOF_SIZE];
  JobWorkerMessage message;
  const char *key, *kind, *job, *node;
  gsize size = 0;

  hello = job_worker_read_frame (g_io_stream_get_input_stream (stream), 4096, &message, NULL, NULL);
  g_assert_nonnull (hello);
  if (!fake->answer)
    return NULL;
  g_variant_get (hello, "(&sx@a{sv})", NULL, NULL, &fields);
  g_assert_true (g_variant_lookup (fields, "key", "&s", &key));
  g_assert_true (g_variant_lookup (fields, "kind", "&s", &kind));
  g_assert_true (g_variant_lookup (fields, "job", "&s", &job));
  g_assert_true (g_variant_lookup (fields, "node", "&s", &node));
  g_assert_false (g_variant_lookup (fields, "token", "&s", NULL));
  worker_nonce = g_variant_lookup_value (fields, "nonce", G_VARIANT_TYPE_BYTESTRING);
  job_worker_auth_fill_nonce (nonce);
  if (fake->secret != NULL)
    {
      JobWorkerAuthExchange exchange = { key, kind, job, node, "",
                                         g_variant_get_fixed_array (worker_nonce, &size, 1),
                                         nonce };

      job_worker_auth_prove (JOB_WORKER_AUTH_DRIVER, fake->secret, &exchange, proof);
    }
  else
    job_worker_auth_fill_nonce (proof);
  g_variant_builder_init (&extra, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&extra, "{sv}", "nonce",
                         g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, nonce, sizeof nonce, 1));
  g_variant_builder_add (&extra, "{sv}", "proof",
                         g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, proof, sizeof proof, 1));
  job_worker_write_frame (g_io_stream_get_output_stream (stream), JOB_WORKER_MESSAGE_HELLO,
                          g_variant_new ("(sxa{sv})", "challenge", (gint64) 0, &extra), NULL, NULL);
  next = job_worker_read_frame (g_io_stream_get_input_stream (stream), 4096, &message, NULL, NULL);
  fake->got_proof = next != NULL;
  return NULL;
}

static void
check_fake_driver (const char *secret,
                   gboolean    answer,
                   const char *expected)
{
  FakeDriver fake = { NULL, secret, answer, FALSE };
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any_port = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GError) error = NULL;
  g_autofree char *marker = g_build_filename (g_get_tmp_dir (), "joblib-listener-XXXXXX", NULL);
  g_autofree char *address = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GSubprocess) process = NULL;
  GThread *thread;
  int fd = g_mkstemp (marker);

  /* The program must never run: it would remove the marker. */
  g_assert_cmpint (fd, >=, 0);
  close (fd);
  fake.listening = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, &error);
  g_socket_bind (fake.listening, any_port, TRUE, &error);
  g_assert_no_error (error);
  g_socket_listen (fake.listening, &error);
  g_assert_no_error (error);
  address = g_strdup_printf ("127.0.0.1:%u", socket_port (fake.listening));
  thread = g_thread_new ("fake-driver", fake_driver_thread, &fake);

  {
    const char * const program[] = { "/bin/rm", "-f", marker, NULL };

    process = spawn_connect (address, TOKEN, NULL, program);
  }
  g_assert_cmpint (wait_connect (process, &err), ==, 3);
  g_thread_join (thread);
  g_test_message ("%s", err);
  g_assert_nonnull (strstr (err, expected));
  g_assert_true (g_file_test (marker, G_FILE_TEST_EXISTS));
  g_assert_false (fake.got_proof);
  g_unlink (marker);
  g_object_unref (fake.listening);
}

/* A driver that cannot prove it holds the token is left before the
 * worker program starts, and learns no proof of the worker either. */
static void
test_refuses_fake_driver (void)
{
  check_fake_driver (NULL, TRUE, "could not prove that it holds the token");
  check_fake_driver ("not-the-secret", TRUE, "could not prove that it holds the token");
  check_fake_driver (NULL, FALSE, "closed the connection");
}

static char *
pin_of (GTlsCertificate *certificate)
{
  g_autoptr(GByteArray) der = NULL;

  g_object_get (certificate, "certificate", &der, NULL);
  return job_worker_auth_fingerprint (der);
}


static gboolean
have_tls (void)
{
  /* Under valgrind, the thread-local slots that glibc gives dlopen()ed
   * GnuTLS (GIO's TLS module) in GLib's pool threads show as lost
   * blocks: the TLS cases run in the normal and ASan passes. */
  if (g_getenv ("JOB_TEST_UNDER_VALGRIND") != NULL)
    {
      g_test_skip ("TLS cases skipped under valgrind (dlopened GnuTLS thread slots)");
      return FALSE;
    }
  if (g_tls_backend_supports_tls (g_tls_backend_get_default ()))
    return TRUE;
  g_test_skip ("no GIO TLS backend (install glib-networking)");
  return FALSE;
}

/* GnuTLS is in a module opened on first use: a missing module is a
 * GError naming its path, not a crash (a subprocess: the module is
 * opened once per process). A made certificate holds its key. */
static void
test_tls_module (void)
{
  if (!have_tls ())
    return;
  if (g_test_subprocess ())
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GTlsCertificate) certificate = NULL;

      g_setenv ("JOB_TLS_MODULE_PATH", "/nonexistent/libjoblib-glib-tls.so", TRUE);
      certificate = job_tls_certificate_new_self_signed ("joblib-glib test", &error);
      g_assert_null (certificate);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
      g_assert_nonnull (strstr (error->message, "/nonexistent/libjoblib-glib-tls.so"));
      return;
    }
  else
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GTlsCertificate) certificate = NULL;
      g_autofree char *pem = NULL;
      g_autofree char *key = NULL;

      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_passed ();

      certificate = job_tls_certificate_new_self_signed ("joblib-glib test", &error);
      g_assert_no_error (error);
      g_object_get (certificate, "certificate-pem", &pem, "private-key-pem", &key, NULL);
      g_assert_true (g_str_has_prefix (pem, "-----BEGIN CERTIFICATE-----"));
      g_assert_nonnull (key);
    }
}

/* TLS with a certificate made at run time: the worker that pins it is
 * admitted, and nothing of the conversation is readable on the wire. */
static void
test_tls_pinned (void)
{
  Admitted admitted = { 0, };
  g_autoptr(GError) error = NULL;
  g_autoptr(GTlsCertificate) certificate = NULL;
  g_autoptr(JobWorkerListener) listener = NULL;
  g_autofree char *pin = NULL;
  g_autofree char *address = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GByteArray) seen = NULL;
  const char * const program[] = { "/bin/sh", "-c", "printf from-the-program", NULL };
  char buffer[32] = { 0, };
  gsize n = 0;
  Proxy *proxy;

  if (!have_tls ())
    return;
  certificate = job_tls_certificate_new_self_signed ("joblib-glib test", &error);
  g_assert_no_error (error);
  pin = pin_of (certificate);
  listener = new_listener (certificate, &admitted);
  proxy = proxy_start (job_worker_listener_get_port (listener));
  address = g_strdup_printf ("127.0.0.1:%u", socket_port (proxy->listening));
  process = spawn_connect (address, TOKEN, pin, program);

  wait_admitted (&admitted);
  g_assert_cmpstr (admitted.kind, ==, "native");
  g_assert_true (G_IS_TLS_CONNECTION (admitted.stream));
  g_input_stream_read_all (g_io_stream_get_input_stream (admitted.stream), buffer,
                           strlen ("from-the-program"), &n, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (buffer, ==, "from-the-program");
  g_assert_cmpint (wait_connect (process, &err), ==, 0);
  g_io_stream_close (admitted.stream, NULL, NULL);
  seen = proxy_finish (proxy);
  g_assert_cmpuint (seen->len, >, 0);
  g_assert_false (contains (seen, (const guint8 *) "from-the-program", 16));
  g_assert_false (contains (seen, (const guint8 *) "connect", 7));
  g_assert_false (contains (seen, (const guint8 *) SECRET, 16));
  g_assert_cmpuint (job_worker_listener_get_n_refused (listener), ==, 0);
  admitted_clear (&admitted);
}

/* A listener whose certificate is not the pinned one (someone else at
 * HOST:PORT with a certificate of their own) is left before anything
 * else is sent; a worker without TLS is refused by a TLS listener. */
static void
test_tls_pin_mismatch (void)
{
  Admitted admitted = { 0, };
  g_autoptr(GError) error = NULL;
  g_autoptr(GTlsCertificate) certificate = NULL;
  g_autoptr(GTlsCertificate) other = NULL;
  g_autoptr(JobWorkerListener) listener = NULL;
  g_autofree char *other_pin = NULL;
  g_autofree char *address = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autofree char *marker = g_build_filename (g_get_tmp_dir (), "joblib-listener-XXXXXX", NULL);
  int fd;

  if (!have_tls ())
    return;
  certificate = job_tls_certificate_new_self_signed ("joblib-glib test", &error);
  g_assert_no_error (error);
  other = job_tls_certificate_new_self_signed ("joblib-glib test", &error);
  g_assert_no_error (error);
  other_pin = pin_of (other);
  listener = new_listener (certificate, &admitted);
  address = g_strdup_printf ("127.0.0.1:%u", job_worker_listener_get_port (listener));
  fd = g_mkstemp (marker);
  g_assert_cmpint (fd, >=, 0);
  close (fd);

  g_test_expect_message ("Joblib", G_LOG_LEVEL_WARNING,
                         "Refused a worker connection from 127.0.0.1:*");
  {
    const char * const program[] = { "/bin/rm", "-f", marker, NULL };

    process = spawn_connect (address, TOKEN, other_pin, program);
    while (job_worker_listener_get_n_refused (listener) < 1)
      g_main_context_iteration (NULL, TRUE);
  }
  g_assert_cmpint (wait_connect (process, &err), ==, 3);
  g_test_message ("%s", err);
  g_assert_nonnull (strstr (err, "cannot work for the driver"));
  g_assert_true (g_file_test (marker, G_FILE_TEST_EXISTS));
  g_assert_null (admitted.stream);

  /* Plain TCP against the TLS listener: refused too. */
  g_test_expect_message ("Joblib", G_LOG_LEVEL_WARNING,
                         "Refused a worker connection from 127.0.0.1:*");
  g_clear_object (&process);
  g_clear_pointer (&err, g_free);
  {
    const char * const program[] = { "/bin/rm", "-f", marker, NULL };

    process = spawn_connect (address, TOKEN, NULL, program);
    while (job_worker_listener_get_n_refused (listener) < 2)
      g_main_context_iteration (NULL, TRUE);
  }
  g_assert_cmpint (wait_connect (process, &err), ==, 3);
  g_assert_true (g_file_test (marker, G_FILE_TEST_EXISTS));
  g_test_assert_expected_messages ();
  g_assert_null (admitted.stream);
  g_unlink (marker);
}

/* TLS is the default off loopback: a backend listening on every
 * interface refuses a plain connection in the TLS handshake, and one
 * told not to use TLS reads its frame (and refuses the unknown key).
 * Through the public API (no Slurm needed to listen). */
/* A fake worker over plain TCP, with a key the backend does not know:
 * never challenged, so what matters is why it is refused. */
static void
connect_plain (JobSlurmBackend *backend)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *address = job_slurm_backend_listen (backend, &error);
  guint16 port;

  g_assert_no_error (error);
  port = atoi (strrchr (address, ':') + 1);
  {
    FakeWorker fake = { port, KEY, NULL, FALSE };
    GThread *thread = g_thread_new ("fake-worker", fake_worker_thread, &fake);

    g_thread_join (thread);
    g_assert_false (fake.challenged);
  }
}

static gboolean
refused_once (gpointer data)
{
  return job_slurm_backend_get_n_refused (data) >= 1;
}

static void
test_tls_default_off_loopback (void)
{
  g_autoptr(JobSlurmBackend) backend = job_slurm_backend_new ();
  g_autoptr(JobSlurmBackend) plain = job_slurm_backend_new ();
  gboolean tls = FALSE;

  if (!have_tls ())
    return;
  /* Every interface, named: no host name lookup (glibc's resolver state
   * of GIO's lookup thread shows as a leak under valgrind). */
  g_object_set (backend, "listen-address", "0.0.0.0", NULL);
  g_object_set (plain, "listen-address", "0.0.0.0", NULL);
  g_object_get (backend, "tls", &tls, NULL);
  g_assert_true (tls);
  g_test_expect_message ("Joblib", G_LOG_LEVEL_WARNING,
                         "Refused a worker connection from *TLS*");
  connect_plain (backend);
  while (!refused_once (backend))
    g_usleep (1000);
  job_backend_shutdown (JOB_BACKEND (backend));

  g_object_set (plain, "tls", FALSE, NULL);
  g_test_expect_message ("Joblib", G_LOG_LEVEL_WARNING,
                         "Refused a worker connection from *wrong token");
  connect_plain (plain);
  while (!refused_once (plain))
    g_usleep (1000);
  g_test_assert_expected_messages ();
  job_backend_shutdown (JOB_BACKEND (plain));
}

/* --exit-with-driver: the worker names itself from JOB_WORKER_ID and
 * JOB_WORKER_NODE, and when the driver closes the connection the program
 * is killed at once, busy or not (here a shell that would sleep for ten
 * minutes): nothing a cluster task started outlives its driver's wish. */
static void
check_exit_with_driver (GTlsCertificate *certificate)
{
  Admitted admitted = { 0, };
  g_autoptr(JobWorkerListener) listener = new_listener (certificate, &admitted);
  g_autofree char *address = g_strdup_printf ("127.0.0.1:%u",
                                              job_worker_listener_get_port (listener));
  g_autofree char *pin = certificate != NULL ? pin_of (certificate) : NULL;
  const char * const program[] = { "/bin/sh", "-c", "echo $$; exec sleep 600", NULL };
  g_autoptr(GSubprocess) process = spawn_connect_full (address, TOKEN, pin, TRUE, program);
  g_autoptr(GDataInputStream) lines = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  g_autofree char *err = NULL;
  gint64 pid;

  wait_admitted (&admitted);
  g_assert_cmpstr (admitted.job, ==, "w9");
  g_assert_cmpstr (admitted.node, ==, "tcp://127.0.0.1:1");
  lines = g_data_input_stream_new (g_io_stream_get_input_stream (admitted.stream));
  line = g_data_input_stream_read_line (lines, NULL, NULL, &error);
  g_assert_no_error (error);
  pid = g_ascii_strtoll (line, NULL, 10);
  g_assert_cmpint (pid, >, 1);
  g_assert_cmpint (kill ((pid_t) pid, 0), ==, 0);

  g_io_stream_close (admitted.stream, NULL, NULL);
  g_assert_cmpint (wait_connect (process, &err), ==, 128 + SIGKILL);
  /* Reaped by the connector: the pid names no process any more. */
  g_assert_cmpint (kill ((pid_t) pid, 0), ==, -1);
  g_assert_cmpint (errno, ==, ESRCH);
  admitted_clear (&admitted);
}

static void
test_exit_with_driver (void)
{
  check_exit_with_driver (NULL);
}

static void
test_exit_with_driver_tls (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GTlsCertificate) certificate = NULL;

  if (!have_tls ())
    return;
  certificate = job_tls_certificate_new_self_signed ("joblib-glib test", &error);
  g_assert_no_error (error);
  check_exit_with_driver (certificate);
}

int
main (int    argc,
      char **argv)
{
  /* Under valgrind (the connector too) a TLS handshake takes seconds. */
  if (g_getenv ("JOB_TEST_UNDER_VALGRIND") != NULL)
    g_setenv ("JOB_WORKER_AUTH_TIMEOUT", "120", TRUE);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/joblib/listener/admits-worker", test_admits_worker);
  g_test_add_func ("/joblib/listener/refuses-fake-worker", test_refuses_fake_worker);
  g_test_add_func ("/joblib/listener/refuses-fake-driver", test_refuses_fake_driver);
  g_test_add_func ("/joblib/listener/tls-module", test_tls_module);
  g_test_add_func ("/joblib/listener/tls-pinned", test_tls_pinned);
  g_test_add_func ("/joblib/listener/tls-pin-mismatch", test_tls_pin_mismatch);
  g_test_add_func ("/joblib/listener/tls-default-off-loopback", test_tls_default_off_loopback);
  g_test_add_func ("/joblib/listener/exit-with-driver", test_exit_with_driver);
  g_test_add_func ("/joblib/listener/exit-with-driver-tls", test_exit_with_driver_tls);
  return g_test_run ();
}
