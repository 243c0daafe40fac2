/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "job-ssh-settings-private.h"
#include "job-worker-launcher-private.h"

G_BEGIN_DECLS

/*
 * The JobWorkerLauncher of JobSshBackend: each worker runs
 *
 *   ssh [SSH-COMMAND ARGS] -T -o BatchMode=yes HOST \
 *     exec CONNECT --stdin ADDRESS KIND -- [env VAR=VALUE…] WORKER…
 *
 * through GSubprocess, with the user's own keys and ~/.ssh/config, and
 * dials back to a JobWorkerListener of the launcher. The token (one per
 * worker: it admits exactly one connection), the TLS pin and the
 * worker's name are written into ssh's standard input, never on a
 * command line; that input then stays open as the worker's lifeline
 * (joblib-glib-worker-connect --stdin kills the worker when it ends).
 *
 * Hosts: each takes up to its number of slots; a worker goes to the host
 * with the fewest workers for its slots. A host whose ssh ends before its
 * worker connected (unreachable, refused login, no worker program there,
 * cannot reach the driver) is down for the rest of the run: it is warned
 * about once, by name and cause, and the worker starts on another host;
 * only when every host is down do the waiting calls fail, with a GError
 * naming each host and its cause. The settings of a new run bring every
 * host back.
 *
 * After it connected, a worker whose ssh or connection ends is lost (the
 * pool runs its calls again). Stopping closes the connection and ssh's
 * input: the worker, then joblib-glib-worker-connect and the ssh session
 * end on the host; shutdown waits for every ssh to exit (killing the
 * ones that do not within JOB_SSH_LAUNCHER_EXIT_WAIT seconds), so that
 * nothing it started keeps running anywhere.
 *
 * Threads: the job_ssh_launcher_*() functions may be called from any
 * thread (the settings are copied under a lock); the launcher itself
 * runs on its pool's thread, as every launcher.
 */

#define JOB_SSH_LAUNCHER_EXIT_WAIT 5

JobWorkerLauncher *job_ssh_launcher_new          (void);
/* Applies to workers started from now on; a new run: every host is up. */
void               job_ssh_launcher_set_settings (JobWorkerLauncher    *launcher,
                                                  const JobSshSettings *settings);
/* Hosts found down in this run, and why ("HOST: cause"). */
char             **job_ssh_launcher_dup_down     (JobWorkerLauncher    *launcher);
/* On the pool thread: listens now if it does not yet; "HOST:PORT". */
char              *job_ssh_launcher_listen       (JobWorkerLauncher    *launcher,
                                                  GError              **error);
guint              job_ssh_launcher_get_n_refused (JobWorkerLauncher   *launcher);

G_END_DECLS
