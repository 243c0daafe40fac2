/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "job-error.h"
#include "job-i18n-private.h"
#include "job-worker-auth-private.h"
#include "job-worker-listener-private.h"
#include "job-worker-protocol-private.h"

/* Authentication frames are small; anything larger is refused unread. */
#define MAX_CREDENTIALS 4096
/* Connections taken per wake-up, so that a flood cannot starve the
 * context. */
#define ACCEPT_BATCH 32
/* Warnings: WARN_BURST per WARN_WINDOW seconds, then a count. */
#define WARN_BURST 5
#define WARN_WINDOW 10

struct _JobWorkerListener
{
  GSocket                  *socket;         /* (owned) listening */
  GSource                  *accept_source;  /* (owned) (nullable) */
  GSource                  *resume_source;  /* (owned) (nullable) */
  int                       spare_fd;       /* kept for running out */
  GTlsCertificate          *certificate;    /* (owned) (nullable) */
  char                     *channel;        /* (owned) fingerprint or "" */
  guint16                   port;
  guint                     n_refused;
  guint                     n_pending;      /* admissions in progress */
  guint                     auth_timeout;   /* seconds, frames */
  guint                     handshake_timeout; /* seconds, TLS */
  gint64                    warn_window;    /* start, monotonic µs */
  guint                     n_warned;       /* in this window */
  guint                     n_unsaid;       /* refusals not warned about */
  GCancellable             *cancellable;    /* (owned) pending admissions */
  JobWorkerListenerKeyFunc  key_func;
  JobWorkerListenerFunc     func;
  gpointer                  user_data;
};

typedef void (*FrameFunc) (gpointer admission, GVariant *extra);

typedef struct
{
  JobWorkerListener *listener;
  GIOStream         *stream;       /* (owned) */
  char              *peer;         /* (owned) */
  GCancellable      *cancellable;  /* (owned) */
  GSource           *timeout;      /* (owned) */
  guint8             header[JOB_WORKER_FRAME_HEADER_SIZE];
  guint8            *payload;      /* (owned) (nullable) */
  guint32            length;
  const char        *expected;     /* kind of HELLO awaited */
  FrameFunc          next;
  GBytes            *out;          /* (owned) (nullable) being written */
  /* the exchange */
  char              *key;          /* (owned) */
  char              *secret;       /* (owned) */
  char              *kind;         /* (owned) */
  char              *job;          /* (owned) */
  char              *node;         /* (owned) */
  guint8             worker_nonce[JOB_WORKER_AUTH_NONCE_SIZE];
  guint8             driver_nonce[JOB_WORKER_AUTH_NONCE_SIZE];
  gboolean           timed_out;
} Admission;

/* Says why a connection was refused, unless too many were lately: an
 * attack must not turn into a flood of log lines. */
static void
warn_refused (JobWorkerListener *listener,
              const char        *peer,
              const char        *reason)
{
  gint64 now = g_get_monotonic_time ();

  listener->n_refused++;
  if (now - listener->warn_window >= WARN_WINDOW * G_USEC_PER_SEC)
    {
      if (listener->n_unsaid > 0)
        g_warning (_("Refused %u more worker connections in %d s without a warning each"),
                   listener->n_unsaid, WARN_WINDOW);
      listener->warn_window = now;
      listener->n_warned = 0;
      listener->n_unsaid = 0;
    }
  if (listener->n_warned >= WARN_BURST)
    {
      listener->n_unsaid++;
      return;
    }
  listener->n_warned++;
  g_warning (_("Refused a worker connection from %s: %s"), peer, reason);
}

static void
admission_free (Admission *admission)
{
  admission->listener->n_pending--;
  g_source_destroy (admission->timeout);
  g_source_unref (admission->timeout);
  g_clear_object (&admission->stream);
  g_clear_object (&admission->cancellable);
  g_clear_pointer (&admission->out, g_bytes_unref);
  g_free (admission->payload);
  g_free (admission->peer);
  g_free (admission->key);
  if (admission->secret != NULL)
    memset (admission->secret, 0, strlen (admission->secret));
  g_free (admission->secret);
  g_free (admission->kind);
  g_free (admission->job);
  g_free (admission->node);
  g_free (admission);
}

