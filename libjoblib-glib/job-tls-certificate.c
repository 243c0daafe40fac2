/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <gmodule.h>

#include "job-i18n-private.h"
#include "job-tls-certificate-private.h"
#include "job-worker-auth-private.h"
#include "job-worker-command-private.h"
#include "tls/job-tls-module.h"

/* The module's entry point, or NULL with the reason in load_message:
 * opened once for the life of the process (never closed, as GIO's own
 * modules), by whichever thread first needs a certificate. */
static JobTlsModuleNewPemFunc new_pem;
static char *load_message;

static gpointer
load_module (gpointer data)
{
#ifdef HAVE_GNUTLS
  g_autofree char *path = job_worker_command_find_tls_module ();
  GModule *module = g_module_open (path, G_MODULE_BIND_LOCAL);
  gpointer symbol = NULL;

  if (module == NULL)
    load_message = g_strdup_printf (_("Cannot load the TLS module %s: %s"),
                                    path, g_module_error ());
  else if (!g_module_symbol (module, JOB_TLS_MODULE_SYMBOL, &symbol) || symbol == NULL)
    load_message = g_strdup_printf (_("The TLS module %s has no %s: %s"), path,
                                    JOB_TLS_MODULE_SYMBOL, g_module_error ());
  else
    {
      g_module_make_resident (module);
      new_pem = (JobTlsModuleNewPemFunc) symbol;
    }
#else
  load_message = g_strdup (_("This joblib-glib was built without GnuTLS: "
                             "it cannot make a TLS certificate"));
#endif
  return NULL;
}

GTlsCertificate *
job_tls_certificate_new_self_signed (const char  *common_name,
                                     GError     **error)
{
  static GOnce loaded = G_ONCE_INIT;
  guint8 serial[JOB_WORKER_AUTH_NONCE_SIZE];
  g_autofree char *message = NULL;
  g_autofree char *pem = NULL;
  GTlsCertificate *certificate;

  G_STATIC_ASSERT (JOB_WORKER_AUTH_NONCE_SIZE >= JOB_TLS_MODULE_SERIAL_SIZE);
  g_return_val_if_fail (common_name != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_once (&loaded, load_module, NULL);
  if (new_pem == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, load_message);
      return NULL;
    }

  job_worker_auth_fill_nonce (serial);
  serial[0] &= 0x7f;   /* a positive serial number */
  pem = new_pem (common_name, serial, &message);
  if (pem == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   _("Cannot make a TLS certificate (%s)"), message);
      return NULL;
    }
  certificate = g_tls_certificate_new_from_pem (pem, -1, error);
  memset (pem, 0, strlen (pem));
  return certificate;
}
