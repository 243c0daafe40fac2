/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "job-function.h"

G_BEGIN_DECLS

/* job_function_invoke() without the argument checks and the extra
 * reference: @args must be a non-floating tuple owned by the caller. */
GVariant *job_function_invoke_owned (JobFunction   *self,
                                     GVariant      *args,
                                     GCancellable  *cancellable,
                                     GError       **error);

G_END_DECLS