static void
refuse (Admission  *admission,
        const char *reason)
{
  /* Cancelled by the listener going away: no intrusion to report. */
  if (admission->timed_out)
    warn_refused (admission->listener, admission->peer,
                  _("it did not authenticate in time"));
  else if (!g_cancellable_is_cancelled (admission->listener->cancellable))
    warn_refused (admission->listener, admission->peer, reason);
  g_io_stream_close (admission->stream, NULL, NULL);
  admission_free (admission);
}

static gboolean on_auth_timeout (gpointer user_data);
static void     arm_timeout     (Admission *admission,
                                 guint      seconds);
static void read_frame (Admission  *admission,
                        const char *expected,
                        FrameFunc   next);

static void
on_payload (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Admission *admission = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GVariant) body = NULL;
  g_autoptr(GVariant) extra = NULL;
  const char *kind;
  gsize n = 0;

  if (!g_input_stream_read_all_finish (G_INPUT_STREAM (source), result, &n, &error) ||
      n != admission->length)
    {
      refuse (admission, error != NULL ? error->message : _("the connection ended"));
      return;
    }

  bytes = g_bytes_new_take (g_steal_pointer (&admission->payload), admission->length);
  body = job_worker_frame_decode (JOB_WORKER_MESSAGE_HELLO, bytes, TRUE, &error);
  if (body == NULL)
    {
      refuse (admission, error->message);
      return;
    }
  g_variant_get (body, "(&sx@a{sv})", &kind, NULL, &extra);
  if (g_strcmp0 (kind, admission->expected) != 0)
    {
      g_autofree char *reason =
        g_strdup_printf (_("it sent a “%s” frame where “%s” belongs in the authentication"),
                         kind, admission->expected);

      refuse (admission, reason);
      return;
    }
  admission->next (admission, extra);
}

static void
on_header (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Admission *admission = user_data;
  g_autoptr(GError) error = NULL;
  JobWorkerMessage message;
  gsize n = 0;

  if (!g_input_stream_read_all_finish (G_INPUT_STREAM (source), result, &n, &error) ||
      n != JOB_WORKER_FRAME_HEADER_SIZE)
    {
      if (error == NULL && n == 0)
        {
          /* Closed between frames: a job cancelled while it connected
           * (scancel at shutdown) looks like this. Counted, not warned
           * about; a flood of them is still capped above. */
          admission->listener->n_refused++;
          g_debug ("A worker connection from %s ended before it authenticated",
                   admission->peer);
          g_io_stream_close (admission->stream, NULL, NULL);
          admission_free (admission);
          return;
        }
      refuse (admission, error != NULL ? error->message : _("the connection ended"));
      return;
    }
  if (!job_worker_frame_parse_header (admission->header, MAX_CREDENTIALS,
                                      &admission->length, &message, &error))
    {
      refuse (admission, error->message);
      return;
    }
  if (message != JOB_WORKER_MESSAGE_HELLO)
    {
      refuse (admission, _("its first frame is not an authentication frame"));
      return;
    }

  admission->payload = g_malloc (MAX (admission->length, 1));
  g_input_stream_read_all_async (g_io_stream_get_input_stream (admission->stream),
                                 admission->payload, admission->length,
                                 G_PRIORITY_DEFAULT, admission->cancellable,
                                 on_payload, admission);
}

/* Reads one HELLO of kind @expected, then calls @next with its extra
 * fields. */
static void
read_frame (Admission  *admission,
            const char *expected,
            FrameFunc   next)
{
  admission->expected = expected;
  admission->next = next;
  g_input_stream_read_all_async (g_io_stream_get_input_stream (admission->stream),
                                 admission->header, sizeof admission->header,
                                 G_PRIORITY_DEFAULT, admission->cancellable,
                                 on_header, admission);
}

