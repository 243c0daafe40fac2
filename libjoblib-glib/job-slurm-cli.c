/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "job-error.h"
#include "job-i18n-private.h"
#include "job-slurm-cli-private.h"

static GSubprocess *
spawn (const char * const  *argv,
       const char * const  *environment,
       GSubprocessFlags     flags,
       GError             **error)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (flags);
  g_autoptr(GError) local_error = NULL;
  GSubprocess *process;

  for (gsize i = 0; environment != NULL && environment[i] != NULL &&
                    environment[i + 1] != NULL; i += 2)
    g_subprocess_launcher_setenv (launcher, environment[i], environment[i + 1], TRUE);

  process = g_subprocess_launcher_spawnv (launcher, argv, &local_error);
  if (process == NULL)
    g_set_error (error, JOB_ERROR, JOB_ERROR_NOT_FOUND,
                 _("Cannot run the Slurm command “%s”: %s"), argv[0], local_error->message);
  return process;
}

/* The first line of Slurm's complaint, for messages. */
static char *
first_line (const char *text)
{
  const char *end;

  if (text == NULL)
    return g_strdup ("");
  end = strchr (text, '\n');
  return end != NULL ? g_strndup (text, end - text) : g_strdup (text);
}

static gboolean
check_status (GSubprocess  *process,
              const char   *command,
              const char   *err,
              GError      **error)
{
  g_autofree char *line = NULL;

  if (g_subprocess_get_successful (process))
    return TRUE;
  line = first_line (err);
  g_set_error (error, JOB_ERROR, JOB_ERROR_FAILED, _("%s failed: %s"), command, line);
  return FALSE;
}

/* sbatch. */

