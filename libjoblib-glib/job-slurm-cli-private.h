/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The Slurm command-line tools, run with GSubprocess: no libslurm, whose
 * ABI changes between releases. Asynchronous calls complete on the
 * thread-default main context of the caller. SLURM_CONF and the other
 * Slurm variables of the environment apply, as for a user's commands. */

/* sbatch --parsable ARGS, with @script on its standard input and
 * @environment (NAME, VALUE pairs) added to its environment, which the
 * job inherits (--export=ALL). Returns the job id. */
void       job_slurm_sbatch_async  (const char * const   *args,
                                    const char           *script,
                                    const char * const   *environment,
                                    GCancellable         *cancellable,
                                    GAsyncReadyCallback   callback,
                                    gpointer              user_data);
char      *job_slurm_sbatch_finish (GAsyncResult         *result,
                                    GError              **error);

/* The state of jobs (squeue) and of the nodes they run on (sinfo).
 * Returns job id → "STATE NODE" (NODE empty while pending) for the jobs
 * that Slurm still knows; *@nodes gets node → state, lower case, without
 * flag characters ("idle", "draining", "drained", "down"…). */
void        job_slurm_query_async  (const char * const   *job_ids,
                                    GCancellable         *cancellable,
                                    GAsyncReadyCallback   callback,
                                    gpointer              user_data);
GHashTable *job_slurm_query_finish (GAsyncResult         *result,
                                    GHashTable          **nodes,
                                    GError              **error);

/* A job state in which the job still holds (or waits for) resources. */
gboolean    job_slurm_state_is_active (const char        *state);
/* A node state in which jobs should leave the node. */
gboolean    job_slurm_node_is_leaving (const char        *state);

/* scancel; the _sync form waits, the other reports failures as warnings. */
gboolean    job_slurm_scancel_sync (const char * const   *job_ids,
                                    GError              **error);
void        job_slurm_scancel      (const char * const   *job_ids);

G_END_DECLS
