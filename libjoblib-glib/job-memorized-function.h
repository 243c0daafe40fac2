/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (JOBLIB_GLIB_INSIDE) && !defined (JOBLIB_GLIB_COMPILATION)
# error "Only <joblib-glib.h> can be included directly."
#endif

#include <gio/gio.h>

#include "job-cache-entry.h"
#include "job-function.h"
#include "job-memorized-result.h"
#include "job-memory.h"
#include "job-version-macros.h"

G_BEGIN_DECLS

/**
 * JobCacheValidateFunc:
 * @entry: the cached entry found for a call
 * @user_data: (closure): the data given with the function
 *
 * Decides whether a cached result may still be used, as joblib's
 * `cache_validation_callback`. Called in the thread that makes the call,
 * before the result is loaded.
 *
 * Returns: %TRUE to use the entry, %FALSE to compute the result again
 */
typedef gboolean (*JobCacheValidateFunc) (JobCacheEntry *entry,
                                          gpointer       user_data);

#define JOB_TYPE_MEMORIZED_FUNCTION (job_memorized_function_get_type ())

JOB_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (JobMemorizedFunction, job_memorized_function, JOB, MEMORIZED_FUNCTION, JobFunction)

JOB_AVAILABLE_IN_ALL
JobFunction        *job_memorized_function_get_function        (JobMemorizedFunction  *self);
JOB_AVAILABLE_IN_ALL
JobMemory          *job_memorized_function_get_memory          (JobMemorizedFunction  *self);
JOB_AVAILABLE_IN_ALL
const char * const  *job_memorized_function_get_ignore         (JobMemorizedFunction  *self);
JOB_AVAILABLE_IN_ALL
double              job_memorized_function_get_expires_after   (JobMemorizedFunction  *self);
JOB_AVAILABLE_IN_ALL
void                job_memorized_function_set_expires_after   (JobMemorizedFunction  *self,
                                                                double                 seconds);
JOB_AVAILABLE_IN_ALL
void                job_memorized_function_set_validate_func   (JobMemorizedFunction  *self,
                                                                JobCacheValidateFunc   func,
                                                                gpointer               user_data,
                                                                GDestroyNotify         destroy);
JOB_AVAILABLE_IN_ALL
char               *job_memorized_function_get_args_hash       (JobMemorizedFunction  *self,
                                                                GVariant              *args);
JOB_AVAILABLE_IN_ALL
GVariant           *job_memorized_function_call                (JobMemorizedFunction  *self,
                                                                GVariant              *args,
                                                                GCancellable          *cancellable,
                                                                GError               **error);
JOB_AVAILABLE_IN_ALL
void                job_memorized_function_call_async          (JobMemorizedFunction  *self,
                                                                GVariant              *args,
                                                                GCancellable          *cancellable,
                                                                GAsyncReadyCallback    callback,
                                                                gpointer               user_data);
JOB_AVAILABLE_IN_ALL
GVariant           *job_memorized_function_call_finish         (JobMemorizedFunction  *self,
                                                                GAsyncResult          *result,
                                                                GError               **error);
JOB_AVAILABLE_IN_ALL
gboolean            job_memorized_function_check_call_in_cache (JobMemorizedFunction  *self,
                                                                GVariant              *args);
JOB_AVAILABLE_IN_ALL
guint8             *job_memorized_function_lookup_serialized   (JobMemorizedFunction  *self,
                                                                const char            *key_type,
                                                                const guint8          *key,
                                                                gsize                  key_size,
                                                                gsize                  max_size,
                                                                char                 **value_type,
                                                                GVariant             **large_value,
                                                                gsize                 *value_size,
                                                                GError               **error);
JOB_AVAILABLE_IN_ALL
JobMemorizedResult *job_memorized_function_call_and_shelve     (JobMemorizedFunction  *self,
                                                                GVariant              *args,
                                                                GCancellable          *cancellable,
                                                                GError               **error);
JOB_AVAILABLE_IN_ALL
gboolean            job_memorized_function_clear               (JobMemorizedFunction  *self,
                                                                GError               **error);

G_END_DECLS
