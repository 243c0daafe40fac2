/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-error.h"
#include "job-i18n-private.h"
#include "job-pool-thread-private.h"
#include "job-time-private.h"
#include "job-worker-pool-private.h"

/* The side of the pool that other threads see: each call hands its work
 * to the pool's thread, where the scheduler keeps all of the state. */
struct _JobWorkerPool
{
  JobPoolThread      *thread;    /* (owned) */
  JobWorkerScheduler *scheduler; /* (owned) used on the thread only */
  GMutex              mutex;     /* guards settings */
  JobWorkerSettings   settings;
};

typedef struct
{
  JobWorkerScheduler *scheduler;
  JobWorkerSettings   settings;
} SettingsChange;

static gboolean
set_settings_in_thread (gpointer data)
{
  SettingsChange *change = data;

  job_worker_scheduler_set_settings (change->scheduler, &change->settings);
  job_worker_settings_clear (&change->settings);
  g_free (change);
  return G_SOURCE_REMOVE;
}

/* Called with the mutex held, after a change: the scheduler gets a copy
 * before any work handed over later. */
static void
hand_settings_down (JobWorkerPool *pool)
{
  SettingsChange *change = g_new0 (SettingsChange, 1);

  change->scheduler = pool->scheduler;
  job_worker_settings_copy (&pool->settings, &change->settings);
  job_pool_thread_invoke (pool->thread, set_settings_in_thread, change);
}

JobWorkerPool *
job_worker_pool_new (const char        *thread_name,
                     JobWorkerLauncher *launcher,
                     JobWorkerLoss      loss)
{
  JobWorkerPool *pool = g_new0 (JobWorkerPool, 1);

  g_mutex_init (&pool->mutex);
  job_worker_settings_init (&pool->settings);
  pool->scheduler = job_worker_scheduler_new (launcher, loss);
  pool->thread = job_pool_thread_new (thread_name);
  return pool;
}

void
job_worker_pool_configure (JobWorkerPool *pool,
                           int            n_workers,
                           int            inner_threads,
                           gboolean       inner_explicit)
{
  g_mutex_lock (&pool->mutex);
  pool->settings.n_workers = MAX (n_workers, 1);
  pool->settings.inner_threads = MAX (inner_threads, 1);
  pool->settings.inner_explicit = inner_explicit;
  hand_settings_down (pool);
  g_mutex_unlock (&pool->mutex);
}

void
job_worker_pool_set_max_retries (JobWorkerPool *pool,
                                 guint          max_retries)
{
  g_mutex_lock (&pool->mutex);
  pool->settings.max_retries = max_retries;
  hand_settings_down (pool);
  g_mutex_unlock (&pool->mutex);
}

void
job_worker_pool_set_setup (JobWorkerPool      *pool,
                           GVariant           *init_reference,
                           GVariant           *init_args,
                           const char * const *environment)
{
  JobWorkerSettings *settings = &pool->settings;

  g_mutex_lock (&pool->mutex);
  g_clear_pointer (&settings->init_reference, g_variant_unref);
  g_clear_pointer (&settings->init_args, g_variant_unref);
  if (init_reference != NULL)
    {
      settings->init_reference = g_variant_ref_sink (init_reference);
      settings->init_args = g_variant_ref_sink (init_args);
    }
  g_strfreev (settings->environment);
  settings->environment = g_strdupv ((char **) environment);
  settings->setup++;
  hand_settings_down (pool);
  g_mutex_unlock (&pool->mutex);
}

void
job_worker_pool_set_limits (JobWorkerPool *pool,
                            guint64        max_nbytes,
                            double         idle_timeout,
                            const char    *temp_folder)
{
  g_mutex_lock (&pool->mutex);
  pool->settings.max_nbytes = max_nbytes;
  pool->settings.idle_timeout = idle_timeout;
  g_free (pool->settings.temp_folder);
  pool->settings.temp_folder = g_strdup (temp_folder);
  hand_settings_down (pool);
  g_mutex_unlock (&pool->mutex);
}

typedef struct
{
  JobWorkerScheduler *scheduler;
  JobWorkerBatch     *op;
  JobWorkerAbort      how;
} Work;

static gboolean
submit_in_thread (gpointer data)
{
  g_autofree Work *work = data;

  job_worker_scheduler_submit (work->scheduler, work->op);
  return G_SOURCE_REMOVE;
}

