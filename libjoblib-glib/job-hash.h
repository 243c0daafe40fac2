/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (JOBLIB_GLIB_INSIDE) && !defined (JOBLIB_GLIB_COMPILATION)
# error "Only <joblib-glib.h> can be included directly."
#endif

#include <glib.h>

#include "job-version-macros.h"

G_BEGIN_DECLS

/**
 * JOB_HASH_ALGORITHM:
 *
 * The tag that prefixes every hash made by [func@Joblib.hash_variant]:
 * `"xxh3-128"`. A hash reads `xxh3-128:` followed by 32 hexadecimal digits.
 */
#define JOB_HASH_ALGORITHM "xxh3-128"

JOB_AVAILABLE_IN_ALL
char *job_hash_variant (GVariant *value);

G_END_DECLS