static void
on_sbatch_done (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  char *id;

  if (!g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &out, &err, &error) ||
      !check_status (G_SUBPROCESS (source), "sbatch", err, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  /* --parsable: "ID" or "ID;CLUSTER". */
  id = g_strstrip (g_strdup (out != NULL ? out : ""));
  id[strcspn (id, ";")] = '\0';
  if (id[0] == '\0' || strspn (id, "0123456789_") != strlen (id))
    {
      g_task_return_new_error (task, JOB_ERROR, JOB_ERROR_FAILED,
                               _("sbatch gave no job id (it said “%s”)"), out);
      g_free (id);
      return;
    }
  g_task_return_pointer (task, id, g_free);
}

void
job_slurm_sbatch_async (const char * const   *args,
                        const char           *script,
                        const char * const   *environment,
                        GCancellable         *cancellable,
                        GAsyncReadyCallback   callback,
                        gpointer              user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;

  g_task_set_source_tag (task, job_slurm_sbatch_async);
  g_ptr_array_add (argv, (char *) "sbatch");
  g_ptr_array_add (argv, (char *) "--parsable");
  g_ptr_array_add (argv, (char *) "--export=ALL");
  for (gsize i = 0; args != NULL && args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);

  process = spawn ((const char * const *) argv->pdata, environment,
                   G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                   G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  if (process == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_subprocess_communicate_utf8_async (process, script, cancellable, on_sbatch_done,
                                       g_steal_pointer (&task));
}

char *
job_slurm_sbatch_finish (GAsyncResult  *result,
                         GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* squeue + sinfo. */

typedef struct
{
  GHashTable *jobs;   /* (owned) id → "STATE NODE" */
  GHashTable *nodes;  /* (owned) node → state */
} Query;

static void
query_free (Query *query)
{
  g_clear_pointer (&query->jobs, g_hash_table_unref);
  g_clear_pointer (&query->nodes, g_hash_table_unref);
  g_free (query);
}

static void
on_sinfo_done (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_auto(GStrv) lines = NULL;
  Query *query = g_task_get_task_data (task);

  if (!g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &out, &err, &error) ||
      !check_status (G_SUBPROCESS (source), "sinfo", err, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  lines = g_strsplit (out != NULL ? out : "", "\n", -1);
  for (gsize i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) fields = g_strsplit (lines[i], "|", 2);
      char *state;

      if (g_strv_length (fields) != 2)
        continue;
      /* "drained*", "down~": flags after the name of the state. */
      state = g_ascii_strdown (g_strstrip (fields[1]), -1);
      state[strspn (state, "abcdefghijklmnopqrstuvwxyz_")] = '\0';
      g_hash_table_insert (query->nodes, g_strdup (g_strstrip (fields[0])), state);
    }
  g_task_return_boolean (task, TRUE);
}

static void
on_squeue_done (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) sinfo = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_auto(GStrv) lines = NULL;
  Query *query = g_task_get_task_data (task);
  GCancellable *cancellable;
  const char * const sinfo_argv[] = { "sinfo", "-h", "-N", "-o", "%N|%T", NULL };

  if (!g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &out, &err, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  /* Jobs purged from the controller's memory are unknown: gone. */
  if (!g_subprocess_get_successful (G_SUBPROCESS (source)) &&
      (err == NULL || strstr (err, "Invalid job id") == NULL))
    {
      check_status (G_SUBPROCESS (source), "squeue", err, &error);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  lines = g_strsplit (out != NULL ? out : "", "\n", -1);
  for (gsize i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) fields = g_strsplit (lines[i], "|", 3);

      if (g_strv_length (fields) != 3)
        continue;
      g_hash_table_insert (query->jobs, g_strdup (g_strstrip (fields[0])),
                           g_strdup_printf ("%s %s", g_strstrip (fields[1]),
                                            g_strstrip (fields[2])));
    }

  sinfo = spawn (sinfo_argv, NULL, G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                 G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  if (sinfo == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  cancellable = g_task_get_cancellable (task);
  g_subprocess_communicate_utf8_async (sinfo, NULL, cancellable,
                                       on_sinfo_done, g_steal_pointer (&task));
}

void
job_slurm_query_async (const char * const   *job_ids,
                       GCancellable         *cancellable,
                       GAsyncReadyCallback   callback,
                       gpointer              user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *ids = g_strjoinv (",", (char **) job_ids);
  const char * const argv[] = { "squeue", "-h", "-o", "%i|%T|%N", "-j", ids, NULL };
  Query *query = g_new0 (Query, 1);

  g_task_set_source_tag (task, job_slurm_query_async);
  query->jobs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  query->nodes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_task_set_task_data (task, query, (GDestroyNotify) query_free);

  process = spawn (argv, NULL, G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                   G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  if (process == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_subprocess_communicate_utf8_async (process, NULL, cancellable, on_squeue_done,
                                       g_steal_pointer (&task));
}

GHashTable *
job_slurm_query_finish (GAsyncResult  *result,
                        GHashTable   **nodes,
                        GError       **error)
{
  Query *query;

  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return NULL;
  query = g_task_get_task_data (G_TASK (result));
  if (nodes != NULL)
    *nodes = g_hash_table_ref (query->nodes);
  return g_hash_table_ref (query->jobs);
}

gboolean
job_slurm_state_is_active (const char *state)
{
  static const char * const active[] = {
    "PENDING", "CONFIGURING", "RUNNING", "REQUEUED", "RESIZING", "SUSPENDED",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (active); i++)
    if (g_strcmp0 (state, active[i]) == 0)
      return TRUE;
  return FALSE;
}

gboolean
job_slurm_node_is_leaving (const char *state)
{
  return state != NULL &&
         (g_str_has_prefix (state, "drain") || g_str_has_prefix (state, "down") ||
          g_str_has_prefix (state, "fail") || g_str_has_prefix (state, "maint") ||
          g_str_has_prefix (state, "reboot") || g_str_has_prefix (state, "power"));
}

/* scancel. */

static GSubprocess *
spawn_scancel (const char * const  *job_ids,
               GError             **error)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();

  g_ptr_array_add (argv, (char *) "scancel");
  for (gsize i = 0; job_ids[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) job_ids[i]);
  g_ptr_array_add (argv, NULL);
  return spawn ((const char * const *) argv->pdata, NULL,
                G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE, error);
}

gboolean
job_slurm_scancel_sync (const char * const  *job_ids,
                        GError             **error)
{
  g_autoptr(GSubprocess) process = NULL;
  g_autofree char *err = NULL;

  if (job_ids == NULL || job_ids[0] == NULL)
    return TRUE;
  process = spawn_scancel (job_ids, error);
  if (process == NULL ||
      !g_subprocess_communicate_utf8 (process, NULL, NULL, NULL, &err, error))
    return FALSE;
  return check_status (process, "scancel", err, error);
}

static void
on_scancel_done (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;

  if (!g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, NULL, &err, &error) ||
      !check_status (G_SUBPROCESS (source), "scancel", err, &error))
    g_warning ("%s", error->message);
}

void
job_slurm_scancel (const char * const *job_ids)
{
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;

  if (job_ids == NULL || job_ids[0] == NULL)
    return;
  process = spawn_scancel (job_ids, &error);
  if (process == NULL)
    {
      g_warning ("%s", error->message);
      return;
    }
  g_subprocess_communicate_utf8_async (process, NULL, NULL, on_scancel_done, NULL);
}
