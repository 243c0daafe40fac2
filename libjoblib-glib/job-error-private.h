/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Sets a G_IO_ERROR from @saved_errno, "WHAT PATH: strerror", and
 * returns FALSE. Thread-safe. */
gboolean job_set_error_from_errno (GError     **error,
                                   int          saved_errno,
                                   const char  *what,
                                   const char  *path);

G_END_DECLS
