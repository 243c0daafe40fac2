/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* JobMemorizedFunction: the lookups that never compute (whether a call is
 * stored, and the one-call read path for bindings). The type, its
 * properties and the calls that compute are in job-memorized-function.c. */
#include "config.h"

#include "job-error.h"
#include "job-hash-private.h"
#include "job-i18n-private.h"
#include "job-memorized-call-private.h"
#include "job-memorized-function-private.h"

/**
 * job_memorized_function_check_call_in_cache:
 * @self: a #JobMemorizedFunction
 * @args: a tuple of arguments; a floating reference is consumed
 *
 * Whether a valid result of the call is stored (not expired, accepted by
 * the validation function), without computing or loading it.
 *
 * Returns: %TRUE if the call would be served from the cache
 */
gboolean
job_memorized_function_check_call_in_cache (JobMemorizedFunction *self,
                                            GVariant             *args)
{
  g_autoptr(GVariant) owned = NULL;
  g_autoptr(GVariant) found = NULL;
  g_auto(JobCacheKey) key = { NULL, NULL };

  g_return_val_if_fail (JOB_IS_MEMORIZED_FUNCTION (self), FALSE);
  g_return_val_if_fail (args != NULL, FALSE);
  g_return_val_if_fail (g_variant_is_of_type (args, G_VARIANT_TYPE_TUPLE), FALSE);

  owned = g_variant_ref_sink (args);
  job_cache_key_init (self, owned, &key);
  if (key.entry_dir == NULL)
    return FALSE;

  job_memorized_ensure_version (self);
  found = job_memorized_lookup (self, &key, FALSE, FALSE);
  return found != NULL;
}

/**
 * job_memorized_function_lookup_serialized:
 * @self: a #JobMemorizedFunction
 * @key_type: the type string of @key, a tuple type
 * @key: (array length=key_size) (element-type guint8): the arguments of
 *   the call without the ignored ones (the tuple that
 *   [method@Joblib.MemorizedFunction.call] hashes), serialized in normal
 *   form and host byte order
 * @key_size: the size of @key in bytes
 * @max_size: the largest serialized result returned as bytes; a larger
 *   one comes in @large_value
 * @value_type: (out) (optional) (nullable) (transfer full): the type
 *   string of the stored result, %NULL when there is none
 * @large_value: (out) (optional) (nullable) (transfer full): the stored
 *   result when its serialized size is above @max_size
 * @value_size: (out): the size of the returned bytes
 * @error: return location for a #GError
 *
 * The read half of [method@Joblib.MemorizedFunction.call] for bindings,
 * in one call and without a #GVariant per argument: the key comes whole
 * (hashed once), and a small result comes back as its serialized bytes
 * and type string, which a binding decodes itself.
 *
 * Nothing is computed. When no valid result is stored (never computed,
 * expired, refused by the validation function, unreadable or corrupt),
 * this returns %NULL with *@value_type %NULL and no error, quietly: the
 * call made next reports a corrupt entry and computes it again. Like a
 * hit of the call, a hit counts as a use for the least-recently-used
 * eviction.
 *
 * A @key_type that is not a tuple type, or a @key that is not in normal
 * form for it, is [error@Joblib.Error.INVALID_ARGUMENT].
 *
 * Thread safety: callable from any thread.
 *
 * Returns: (array length=value_size) (element-type guint8) (transfer full) (nullable):
 *   the serialized result when it is at most @max_size bytes, else %NULL
 */
guint8 *
job_memorized_function_lookup_serialized (JobMemorizedFunction  *self,
                                          const char            *key_type,
                                          const guint8          *key,
                                          gsize                  key_size,
                                          gsize                  max_size,
                                          char                 **value_type,
                                          GVariant             **large_value,
                                          gsize                 *value_size,
                                          GError               **error)
{
  g_autoptr(GVariant) kept = NULL;
  g_autoptr(GVariant) value = NULL;
  g_auto(JobCacheKey) cache_key = { NULL, NULL };
  char *hash;
  gsize size;

  g_return_val_if_fail (JOB_IS_MEMORIZED_FUNCTION (self), NULL);
  g_return_val_if_fail (key_type != NULL, NULL);
  g_return_val_if_fail (key != NULL || key_size == 0, NULL);
  g_return_val_if_fail (value_size != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  *value_size = 0;
  if (value_type != NULL)
    *value_type = NULL;
  if (large_value != NULL)
    *large_value = NULL;

  if (!g_variant_type_string_is_valid (key_type) ||
      !g_variant_type_is_definite ((const GVariantType *) key_type) ||
      !g_variant_type_is_tuple ((const GVariantType *) key_type))
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
                   _("The key of a cached call must have a definite tuple type, not “%s”"), key_type);
      return NULL;
    }
  if (g_atomic_pointer_get (&self->key_type_holder) == NULL)
    {
      GVariant *holder = g_variant_ref_sink (g_variant_new_from_data (
        (const GVariantType *) key_type, NULL, 0, FALSE, NULL, NULL));

      if (!g_atomic_pointer_compare_and_exchange (&self->key_type_holder, NULL, holder))
        g_variant_unref (holder);
    }
  /* Not trusted, and checked: a key read leniently (GLib's defaults for
   * malformed parts) could hash like another call's. */
  kept = g_variant_ref_sink (g_variant_new_from_data ((const GVariantType *) key_type,
                                                      key, key_size, FALSE, NULL, NULL));
  if (!g_variant_is_normal_form (kept))
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
                   _("The key of a cached call is not a “%s” in normal form"), key_type);
      return NULL;
    }

  /* a tuple of numbers (most keys) is hashed straight from its bytes */
  hash = job_hash_serialized_fixed_tuple (key_type, key, key_size);
  if (hash != NULL)
    job_cache_key_init_hash (self, hash, &cache_key);
  else
    job_cache_key_init_kept (self, kept, &cache_key);
  /* @key is the caller's: nothing may keep it past this call */
  g_clear_pointer (&kept, g_variant_unref);
  if (cache_key.entry_dir == NULL)
    return NULL;
  job_memorized_ensure_version (self);
  value = job_memorized_lookup_before_call (self, &cache_key);
  if (value == NULL)
    return NULL;

  if (value_type != NULL)
    *value_type = g_strdup (g_variant_get_type_string (value));
  size = g_variant_get_size (value);
  if (size > max_size)
    {
      if (large_value != NULL)
        *large_value = g_steal_pointer (&value);
      return NULL;
    }
  *value_size = size;
  if (size == 0)
    return NULL;
  return g_memdup2 (g_variant_get_data (value), size);
}