void
job_worker_pool_submit (JobWorkerPool *pool,
                        JobBatch      *batch,
                        GTask         *task)
{
  Work *work = g_new0 (Work, 1);

  work->scheduler = pool->scheduler;
  work->op = job_worker_batch_new (task, batch);
  job_pool_thread_invoke (pool->thread, submit_in_thread, work);
}

static gboolean
abort_in_thread (gpointer data)
{
  g_autofree Work *work = data;

  job_worker_scheduler_abort (work->scheduler, work->how);
  return G_SOURCE_REMOVE;
}

void
job_worker_pool_abort (JobWorkerPool  *pool,
                       JobWorkerAbort  how)
{
  Work *work = g_new0 (Work, 1);

  work->scheduler = pool->scheduler;
  work->how = how;
  job_pool_thread_invoke (pool->thread, abort_in_thread, work);
}

static gboolean
shutdown_in_thread (gpointer data)
{
  job_worker_scheduler_shutdown (data);
  return G_SOURCE_REMOVE;
}

void
job_worker_pool_shutdown (JobWorkerPool *pool)
{
  job_pool_thread_invoke_sync (pool->thread, shutdown_in_thread, pool->scheduler);
}

void
job_worker_pool_invoke_sync (JobWorkerPool *pool,
                             GSourceFunc    func,
                             gpointer       data)
{
  job_pool_thread_invoke_sync (pool->thread, func, data);
}

typedef struct
{
  JobWorkerScheduler *scheduler;
  GArray             *pids;
} PidQuery;

static gboolean
get_pids_in_thread (gpointer data)
{
  PidQuery *query = data;

  job_worker_scheduler_append_pids (query->scheduler, query->pids);
  return G_SOURCE_REMOVE;
}

GArray *
job_worker_pool_get_pids (JobWorkerPool *pool)
{
  PidQuery query = { pool->scheduler, g_array_new (FALSE, FALSE, sizeof (GPid)) };

  job_pool_thread_invoke_sync (pool->thread, get_pids_in_thread, &query);
  return query.pids;
}

typedef struct
{
  JobWorkerScheduler *scheduler;
  const char         *kind;      /* (nullable) kept from now on */
  guint               n_ready;
  char               *error;
} Start;

static gboolean
start_in_thread (gpointer data)
{
  Start *start = data;

  if (start->kind != NULL)
    job_worker_scheduler_keep (start->scheduler, start->kind);
  g_clear_pointer (&start->error, g_free);
  start->n_ready = job_worker_scheduler_count_ready (start->scheduler, &start->error);
  return G_SOURCE_REMOVE;
}

gboolean
job_worker_pool_start_workers (JobWorkerPool  *pool,
                               const char     *kind,
                               guint           n_workers,
                               double          timeout,
                               GError        **error)
{
  gint64 deadline = job_deadline_after (g_get_monotonic_time (), timeout);
  Start start = { pool->scheduler, kind, 0, NULL };

  job_pool_thread_invoke_sync (pool->thread, start_in_thread, &start);
  start.kind = NULL;
  while (start.error == NULL && start.n_ready < n_workers &&
         g_get_monotonic_time () < deadline)
    {
      g_usleep (20 * 1000);
      job_pool_thread_invoke_sync (pool->thread, start_in_thread, &start);
    }
  if (start.error != NULL)
    {
      g_set_error_literal (error, JOB_ERROR, JOB_ERROR_FAILED, start.error);
      g_free (start.error);
      return FALSE;
    }
  if (start.n_ready < n_workers)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_TIMEOUT,
                   _("Only %u of %u %s workers connected within %g s"),
                   start.n_ready, n_workers, kind, timeout);
      return FALSE;
    }
  return TRUE;
}

/* From the pool's thread when the pool is freed there (the last
 * reference to a backend dropped in a callback), else through a
 * synchronous call. */
static gboolean
last_in_thread (gpointer data)
{
  JobWorkerPool *pool = data;

  job_worker_scheduler_shutdown (pool->scheduler);
  return G_SOURCE_REMOVE;
}

static void
free_after_thread (gpointer data)
{
  JobWorkerPool *pool = data;
  GMainContext *context = job_pool_thread_get_context (pool->thread);

  /* Connections report their end from idle callbacks that hold them. */
  while (g_main_context_iteration (context, FALSE))
    ;
  job_worker_scheduler_free (pool->scheduler);
  job_worker_settings_clear (&pool->settings);
  g_mutex_clear (&pool->mutex);
  g_free (pool);
}

void
job_worker_pool_free (JobWorkerPool *pool)
{
  job_pool_thread_free (pool->thread, last_in_thread, free_after_thread, pool);
}
