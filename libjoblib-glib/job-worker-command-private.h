/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The worker programs, by function-reference kind ("native", "python",
 * "gjs"), and the connect-back program of cluster workers.
 *
 * Each program is found, in this order: the command set by
 * job_worker_command_set() (job_process_backend_set_worker_command()); its
 * environment variable (JOB_WORKER_PATH, JOB_PYTHON, JOB_GJS_WORKER_PATH,
 * JOB_WORKER_CONNECT_PATH); the installed copy next to the library that is
 * running (a relocated prefix, a Flatpak's /app); the path of the prefix
 * the library was configured for. All functions are thread-safe. */

void    job_worker_command_set           (const char         *kind,
                                          const char * const *argv);
char  **job_worker_command_dup           (const char         *kind,
                                          GError            **error);
char   *job_worker_command_find_program  (const char         *name);
char   *job_worker_command_find_tls_module (void);
/* The cluster submission helper: the interpreter of "python" workers and
 * joblib-glib-cluster-submit (JOB_CLUSTER_SUBMIT_PATH overrides it). */
char  **job_worker_command_dup_cluster_helper (void);

G_END_DECLS
