/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "job-worker-request-private.h"
#include "job-slurm-pool-private.h"
#include "job-worker-connection-private.h"
#include "job-worker-listener-private.h"

G_BEGIN_DECLS

/* The state of JobSlurmPool, shared by its two halves: scheduling (the
 * queue, the connections and the calls sent on them, job-slurm-pool.c)
 * and the worker jobs themselves (sbatch, and squeue/sinfo polling,
 * job-slurm-jobs.c). Pool thread only, except the mutex-guarded fields. */

/* Calls queued on one worker at most: its next call waits in the socket. */
#define MAX_IN_FLIGHT 4

/* A request and how many workers it was lost with already. */
typedef struct
{
  JobWorkerRequest *request;  /* (owned) */
  guint              attempt;
} Call;

/* One worker job: submitted (no id yet), queued or running in Slurm,
 * connected once its worker connects back. */
typedef struct
{
  JobSlurmPool        *pool;
  char                *id;         /* (owned) (nullable) while sbatch runs */
  char                *kind;       /* (owned) */
  char                *node;       /* (owned) (nullable) */
  char                *key;        /* (owned) (nullable) its token's name */
  JobWorkerConnection *connection; /* (owned) (nullable) */
  GQueue               calls;      /* (element-type Call) in flight, in order */
  gint64               idle_since;
  gboolean             submitting;
  gboolean             doomed;     /* dropped while sbatch ran: cancel it */
} SlurmJob;

struct _JobSlurmPool
{
  GMutex              mutex;       /* guards settings, n_jobs, new_run */
  JobSlurmSettings    settings;
  int                 n_jobs;
  gboolean            new_run;     /* configured since the last submission */

  GThread            *thread;
  GMainContext       *context;     /* (owned) */
  GMainLoop          *loop;        /* (owned) */

  /* pool thread only */
  char               *token;       /* (owned) this run's "KEY.SECRET" */
  char               *token_key;   /* (owned) its KEY */
  gboolean            token_used;  /* jobs were submitted with it */
  GHashTable         *secrets;     /* (owned) KEY → SECRET: this run's and
                                    * those of jobs not connected yet */
  JobWorkerListener  *listener;    /* (owned) (nullable) */
  char               *address;     /* (owned) (nullable) what workers dial */
  char               *pin;         /* (owned) (nullable) the listener's
                                    * certificate fingerprint, for TLS */
  GTlsCertificate    *generated;   /* (owned) (nullable) self-signed, made
                                    * once per pool when TLS needs it */
  GQueue              queue;       /* (element-type Call) waiting */
  GPtrArray          *jobs;        /* (element-type SlurmJob) */
  guint               n_submitting;
  GHashTable         *start_failures; /* kind → count */
  GHashTable         *started_kinds;  /* kinds kept running without work */
  GSource            *poll_source; /* (owned) (nullable) */
  gboolean            querying;
  gboolean            shutting_down; /* scancel waits */
  gboolean            free_on_exit;  /* freed from its own thread */
  char               *start_error;   /* (owned) (nullable) why workers failed */
  guint64             next_id;
};

/* Scheduling (job-slurm-pool.c). */
void     job_slurm_pool_pump             (JobSlurmPool     *pool);
void     job_slurm_pool_get_settings     (JobSlurmPool     *pool,
                                          JobSlurmSettings *copy,
                                          int              *n_workers);
gboolean job_slurm_pool_ensure_listener  (JobSlurmPool     *pool,
                                          GError          **error);
void     job_slurm_pool_fail_queued      (JobSlurmPool     *pool,
                                          const char       *kind,
                                          const GError     *error);
void     job_slurm_pool_drop_job         (JobSlurmPool     *pool,
                                          SlurmJob         *job,
                                          const char       *lost_reason);
void     job_slurm_call_finish           (Call             *call,
                                          const GError     *error);

/* Worker jobs (job-slurm-jobs.c). */
void     job_slurm_pool_new_token        (JobSlurmPool     *pool);
char    *job_slurm_pool_dup_secret       (const char       *key,
                                          gpointer          pool);
void     job_slurm_job_free              (SlurmJob         *job);
void     job_slurm_pool_cancel_jobs      (JobSlurmPool     *pool,
                                          GPtrArray        *jobs);
/* Submits worker jobs for the kinds in @wanted (a set of kinds) that have
 * fewer than n-workers jobs, then keeps polling while there are jobs. */
void     job_slurm_pool_submit_jobs      (JobSlurmPool     *pool,
                                          GHashTable       *wanted);
void     job_slurm_pool_ensure_polling   (JobSlurmPool     *pool);

G_END_DECLS
