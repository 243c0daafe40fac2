/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "job-error.h"
#include "job-i18n-private.h"
#include "job-tls-certificate-private.h"
#include "job-worker-auth-private.h"
#include "job-worker-listen-plan-private.h"

void
job_worker_listen_plan_clear (JobWorkerListenPlan *plan)
{
  g_clear_pointer (&plan->bind_address, g_free);
  g_clear_pointer (&plan->advertised, g_free);
  g_clear_object (&plan->certificate);
  g_clear_pointer (&plan->pin, g_free);
}

/* The single address @host resolves to, when it is one and not
 * loopback: workers dial the host name, so that is the interface they
 * need. */
static char *
single_address_of (const char *host)
{
  g_autoptr(GResolver) resolver = g_resolver_get_default ();
  GList *addresses = g_resolver_lookup_by_name (resolver, host, NULL, NULL);
  char *found = NULL;

  if (addresses != NULL && addresses->next == NULL &&
      !g_inet_address_get_is_loopback (addresses->data))
    found = g_inet_address_to_string (addresses->data);
  g_resolver_free_addresses (addresses);
  return found;
}

gboolean
job_worker_listen_plan (const char           *address,
                        GTlsCertificate      *certificate,
                        gboolean              tls,
                        GTlsCertificate     **generated,
                        JobWorkerListenPlan  *plan,
                        GError              **error)
{
  gboolean loopback = FALSE;

  memset (plan, 0, sizeof *plan);
  if (address != NULL && address[0] != '\0' &&
      !g_str_equal (address, "0.0.0.0") && !g_str_equal (address, "::"))
    {
      g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (address);

      if (inet == NULL)
        {
          g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
                       _("“%s” is not an IP address to listen on"), address);
          return FALSE;
        }
      loopback = g_inet_address_get_is_loopback (inet);
      plan->bind_address = g_strdup (address);
      plan->advertised = g_strdup (address);
    }
  else
    {
      plan->advertised = g_strdup (g_get_host_name ());
      plan->bind_address = address != NULL && address[0] != '\0'
                           ? g_strdup (address) : single_address_of (plan->advertised);
    }

  if (certificate != NULL)
    plan->certificate = g_object_ref (certificate);
  else if (tls && !loopback)
    {
      if (!g_tls_backend_supports_tls (g_tls_backend_get_default ()))
        {
          g_set_error (error, JOB_ERROR, JOB_ERROR_FAILED,
                       _("Workers off loopback connect with TLS, and GIO has no TLS "
                         "backend: install glib-networking, or set the backend’s "
                         "“tls” property to FALSE to use plain TCP"));
          job_worker_listen_plan_clear (plan);
          return FALSE;
        }
      if (*generated == NULL)
        *generated = job_tls_certificate_new_self_signed ("joblib-glib driver", error);
      if (*generated == NULL)
        {
          g_prefix_error (error, _("Workers off loopback connect with TLS: "));
          job_worker_listen_plan_clear (plan);
          return FALSE;
        }
      plan->certificate = g_object_ref (*generated);
    }

  if (plan->certificate != NULL)
    {
      g_autoptr(GByteArray) der = NULL;

      g_object_get (plan->certificate, "certificate", &der, NULL);
      if (der == NULL)
        {
          g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
                       _("The TLS certificate has no DER form to pin"));
          job_worker_listen_plan_clear (plan);
          return FALSE;
        }
      plan->pin = job_worker_auth_fingerprint (der);
    }
  return TRUE;
}
