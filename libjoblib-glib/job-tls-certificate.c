/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>
#include <time.h>

#include "job-i18n-private.h"
#include "job-tls-certificate-private.h"
#include "job-worker-auth-private.h"

#ifdef HAVE_GNUTLS
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

G_DEFINE_AUTO_CLEANUP_FREE_FUNC (gnutls_x509_privkey_t, gnutls_x509_privkey_deinit, NULL)
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (gnutls_x509_crt_t, gnutls_x509_crt_deinit, NULL)

static gboolean
check (int          status,
       const char  *what,
       GError     **error)
{
  if (status >= 0)
    return TRUE;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
               _("Cannot make a TLS certificate (%s): %s"), what, gnutls_strerror (status));
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

GTlsCertificate *
job_tls_certificate_new_self_signed (const char  *common_name,
                                     GError     **error)
{
  g_auto(gnutls_x509_privkey_t) key = NULL;
  g_auto(gnutls_x509_crt_t) crt = NULL;
  g_autofree char *key_pem = NULL;
  g_autofree char *crt_pem = NULL;
  g_autofree char *pem = NULL;
  gnutls_datum_t out = { NULL, 0 };
  guint8 serial[JOB_WORKER_AUTH_NONCE_SIZE];
  time_t now = time (NULL);

  job_worker_auth_fill_nonce (serial);
  serial[0] &= 0x7f;   /* a positive serial number, 16 bytes */
  if (!check (gnutls_x509_privkey_init (&key), "key", error) ||
      !check (gnutls_x509_privkey_generate (key, GNUTLS_PK_ECDSA,
                                            GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1), 0),
              "key", error) ||
      !check (gnutls_x509_crt_init (&crt), "certificate", error) ||
      !check (gnutls_x509_crt_set_version (crt, 3), "version", error) ||
      !check (gnutls_x509_crt_set_serial (crt, serial, 16), "serial", error) ||
      !check (gnutls_x509_crt_set_activation_time (crt, now - 3600), "time", error) ||
      !check (gnutls_x509_crt_set_expiration_time (crt, now + 365 * 24 * 3600), "time", error) ||
      !check (gnutls_x509_crt_set_dn_by_oid (crt, GNUTLS_OID_X520_COMMON_NAME, 0,
                                             common_name, strlen (common_name)),
              "name", error) ||
      !check (gnutls_x509_crt_set_key (crt, key), "key", error) ||
      !check (gnutls_x509_crt_sign2 (crt, crt, key, GNUTLS_DIG_SHA256, 0), "signature", error))
    return NULL;

  if (!check (gnutls_x509_privkey_export2_pkcs8 (key, GNUTLS_X509_FMT_PEM, NULL,
                                                 GNUTLS_PKCS_PLAIN, &out), "export", error))
    return NULL;
  key_pem = take_datum (&out);
  if (!check (gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_PEM, &out), "export", error))
    return NULL;
  crt_pem = take_datum (&out);
  pem = g_strconcat (crt_pem, key_pem, NULL);
  memset (key_pem, 0, strlen (key_pem));
  return g_tls_certificate_new_from_pem (pem, -1, error);
}

#else

GTlsCertificate *
job_tls_certificate_new_self_signed (const char  *common_name,
                                     GError     **error)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
               _("This joblib-glib was built without GnuTLS: it cannot make a TLS certificate"));
  return NULL;
}

#endif
