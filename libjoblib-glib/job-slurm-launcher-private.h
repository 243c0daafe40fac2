/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "job-worker-launcher-private.h"

G_BEGIN_DECLS

/*
 * The JobWorkerLauncher of JobSlurmBackend: each worker is a Slurm job
 * submitted with sbatch whose script runs `joblib-glib-worker-connect
 * ADDRESS KIND -- WORKER…`; the worker dials back (JobWorkerDialback:
 * listener, token, TLS pin) and is ready once it connected. Its end is
 * the end of its connection, or what squeue and sinfo say every
 * poll-interval (the job ended, its node is drained or down), whichever
 * comes first. Releasing a worker cancels its job (scancel; at shutdown,
 * synchronously, so that nothing is left in squeue when shutdown
 * returns).
 *
 * The settings come from the backend, from any thread (under the
 * launcher's mutex); everything else runs on the pool's thread.
 */

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

void               job_slurm_settings_clear         (JobSlurmSettings       *settings);
void               job_slurm_settings_copy          (const JobSlurmSettings *from,
                                                     JobSlurmSettings       *to);

JobWorkerLauncher *job_slurm_launcher_new           (void);
/* Copies @settings for the jobs submitted from now on; the next job gets
 * a new token (each run's own). Any thread. */
void               job_slurm_launcher_set_settings  (JobWorkerLauncher      *launcher,
                                                     const JobSlurmSettings *settings);
/* Pool thread: starts listening now; returns "HOST:PORT". */
char              *job_slurm_launcher_listen        (JobWorkerLauncher      *launcher,
                                                     GError                **error);
/* Pool thread: the ids of the jobs submitted and not yet cancelled. */
char             **job_slurm_launcher_dup_job_ids   (JobWorkerLauncher      *launcher);
/* Pool thread: connections refused since it started listening. */
guint              job_slurm_launcher_get_n_refused (JobWorkerLauncher      *launcher);

G_END_DECLS
