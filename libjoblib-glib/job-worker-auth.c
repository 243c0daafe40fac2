/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>
#include <sys/random.h>

#include "job-worker-auth-private.h"

static const char * const labels[] = {
  [JOB_WORKER_AUTH_DRIVER] = "joblib-glib worker authentication 1: driver",
  [JOB_WORKER_AUTH_WORKER] = "joblib-glib worker authentication 1: worker",
};

/* From the kernel's CSPRNG; a machine without one cannot run a cluster
 * safely, so this is fatal rather than an error to handle. */
void
job_worker_auth_fill_nonce (guint8 *nonce)
{
  gsize done = 0;

  while (done < JOB_WORKER_AUTH_NONCE_SIZE)
    {
      gssize n = getrandom (nonce + done, JOB_WORKER_AUTH_NONCE_SIZE - done, 0);

      if (n <= 0)
        g_error ("getrandom() failed: cannot make an authentication nonce");
      done += n;
    }
}

static void
update_field (GHmac      *hmac,
              const char *value)
{
  guint32 le = GUINT32_TO_LE ((guint32) strlen (value != NULL ? value : ""));

  g_hmac_update (hmac, (const guchar *) &le, sizeof le);
  g_hmac_update (hmac, (const guchar *) (value != NULL ? value : ""), GUINT32_FROM_LE (le));
}

void
job_worker_auth_prove (JobWorkerAuthRole            role,
                       const char                  *secret,
                       const JobWorkerAuthExchange *exchange,
                       guint8                      *proof)
{
  g_autoptr(GHmac) hmac = g_hmac_new (G_CHECKSUM_SHA256, (const guchar *) secret, strlen (secret));
  gsize size = JOB_WORKER_AUTH_PROOF_SIZE;

  update_field (hmac, labels[role]);
  g_hmac_update (hmac, exchange->worker_nonce, JOB_WORKER_AUTH_NONCE_SIZE);
  g_hmac_update (hmac, exchange->driver_nonce, JOB_WORKER_AUTH_NONCE_SIZE);
  update_field (hmac, exchange->key);
  update_field (hmac, exchange->kind);
  update_field (hmac, exchange->job);
  update_field (hmac, exchange->node);
  update_field (hmac, exchange->channel);
  g_hmac_get_digest (hmac, proof, &size);
}

/* Checks @proof (an `ay`, any length) without an early exit, so that
 * timing tells nothing about how much of a guess was right. */
gboolean
job_worker_auth_check (JobWorkerAuthRole            role,
                       const char                  *secret,
                       const JobWorkerAuthExchange *exchange,
                       GVariant                    *proof)
{
  guint8 expected[JOB_WORKER_AUTH_PROOF_SIZE];
  const guint8 *given;
  gsize n = 0;
  guint8 diff = 0;

  if (proof == NULL || !g_variant_is_of_type (proof, G_VARIANT_TYPE_BYTESTRING))
    return FALSE;
  given = g_variant_get_fixed_array (proof, &n, 1);
  if (n != JOB_WORKER_AUTH_PROOF_SIZE)
    return FALSE;
  job_worker_auth_prove (role, secret, exchange, expected);
  for (gsize i = 0; i < JOB_WORKER_AUTH_PROOF_SIZE; i++)
    diff |= expected[i] ^ given[i];
  return diff == 0;
}

static char *
hex (const guint8 *data,
     gsize         size)
{
  char *out = g_malloc (2 * size + 1);

  for (gsize i = 0; i < size; i++)
    g_snprintf (out + 2 * i, 3, "%02x", data[i]);
  return out;
}

/* A new token "KEY.SECRET": 64 random bits that name it, 256 that are
 * the secret. @key receives the KEY part. */
char *
job_worker_auth_new_token (char **key)
{
  guint8 random[JOB_WORKER_AUTH_NONCE_SIZE];
  g_autofree char *name = NULL;
  g_autofree char *secret = NULL;

  job_worker_auth_fill_nonce (random);
  name = hex (random, 8);
  job_worker_auth_fill_nonce (random);
  secret = hex (random, sizeof random);
  memset (random, 0, sizeof random);
  if (key != NULL)
    *key = g_strdup (name);
  return g_strconcat (name, ".", secret, NULL);
}

void
job_worker_auth_split_token (const char  *token,
                             char       **key,
                             char       **secret)
{
  const char *dot = strchr (token, '.');

  *key = dot != NULL ? g_strndup (token, dot - token) : g_strdup ("");
  *secret = g_strdup (dot != NULL ? dot + 1 : token);
}

/* The SHA-256 of a certificate's DER bytes, in lower-case hex. */
char *
job_worker_auth_fingerprint (GByteArray *der)
{
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, der->data, der->len);
}
