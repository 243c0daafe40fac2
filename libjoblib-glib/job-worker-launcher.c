/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-worker-launcher-private.h"

/* The record of one worker between the pool and its launcher. Reports go
 * up through the callbacks the pool set on the launcher: this file knows
 * nothing of the pool. */
struct _JobLaunchedWorker
{
  JobWorkerLauncher   *launcher;
  char                *kind;         /* (owned) */
  gpointer             data;         /* the launcher's */
  gpointer             pool_data;    /* the pool's */
  JobWorkerConnection *connection;   /* (owned) (nullable) once dialled back */
  char                *describe_loss; /* (owned) (nullable) */
  gboolean             ended;
};

JobLaunchedWorker *
job_launched_worker_new (JobWorkerLauncher *launcher,
                         const char        *kind,
                         gpointer           pool_data)
{
  JobLaunchedWorker *worker = g_new0 (JobLaunchedWorker, 1);

  worker->launcher = launcher;
  worker->kind = g_strdup (kind);
  worker->pool_data = pool_data;
  return worker;
}

void
job_launched_worker_free (JobLaunchedWorker *worker)
{
  if (worker->connection != NULL)
    {
      job_worker_connection_detach (worker->connection);
      job_worker_connection_unref (worker->connection);
    }
  g_free (worker->describe_loss);
  g_free (worker->kind);
  g_free (worker);
}

const char *
job_launched_worker_get_kind (JobLaunchedWorker *worker)
{
  return worker->kind;
}

gpointer
job_launched_worker_get_data (JobLaunchedWorker *worker)
{
  return worker->data;
}

void
job_launched_worker_set_data (JobLaunchedWorker *worker,
                              gpointer           data)
{
  worker->data = data;
}

gpointer
job_launched_worker_get_pool_data (JobLaunchedWorker *worker)
{
  return worker->pool_data;
}

JobWorkerConnection *
job_launched_worker_get_connection (JobLaunchedWorker *worker)
{
  return worker->connection;
}

JobWorkerLauncher *
job_launched_worker_get_launcher (JobLaunchedWorker *worker)
{
  return worker->launcher;
}

void
job_launched_worker_ready (JobLaunchedWorker *worker)
{
  JobWorkerLauncher *launcher = worker->launcher;

  launcher->events->ready (worker, launcher->pool);
}

void
job_launched_worker_frame (JobLaunchedWorker *worker,
                           JobWorkerMessage   message,
                           GVariant          *body)
{
  JobWorkerLauncher *launcher = worker->launcher;

  launcher->events->frame (worker, message, body, launcher->pool);
}

void
job_launched_worker_ended (JobLaunchedWorker *worker,
                           const GError      *error,
                           const char        *description)
{
  JobWorkerLauncher *launcher = worker->launcher;

  /* Once: a launcher that watches its workers may see the end both
   * through the connection and through its own watch. */
  if (worker->ended)
    return;
  worker->ended = TRUE;
  launcher->events->ended (worker, error, description, launcher->pool);
}

JobLaunchedWorker *
job_launched_worker_adopt (JobWorkerLauncher *launcher,
                           const char        *kind)
{
  return launcher->events->adopt (kind, launcher->pool);
}

static void
on_connection_frame (JobWorkerConnection *connection,
                     JobWorkerMessage     message,
                     GVariant            *body,
                     gpointer             user_data)
{
  job_launched_worker_frame (user_data, message, body);
}

static void
on_connection_end (JobWorkerConnection *connection,
                   const GError        *error,
                   gpointer             user_data)
{
  JobLaunchedWorker *worker = user_data;
  g_autofree char *description =
    g_strdup_printf ("%s%s%s", worker->describe_loss,
                     error != NULL ? ": " : "", error != NULL ? error->message : "");

  job_launched_worker_ended (worker, NULL, description);
}

void
job_launched_worker_attach_stream (JobLaunchedWorker *worker,
                                   GIOStream         *stream,
                                   const char        *describe_loss)
{
  g_return_if_fail (worker->connection == NULL);

  g_free (worker->describe_loss);
  worker->describe_loss = g_strdup (describe_loss);
  worker->connection = job_worker_connection_new (stream, worker->kind, on_connection_frame,
                                                  on_connection_end, worker);
  job_launched_worker_ready (worker);
}

void
job_launched_worker_send (JobLaunchedWorker *worker,
                          GBytes            *frames)
{
  if (worker->launcher->klass->send != NULL)
    worker->launcher->klass->send (worker->launcher, worker, frames);
  else if (worker->connection != NULL)
    job_worker_connection_send (worker->connection, frames);
}

void
job_launched_worker_stop (JobLaunchedWorker *worker,
                          gboolean           kill)
{
  if (worker->ended)
    return;
  if (worker->connection != NULL)
    {
      if (kill)
        job_worker_connection_kill (worker->connection);
      else
        job_worker_connection_close (worker->connection);
    }
  else
    worker->launcher->klass->stop (worker->launcher, worker, kill);
}

gboolean
job_launched_worker_is_alive (JobLaunchedWorker *worker)
{
  if (worker->ended)
    return FALSE;
  if (worker->launcher->klass->is_alive != NULL)
    return worker->launcher->klass->is_alive (worker->launcher, worker);
  return worker->connection == NULL || job_worker_connection_is_alive (worker->connection);
}

const char * const *
job_worker_thread_variables (void)
{
  static const char * const variables[] = {
    "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS",
    NULL
  };

  return variables;
}

void
job_worker_setup_add_thread_variables (const JobWorkerSetup *setup,
                                       GPtrArray            *environment,
                                       gboolean              only_explicit)
{
  const char * const *variables = job_worker_thread_variables ();

  for (gsize i = 0; variables[i] != NULL; i++)
    if (setup->inner_explicit || (!only_explicit && g_getenv (variables[i]) == NULL))
      g_ptr_array_add (environment, g_strdup_printf ("%s=%d", variables[i],
                                                     MAX (setup->inner_threads, 1)));
}

GHashTable *
job_worker_commands_copy (GHashTable *commands)
{
  GHashTable *copy = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                            (GDestroyNotify) g_strfreev);
  GHashTableIter iter;
  gpointer kind, argv;

  if (commands == NULL)
    return copy;
  g_hash_table_iter_init (&iter, commands);
  while (g_hash_table_iter_next (&iter, &kind, &argv))
    g_hash_table_insert (copy, g_strdup (kind), g_strdupv (argv));
  return copy;
}
