/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The worker programs, by function-reference kind: the native worker,
 * `python3 -m joblib_glib.worker` and the GJS worker by default, or what
 * job_process_backend_set_worker_command() set. Every launcher (local
 * processes, Slurm jobs) starts workers with these command lines.
 * Thread-safe. */
void   job_worker_command_set (const char         *kind,
                               const char * const *argv);
char **job_worker_command_dup (const char         *kind,
                               GError            **error);

G_END_DECLS
