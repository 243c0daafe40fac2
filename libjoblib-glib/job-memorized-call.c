/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "job-cache-entry-private.h"
#include "job-cache-metadata-private.h"
#include "job-error.h"
#include "job-hash.h"
#include "job-i18n-private.h"
#include "job-memorized-call-private.h"
#include "job-memorized-function-private.h"
#include "job-single-flight-private.h"

/* The cached call of a JobMemorizedFunction: key, lookup, single-flight,
 * compute and store. */

/* Arguments bigger than this are described, not printed, in metadata. */
#define MAX_PRINTED_ARG 1024

/* The key that job_memorized_lookup_before_call() last found absent in
 * this thread: the cached call that follows (a binding's ordinary path
 * after its one-call lookup missed) need not look for it again before
 * taking the key's lock. Only a hint: the lookup under the lock decides. */
typedef struct
{
  gconstpointer  function;  /* not a reference: only compared */
  char          *hash;      /* (owned) */
} AbsentKey;

static void
absent_key_free (gpointer data)
{
  AbsentKey *absent = data;

  g_free (absent->hash);
  g_free (absent);
}

static GPrivate absent_key = G_PRIVATE_INIT (absent_key_free);

void
job_cache_key_clear (JobCacheKey *key)
{
  g_free (key->hash);
  g_free (key->entry_dir);
}

static gboolean
is_ignored (JobMemorizedFunction *self,
            gsize                 position)
{
  for (guint i = 0; i < self->positions->len; i++)
    if (g_array_index (self->positions, guint, i) == position)
      return TRUE;

  return FALSE;
}

GVariant *
job_memorized_kept_args (JobMemorizedFunction *self,
                         GVariant             *args)
{
  g_autoptr(GPtrArray) kept = NULL;
  gsize n = g_variant_n_children (args);

  if (self->positions->len == 0)
    return g_variant_ref (args);

  kept = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  for (gsize i = 0; i < n; i++)
    if (!is_ignored (self, i))
      g_ptr_array_add (kept, g_variant_get_child_value (args, i));

  return g_variant_ref_sink (g_variant_new_tuple ((GVariant **) kept->pdata, kept->len));
}

void
job_cache_key_init_kept (JobMemorizedFunction *self,
                         GVariant             *kept,
                         JobCacheKey          *key)
{
  job_cache_key_init_hash (self, job_hash_variant (kept), key);
}

void
job_cache_key_init_hash (JobMemorizedFunction *self,
                         char                 *hash,
                         JobCacheKey          *key)
{
  key->hash = hash;
  /* g_strconcat: every hit and miss builds this path and the output's,
   * and a folder made by g_build_filename() has no trailing separator */
  key->entry_dir = self->function_dir != NULL
    ? g_strconcat (self->function_dir, "/", key->hash + strlen (JOB_HASH_ALGORITHM ":"), NULL)
    : NULL;
}

void
job_cache_key_init (JobMemorizedFunction *self,
                    GVariant             *args,
                    JobCacheKey          *key)
{
  g_autoptr(GVariant) kept = job_memorized_kept_args (self, args);

  job_cache_key_init_kept (self, kept, key);
}

static const char *
key_hex (const JobCacheKey *key)
{
  return key->hash + strlen (JOB_HASH_ALGORITHM ":");
}

void
job_memorized_ensure_version (JobMemorizedFunction *self)
{
  const char *version = job_function_get_version (self->function);
  guint generation = job_cache_settings_get_generation (self->settings);

  g_mutex_lock (&self->version_lock);
  if (g_strcmp0 (self->checked_version, version) != 0 ||
      self->checked_generation != generation)
    {
      job_cache_store_check_version (self->function_dir,
                                     job_function_get_name (self->function),
                                     version);
      g_free (self->checked_version);
      self->checked_version = g_strdup (version);
      self->checked_generation = generation;
      g_atomic_int_set (&self->version_stored, FALSE);
    }
  g_mutex_unlock (&self->version_lock);
}

static char *
describe_arg (GVariant *arg)
{
  gsize size = g_variant_get_size (arg);

  if (size > MAX_PRINTED_ARG)
    return g_strdup_printf ("<%s, %" G_GSIZE_FORMAT " bytes>",
                            g_variant_get_type_string (arg), size);

  return g_variant_print (arg, TRUE);
}

