/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "job-batch.h"

G_BEGIN_DECLS

/* The scheduler of JobSlurmBackend: worker jobs submitted with sbatch,
 * their connections back to the driver, and the calls sent to them. Like
 * the process pool, its state lives on a thread of its own running its
 * own main context; the functions below may be called from any thread. */

typedef struct
{
  char            *partition;       /* (nullable) */
  char            *time_limit;      /* (nullable) */
  char            *memory;          /* (nullable) */
  char           **sbatch_args;     /* (nullable) */
  int              cpus_per_worker;
  int              n_workers;       /* 0: the run's n_jobs */
  guint            max_retries;
  guint64          max_nbytes;
  char            *shared_folder;   /* (nullable) */
  char            *listen_address;  /* (nullable): every interface */
  guint16          port;
  GTlsCertificate *certificate;     /* (nullable) */
  gboolean         tls;             /* off loopback, made up if needed */
  double           poll_interval;
  double           idle_timeout;
  GHashTable      *commands;        /* (nullable) kind → GStrv */
} JobSlurmSettings;

void              job_slurm_settings_clear   (JobSlurmSettings       *settings);
void              job_slurm_settings_copy    (const JobSlurmSettings *from,
                                              JobSlurmSettings       *to);

typedef struct _JobSlurmPool JobSlurmPool;

JobSlurmPool *job_slurm_pool_new            (void);
void          job_slurm_pool_free           (JobSlurmPool           *pool);
void          job_slurm_pool_set_settings   (JobSlurmPool           *pool,
                                             const JobSlurmSettings *settings,
                                             int                     n_jobs);
/* Starts listening now (else on the first batch); returns "HOST:PORT". */
char         *job_slurm_pool_listen         (JobSlurmPool           *pool,
                                             GError                **error);
/* Keeps n-workers jobs of @kind running even without work, and waits
 * until @n_workers of them are connected. */
gboolean      job_slurm_pool_start_workers  (JobSlurmPool           *pool,
                                             const char             *kind,
                                             guint                   n_workers,
                                             double                  timeout,
                                             GError                **error);
void          job_slurm_pool_submit         (JobSlurmPool           *pool,
                                             JobBatch               *batch,
                                             GTask                  *task);
void          job_slurm_pool_abort          (JobSlurmPool           *pool);
void          job_slurm_pool_shutdown       (JobSlurmPool           *pool);
char        **job_slurm_pool_dup_job_ids    (JobSlurmPool           *pool);
guint         job_slurm_pool_get_n_refused  (JobSlurmPool           *pool);

G_END_DECLS
