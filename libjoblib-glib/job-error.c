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
GQuark
job_error_quark (void)
{
  /* Not G_DEFINE_QUARK(): its plain static is written by the first caller
   * while other threads read it, a data race (ThreadSanitizer). */
  static gint quark;  /* (atomic): a GQuark, 0 until the first call */
  GQuark q = (GQuark) g_atomic_int_get (&quark);

  if (G_UNLIKELY (q == 0))
    {
      q = g_quark_from_static_string ("job-error-quark");
      g_atomic_int_set (&quark, (gint) q);
    }
  return q;
}
