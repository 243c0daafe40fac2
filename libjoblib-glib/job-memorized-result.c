/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-error.h"
#include "job-i18n-private.h"
#include "job-memorized-result-private.h"

/**
 * JobMemorizedResult:
 *
 * A handle on a result stored in the cache, returned by
 * [method@Joblib.MemorizedFunction.call_and_shelve]: joblib's
 * `MemorizedResult`. It is small and cheap to pass around; the result is
 * only read from disk by [method@Joblib.MemorizedResult.get].
 *
 * When the cache cannot be written, the handle keeps the result in memory
 * instead (joblib's `NotMemorizedResult`).
 *
 * Thread safety: its methods may be called from any thread.
 */
struct _JobMemorizedResult
{
  GObject           parent_instance;
  JobCacheSettings *settings;        /* (owned) */
  char             *function_name;   /* (owned) */
  char             *args_hash;       /* (owned) */
  char             *entry_dir;       /* (owned) (nullable) */
  GVariant         *value;           /* (owned) (nullable) */
  double            duration;
};

enum {
  PROP_0,
  PROP_FUNCTION_NAME,
  PROP_ARGS_HASH,
  PROP_DURATION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (JobMemorizedResult, job_memorized_result, G_TYPE_OBJECT)

static void
job_memorized_result_finalize (GObject *object)
{
  JobMemorizedResult *self = JOB_MEMORIZED_RESULT (object);

  g_clear_pointer (&self->settings, job_cache_settings_unref);
  g_free (self->function_name);
  g_free (self->args_hash);
  g_free (self->entry_dir);
  g_clear_pointer (&self->value, g_variant_unref);

  G_OBJECT_CLASS (job_memorized_result_parent_class)->finalize (object);
}

static void
job_memorized_result_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  JobMemorizedResult *self = JOB_MEMORIZED_RESULT (object);

  switch (prop_id)
    {
    case PROP_FUNCTION_NAME:
      g_value_set_string (value, self->function_name);
      break;

    case PROP_ARGS_HASH:
      g_value_set_string (value, self->args_hash);
      break;

    case PROP_DURATION:
      g_value_set_double (value, self->duration);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
job_memorized_result_class_init (JobMemorizedResultClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->finalize = job_memorized_result_finalize;
  object_class->get_property = job_memorized_result_get_property;

  /**
   * JobMemorizedResult:function-name:
   *
   * The name of the function that computed the result.
   */
  properties[PROP_FUNCTION_NAME] =
    g_param_spec_string ("function-name", NULL, NULL, NULL, flags);

  /**
   * JobMemorizedResult:args-hash:
   *
   * The hash of the call's arguments (without the ignored ones).
   */
  properties[PROP_ARGS_HASH] =
    g_param_spec_string ("args-hash", NULL, NULL, NULL, flags);

  /**
   * JobMemorizedResult:duration:
   *
   * How long the computation took, in seconds; negative when unknown.
   */
  properties[PROP_DURATION] =
    g_param_spec_double ("duration", NULL, NULL, -1.0, G_MAXDOUBLE, -1.0, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
job_memorized_result_init (JobMemorizedResult *self)
{
}

JobMemorizedResult *
job_memorized_result_new (JobCacheSettings *settings,
                          const char       *function_name,
                          const char       *args_hash,
                          const char       *entry_dir,
                          double            duration,
                          GVariant         *value)
{
  JobMemorizedResult *self = g_object_new (JOB_TYPE_MEMORIZED_RESULT, NULL);

  self->settings = job_cache_settings_ref (settings);
  self->function_name = g_strdup (function_name);
  self->args_hash = g_strdup (args_hash);
  self->entry_dir = g_strdup (entry_dir);
  self->duration = duration;
  self->value = value != NULL ? g_variant_ref (value) : NULL;

  return self;
}

/**
 * job_memorized_result_get_function_name:
 * @self: a #JobMemorizedResult
 *
 * Gets the name of the function that computed the result.
 *
 * Returns: (transfer none): the function name
 */
const char *
job_memorized_result_get_function_name (JobMemorizedResult *self)
{
  g_return_val_if_fail (JOB_IS_MEMORIZED_RESULT (self), NULL);

  return self->function_name;
}

/**
 * job_memorized_result_get_args_hash:
 * @self: a #JobMemorizedResult
 *
 * Gets the hash of the call's arguments, the key of the result.
 *
 * Returns: (transfer none): the tagged hash (`xxh3-128:…`)
 */
const char *
job_memorized_result_get_args_hash (JobMemorizedResult *self)
{
  g_return_val_if_fail (JOB_IS_MEMORIZED_RESULT (self), NULL);

  return self->args_hash;
}

/**
 * job_memorized_result_get_duration:
 * @self: a #JobMemorizedResult
 *
 * Gets how long computing the result took.
 *
 * Returns: the duration in seconds, negative when unknown
 */
double
job_memorized_result_get_duration (JobMemorizedResult *self)
{
  g_return_val_if_fail (JOB_IS_MEMORIZED_RESULT (self), -1.0);

  return self->duration;
}

/**
 * job_memorized_result_get:
 * @self: a #JobMemorizedResult
 * @error: return location for a #GError
 *
 * Loads the result from the cache. Fails with
 * [error@Joblib.Error.NOT_FOUND] when the entry was cleared or evicted
 * since, and [error@Joblib.Error.INVALID_DATA] when it is corrupt.
 *
 * Returns: (transfer full): the result
 */
GVariant *
job_memorized_result_get (JobMemorizedResult  *self,
                          GError             **error)
{
  g_autofree char *output = NULL;
  g_autoptr(GError) local_error = NULL;
  JobCacheOutputOptions options;
  GVariant *value;

  g_return_val_if_fail (JOB_IS_MEMORIZED_RESULT (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (self->value != NULL)
    return g_variant_ref (self->value);

  if (self->entry_dir == NULL)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_NOT_FOUND,
                   _("The result of %s (%s) is no longer in the cache"),
                   self->function_name, self->args_hash);
      return NULL;
    }

  job_cache_settings_output_options (self->settings, &options);
  output = g_build_filename (self->entry_dir, "output", NULL);
  value = job_cache_store_read_output (output, &options, NULL, &local_error);
  if (value == NULL)
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        g_set_error (error, JOB_ERROR, JOB_ERROR_NOT_FOUND,
                     _("The result of %s (%s) is no longer in the cache"),
                     self->function_name, self->args_hash);
      else
        g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }

  job_cache_store_touch (self->entry_dir);
  return value;
}

/**
 * job_memorized_result_clear:
 * @self: a #JobMemorizedResult
 * @error: return location for a #GError
 *
 * Removes the result from the cache. Clearing a result that is already
 * gone succeeds.
 *
 * Returns: %TRUE on success
 */
gboolean
job_memorized_result_clear (JobMemorizedResult  *self,
                            GError             **error)
{
  g_return_val_if_fail (JOB_IS_MEMORIZED_RESULT (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_clear_pointer (&self->value, g_variant_unref);
  if (self->entry_dir == NULL)
    return TRUE;

  return job_cache_store_remove_entry (self->entry_dir, error);
}
