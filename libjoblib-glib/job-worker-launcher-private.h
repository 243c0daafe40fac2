/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "job-worker-connection-private.h"
#include "job-worker-protocol-private.h"

G_BEGIN_DECLS

/*
 * JobWorkerLauncher: how the worker pool (job-worker-pool.c) gets its
 * workers. The pool owns everything about the work: the queue, which
 * worker runs which call, the calls in flight, the answers, what happens
 * to the calls of a worker that is lost (run again, up to max-retries, or
 * the running task blamed), idle timeouts, cancel and shutdown. A launcher
 * only starts workers and tells the pool when each one can take calls,
 * what it sent, and when it is gone. Launchers today: local processes
 * (job-process-launcher.c) and Slurm jobs (job-slurm-launcher.c).
 *
 * Adding a launcher (say, one that runs `ssh HOST joblib-glib-worker-connect
 * ADDRESS KIND -- COMMAND…` and lets the worker dial back):
 *
 *  1. Define a struct whose first member is a JobWorkerLauncher, and a
 *     static const JobWorkerLauncherClass with your functions; set
 *     `launcher->klass` in your constructor. Hand the launcher to
 *     job_worker_pool_new(), which owns it from then on (klass->free).
 *  2. klass->start: begin starting one worker of job_launched_worker_get_kind().
 *     Keep your state for it with job_launched_worker_set_data(). Return
 *     FALSE with a GError only when no worker of that kind can start at
 *     all (bad settings, no program): the calls waiting for that kind fail
 *     with it. Otherwise report later, exactly in this order:
 *       - job_launched_worker_ready() once it can take calls. A worker
 *         that dials back: when your JobWorkerListener accepts its
 *         authenticated stream, call job_launched_worker_attach_stream(),
 *         which makes the JobWorkerConnection and reports ready; the
 *         default send/stop then go through that connection.
 *       - job_launched_worker_frame() for each frame after its HELLO
 *         (attach_stream does it for you).
 *       - job_launched_worker_ended(), once, when it is gone: with a GError
 *         naming the host and cause when it never became ready and the
 *         cause is final (ssh could not log in: the kind's waiting calls
 *         fail with it), with only a description when it ended without
 *         connecting (counted: a few in a row fail the kind), or with a
 *         description of how it ended after it was ready ("worker job 17
 *         on node2 was lost"). attach_stream reports the end of the
 *         connection; a launcher that watches its workers otherwise
 *         (squeue) reports what it sees.
 *  3. klass->stop: make the worker go (@kill: at once; else ask it to
 *     leave: GOODBYE, end of stream). ended() must still follow, now or
 *     later. NULL: the attached connection is closed or killed.
 *  4. klass->release: the pool is done with the worker (after ended()):
 *     free your state, and make sure nothing of it stays running (cancel
 *     the job, reap the process). Never touch the JobLaunchedWorker again.
 *  5. Optional: send (NULL: the attached connection), is_alive, get_pid,
 *     get_running (which task it runs, for crash reports), describe,
 *     ended_cleanly, begin_shutdown and end_shutdown. A worker that
 *     dials back without being asked for (a job of an earlier round, one
 *     started by hand) joins with job_launched_worker_adopt().
 *
 * Threads and contexts: the pool calls every klass function on its own
 * thread, whose thread-default main context is the pool's (create your
 * sources, subprocesses, listeners and connections there, in start() or
 * later). The job_launched_worker_*() reports must be made on that same
 * thread, from those functions or from sources on that context; ready()
 * may be called from inside start(), ended() from inside start() or
 * stop(). Nothing here is thread-safe; settings a launcher takes from
 * another thread (its backend's properties) are its own to guard.
 */

typedef struct _JobWorkerLauncher      JobWorkerLauncher;
typedef struct _JobWorkerLauncherClass JobWorkerLauncherClass;
typedef struct _JobLaunchedWorker      JobLaunchedWorker;

/* What every worker started from now on gets, read under the pool's
 * settings. @inner_threads is the value of the BLAS and OpenMP variables
 * (it replaces values set in the environment only when @inner_explicit);
 * @environment holds NAME=VALUE pairs. Launchers use what applies. */
typedef struct
{
  int                 inner_threads;
  gboolean            inner_explicit;
  const char * const *environment;   /* (nullable) */
} JobWorkerSetup;

/* A copy of a table of worker commands (kind → GStrv), never %NULL;
 * @commands may be %NULL. */
GHashTable         *job_worker_commands_copy (GHashTable *commands);

/* The variables that cap the threads of a worker's native libraries
 * (OpenMP, OpenBLAS, MKL, BLIS, Accelerate, numexpr), %NULL-terminated:
 * the one list every launcher sets. */
const char * const *job_worker_thread_variables (void);
/* Appends "NAME=N" (N: @setup's inner threads, at least 1) to
 * @environment for each thread variable when the run sets them
 * explicitly, else, unless @only_explicit, for those unset in this
 * process. */
void                job_worker_setup_add_thread_variables (const JobWorkerSetup *setup,
                                                           GPtrArray            *environment,
                                                           gboolean              only_explicit);

struct _JobWorkerLauncherClass
{
  const char *name;   /* "process", "slurm": for messages */
  /* Slow to start (cluster jobs): when a kind needs a worker, all of
   * n-workers start at once rather than one per waiting call. */
  gboolean    start_all_at_once;

