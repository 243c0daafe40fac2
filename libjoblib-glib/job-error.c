/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-error.h"
#include "job-error-private.h"

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

gboolean
job_set_error_from_errno (GError     **error,
                          int          saved_errno,
                          const char  *what,
                          const char  *path)
{
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
               "%s %s: %s", what, path, g_strerror (saved_errno));
  return FALSE;
}
