/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-cache-reference-private.h"
#include "job-error.h"
#include "job-i18n-private.h"
#include "job-memorized-function-private.h"
#include "job-memory-private.h"

/* A worker process's side of a cached function: the memorized function
 * that a reference (function identity + cache settings) describes, on
 * the same cache as the parent's. */

static GVariant *
invoke_wrapped (GVariant      *args,
                GCancellable  *cancellable,
                gpointer       user_data,
                GError       **error)
{
  return job_function_invoke (user_data, args, cancellable, error);
}

/**
 * job_memory_cache_for_reference:
 * @function: the function that @reference resolved to in this process
 * @reference: the reference of a [class@Joblib.MemorizedFunction]
 *   ([method@Joblib.Function.get_reference]), with its `memory` field
 * @error: return location for a #GError
 *
 * Caches @function the way the memorized function that @reference comes
 * from is cached: the same cache folder, codec, mmap setting and limits,
 * the same ignored arguments and [property@Joblib.MemorizedFunction:expires-after].
 * This is what a worker process does with such a reference, so that its
 * results and the parent's share one cache. The returned function's
 * wrapped function has the name, version and parameter names that
 * @reference carries, and calls @function.
 *
 * A @reference without a `memory` field, or with a malformed one (no
 * location, a negative duration, an ignored argument that is not a
 * position), fails with [error@Joblib.Error.INVALID_ARGUMENT].
 *
 * Thread safety: callable from any thread.
 *
 * Returns: (transfer full): the cached function
 */
JobMemorizedFunction *
job_memory_cache_for_reference (JobFunction  *function,
                                GVariant     *reference,
                                GError      **error)
{
  g_auto(JobCacheReference) decoded = { NULL, };
  g_autoptr(GVariant) fields = NULL;
  g_autoptr(GVariant) field = NULL;
  g_autoptr(GVariant) owned = NULL;
  g_autoptr(GFile) location = NULL;
  g_autoptr(JobFunction) named = NULL;
  g_autoptr(JobMemory) memory = NULL;
  g_autoptr(GArray) positions = NULL;
  JobMemorizedFunction *memorized;

  g_return_val_if_fail (JOB_IS_FUNCTION (function), NULL);
  g_return_val_if_fail (reference != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  owned = g_variant_ref_sink (reference);
  if (!g_variant_is_of_type (owned, G_VARIANT_TYPE ("(sa{sv})")))
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
                   _("The reference of %s is a “%s”, not a (sa{sv}) reference"),
                   job_function_get_name (function), g_variant_get_type_string (owned));
      return NULL;
    }
  fields = g_variant_get_child_value (owned, 1);
  field = g_variant_lookup_value (fields, "memory", NULL);
  if (field == NULL)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
                   _("The reference of %s has no memory settings"),
                   job_function_get_name (function));
      return NULL;
    }
  if (!job_cache_reference_decode (field, job_function_get_name (function), &decoded, error))
    return NULL;

  named = job_function_new (decoded.name, invoke_wrapped, g_object_ref (function), g_object_unref);
  if (decoded.version != NULL)
    job_function_set_version (named, decoded.version);
  else
    job_function_set_version (named, job_function_get_version (function));
  if (decoded.parameter_names != NULL)
    job_function_set_parameter_names (named, (const char * const *) decoded.parameter_names);
  else
    job_function_set_parameter_names (named, job_function_get_parameter_names (function));
  job_function_set_main_thread_only (named, job_function_get_main_thread_only (function));

  location = job_cache_path_is_uri (decoded.settings->location_path)
             ? g_file_new_for_uri (decoded.settings->location_path)
             : g_file_new_for_path (decoded.settings->location_path);
  /* the decoded settings, location included, replace the default ones */
  memory = job_memory_new_with_settings (location, decoded.settings);

  positions = job_memorized_ignore_positions (named, (const char * const *) decoded.ignore,
                                              error);
  if (positions == NULL)
    return NULL;
  memorized = job_memorized_function_new (memory, job_memory_get_settings (memory), named,
                                          (const char * const *) decoded.ignore, positions);
  job_memorized_function_set_expires_after (memorized, decoded.expires_after);

  return memorized;
}