static char *
build_metadata (JobMemorizedFunction *self,
                GVariant             *args,
                const JobCacheKey    *key,
                double                duration)
{
  const char * const *names = job_function_get_parameter_names (self->function);
  guint n_names = names != NULL ? g_strv_length ((char **) names) : 0;
  gsize n = g_variant_n_children (args);
  g_autoptr(GPtrArray) arg_names = g_ptr_array_new_full (n, g_free);
  g_autoptr(GPtrArray) arg_texts = g_ptr_array_new_full (n, g_free);

  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) child = NULL;

      if (is_ignored (self, i))
        continue;
      child = g_variant_get_child_value (args, i);
      g_ptr_array_add (arg_texts, describe_arg (child));
      g_ptr_array_add (arg_names, i < n_names ? g_strdup (names[i])
                                              : g_strdup_printf ("%" G_GSIZE_FORMAT, i));
    }

  return job_cache_metadata_build (job_function_get_name (self->function),
                                   job_function_get_version (self->function),
                                   key->hash, duration,
                                   g_get_real_time () / (double) G_USEC_PER_SEC,
                                   (const char * const *) arg_names->pdata,
                                   (const char * const *) arg_texts->pdata,
                                   arg_names->len);
}

/* Whether a stored entry may serve the call (expiry and validation). */
static gboolean
entry_is_valid (JobMemorizedFunction *self,
                const JobCacheKey    *key,
                gint64                created)
{
  if (self->expires_after > 0 &&
      (double) (g_get_real_time () - created) > self->expires_after * G_USEC_PER_SEC)
    return FALSE;

  if (self->validate != NULL)
    {
      g_autoptr(JobCacheEntry) entry = NULL;
      g_autofree char *input_args = NULL;
      double duration = -1.0;

      job_cache_store_read_metadata (key->entry_dir, &duration, &input_args);
      entry = job_cache_entry_new (key->entry_dir, job_function_get_name (self->function),
                                   key->hash, 0, g_get_real_time (), created,
                                   duration, input_args);
      return self->validate (entry, self->validate_data);
    }

  return TRUE;
}

/* Looks the key up. With @load, returns the stored value; without, only
 * checks that a valid entry exists (and returns a placeholder). With
 * @warn, says why an entry that is there cannot be used. */
static GVariant *lookup (JobMemorizedFunction *self,
                         const JobCacheKey    *key,
                         gboolean              load,
                         gboolean              warn,
                         gboolean             *absent);

GVariant *
job_memorized_lookup (JobMemorizedFunction *self,
                      const JobCacheKey    *key,
                      gboolean              load,
                      gboolean              warn)
{
  return lookup (self, key, load, warn, NULL);
}

GVariant *
job_memorized_lookup_before_call (JobMemorizedFunction *self,
                                  const JobCacheKey    *key)
{
  gboolean absent = FALSE;
  GVariant *value = lookup (self, key, TRUE, FALSE, &absent);
  AbsentKey *last = g_private_get (&absent_key);

  if (!absent)
    {
      if (last != NULL)
        last->function = NULL;
      return value;
    }
  if (last == NULL)
    {
      last = g_new0 (AbsentKey, 1);
      g_private_set (&absent_key, last);
    }
  last->function = self;
  g_free (last->hash);
  last->hash = g_strdup (key->hash);
  return value;
}

/* Whether the last lookup_before_call of this thread found @key absent;
 * forgets it either way. */
static gboolean
take_absent (JobMemorizedFunction *self,
             const JobCacheKey    *key)
{
  AbsentKey *last = g_private_get (&absent_key);
  gboolean found;

  if (last == NULL || last->function == NULL)
    return FALSE;
  found = last->function == (gconstpointer) self && strcmp (last->hash, key->hash) == 0;
  last->function = NULL;
  return found;
}

static GVariant *
lookup (JobMemorizedFunction *self,
        const JobCacheKey    *key,
        gboolean              load,
        gboolean              warn,
        gboolean             *absent)
{
  g_autofree char *output = g_strconcat (key->entry_dir, "/output", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = NULL;
  gint64 created = 0;

  if (load)
    {
      JobCacheOutputOptions options;

      job_cache_settings_output_options (self->settings, &options);
      /* the output's time only matters for expiry and validation: without
       * it, a small output is read with no fstat() */
      value = job_cache_store_read_output (output, &options,
                                           self->expires_after > 0 || self->validate != NULL
                                           ? &created : NULL,
                                           &error);
    }
  else if (job_cache_store_output_created (output, &created))
    value = g_variant_ref_sink (g_variant_new_boolean (TRUE));
  else
    g_set_error_literal (&error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, output);

  if (value == NULL)
    {
      if (absent != NULL)
        *absent = g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
      /* Other errors (ENOTDIR, EACCES) mean no usable cache: a plain miss,
       * and the write that follows warns. */
      if (!warn)
        ;
      else if (error->domain == JOB_ERROR)
        g_warning (_("Cached result of %s is corrupt (%s): computing it again"),
                   job_function_get_name (self->function), error->message);
      /* The entry may have been stored (renamed into place, output and
       * all) since the read: incomplete only if it lacks its output now. */
      else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND) &&
               job_cache_store_entry_exists (key->entry_dir) &&
               !job_cache_store_output_created (output, NULL))
        g_warning (_("Cached result of %s in %s is incomplete: computing it again"),
                   job_function_get_name (self->function), key->entry_dir);
      return NULL;
    }

  if (!entry_is_valid (self, key, created))
    return NULL;

  job_cache_store_touch (key->entry_dir);
  if (self->settings->verbose >= 2)
    g_print ("[Memory] Loading %s from %s\n", job_function_get_name (self->function),
             key->entry_dir);

  return g_steal_pointer (&value);
}

