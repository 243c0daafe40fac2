/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-error.h"

/**
 * job_error_quark:
 *
 * Gets the error domain of joblib-glib's errors, %JOB_ERROR. Thread-safe.
 *
 * Returns: the `JobError` quark
 */
G_DEFINE_QUARK (job-error-quark, job_error)
