/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "job-hash.h"

G_BEGIN_DECLS

/* job_hash_variant() of a tuple of fixed-size basic types, from its
 * serialized form (normal form, host byte order); NULL for another
 * type or size. */
char *job_hash_serialized_fixed_tuple (const char   *type,
                                       const guint8 *data,
                                       gsize         size);

G_END_DECLS
