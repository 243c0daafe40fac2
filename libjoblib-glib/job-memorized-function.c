/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <math.h>
#include <string.h>


#include "job-cache-entry-private.h"
#include "job-cache-reference-private.h"
#include "job-error.h"
#include "job-hash-private.h"
#include "job-i18n-private.h"
#include "job-memorized-call-private.h"
#include "job-memorized-function-private.h"
#include "job-memorized-result-private.h"
#include "job-memory.h"

/**
 * JobMemorizedFunction:
 *
 * A [class@Joblib.Function] whose results are cached on disk by a
 * [class@Joblib.Memory]; made with [method@Joblib.Memory.cache].
 *
 * Calling it ([method@Joblib.MemorizedFunction.call], or
 * [method@Joblib.Function.invoke], or through [class@Joblib.Parallel])
 * hashes the arguments (all but the ignored ones) with
 * [func@Joblib.hash_variant], returns the stored result when there is one,
 * and otherwise calls the wrapped function and stores its result.
 *
 * Concurrent calls with the same arguments compute once: in one process
 * the later callers wait for the first one's result; across processes
 * sharing the cache, a lock file next to the entry serializes them and the
 * waiting process reads the stored result.
 *
 * When the wrapped function has a reference
 * ([method@Joblib.Function.get_reference], set before caching it), so
 * does the memorized function: process and Slurm workers then look up and
 * store results in the same cache folder, with the memory's settings of
 * the time the function was cached.
 *
 * Thread safety: calls may be made from any thread (unless the wrapped
 * function is main-thread-only); set the properties before sharing it.
 */

