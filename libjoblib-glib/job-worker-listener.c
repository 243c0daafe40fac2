/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include "job-error.h"
#include "job-i18n-private.h"
#include "job-worker-listener-private.h"
#include "job-worker-protocol-private.h"

/* The authentication frame is small; anything larger is refused unread. */
#define MAX_CREDENTIALS 4096
/* How long a new connection may take to authenticate. */
#define AUTH_TIMEOUT_SEC 10

struct _JobWorkerListener
{
  GSocketService        *service;     /* (owned) */
  GTlsCertificate       *certificate; /* (owned) (nullable) */
  char                  *token;       /* (owned) */
  guint16                port;
  guint                  n_refused;
  guint                  n_pending;   /* admissions in progress */
  GCancellable          *cancellable; /* (owned) pending handshakes */
  JobWorkerListenerFunc  func;
  gpointer               user_data;
};

typedef struct
{
  JobWorkerListener *listener;
  GIOStream         *stream;       /* (owned) */
  char              *peer;         /* (owned) */
  GCancellable      *cancellable;  /* (owned) */
  GSource           *timeout;      /* (owned) */
  guint8             header[JOB_WORKER_FRAME_HEADER_SIZE];
  guint8            *payload;      /* (owned) */
  guint32            length;
} Admission;

static void
admission_free (Admission *admission)
{
  admission->listener->n_pending--;
  g_source_destroy (admission->timeout);
  g_source_unref (admission->timeout);
  g_clear_object (&admission->stream);
  g_clear_object (&admission->cancellable);
  g_free (admission->payload);
  g_free (admission->peer);
  g_free (admission);
}

static void
refuse (Admission  *admission,
        const char *reason)
{
  /* Cancelled: the listener is going away, this is no intrusion. */
  if (!g_cancellable_is_cancelled (admission->listener->cancellable))
    {
      admission->listener->n_refused++;
      g_warning (_("Refused a worker connection from %s: %s"), admission->peer, reason);
    }
  g_io_stream_close (admission->stream, NULL, NULL);
  admission_free (admission);
}

/* Compares without an early exit, so that timing tells nothing about
 * how much of a guess was right. */
static gboolean
token_equal (const char *a,
             const char *b)
{
  gsize la = strlen (a), lb = strlen (b);
  guint8 diff = la != lb;

  for (gsize i = 0; i < la; i++)
    diff |= (guint8) a[i] ^ (guint8) b[i % MAX (lb, 1)];
  return diff == 0;
}

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
  const char *token = NULL;
  const char *worker_kind = NULL;
  const char *job = "";
  const char *node = "";
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
  g_variant_lookup (extra, "token", "&s", &token);
  g_variant_lookup (extra, "kind", "&s", &worker_kind);
  g_variant_lookup (extra, "job", "&s", &job);
  g_variant_lookup (extra, "node", "&s", &node);
  if (g_strcmp0 (kind, "connect") != 0 || worker_kind == NULL)
    {
      refuse (admission, _("its first frame is not an authentication frame"));
      return;
    }
  if (token == NULL || !token_equal (token, admission->listener->token))
    {
      refuse (admission, _("wrong token"));
      return;
    }

  admission->listener->func (admission->listener, admission->stream, worker_kind,
                             job, node, admission->listener->user_data);
  admission_free (admission);
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

static void
read_credentials (Admission *admission)
{
  g_input_stream_read_all_async (g_io_stream_get_input_stream (admission->stream),
                                 admission->header, sizeof admission->header,
                                 G_PRIORITY_DEFAULT, admission->cancellable,
                                 on_header, admission);
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
  read_credentials (admission);
}

static gboolean
on_auth_timeout (gpointer user_data)
{
  GCancellable *cancellable = user_data;

  g_cancellable_cancel (cancellable);
  return G_SOURCE_REMOVE;
}

static void
on_cancelled (GCancellable *listener_cancellable,
              GCancellable *cancellable)
{
  g_cancellable_cancel (cancellable);
}

