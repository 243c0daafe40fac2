/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "job-remote-backend.h"
#include "job-worker-pool-private.h"

G_BEGIN_DECLS

/*
 * What JobRemoteBackend owns for its subclasses (the SSH, Slurm and
 * cluster backends): the properties every remote backend has, the
 * worker commands, the worker pool and its launcher. A subclass gives
 * its launcher once, from its init or constructed; it reads a snapshot
 * of the shared settings when it prepares a run, copies what its
 * launcher needs, and sizes the pool with job_remote_backend_configure_pool().
 * All of these may be called from any thread.
 */

typedef struct
{
  guint            max_retries;
  guint64          max_nbytes;
  char            *shared_folder;  /* (nullable) */
  char            *listen_address; /* (nullable): every interface */
  guint16          port;
  GTlsCertificate *certificate;    /* (nullable) */
  gboolean         tls;            /* off loopback */
  double           idle_timeout;   /* negative or infinity: forever */
  GHashTable      *commands;       /* kind → GStrv, never NULL */
} JobRemoteSettings;

void               job_remote_settings_clear         (JobRemoteSettings  *settings);

/* Property setters of the remote backends, under their mutex: an empty
 * string or string array is %NULL; TRUE when the field changed. */
gboolean           job_remote_set_string             (char              **field,
                                                      const GValue       *value);
gboolean           job_remote_set_strv               (char             ***field,
                                                      const GValue       *value);

/* Takes @launcher; the pool's thread is called @thread_name. How a run
 * that stops ends its workers: @abort_kills_busy_only kills the workers
 * running the stopped run's tasks when it is cancelled or timed out
 * (and keeps them after a task error), else every worker goes. */
void               job_remote_backend_set_launcher   (JobRemoteBackend   *self,
                                                      const char         *thread_name,
                                                      JobWorkerLauncher  *launcher,
                                                      gboolean            abort_kills_busy_only);
JobWorkerPool     *job_remote_backend_get_pool       (JobRemoteBackend   *self);
JobWorkerLauncher *job_remote_backend_get_launcher   (JobRemoteBackend   *self);

/* A consistent copy of the shared properties; clear it after use. */
void               job_remote_backend_dup_settings   (JobRemoteBackend   *self,
                                                      JobRemoteSettings  *settings);
/* Sizes the pool (@n_workers of one kind, 0 keeps the size) and gives
 * it the limits and retries of @settings. Without a shared folder,
 * large arguments travel over the connection, unless
 * @local_temp_fallback (then they go to the driver's temporary folder,
 * which only workers on this machine see). */
void               job_remote_backend_configure_pool (JobRemoteBackend        *self,
                                                      const JobRemoteSettings *settings,
                                                      int                      n_workers,
                                                      int                      inner_threads,
                                                      gboolean                 inner_explicit,
                                                      gboolean                 local_temp_fallback);
/* The public set_worker_command of every subclass: @argv NULL or empty
 * restores the default. */
void               job_remote_backend_set_command    (JobRemoteBackend   *self,
                                                      const char         *kind,
                                                      const char * const *argv);

/* The number of workers of a run that asked for @requested n_jobs,
 * @effective once resolved against this machine's CPUs: a negative
 * @requested (-1 all, -2 all but one…) counts the cluster's size where
 * the subclass knows it (get_n_workers with a negative n_jobs: the Dask
 * threads or IPython engines; an SSH backend's slots always), else the
 * backend's effective_n_jobs (@effective). Blocks while it asks a
 * cluster's scheduler. Caller's thread. */
int                job_remote_backend_size_run       (JobBackend         *backend,
                                                      int                 requested,
                                                      int                 effective);
/* As a run's configure, with @new_run FALSE when no run starts (only
 * listening, connecting, starting workers ahead): n_jobs < 1 fails. */
gboolean           job_remote_backend_prepare        (JobRemoteBackend   *self,
                                                      int                 n_jobs,
                                                      gboolean            new_run,
                                                      GError            **error);
/* Asks the launcher something on the pool's thread and waits. */
typedef gpointer (*JobRemoteQuestion) (JobWorkerLauncher  *launcher,
                                       GError            **error);
gpointer           job_remote_backend_ask            (JobRemoteBackend   *self,
                                                      JobRemoteQuestion   question,
                                                      GError            **error);
guint              job_remote_backend_ask_uint       (JobRemoteBackend   *self,
                                                      guint             (*question) (JobWorkerLauncher *launcher));
/* Starts @n_workers workers of @kind ahead of a run (after preparing a
 * run on them) and waits for them, as job_worker_pool_start_workers();
 * 0: the subclass's get_n_workers (0), an error when that is 0 too. */
gboolean           job_remote_backend_start_workers  (JobRemoteBackend   *self,
                                                      const char         *kind,
                                                      int                 n_workers,
                                                      double              timeout,
                                                      GError            **error);

G_END_DECLS