static JobWorkerAuthExchange
exchange_of (Admission *admission)
{
  JobWorkerAuthExchange exchange = {
    admission->key, admission->kind, admission->job, admission->node,
    admission->listener->channel, admission->worker_nonce, admission->driver_nonce,
  };

  return exchange;
}

static void
on_proof (gpointer  data,
          GVariant *extra)
{
  Admission *admission = data;
  JobWorkerListener *listener = admission->listener;
  g_autoptr(GVariant) proof = g_variant_lookup_value (extra, "proof", G_VARIANT_TYPE_BYTESTRING);
  JobWorkerAuthExchange exchange = exchange_of (admission);

  if (!job_worker_auth_check (JOB_WORKER_AUTH_WORKER, admission->secret, &exchange, proof))
    {
      refuse (admission, _("wrong token"));
      return;
    }

  listener->func (listener, admission->stream, admission->kind, admission->job,
                  admission->node, admission->key, listener->user_data);
  admission_free (admission);
}

static void
on_challenge_sent (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Admission *admission = user_data;
  g_autoptr(GError) error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      refuse (admission, error->message);
      return;
    }
  read_frame (admission, "proof", on_proof);
}

static gboolean
take_string (GVariant    *extra,
             const char  *name,
             char       **out)
{
  const char *value = NULL;

  if (!g_variant_lookup (extra, name, "&s", &value))
    return FALSE;
  *out = g_strdup (value);
  return TRUE;
}

static void
on_connect (gpointer  data,
            GVariant *extra)
{
  Admission *admission = data;
  JobWorkerListener *listener = admission->listener;
  g_autoptr(GVariant) nonce = NULL;
  g_autoptr(GVariant) token = NULL;
  g_autoptr(GByteArray) frame = g_byte_array_new ();
  GVariantBuilder builder;
  guint8 proof[JOB_WORKER_AUTH_PROOF_SIZE];
  JobWorkerAuthExchange exchange;
  gsize n = 0;

  /* Authentication version 0 sent the token itself: it was seen. */
  token = g_variant_lookup_value (extra, "token", NULL);
  if (token != NULL)
    {
      refuse (admission, _("it sent a token in clear (an old joblib-glib-worker-connect?)"));
      return;
    }
  nonce = g_variant_lookup_value (extra, "nonce", G_VARIANT_TYPE_BYTESTRING);
  if (nonce != NULL)
    g_variant_get_fixed_array (nonce, &n, 1);
  if (n != JOB_WORKER_AUTH_NONCE_SIZE || !take_string (extra, "kind", &admission->kind))
    {
      refuse (admission, _("its first frame is not an authentication frame"));
      return;
    }
  memcpy (admission->worker_nonce, g_variant_get_data (nonce), n);
  if (!take_string (extra, "key", &admission->key))
    admission->key = g_strdup ("");
  if (!take_string (extra, "job", &admission->job))
    admission->job = g_strdup ("");
  if (!take_string (extra, "node", &admission->node))
    admission->node = g_strdup ("");

  admission->secret = listener->key_func (admission->key, listener->user_data);
  if (admission->secret == NULL)
    {
      /* No challenge can be answered without a secret: say so at once. */
      refuse (admission, _("wrong token"));
      return;
    }

  job_worker_auth_fill_nonce (admission->driver_nonce);
  exchange = exchange_of (admission);
  job_worker_auth_prove (JOB_WORKER_AUTH_DRIVER, admission->secret, &exchange, proof);
  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&builder, "{sv}", "nonce",
                         g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, admission->driver_nonce,
                                                    JOB_WORKER_AUTH_NONCE_SIZE, 1));
  g_variant_builder_add (&builder, "{sv}", "proof",
                         g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, proof, sizeof proof, 1));
  job_worker_frame_append (frame, JOB_WORKER_MESSAGE_HELLO,
                           g_variant_new ("(sxa{sv})", "challenge", (gint64) 0, &builder));
  admission->out = g_byte_array_free_to_bytes (g_steal_pointer (&frame));
  g_output_stream_write_all_async (g_io_stream_get_output_stream (admission->stream),
                                   g_bytes_get_data (admission->out, NULL),
                                   g_bytes_get_size (admission->out),
                                   G_PRIORITY_DEFAULT, admission->cancellable,
                                   on_challenge_sent, admission);
}

