/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "job-function.h"

G_BEGIN_DECLS

/* Resolves @symbol in the shared object at @module_path as a JobFunc.
 * Modules stay loaded (resident) and lookups are cached, so resolving
 * the same symbol again costs a hash lookup. Thread-safe. Fails with
 * JOB_ERROR_NOT_FOUND. Shared by the library (in-process calls) and by
 * the native worker. */
JobFunc job_native_symbol_resolve           (const char  *module_path,
                                             const char  *symbol,
                                             GError     **error);

/* The same for a "native" reference, `(sa{sv})`; fails with
 * JOB_ERROR_UNSUPPORTED for other kinds and JOB_ERROR_INVALID_DATA for
 * missing fields. */
JobFunc job_native_symbol_resolve_reference (GVariant    *reference,
                                             GError     **error);

G_END_DECLS
