/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "job-error.h"
#include "job-i18n-private.h"
#include "job-ssh-settings-private.h"
#include "job-worker-launcher-private.h"

void
job_ssh_settings_init (JobSshSettings *settings)
{
  memset (settings, 0, sizeof *settings);
  settings->hosts = g_ptr_array_new ();
  settings->tls = TRUE;
}

void
job_ssh_host_clear (JobSshHost *host)
{
  g_clear_pointer (&host->name, g_free);
}

void
job_ssh_host_free (JobSshHost *host)
{
  job_ssh_host_clear (host);
  g_free (host);
}

void
job_ssh_settings_clear (JobSshSettings *settings)
{
  if (settings->hosts != NULL)
    g_ptr_array_foreach (settings->hosts, (GFunc) job_ssh_host_free, NULL);
  g_clear_pointer (&settings->hosts, g_ptr_array_unref);
  g_clear_pointer (&settings->ssh_command, g_strfreev);
  g_clear_pointer (&settings->programs, g_hash_table_unref);
  g_clear_pointer (&settings->commands, g_hash_table_unref);
  g_clear_pointer (&settings->listen_address, g_free);
  g_clear_object (&settings->certificate);
}

static GHashTable *
copy_table (GHashTable     *from,
            GBoxedCopyFunc  copy,
            GDestroyNotify  destroy)
{
  GHashTable *to = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, destroy);
  GHashTableIter iter;
  gpointer key, value;

  if (from == NULL)
    return to;
  g_hash_table_iter_init (&iter, from);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_hash_table_insert (to, g_strdup (key), copy (value));
  return to;
}

void
job_ssh_settings_copy (const JobSshSettings *from,
                       JobSshSettings       *to)
{
  job_ssh_settings_clear (to);
  *to = *from;
  to->hosts = g_ptr_array_new ();
  for (guint i = 0; from->hosts != NULL && i < from->hosts->len; i++)
    {
      const JobSshHost *host = g_ptr_array_index (from->hosts, i);
      JobSshHost *copy = g_new0 (JobSshHost, 1);

      copy->name = g_strdup (host->name);
      copy->slots = host->slots;
      g_ptr_array_add (to->hosts, copy);
    }
  to->ssh_command = g_strdupv (from->ssh_command);
  to->programs = copy_table (from->programs, (GBoxedCopyFunc) g_strdup, g_free);
  to->commands = job_worker_commands_copy (from->commands);
  to->listen_address = g_strdup (from->listen_address);
  to->certificate = from->certificate != NULL ? g_object_ref (from->certificate) : NULL;
}

gboolean
job_ssh_host_parse (const char  *spec,
                    JobSshHost  *host,
                    GError     **error)
{
  const char *colon = spec != NULL ? strrchr (spec, ':') : NULL;
  const char *bracket = spec != NULL ? strrchr (spec, ']') : NULL;
  g_autofree char *name = NULL;
  guint64 slots = 1;

  if (spec == NULL || spec[0] == '\0' || spec[0] == '-' || strpbrk (spec, " \t\n\r") != NULL)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
                   _("“%s” is not a host: expected HOST or HOST:WORKERS"), spec ?: "");
      return FALSE;
    }
  /* "::1" has colons of its own: only "[::1]:2" gives it a count. */
  if (colon != NULL && (bracket == NULL || colon > bracket) &&
      (bracket != NULL || strchr (spec, ':') == colon))
    {
      if (!g_ascii_string_to_unsigned (colon + 1, 10, 1, 4096, &slots, NULL))
        {
          g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
                       _("“%s”: the number of workers after “:” must be between 1 and 4096"),
                       spec);
          return FALSE;
        }
      name = g_strndup (spec, colon - spec);
    }
  else
    name = g_strdup (spec);
  if (name[0] == '[' && name[strlen (name) - 1] == ']')
    {
      char *bare = g_strndup (name + 1, strlen (name) - 2);

      g_free (name);
      name = bare;
    }
  if (name[0] == '\0')
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
                   _("“%s” is not a host: expected HOST or HOST:WORKERS"), spec);
      return FALSE;
    }
  host->name = g_steal_pointer (&name);
  host->slots = (guint) slots;
  return TRUE;
}

/* One "HOST[:WORKERS]" a line; blank lines and "#" comments skipped. */
gboolean
job_ssh_hosts_file_read (const char  *path,
                         GPtrArray   *hosts,
                         GError     **error)
{
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents (path, &contents, NULL, error))
    return FALSE;
  lines = g_strsplit (contents, "\n", -1);
  for (gsize i = 0; lines[i] != NULL; i++)
    {
      char *hash = strchr (lines[i], '#');
      g_autoptr(GError) local_error = NULL;
      JobSshHost *host;

      if (hash != NULL)
        *hash = '\0';
      g_strstrip (lines[i]);
      if (lines[i][0] == '\0')
        continue;
      host = g_new0 (JobSshHost, 1);
      if (!job_ssh_host_parse (lines[i], host, &local_error))
        {
          g_free (host);
          g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT, "%s:%" G_GSIZE_FORMAT ": %s",
                       path, i + 1, local_error->message);
          return FALSE;
        }
      g_ptr_array_add (hosts, host);
    }
  return TRUE;
}