static void
on_handshake (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Admission *admission = user_data;
  g_autoptr(GError) error = NULL;

  if (!g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result, &error))
    {
      refuse (admission, error->message);
      return;
    }
  /* The handshake may take a while on a loaded node; the frames not. */
  arm_timeout (admission, admission->listener->auth_timeout);
  read_frame (admission, "connect", on_connect);
}

static gboolean
on_auth_timeout (gpointer user_data)
{
  Admission *admission = user_data;

  admission->timed_out = TRUE;
  g_cancellable_cancel (admission->cancellable);
  return G_SOURCE_REMOVE;
}

/* (Re)starts the clock of @admission. */
static void
arm_timeout (Admission *admission,
             guint      seconds)
{
  if (admission->timeout != NULL)
    {
      g_source_destroy (admission->timeout);
      g_source_unref (admission->timeout);
    }
  admission->timeout = g_timeout_source_new_seconds (seconds);
  g_source_set_static_name (admission->timeout, "[joblib-glib] worker authentication");
  g_source_set_callback (admission->timeout, on_auth_timeout, admission, NULL);
  g_source_attach (admission->timeout, g_main_context_get_thread_default ());
}

static void
on_cancelled (GCancellable *listener_cancellable,
              GCancellable *cancellable)
{
  g_cancellable_cancel (cancellable);
}

static char *
describe_peer (GSocket *socket)
{
  g_autoptr(GSocketAddress) remote = g_socket_get_remote_address (socket, NULL);
  g_autofree char *host = NULL;

  if (!G_IS_INET_SOCKET_ADDRESS (remote))
    return g_strdup (_("an unknown address"));
  host = g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));
  return g_strdup_printf ("%s:%u", host,
                          g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (remote)));
}

static void
admit (JobWorkerListener *listener,
       GSocket           *socket)
{
  g_autoptr(GSocketConnection) connection = g_socket_connection_factory_create_connection (socket);
  Admission *admission = g_new0 (Admission, 1);

  admission->peer = describe_peer (socket);
  /* Small frames go out at once; a peer that vanishes without closing
   * (a node that lost power) is noticed in about 25 s instead of hours. */
  g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  g_socket_set_keepalive (socket, TRUE);
  g_socket_set_option (socket, IPPROTO_TCP, TCP_KEEPIDLE, 10, NULL);
  g_socket_set_option (socket, IPPROTO_TCP, TCP_KEEPINTVL, 5, NULL);
  g_socket_set_option (socket, IPPROTO_TCP, TCP_KEEPCNT, 3, NULL);

  admission->listener = listener;
  listener->n_pending++;
  admission->cancellable = g_cancellable_new ();
  g_cancellable_connect (listener->cancellable, G_CALLBACK (on_cancelled),
                         g_object_ref (admission->cancellable), g_object_unref);
  arm_timeout (admission, listener->certificate != NULL
                          ? listener->handshake_timeout : listener->auth_timeout);

  if (listener->certificate != NULL)
    {
      g_autoptr(GError) error = NULL;
      GIOStream *tls = g_tls_server_connection_new (G_IO_STREAM (connection),
                                                    listener->certificate, &error);

      if (tls == NULL)
        {
          admission->stream = G_IO_STREAM (g_steal_pointer (&connection));
          refuse (admission, error->message);
          return;
        }
      admission->stream = tls;
      g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT,
                                        admission->cancellable, on_handshake, admission);
      return;
    }

  admission->stream = G_IO_STREAM (g_steal_pointer (&connection));
  read_frame (admission, "connect", on_connect);
}

