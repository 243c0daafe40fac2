/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "job-worker-launcher-private.h"

G_BEGIN_DECLS

/* The JobWorkerLauncher of JobProcessBackend: each worker is a local
 * process (JobProcessWorker) speaking over its pipes, ready as soon as
 * it was spawned. Its end is reported once the process was reaped, with
 * its exit status or signal. */
JobWorkerLauncher *job_process_launcher_new (void);

G_END_DECLS