/* Computes under the key's cross-process lock, re-checking the cache once
 * the lock is held. *@stored tells whether the result is on disk. */
static GVariant *
compute_and_store (JobMemorizedFunction  *self,
                   GVariant              *args,
                   const JobCacheKey     *key,
                   gboolean               load,
                   GCancellable          *cancellable,
                   gboolean              *stored,
                   double                *duration,
                   GError               **error)
{
  g_autoptr(GError) store_error = NULL;
  g_autofree char *metadata = NULL;
  JobCacheOutputOptions options;
  GVariant *value;
  guint64 size = 0;
  gint64 start;
  JobCacheLock lock;
  gboolean version_known;

  job_cache_store_lock (self->function_dir, key_hex (key), &lock);
  /* Another process may have stored it while we waited for the lock; a
   * broken entry was reported by the first lookup already. */
  value = job_memorized_lookup (self, key, load, FALSE);
  if (value != NULL)
    {
      job_cache_store_unlock (self->function_dir, key_hex (key), &lock);
      *stored = TRUE;
      return value;
    }

  if (self->settings->verbose >= 1)
    g_print ("[Memory] Calling %s (%s)\n", job_function_get_name (self->function), key->hash);

  start = g_get_monotonic_time ();
  value = job_function_invoke (self->function, args, cancellable, error);
  *duration = (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
  if (value == NULL)
    {
      job_cache_store_unlock (self->function_dir, key_hex (key), &lock);
      return NULL;
    }

  if (self->settings->verbose >= 1)
    g_print ("[Memory] %s - %.1fs\n", job_function_get_name (self->function), *duration);

  metadata = build_metadata (self, args, key, *duration);
  job_cache_settings_output_options (self->settings, &options);
  /* seen in this folder, which is still the one of then */
  version_known = lock.kept && g_atomic_int_get (&self->version_stored);
  *stored = job_cache_store_write_entry (self->function_dir,
                                         job_function_get_version (self->function),
                                         &version_known, key_hex (key), value,
                                         metadata, &options, &size, &store_error);
  if (version_known)
    g_atomic_int_set (&self->version_stored, TRUE);
  job_cache_store_unlock (self->function_dir, key_hex (key), &lock);

  if (*stored)
    job_cache_settings_enforce_limits (self->settings, size);
  else
    job_cache_settings_warn_unwritable (self->settings,
                                        job_function_get_name (self->function),
                                        store_error);

  return value;
}

/* The cached call. Returns the result, or with !@load a non-NULL
 * placeholder when the result is on disk. */
GVariant *
job_memorized_cached_call (JobMemorizedFunction  *self,
                           GVariant              *args,
                           gboolean               load,
                           GCancellable          *cancellable,
                           JobCacheKey           *key,
                           gboolean              *stored,
                           double                *duration,
                           GError               **error)
{
  gboolean absent;

  *duration = -1.0;
  *stored = FALSE;
  job_cache_key_init (self, args, key);

  if (key->entry_dir == NULL)
    {
      job_cache_settings_warn_unwritable (self->settings,
                                          job_function_get_name (self->function), NULL);
      return job_function_invoke (self->function, args, cancellable, error);
    }

  job_memorized_ensure_version (self);
  /* The binding that looked this key up a moment ago found no output:
   * straight to the lock, under which the key is looked up again. */
  absent = take_absent (self, key);

  /* A waiter whose leader gave up (cancelled) or only checked the disk
   * tries again, becoming the leader if nobody else is. */
  for (;;)
    {
      g_autoptr(GError) local_error = NULL;
      GVariant *value;
      JobFlight *flight;
      gboolean leader;

      value = absent ? NULL : job_memorized_lookup (self, key, load, TRUE);
      absent = FALSE;
      if (value != NULL)
        {
          *stored = TRUE;
          return value;
        }

      flight = job_flight_join (key->entry_dir, &leader);
      if (leader)
        {
          value = compute_and_store (self, args, key, TRUE, cancellable,
                                     stored, duration, &local_error);
          job_flight_finish (flight, value, local_error);
          if (value == NULL)
            g_propagate_error (error, g_steal_pointer (&local_error));
          return value;
        }

      value = job_flight_wait (flight, &local_error);
      if (value != NULL)
        {
          *stored = job_cache_store_entry_exists (key->entry_dir);
          return value;
        }
      if (local_error != NULL &&
          !g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return NULL;
    }
}