enum {
  PROP_0,
  PROP_FUNCTION,
  PROP_MEMORY,
  PROP_IGNORE,
  PROP_EXPIRES_AFTER,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (JobMemorizedFunction, job_memorized_function, JOB_TYPE_FUNCTION)

static GVariant *
job_memorized_function_invoke (JobFunction   *function,
                               GVariant      *args,
                               GCancellable  *cancellable,
                               GError       **error)
{
  JobMemorizedFunction *self = JOB_MEMORIZED_FUNCTION (function);
  g_auto(JobCacheKey) key = { NULL, NULL };
  gboolean stored;
  double duration;

  return job_memorized_cached_call (self, args, TRUE, cancellable, &key, &stored, &duration, error);
}

static void
job_memorized_function_finalize (GObject *object)
{
  JobMemorizedFunction *self = JOB_MEMORIZED_FUNCTION (object);

  if (self->validate_destroy != NULL)
    self->validate_destroy (self->validate_data);
  g_clear_object (&self->memory);
  g_clear_pointer (&self->settings, job_cache_settings_unref);
  g_clear_object (&self->function);
  g_strfreev (self->ignore);
  g_clear_pointer (&self->positions, g_array_unref);
  g_free (self->function_dir);
  g_free (self->checked_version);
  g_clear_pointer (&self->key_type_holder, g_variant_unref);
  g_mutex_clear (&self->version_lock);

  G_OBJECT_CLASS (job_memorized_function_parent_class)->finalize (object);
}

static void
job_memorized_function_get_property (GObject    *object,
                                     guint       prop_id,
                                     GValue     *value,
                                     GParamSpec *pspec)
{
  JobMemorizedFunction *self = JOB_MEMORIZED_FUNCTION (object);

  switch (prop_id)
    {
    case PROP_FUNCTION:
      g_value_set_object (value, self->function);
      break;

    case PROP_MEMORY:
      g_value_set_object (value, self->memory);
      break;

    case PROP_IGNORE:
      g_value_set_boxed (value, self->ignore);
      break;

    case PROP_EXPIRES_AFTER:
      g_value_set_double (value, self->expires_after);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
job_memorized_function_set_property (GObject      *object,
                                     guint         prop_id,
                                     const GValue *value,
                                     GParamSpec   *pspec)
{
  JobMemorizedFunction *self = JOB_MEMORIZED_FUNCTION (object);

  switch (prop_id)
    {
    case PROP_EXPIRES_AFTER:
      job_memorized_function_set_expires_after (self, g_value_get_double (value));
      break;

    case PROP_FUNCTION:
    case PROP_MEMORY:
    case PROP_IGNORE:
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
job_memorized_function_class_init (JobMemorizedFunctionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  JobFunctionClass *function_class = JOB_FUNCTION_CLASS (klass);

  object_class->finalize = job_memorized_function_finalize;
  object_class->get_property = job_memorized_function_get_property;
  object_class->set_property = job_memorized_function_set_property;
  function_class->invoke = job_memorized_function_invoke;

  /**
   * JobMemorizedFunction:function:
   *
   * The wrapped function, which computes results on a cache miss.
   */
  properties[PROP_FUNCTION] =
    g_param_spec_object ("function", NULL, NULL, JOB_TYPE_FUNCTION,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * JobMemorizedFunction:memory:
   *
   * The cache that stores the results.
   */
  properties[PROP_MEMORY] =
    g_param_spec_object ("memory", NULL, NULL, JOB_TYPE_MEMORY,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * JobMemorizedFunction:ignore:
   *
   * The arguments left out of the cache key, by name or position, as
   * given to [method@Joblib.Memory.cache].
   */
  properties[PROP_IGNORE] =
    g_param_spec_boxed ("ignore", NULL, NULL, G_TYPE_STRV,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * JobMemorizedFunction:expires-after:
   *
   * Stored results older than this many seconds are computed again; 0
   * (the default) keeps them until they are cleared or evicted, and so
   * does infinity.
   */
  properties[PROP_EXPIRES_AFTER] =
    g_param_spec_double ("expires-after", NULL, NULL, 0, INFINITY, 0,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
job_memorized_function_init (JobMemorizedFunction *self)
{
  g_mutex_init (&self->version_lock);
}

/* Worker processes run a memorized function through the wrapped
 * function's reference with one more field, "memory": the cache's
 * settings (see job-cache-reference.c), so that the worker looks up and
 * stores results in the same cache. Without a location (a cache that
 * stores nothing) the wrapped function's reference is enough. Remade
 * when the version, the wrapped function's reference or expires-after
 * changes; the memory's settings are those of that time. */
static void
update_reference (JobMemorizedFunction *self)
{
  GVariant *reference = job_function_get_reference (self->function);
  g_autoptr(GVariant) kind = NULL;
  g_autoptr(GVariant) fields = NULL;
  GVariant *memory_field;
  GVariantBuilder builder;
  const char *key;
  GVariant *value;
  GVariantIter iter;

  if (reference == NULL)
    {
      job_function_set_reference (JOB_FUNCTION (self), NULL);
      return;
    }
  memory_field = job_cache_reference_encode (self->settings, self->function,
                                             self->positions, self->expires_after);
  if (memory_field == NULL)
    {
      job_function_set_reference (JOB_FUNCTION (self), reference);
      return;
    }

  kind = g_variant_get_child_value (reference, 0);
  fields = g_variant_get_child_value (reference, 1);
  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  g_variant_iter_init (&iter, fields);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      if (g_strcmp0 (key, "memory") != 0)
        g_variant_builder_add (&builder, "{sv}", key, value);
      g_variant_unref (value);
    }
  g_variant_builder_add (&builder, "{sv}", "memory", memory_field);
  job_function_set_reference (JOB_FUNCTION (self),
                              g_variant_new ("(@s@a{sv})", kind, g_variant_builder_end (&builder)));
}

/* Keeps JobFunction:version equal to the wrapped function's, which is
 * the one the cache checks (and the one the reference carries). */
static void
sync_version (JobMemorizedFunction *self)
{
  job_function_set_version (JOB_FUNCTION (self), job_function_get_version (self->function));
  update_reference (self);
}

GArray *
job_memorized_ignore_positions (JobFunction         *function,
                                const char * const  *ignore,
                                GError             **error)
{
  g_autoptr(GArray) positions = g_array_new (FALSE, FALSE, sizeof (guint));
  const char * const *names = job_function_get_parameter_names (function);

  for (guint i = 0; ignore != NULL && ignore[i] != NULL; i++)
    {
      guint64 position = 0;
      gboolean found = FALSE;

      for (guint j = 0; !found && names != NULL && names[j] != NULL; j++)
        if (g_str_equal (names[j], ignore[i]))
          {
            position = j;
            found = TRUE;
          }
      if (!found &&
          !g_ascii_string_to_unsigned (ignore[i], 10, 0, G_MAXUINT, &position, NULL))
        {
          g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
                       _("“%s” is neither a parameter name of %s nor a position"),
                       ignore[i], job_function_get_name (function));
          return NULL;
        }
      g_array_append_vals (positions, &(guint) { (guint) position }, 1);
    }
  return g_steal_pointer (&positions);
}

JobMemorizedFunction *
job_memorized_function_new (JobMemory          *memory,
                            JobCacheSettings   *settings,
                            JobFunction        *function,
                            const char * const *ignore,
                            GArray             *positions)
{
  JobMemorizedFunction *self;
  const char *root = settings->root;

  self = g_object_new (JOB_TYPE_MEMORIZED_FUNCTION,
                       "name", job_function_get_name (function),
                       "version", job_function_get_version (function),
                       "parameter-names", job_function_get_parameter_names (function),
                       "main-thread-only", job_function_get_main_thread_only (function),
                       NULL);
  self->memory = g_object_ref (memory);
  self->settings = job_cache_settings_ref (settings);
  self->function = g_object_ref (function);
  self->ignore = ignore != NULL && ignore[0] != NULL ? g_strdupv ((char **) ignore) : NULL;
  self->positions = g_array_ref (positions);
  if (root != NULL)
    self->function_dir = job_cache_store_function_dir (root, job_function_get_name (function));
  g_signal_connect_object (function, "notify::version", G_CALLBACK (sync_version),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (function, "notify::reference", G_CALLBACK (update_reference),
                           self, G_CONNECT_SWAPPED);
  update_reference (self);

  return self;
}

/**
 * job_memorized_function_get_function:
 * @self: a #JobMemorizedFunction
 *
 * Gets the wrapped function.
 *
 * Returns: (transfer none): the function that computes results
 */
JobFunction *
job_memorized_function_get_function (JobMemorizedFunction *self)
{
  g_return_val_if_fail (JOB_IS_MEMORIZED_FUNCTION (self), NULL);

  return self->function;
}

/**
 * job_memorized_function_get_memory:
 * @self: a #JobMemorizedFunction
 *
 * Gets the cache that stores the results.
 *
 * Returns: (transfer none): the memory
 */
JobMemory *
job_memorized_function_get_memory (JobMemorizedFunction *self)
{
  g_return_val_if_fail (JOB_IS_MEMORIZED_FUNCTION (self), NULL);

  return self->memory;
}

/**
 * job_memorized_function_get_ignore:
 * @self: a #JobMemorizedFunction
 *
 * Gets the arguments left out of the cache key.
 *
 * Returns: (transfer none) (nullable) (array zero-terminated=1): the
 *   ignored arguments, by name or position
 */
const char * const *
job_memorized_function_get_ignore (JobMemorizedFunction *self)
{
  g_return_val_if_fail (JOB_IS_MEMORIZED_FUNCTION (self), NULL);

  return (const char * const *) self->ignore;
}

/**
 * job_memorized_function_get_expires_after:
 * @self: a #JobMemorizedFunction
 *
 * Gets the lifetime of stored results.
 *
 * Returns: the lifetime in seconds, 0 for unlimited
 */
double
job_memorized_function_get_expires_after (JobMemorizedFunction *self)
{
  g_return_val_if_fail (JOB_IS_MEMORIZED_FUNCTION (self), 0);

  return self->expires_after;
}

/**
 * job_memorized_function_set_expires_after:
 * @self: a #JobMemorizedFunction
 * @seconds: the lifetime of stored results, 0 for unlimited
 *
 * Makes results older than @seconds count as missing: they are computed
 * and stored again.
 */
void
job_memorized_function_set_expires_after (JobMemorizedFunction *self,
                                          double                seconds)
{
  g_return_if_fail (JOB_IS_MEMORIZED_FUNCTION (self));
  g_return_if_fail (seconds >= 0);

  if (self->expires_after == seconds)
    return;
  self->expires_after = seconds;
  update_reference (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EXPIRES_AFTER]);
}

/**
 * job_memorized_function_set_validate_func:
 * @self: a #JobMemorizedFunction
 * @func: (nullable) (scope notified) (closure user_data) (destroy destroy):
 *   decides whether a stored result may be used
 * @user_data: data passed to @func
 * @destroy: (nullable): frees @user_data
 *
 * Sets a function that is asked, for every stored result found, whether
 * it is still valid; when it returns %FALSE the result is computed again.
 * It runs in the calling thread. Set it before sharing @self.
 */
void
job_memorized_function_set_validate_func (JobMemorizedFunction *self,
                                          JobCacheValidateFunc  func,
                                          gpointer              user_data,
                                          GDestroyNotify        destroy)
{
  g_return_if_fail (JOB_IS_MEMORIZED_FUNCTION (self));

  if (self->validate_destroy != NULL)
    self->validate_destroy (self->validate_data);
  self->validate = func;
  self->validate_data = user_data;
  self->validate_destroy = destroy;
}

/**
 * job_memorized_function_get_args_hash:
 * @self: a #JobMemorizedFunction
 * @args: a tuple of arguments; a floating reference is consumed
 *
 * Computes the cache key of a call: the hash of @args without the ignored
 * ones.
 *
 * Returns: (transfer full): the tagged hash (`xxh3-128:…`)
 */
char *
job_memorized_function_get_args_hash (JobMemorizedFunction *self,
                                      GVariant             *args)
{
  g_autoptr(GVariant) owned = NULL;
  g_autoptr(GVariant) kept = NULL;

  g_return_val_if_fail (JOB_IS_MEMORIZED_FUNCTION (self), NULL);
  g_return_val_if_fail (args != NULL, NULL);
  g_return_val_if_fail (g_variant_is_of_type (args, G_VARIANT_TYPE_TUPLE), NULL);

  owned = g_variant_ref_sink (args);
  kept = job_memorized_kept_args (self, owned);
  return job_hash_variant (kept);
}

/**
 * job_memorized_function_call:
 * @self: a #JobMemorizedFunction
 * @args: a tuple of arguments; a floating reference is consumed
 * @cancellable: (nullable): passed to the wrapped function on a miss
 * @error: return location for a #GError
 *
 * Returns the stored result of the call if there is a valid one, and
 * otherwise computes it with the wrapped function and stores it. A call
 * that another thread or process is already computing waits for that
 * result instead of computing it again. Failures of the cache itself
 * (unwritable location, corrupt entry) are warnings, never errors: the
 * result is then computed.
 *
 * Thread safety: callable from any thread, unless the wrapped function is
 * main-thread-only.
 *
 * Returns: (transfer full): the result
 */
GVariant *
job_memorized_function_call (JobMemorizedFunction  *self,
                             GVariant              *args,
                             GCancellable          *cancellable,
                             GError               **error)
{
  g_return_val_if_fail (JOB_IS_MEMORIZED_FUNCTION (self), NULL);
  g_return_val_if_fail (args != NULL, NULL);
  g_return_val_if_fail (g_variant_is_of_type (args, G_VARIANT_TYPE_TUPLE), NULL);

  return job_function_invoke (JOB_FUNCTION (self), args, cancellable, error);
}

static void
call_in_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  GError *error = NULL;
  GVariant *value = job_function_invoke (source_object, task_data,
                                         cancellable, &error);

  if (value != NULL)
    g_task_return_pointer (task, value, (GDestroyNotify) g_variant_unref);
  else
    g_task_return_error (task, error);
}

/**
 * job_memorized_function_call_async:
 * @self: a #JobMemorizedFunction
 * @args: a tuple of arguments; a floating reference is consumed
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the result is ready
 * @user_data: (closure): data for @callback
 *
 * Starts [method@Joblib.MemorizedFunction.call] in a worker thread (or,
 * for a main-thread-only function, right away in the calling thread).
 * @callback runs on the thread-default main context of the caller.
 */
void
job_memorized_function_call_async (JobMemorizedFunction *self,
                                   GVariant             *args,
                                   GCancellable         *cancellable,
                                   GAsyncReadyCallback   callback,
                                   gpointer              user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (JOB_IS_MEMORIZED_FUNCTION (self));
  g_return_if_fail (args != NULL);
  g_return_if_fail (g_variant_is_of_type (args, G_VARIANT_TYPE_TUPLE));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, job_memorized_function_call_async);
  g_task_set_task_data (task, g_variant_ref_sink (args), (GDestroyNotify) g_variant_unref);

  if (job_function_get_main_thread_only (JOB_FUNCTION (self)))
    call_in_thread (task, self, g_task_get_task_data (task), cancellable);
  else
    g_task_run_in_thread (task, call_in_thread);
}

/**
 * job_memorized_function_call_finish:
 * @self: a #JobMemorizedFunction
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Joblib.MemorizedFunction.call_async].
 *
 * Returns: (transfer full): the result
 */
GVariant *
job_memorized_function_call_finish (JobMemorizedFunction  *self,
                                    GAsyncResult          *result,
                                    GError               **error)
{
  g_return_val_if_fail (JOB_IS_MEMORIZED_FUNCTION (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) ==
                        job_memorized_function_call_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * job_memorized_function_call_and_shelve:
 * @self: a #JobMemorizedFunction
 * @args: a tuple of arguments; a floating reference is consumed
 * @cancellable: (nullable): passed to the wrapped function on a miss
 * @error: return location for a #GError
 *
 * Makes sure the result of the call is stored (computing it if needed)
 * and returns a handle on it instead of the result itself: joblib's
 * `call_and_shelve`. A stored result is not loaded.
 *
 * Returns: (transfer full): a handle on the stored result
 */
JobMemorizedResult *
job_memorized_function_call_and_shelve (JobMemorizedFunction  *self,
                                        GVariant              *args,
                                        GCancellable          *cancellable,
                                        GError               **error)
{
  g_autoptr(GVariant) owned = NULL;
  g_autoptr(GVariant) value = NULL;
  g_auto(JobCacheKey) key = { NULL, NULL };
  gboolean stored;
  double duration;

  g_return_val_if_fail (JOB_IS_MEMORIZED_FUNCTION (self), NULL);
  g_return_val_if_fail (args != NULL, NULL);
  g_return_val_if_fail (g_variant_is_of_type (args, G_VARIANT_TYPE_TUPLE), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  owned = g_variant_ref_sink (args);
  value = job_memorized_cached_call (self, owned, FALSE, cancellable, &key, &stored, &duration, error);
  if (value == NULL)
    return NULL;

  if (stored && duration < 0)
    job_cache_store_read_metadata (key.entry_dir, &duration, NULL);

  return job_memorized_result_new (self->settings, job_function_get_name (self->function),
                                   key.hash, stored ? key.entry_dir : NULL, duration,
                                   stored ? NULL : value);
}

/**
 * job_memorized_function_clear:
 * @self: a #JobMemorizedFunction
 * @error: return location for a #GError
 *
 * Removes every stored result of the function (of any arguments).
 *
 * Returns: %TRUE on success
 */
gboolean
job_memorized_function_clear (JobMemorizedFunction  *self,
                              GError               **error)
{
  g_autoptr(GPtrArray) entries = NULL;
  g_autoptr(GPtrArray) paths = NULL;
  g_autofree char *folder = NULL;
  g_autoptr(GError) local_error = NULL;
  const char *root;

  g_return_val_if_fail (JOB_IS_MEMORIZED_FUNCTION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  root = self->settings->root;
  if (root == NULL)
    return TRUE;

  folder = g_path_get_basename (self->function_dir);
  entries = job_cache_store_scan (root, folder, FALSE);
  paths = g_ptr_array_new_full (entries->len, NULL);
  for (guint i = 0; i < entries->len; i++)
    g_ptr_array_add (paths, (gpointer) job_cache_entry_get_path (entries->pdata[i]));
  /* one batch, whose folders the reclaimer removes on several threads */
  job_cache_store_remove_entries (paths, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  return TRUE;
}