static gboolean on_acceptable (GSocket      *socket,
                               GIOCondition  condition,
                               gpointer      user_data);

static void
watch_socket (JobWorkerListener *listener)
{
  listener->accept_source = g_socket_create_source (listener->socket, G_IO_IN, NULL);
  g_source_set_static_name (listener->accept_source, "[joblib-glib] worker listener");
  g_source_set_callback (listener->accept_source, G_SOURCE_FUNC (on_acceptable), listener, NULL);
  g_source_attach (listener->accept_source, g_main_context_get_thread_default ());
}

static gboolean
on_resume (gpointer user_data)
{
  JobWorkerListener *listener = user_data;

  g_clear_pointer (&listener->resume_source, g_source_unref);
  if (listener->spare_fd < 0)
    listener->spare_fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  watch_socket (listener);
  return G_SOURCE_REMOVE;
}

/* Out of descriptors: the connection waiting in the backlog would wake
 * the context again at once, forever. Take it with the descriptor kept
 * in reserve and close it; without a reserve, stop accepting for a
 * second. */
static gboolean
shed_connection (JobWorkerListener *listener,
                 const char        *reason)
{
  int fd;

  if (listener->spare_fd >= 0)
    {
      close (listener->spare_fd);
      fd = accept (g_socket_get_fd (listener->socket), NULL, NULL);
      if (fd >= 0)
        close (fd);
      listener->spare_fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
      if (fd >= 0)
        {
          warn_refused (listener, _("an unknown address"), reason);
          return listener->spare_fd >= 0;
        }
    }

  warn_refused (listener, _("an unknown address"), reason);
  listener->resume_source = g_timeout_source_new_seconds (1);
  g_source_set_static_name (listener->resume_source, "[joblib-glib] worker listener resume");
  g_source_set_callback (listener->resume_source, on_resume, listener, NULL);
  g_source_attach (listener->resume_source, g_main_context_get_thread_default ());
  return FALSE;
}

static gboolean
on_acceptable (GSocket      *socket,
               GIOCondition  condition,
               gpointer      user_data)
{
  JobWorkerListener *listener = user_data;

  for (guint i = 0; i < ACCEPT_BATCH; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GSocket) client = g_socket_accept (socket, NULL, &error);

      if (client == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        break;
      if (client == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TOO_MANY_OPEN_FILES))
        {
          if (!shed_connection (listener, error->message))
            {
              g_clear_pointer (&listener->accept_source, g_source_unref);
              return G_SOURCE_REMOVE;
            }
          continue;
        }
      if (client == NULL)
        {
          /* ECONNABORTED and the like: that connection is gone. */
          warn_refused (listener, _("an unknown address"), error->message);
          continue;
        }
      if (listener->n_pending >= JOB_WORKER_LISTENER_MAX_PENDING)
        {
          g_autofree char *peer = describe_peer (client);

          g_socket_close (client, NULL);
          warn_refused (listener, peer, _("too many connections are authenticating"));
          continue;
        }
      admit (listener, client);
    }
  return G_SOURCE_CONTINUE;
}

static GSocket *
bind_socket (GInetAddress  *inet,
             guint16        port,
             GError       **error)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) wanted = g_inet_socket_address_new (inet, port);

  socket = g_socket_new (g_inet_address_get_family (inet), G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL)
    return NULL;
  g_socket_set_blocking (socket, FALSE);
  if (!g_socket_bind (socket, wanted, TRUE, error))
    return NULL;
  g_socket_set_listen_backlog (socket, 64);
  if (!g_socket_listen (socket, error))
    return NULL;
  return g_steal_pointer (&socket);
}

