/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (JOBLIB_GLIB_INSIDE) && !defined (JOBLIB_GLIB_COMPILATION)
# error "Only <joblib-glib.h> can be included directly."
#endif

#include <glib.h>

#include "job-version-macros.h"

G_BEGIN_DECLS

/**
 * JOB_ERROR:
 *
 * The error domain of joblib-glib. Errors in it use the codes of
 * [enum@Joblib.Error]. Cancellation is reported as %G_IO_ERROR_CANCELLED,
 * as everywhere in GIO, not in this domain.
 */
#define JOB_ERROR (job_error_quark ())

/**
 * JobError:
 * @JOB_ERROR_FAILED: a failure that no other code describes
 * @JOB_ERROR_INVALID_ARGUMENT: an argument or property has a value that
 *   has no meaning (for example `n_jobs == 0`)
 * @JOB_ERROR_TIMEOUT: a task ran longer than the configured timeout
 * @JOB_ERROR_TASK_FAILED: a task failed without saying why (its function
 *   returned %NULL and set no error)
 * @JOB_ERROR_WORKER_DIED: the worker running a task died (signal or exit)
 * @JOB_ERROR_UNKNOWN_BACKEND: no backend is registered under a name
 * @JOB_ERROR_INVALID_DATA: input data (a file, a frame, a value) is
 *   malformed, truncated or fails its checksum
 * @JOB_ERROR_UNSUPPORTED: the data uses a feature, version or codec that
 *   this build cannot handle
 * @JOB_ERROR_TOO_LARGE: a size limit (decompression cap, nesting depth)
 *   was exceeded
 * @JOB_ERROR_NOT_FOUND: a looked-up item (cache entry, symbol) does not exist
 * @JOB_ERROR_PROTOCOL: a worker or peer broke the worker protocol
 * @JOB_ERROR_NESTING_TOO_DEEP: a parallel run was started from a task
 *   nested inside %JOB_PARALLEL_MAX_NESTING_DEPTH runs already (unbounded
 *   recursion through [method@Joblib.Parallel.run]); the Python binding
 *   raises `RecursionError` for it
 *
 * Error codes of the %JOB_ERROR domain.
 */
typedef enum
{
  JOB_ERROR_FAILED,
  JOB_ERROR_INVALID_ARGUMENT,
  JOB_ERROR_TIMEOUT,
  JOB_ERROR_TASK_FAILED,
  JOB_ERROR_WORKER_DIED,
  JOB_ERROR_UNKNOWN_BACKEND,
  JOB_ERROR_INVALID_DATA,
  JOB_ERROR_UNSUPPORTED,
  JOB_ERROR_TOO_LARGE,
  JOB_ERROR_NOT_FOUND,
  JOB_ERROR_PROTOCOL,
  JOB_ERROR_NESTING_TOO_DEEP,
} JobError;

JOB_AVAILABLE_IN_ALL
GQuark job_error_quark (void);

G_END_DECLS
