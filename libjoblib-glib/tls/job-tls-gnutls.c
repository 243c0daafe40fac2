/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The GnuTLS side of job_tls_certificate_new_self_signed(), in a module
 * of its own: the library opens it (GModule) the first time a listener
 * needs a certificate, so that GnuTLS and p11-kit are neither loaded nor
 * initialized in the many processes that never use TLS (workers, the
 * bindings' interpreters). Loaded at most once, never unloaded. */
#include <string.h>
#include <time.h>

#include <gmodule.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "job-tls-module.h"

G_DEFINE_AUTO_CLEANUP_FREE_FUNC (gnutls_x509_privkey_t, gnutls_x509_privkey_deinit, NULL)
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (gnutls_x509_crt_t, gnutls_x509_crt_deinit, NULL)

static gboolean
check (int    status,
       const char  *what,
       char       **message)
{
  if (status >= 0)
    return TRUE;
  *message = g_strdup_printf ("%s: %s", what, gnutls_strerror (status));
  return FALSE;
}

static char *
take_datum (gnutls_datum_t *datum)
{
  char *text = g_strndup ((const char *) datum->data, datum->size);

  gnutls_free (datum->data);
  datum->data = NULL;
  return text;
}

G_MODULE_EXPORT char *
job_tls_module_new_self_signed_pem (const char   *common_name,
                                    const guint8 *serial,
                                    char        **message)
{
  g_auto(gnutls_x509_privkey_t) key = NULL;
  g_auto(gnutls_x509_crt_t) crt = NULL;
  g_autofree char *key_pem = NULL;
  g_autofree char *crt_pem = NULL;
  gnutls_datum_t out = { NULL, 0 };
  time_t now = time (NULL);
  char *pem;

  g_return_val_if_fail (common_name != NULL, NULL);
  g_return_val_if_fail (serial != NULL, NULL);
  g_return_val_if_fail (message != NULL && *message == NULL, NULL);

  if (!check (gnutls_x509_privkey_init (&key), "key", message) ||
      !check (gnutls_x509_privkey_generate (key, GNUTLS_PK_ECDSA,
                                            GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1), 0),
              "key", message) ||
      !check (gnutls_x509_crt_init (&crt), "certificate", message) ||
      !check (gnutls_x509_crt_set_version (crt, 3), "version", message) ||
      !check (gnutls_x509_crt_set_serial (crt, serial, JOB_TLS_MODULE_SERIAL_SIZE), "serial",
              message) ||
      !check (gnutls_x509_crt_set_activation_time (crt, now - 3600), "time", message) ||
      !check (gnutls_x509_crt_set_expiration_time (crt, now + 365 * 24 * 3600), "time", message) ||
      !check (gnutls_x509_crt_set_dn_by_oid (crt, GNUTLS_OID_X520_COMMON_NAME, 0,
                                             common_name, strlen (common_name)),
              "name", message) ||
      !check (gnutls_x509_crt_set_key (crt, key), "key", message) ||
      !check (gnutls_x509_crt_sign2 (crt, crt, key, GNUTLS_DIG_SHA256, 0), "signature", message))
    return NULL;

  if (!check (gnutls_x509_privkey_export2_pkcs8 (key, GNUTLS_X509_FMT_PEM, NULL,
                                                 GNUTLS_PKCS_PLAIN, &out), "export", message))
    return NULL;
  key_pem = take_datum (&out);
  if (!check (gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_PEM, &out), "export", message))
    return NULL;
  crt_pem = take_datum (&out);
  pem = g_strconcat (crt_pem, key_pem, NULL);
  memset (key_pem, 0, strlen (key_pem));
  return pem;
}
