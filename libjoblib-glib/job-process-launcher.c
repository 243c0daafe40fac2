/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-i18n-private.h"
#include "job-process-launcher-private.h"
#include "job-process-worker-private.h"
#include "job-worker-command-private.h"

static JobProcessWorker *
process_of (JobLaunchedWorker *worker)
{
  return job_launched_worker_get_data (worker);
}

static void
on_frame (JobProcessWorker *process,
          JobWorkerMessage  message,
          GVariant         *body,
          gpointer          user_data)
{
  job_launched_worker_frame (user_data, message, body);
}

static void
on_end (JobProcessWorker *process,
        const GError     *error,
        const char       *description,
        gpointer          user_data)
{
  job_launched_worker_ended (user_data, error, description);
}

static gboolean
launcher_start (JobWorkerLauncher    *launcher,
                JobLaunchedWorker    *worker,
                const JobWorkerSetup *setup,
                GError              **error)
{
  const char *kind = job_launched_worker_get_kind (worker);
  const char * const *variables = job_worker_thread_variables ();
  g_autoptr(GPtrArray) environment = g_ptr_array_new ();
  g_autofree char *threads = g_strdup_printf ("%d", setup->inner_threads);
  g_auto(GStrv) argv = job_worker_command_dup (kind, error);
  JobProcessWorker *process;

  if (argv == NULL)
    return FALSE;

  for (gsize i = 0; variables[i] != NULL; i++)
    {
      g_ptr_array_add (environment, (gpointer) variables[i]);
      g_ptr_array_add (environment, threads);
    }
  g_ptr_array_add (environment, NULL);

  process = job_process_worker_spawn (kind, (const char * const *) argv,
                                      (const char * const *) environment->pdata,
                                      setup->inner_explicit,
                                      setup->environment,
                                      on_frame, on_end, worker, error);
  if (process == NULL)
    return FALSE;

  job_launched_worker_set_data (worker, process);
  /* The pipes are there: calls can be queued on them at once. */
  job_launched_worker_ready (worker);
  return TRUE;
}

static void
launcher_send (JobWorkerLauncher *launcher,
               JobLaunchedWorker *worker,
               GBytes            *frames)
{
  job_process_worker_send (process_of (worker), frames);
}

/* Also for a worker that is leaving: kill cuts its grace short. */
static void
launcher_stop (JobWorkerLauncher *launcher,
               JobLaunchedWorker *worker,
               gboolean           kill)
{
  if (kill)
    job_process_worker_kill (process_of (worker));
  else
    job_process_worker_close (process_of (worker));
}

static void
launcher_release (JobWorkerLauncher *launcher,
                  JobLaunchedWorker *worker)
{
  /* Reaped already: the end is reported after that. */
  job_process_worker_unref (process_of (worker));
}

static gboolean
launcher_is_alive (JobWorkerLauncher *launcher,
                   JobLaunchedWorker *worker)
{
  return job_process_worker_is_alive (process_of (worker));
}

static gint64
launcher_get_pid (JobWorkerLauncher *launcher,
                  JobLaunchedWorker *worker)
{
  return job_process_worker_get_pid (process_of (worker));
}

static gboolean
launcher_get_running (JobWorkerLauncher *launcher,
                      JobLaunchedWorker *worker,
                      guint64           *call_id,
                      guint32           *index)
{
  return job_process_worker_get_running (process_of (worker), call_id, index);
}

static char *
launcher_describe (JobWorkerLauncher *launcher,
                   JobLaunchedWorker *worker)
{
  GPid pid = job_process_worker_get_pid (process_of (worker));

  if (pid <= 0)
    return g_strdup (_("a worker of unknown pid"));
  return g_strdup_printf (_("worker %d"), (int) pid);
}

static gboolean
launcher_ended_cleanly (JobWorkerLauncher *launcher,
                        JobLaunchedWorker *worker)
{
  return job_process_worker_ended_cleanly (process_of (worker));
}

static void
launcher_free (JobWorkerLauncher *launcher)
{
  g_free (launcher);
}

static const JobWorkerLauncherClass process_launcher_class = {
  .name = "process",
  .start_all_at_once = FALSE,
  .start = launcher_start,
  .stop = launcher_stop,
  .release = launcher_release,
  .free = launcher_free,
  .send = launcher_send,
  .is_alive = launcher_is_alive,
  .get_pid = launcher_get_pid,
  .get_running = launcher_get_running,
  .describe = launcher_describe,
  .ended_cleanly = launcher_ended_cleanly,
};

JobWorkerLauncher *
job_process_launcher_new (void)
{
  JobWorkerLauncher *launcher = g_new0 (JobWorkerLauncher, 1);

  launcher->klass = &process_launcher_class;
  return launcher;
}