static gboolean
on_incoming (GSocketService    *service,
             GSocketConnection *connection,
             GObject           *source_object,
             gpointer           user_data)
{
  JobWorkerListener *listener = user_data;
  g_autoptr(GSocketAddress) remote = NULL;
  GSocket *socket = g_socket_connection_get_socket (connection);
  Admission *admission = g_new0 (Admission, 1);

  remote = g_socket_connection_get_remote_address (connection, NULL);
  if (G_IS_INET_SOCKET_ADDRESS (remote))
    {
      g_autofree char *host =
        g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));

      admission->peer = g_strdup_printf ("%s:%u", host,
                                         g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (remote)));
    }
  else
    admission->peer = g_strdup (_("an unknown address"));

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
  admission->timeout = g_timeout_source_new_seconds (AUTH_TIMEOUT_SEC);
  g_source_set_static_name (admission->timeout, "[joblib-glib] worker authentication");
  g_source_set_callback (admission->timeout, on_auth_timeout,
                         g_object_ref (admission->cancellable), g_object_unref);
  g_source_attach (admission->timeout, g_main_context_get_thread_default ());

  if (listener->certificate != NULL)
    {
      g_autoptr(GError) error = NULL;
      GIOStream *tls = g_tls_server_connection_new (G_IO_STREAM (connection),
                                                    listener->certificate, &error);

      if (tls == NULL)
        {
          admission->stream = g_object_ref (G_IO_STREAM (connection));
          refuse (admission, error->message);
          return TRUE;
        }
      admission->stream = tls;
      g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT,
                                        admission->cancellable, on_handshake, admission);
      return TRUE;
    }

  admission->stream = g_object_ref (G_IO_STREAM (connection));
  read_credentials (admission);
  return TRUE;
}

JobWorkerListener *
job_worker_listener_new (const char             *address,
                         guint16                 port,
                         GTlsCertificate        *certificate,
                         const char             *token,
                         JobWorkerListenerFunc   func,
                         gpointer                user_data,
                         GError                **error)
{
  g_autoptr(GSocketService) service = g_socket_service_new ();
  JobWorkerListener *listener;
  guint16 bound = 0;

  if (address == NULL || address[0] == '\0')
    {
      if (port == 0)
        bound = g_socket_listener_add_any_inet_port (G_SOCKET_LISTENER (service), NULL, error);
      else if (g_socket_listener_add_inet_port (G_SOCKET_LISTENER (service), port, NULL, error))
        bound = port;
    }
  else
    {
      g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (address);
      g_autoptr(GSocketAddress) wanted = NULL;
      g_autoptr(GSocketAddress) effective = NULL;

      if (inet == NULL)
        {
          g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
                       _("“%s” is not an IP address to listen on"), address);
          return NULL;
        }
      wanted = g_inet_socket_address_new (inet, port);
      if (g_socket_listener_add_address (G_SOCKET_LISTENER (service), wanted,
                                         G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                         NULL, &effective, error))
        bound = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
    }
  if (bound == 0)
    {
      if (error != NULL && *error != NULL)
        g_prefix_error (error, _("Cannot listen for workers: "));
      return NULL;
    }

  listener = g_new0 (JobWorkerListener, 1);
  listener->service = g_steal_pointer (&service);
  listener->certificate = certificate != NULL ? g_object_ref (certificate) : NULL;
  listener->token = g_strdup (token);
  listener->port = bound;
  listener->cancellable = g_cancellable_new ();
  listener->func = func;
  listener->user_data = user_data;
  g_signal_connect (listener->service, "incoming", G_CALLBACK (on_incoming), listener);
  g_socket_service_start (listener->service);
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

/* On the listener's context. */
void
job_worker_listener_free (JobWorkerListener *listener)
{
  g_socket_service_stop (listener->service);
  g_socket_listener_close (G_SOCKET_LISTENER (listener->service));
  g_signal_handlers_disconnect_by_data (listener->service, listener);
  g_cancellable_cancel (listener->cancellable);
  /* Admissions hold a pointer to the listener until their callback runs;
   * cancelled, they all end soon. */
  while (listener->n_pending > 0)
    g_main_context_iteration (g_main_context_get_thread_default (), TRUE);
  g_clear_object (&listener->service);
  g_clear_object (&listener->certificate);
  g_clear_object (&listener->cancellable);
  g_free (listener->token);
  g_free (listener);
}