JobWorkerListener *
job_worker_listener_new (const char                *address,
                         guint16                    port,
                         GTlsCertificate           *certificate,
                         JobWorkerListenerKeyFunc   key_func,
                         JobWorkerListenerFunc      func,
                         gpointer                   user_data,
                         GError                   **error)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) local = NULL;
  g_autoptr(GError) local_error = NULL;
  JobWorkerListener *listener;

  if (address == NULL || address[0] == '\0')
    {
      /* Every interface: IPv6 with IPv4 mapped where the system has
       * IPv6 (GSocket turns IPV6_V6ONLY off), else IPv4. */
      g_autoptr(GInetAddress) any6 = g_inet_address_new_any (G_SOCKET_FAMILY_IPV6);
      g_autoptr(GInetAddress) any4 = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);

      socket = bind_socket (any6, port, NULL);
      if (socket == NULL)
        socket = bind_socket (any4, port, &local_error);
    }
  else
    {
      g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (address);

      if (inet == NULL)
        {
          g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
                       _("“%s” is not an IP address to listen on"), address);
          return NULL;
        }
      socket = bind_socket (inet, port, &local_error);
    }
  if (socket != NULL)
    local = g_socket_get_local_address (socket, &local_error);
  if (local == NULL)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                  _("Cannot listen for workers: "));
      return NULL;
    }

  listener = g_new0 (JobWorkerListener, 1);
  listener->socket = g_steal_pointer (&socket);
  listener->spare_fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  listener->certificate = certificate != NULL ? g_object_ref (certificate) : NULL;
  listener->channel = g_strdup ("");
  if (certificate != NULL)
    {
      g_autoptr(GByteArray) der = NULL;

      g_object_get (certificate, "certificate", &der, NULL);
      if (der != NULL)
        {
          g_free (listener->channel);
          listener->channel = job_worker_auth_fingerprint (der);
        }
    }
  listener->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
  listener->warn_window = g_get_monotonic_time ();
  listener->auth_timeout = JOB_WORKER_LISTENER_AUTH_TIMEOUT;
  listener->handshake_timeout = JOB_WORKER_LISTENER_HANDSHAKE_TIMEOUT;
  {
    /* For runs under tools that slow everything down (valgrind). */
    const char *seconds = g_getenv ("JOB_WORKER_AUTH_TIMEOUT");
    guint64 value = seconds != NULL ? g_ascii_strtoull (seconds, NULL, 10) : 0;

    if (value >= 1 && value <= 3600)
      listener->auth_timeout = listener->handshake_timeout = (guint) value;
  }
  listener->cancellable = g_cancellable_new ();
  listener->key_func = key_func;
  listener->func = func;
  listener->user_data = user_data;
  watch_socket (listener);
  return listener;
}

guint16
job_worker_listener_get_port (JobWorkerListener *listener)
{
  return listener->port;
}

guint
job_worker_listener_get_n_refused (JobWorkerListener *listener)
{
  return listener->n_refused;
}

guint
job_worker_listener_get_n_pending (JobWorkerListener *listener)
{
  return listener->n_pending;
}

/* On the listener's context. */
void
job_worker_listener_free (JobWorkerListener *listener)
{
  if (listener->accept_source != NULL)
    g_source_destroy (listener->accept_source);
  g_clear_pointer (&listener->accept_source, g_source_unref);
  if (listener->resume_source != NULL)
    g_source_destroy (listener->resume_source);
  g_clear_pointer (&listener->resume_source, g_source_unref);
  g_socket_close (listener->socket, NULL);
  g_cancellable_cancel (listener->cancellable);
  /* Admissions hold a pointer to the listener until their callback runs;
   * cancelled, they all end soon. */
  while (listener->n_pending > 0)
    g_main_context_iteration (g_main_context_get_thread_default (), TRUE);
  if (listener->n_unsaid > 0)
    g_warning (_("Refused %u more worker connections without a warning each"),
               listener->n_unsaid);
  if (listener->spare_fd >= 0)
    close (listener->spare_fd);
  g_clear_object (&listener->socket);
  g_clear_object (&listener->certificate);
  g_clear_object (&listener->cancellable);
  g_free (listener->channel);
  g_free (listener);
}