  gboolean (*start)          (JobWorkerLauncher    *launcher,
                              JobLaunchedWorker    *worker,
                              const JobWorkerSetup *setup,
                              GError              **error);
  void     (*stop)           (JobWorkerLauncher    *launcher,
                              JobLaunchedWorker    *worker,
                              gboolean              kill);
  void     (*release)        (JobWorkerLauncher    *launcher,
                              JobLaunchedWorker    *worker);
  void     (*free)           (JobWorkerLauncher    *launcher);

  /* Optional. */
  void     (*send)           (JobWorkerLauncher    *launcher,
                              JobLaunchedWorker    *worker,
                              GBytes               *frames);
  gboolean (*is_alive)       (JobWorkerLauncher    *launcher,
                              JobLaunchedWorker    *worker);
  gint64   (*get_pid)        (JobWorkerLauncher    *launcher,
                              JobLaunchedWorker    *worker);
  gboolean (*get_running)    (JobWorkerLauncher    *launcher,
                              JobLaunchedWorker    *worker,
                              guint64              *call_id,
                              guint32              *index);
  /* Names the worker in messages ("worker 4242", "worker job 17 on
   * node2"); NULL: "a KIND worker". */
  char    *(*describe)       (JobWorkerLauncher    *launcher,
                              JobLaunchedWorker    *worker);
  /* After ended(): whether it left as a worker should (exit status 0, no
   * error); an idle worker that did not is reported with a warning. */
  gboolean (*ended_cleanly)  (JobWorkerLauncher    *launcher,
                              JobLaunchedWorker    *worker);
  /* Shutdown: begin before the pool stops the workers (stop what should
   * go synchronously from now on), end after every worker was released
   * (wait for your own clean-up: a job still being submitted). */
  void     (*begin_shutdown) (JobWorkerLauncher    *launcher);
  void     (*end_shutdown)   (JobWorkerLauncher    *launcher);
};

/* How the reports travel up to the pool: set by the pool, never by a
 * launcher. */
typedef struct
{
  void               (*ready) (JobLaunchedWorker *worker,
                               gpointer           pool);
  void               (*frame) (JobLaunchedWorker *worker,
                               JobWorkerMessage   message,
                               GVariant          *body,
                               gpointer           pool);
  void               (*ended) (JobLaunchedWorker *worker,
                               const GError      *error,
                               const char        *description,
                               gpointer           pool);
  JobLaunchedWorker *(*adopt) (const char        *kind,
                               gpointer           pool);
} JobWorkerLauncherEvents;

struct _JobWorkerLauncher
{
  const JobWorkerLauncherClass  *klass;
  /* set by job_worker_pool_new() */
  const JobWorkerLauncherEvents *events;
  gpointer                       pool;
};

/* One worker the pool asked for (or adopted). Owned by the pool; a
 * launcher keeps it from start() until release(). */
const char          *job_launched_worker_get_kind       (JobLaunchedWorker   *worker);
gpointer             job_launched_worker_get_data       (JobLaunchedWorker   *worker);
void                 job_launched_worker_set_data       (JobLaunchedWorker   *worker,
                                                         gpointer             data);
JobWorkerConnection *job_launched_worker_get_connection (JobLaunchedWorker   *worker);
JobWorkerLauncher   *job_launched_worker_get_launcher   (JobLaunchedWorker   *worker);

/* The reports (see above). */
void                 job_launched_worker_ready          (JobLaunchedWorker   *worker);
void                 job_launched_worker_frame          (JobLaunchedWorker   *worker,
                                                         JobWorkerMessage     message,
                                                         GVariant            *body);
void                 job_launched_worker_ended          (JobLaunchedWorker   *worker,
                                                         const GError        *error,
                                                         const char          *description);
/* The worker dialled back on @stream (authenticated): makes its
 * connection, reports ready, then each frame and, when the connection
 * ends, ended() with "@describe_loss: cause". */
void                 job_launched_worker_attach_stream  (JobLaunchedWorker   *worker,
                                                         GIOStream           *stream,
                                                         const char          *describe_loss);
/* A worker the pool did not ask for proved it belongs (a job of an
 * earlier round, or one started by hand): a new record of @kind, which
 * the launcher then reports ready (attach_stream). */
JobLaunchedWorker   *job_launched_worker_adopt          (JobWorkerLauncher   *launcher,
                                                         const char          *kind);

/* For job-worker-pool.c only. */
JobLaunchedWorker   *job_launched_worker_new            (JobWorkerLauncher   *launcher,
                                                         const char          *kind,
                                                         gpointer             pool_data);
gpointer             job_launched_worker_get_pool_data  (JobLaunchedWorker   *worker);
void                 job_launched_worker_free           (JobLaunchedWorker   *worker);
/* Through klass->send/stop, or the attached connection. */
void                 job_launched_worker_send           (JobLaunchedWorker   *worker,
                                                         GBytes              *frames);
void                 job_launched_worker_stop           (JobLaunchedWorker   *worker,
                                                         gboolean             kill);
gboolean             job_launched_worker_is_alive       (JobLaunchedWorker   *worker);

G_END_DECLS
