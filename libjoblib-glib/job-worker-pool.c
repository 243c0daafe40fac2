/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-error.h"
#include "job-i18n-private.h"
#include "job-pool-thread-private.h"
#include "job-time-private.h"
#include "job-worker-connection-private.h"
#include "job-worker-pool-private.h"

/* The side of the pool that other threads see: each call hands its work
 * to the pool's thread, where the scheduler keeps all of the state. */
struct _JobWorkerPool
{
  JobPoolThread      *thread;    /* (owned) */
  JobWorkerScheduler *scheduler; /* (owned) used on the thread only */
  GMutex              mutex;     /* guards settings */
  JobWorkerSettings   settings;

  /* Work handed to the thread, in order: one wake-up of the thread takes
   * all of it (a run keeps dozens of small batches in flight, and a
   * wake-up costs more than a small batch's scheduling). */
  GMutex              work_mutex; /* guards the two fields below */
  GArray             *work;       /* (element-type Work) */
  gboolean            draining;   /* a drain is scheduled on the thread */
};

/* One piece of work for the thread: @func (@data), run once; @pumps says
 * that it queued requests and left the placing of them to the drain. */
typedef struct
{
  GSourceFunc func;
  gpointer    data;
  gboolean    pumps;
} Work;

/* On the pool's thread: runs the work handed over so far, in order,
 * then places the requests queued by it in one round. */
static void
drain (JobWorkerPool *pool)
{
  g_autoptr(GArray) work = NULL;
  gboolean pump = FALSE;

  g_mutex_lock (&pool->work_mutex);
  work = pool->work;
  pool->work = g_array_new (FALSE, FALSE, sizeof (Work));
  pool->draining = FALSE;
  g_mutex_unlock (&pool->work_mutex);

  /* One write per worker for the calls placed by this drain. */
  job_worker_connection_hold_writes ();
  for (guint i = 0; i < work->len; i++)
    {
      Work *item = &g_array_index (work, Work, i);

      item->func (item->data);
      pump = pump || item->pumps;
    }
  if (pump)
    job_worker_scheduler_pump (pool->scheduler);
  job_worker_connection_release_writes ();
}

static gboolean
drain_in_thread (gpointer data)
{
  drain (data);
  return G_SOURCE_REMOVE;
}

/* From any thread: @func (@data) runs on the pool's thread after the work
 * handed over before it. */
static void
hand_over (JobWorkerPool *pool,
           GSourceFunc    func,
           gpointer       data,
           gboolean       pumps)
{
  Work item = { func, data, pumps };
  gboolean schedule;

  g_mutex_lock (&pool->work_mutex);
  g_array_append_val (pool->work, item);
  schedule = !pool->draining;
  pool->draining = TRUE;
  g_mutex_unlock (&pool->work_mutex);

  if (schedule)
    job_pool_thread_invoke (pool->thread, drain_in_thread, pool);
}

/* Runs @func on the pool's thread after the work handed over before, and
 * waits for it. */
typedef struct
{
  JobWorkerPool *pool;
  GSourceFunc    func;
  gpointer       data;
} SyncWork;

static gboolean
drain_then_call (gpointer data)
{
  SyncWork *sync = data;

  drain (sync->pool);
  return sync->func (sync->data);
}

static void
call_sync (JobWorkerPool *pool,
           GSourceFunc    func,
           gpointer       data)
{
  SyncWork sync = { pool, func, data };

  job_pool_thread_invoke_sync (pool->thread, drain_then_call, &sync);
}

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
  hand_over (pool, set_settings_in_thread, change, FALSE);
}

JobWorkerPool *
job_worker_pool_new (const char        *thread_name,
                     JobWorkerLauncher *launcher,
                     JobWorkerLoss      loss)
{
  JobWorkerPool *pool = g_new0 (JobWorkerPool, 1);

  g_mutex_init (&pool->mutex);
  g_mutex_init (&pool->work_mutex);
  pool->work = g_array_new (FALSE, FALSE, sizeof (Work));
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
} Order;

static gboolean
submit_in_thread (gpointer data)
{
  g_autofree Order *order = data;

  job_worker_scheduler_enqueue (order->scheduler, order->op);
  return G_SOURCE_REMOVE;
}

static void
submit_op (JobWorkerPool  *pool,
           JobWorkerBatch *op)
{
  Order *order = g_new0 (Order, 1);

  order->scheduler = pool->scheduler;
  order->op = op;
  hand_over (pool, submit_in_thread, order, TRUE);
}

void
job_worker_pool_submit (JobWorkerPool *pool,
                        JobBatch      *batch,
                        GTask         *task)
{
  submit_op (pool, job_worker_batch_new (task, batch));
}

typedef struct
{
  JobWorkerPool *pool;
  gpointer       run_batch_async;
} Attachment;

static GQuark attachment_quark (void);
G_DEFINE_QUARK (job-worker-pool-attachment, attachment)

void
job_worker_pool_attach (JobWorkerPool *pool,
                        JobBackend    *backend,
                        gpointer       run_batch_async)
{
  Attachment *attachment = g_new (Attachment, 1);

  attachment->pool = pool;
  attachment->run_batch_async = run_batch_async;
  g_object_set_qdata_full (G_OBJECT (backend), attachment_quark (), attachment, g_free);
}

JobWorkerPool *
job_worker_pool_for_backend (JobBackend *backend)
{
  Attachment *attachment = g_object_get_qdata (G_OBJECT (backend), attachment_quark ());

  if (attachment == NULL ||
      JOB_BACKEND_GET_IFACE (backend)->run_batch_async != attachment->run_batch_async)
    return NULL;
  return attachment->pool;
}

void
job_worker_pool_submit_to_inbox (JobWorkerPool *pool,
                                 JobBatch      *batch,
                                 JobBatchInbox *inbox,
                                 gpointer       inbox_data)
{
  submit_op (pool, job_worker_batch_new_for_inbox (inbox, inbox_data, batch));
}

static gboolean
abort_in_thread (gpointer data)
{
  g_autofree Order *order = data;

  job_worker_scheduler_abort (order->scheduler, order->how);
  return G_SOURCE_REMOVE;
}

void
job_worker_pool_abort (JobWorkerPool  *pool,
                       JobWorkerAbort  how)
{
  Order *order = g_new0 (Order, 1);

  order->scheduler = pool->scheduler;
  order->how = how;
  hand_over (pool, abort_in_thread, order, FALSE);
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
  call_sync (pool, shutdown_in_thread, pool->scheduler);
}

void
job_worker_pool_invoke_sync (JobWorkerPool *pool,
                             GSourceFunc    func,
                             gpointer       data)
{
  call_sync (pool, func, data);
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

  call_sync (pool, get_pids_in_thread, &query);
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

  call_sync (pool, start_in_thread, &start);
  start.kind = NULL;
  while (start.error == NULL && start.n_ready < n_workers &&
         g_get_monotonic_time () < deadline)
    {
      g_usleep (20 * 1000);
      call_sync (pool, start_in_thread, &start);
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

  drain (pool);
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
  g_assert (pool->work->len == 0);
  job_worker_scheduler_free (pool->scheduler);
  job_worker_settings_clear (&pool->settings);
  g_array_unref (pool->work);
  g_mutex_clear (&pool->work_mutex);
  g_mutex_clear (&pool->mutex);
  g_free (pool);
}

void
job_worker_pool_free (JobWorkerPool *pool)
{
  job_pool_thread_free (pool->thread, last_in_thread, free_after_thread, pool);
}
