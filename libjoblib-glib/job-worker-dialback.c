/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "job-worker-auth-private.h"
#include "job-worker-dialback-private.h"
#include "job-worker-listen-plan-private.h"
#include "job-worker-listener-private.h"

struct _JobWorkerDialback
{
  JobWorkerDialbackFunc  func;
  gpointer               user_data;
  JobWorkerListener     *listener;   /* (owned) (nullable) */
  char                  *address;    /* (owned) (nullable) what workers dial */
  char                  *pin;        /* (owned) (nullable) */
  GTlsCertificate       *generated;  /* (owned) (nullable) self-signed, made once */
  char                  *token;      /* (owned) this run's "KEY.SECRET" */
  char                  *token_key;  /* (owned) its KEY */
  gboolean               token_used; /* handed out to workers */
  GHashTable            *secrets;    /* (owned) KEY → SECRET: this run's and
                                      * those of workers still to connect */
  GHashTable            *holds;      /* (owned) KEY → count of such workers */
};

JobWorkerDialback *
job_worker_dialback_new (JobWorkerDialbackFunc func,
                         gpointer              user_data)
{
  JobWorkerDialback *self = g_new0 (JobWorkerDialback, 1);

  self->func = func;
  self->user_data = user_data;
  self->secrets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->holds = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  job_worker_dialback_new_run (self);
  return self;
}

void
job_worker_dialback_free (JobWorkerDialback *self)
{
  job_worker_dialback_stop_listening (self);
  g_clear_object (&self->generated);
  g_free (self->token);
  g_free (self->token_key);
  g_hash_table_unref (self->secrets);
  g_hash_table_unref (self->holds);
  g_free (self);
}

static gboolean
key_is_retired (gpointer key,
                gpointer secret,
                gpointer user_data)
{
  JobWorkerDialback *self = user_data;

  return g_strcmp0 (key, self->token_key) != 0 && !g_hash_table_contains (self->holds, key);
}

void
job_worker_dialback_new_run (JobWorkerDialback *self)
{
  g_autofree char *key = NULL;
  g_autofree char *secret = NULL;

  if (self->token != NULL && !self->token_used)
    return;
  g_free (self->token);
  self->token = job_worker_auth_new_token (NULL);
  job_worker_auth_split_token (self->token, &key, &secret);
  g_free (self->token_key);
  self->token_key = g_strdup (key);
  self->token_used = FALSE;
  g_hash_table_insert (self->secrets, g_steal_pointer (&key), g_steal_pointer (&secret));
  g_hash_table_foreach_remove (self->secrets, key_is_retired, self);
}

const char *
job_worker_dialback_hold (JobWorkerDialback  *self,
                          char              **key)
{
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (self->holds, self->token_key));

  g_hash_table_insert (self->holds, g_strdup (self->token_key), GUINT_TO_POINTER (n + 1));
  self->token_used = TRUE;
  *key = g_strdup (self->token_key);
  return self->token;
}

void
job_worker_dialback_release (JobWorkerDialback *self,
                             const char        *key)
{
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (self->holds, key));

  if (n > 1)
    g_hash_table_insert (self->holds, g_strdup (key), GUINT_TO_POINTER (n - 1));
  else
    g_hash_table_remove (self->holds, key);
  g_hash_table_foreach_remove (self->secrets, key_is_retired, self);
}

/* The listener's JobWorkerListenerKeyFunc. */
static char *
dup_secret (const char *key,
            gpointer    user_data)
{
  JobWorkerDialback *self = user_data;

  if (key_is_retired ((gpointer) key, NULL, self))
    return NULL;
  return g_strdup (g_hash_table_lookup (self->secrets, key));
}

static void
on_accepted (JobWorkerListener *listener,
             GIOStream         *stream,
             const char        *kind,
             const char        *job_id,
             const char        *node,
             const char        *key,
             gpointer           user_data)
{
  JobWorkerDialback *self = user_data;

  self->func (stream, kind, job_id, node, key, self->user_data);
}

gboolean
job_worker_dialback_ensure_listening (JobWorkerDialback  *self,
                                      const char         *listen_address,
                                      guint16             port,
                                      GTlsCertificate    *certificate,
                                      gboolean            tls,
                                      GError            **error)
{
  JobWorkerListenPlan plan;
  const char *host;

  if (self->listener != NULL)
    return TRUE;
  if (!job_worker_listen_plan (listen_address, certificate, tls, &self->generated, &plan,
                               error))
    return FALSE;

  self->listener = job_worker_listener_new (plan.bind_address, port, plan.certificate,
                                            dup_secret, on_accepted, self, error);
  host = plan.advertised;
  if (self->listener != NULL)
    {
      g_free (self->address);
      self->address = g_strdup_printf (strchr (host, ':') != NULL ? "[%s]:%u" : "%s:%u",
                                       host, job_worker_listener_get_port (self->listener));
      g_free (self->pin);
      self->pin = g_steal_pointer (&plan.pin);
    }
  job_worker_listen_plan_clear (&plan);
  return self->listener != NULL;
}

void
job_worker_dialback_stop_listening (JobWorkerDialback *self)
{
  g_clear_pointer (&self->listener, job_worker_listener_free);
  g_clear_pointer (&self->address, g_free);
}

const char *
job_worker_dialback_get_address (JobWorkerDialback *self)
{
  return self->address;
}

const char *
job_worker_dialback_get_pin (JobWorkerDialback *self)
{
  return self->pin;
}

guint
job_worker_dialback_get_n_refused (JobWorkerDialback *self)
{
  return self->listener != NULL ? job_worker_listener_get_n_refused (self->listener) : 0;
}
