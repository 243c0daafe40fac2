/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-error.h"
#include "job-function.h"
#include "job-function-private.h"
#include "job-i18n-private.h"
#include "job-native-symbol-private.h"

/**
 * JobFunction:
 *
 * A callable with an identity: the unit of work of joblib-glib.
 *
 * A function has a [property@Joblib.Function:name] (used in error messages,
 * verbose lines and as the folder of its cache entries) and a
 * [property@Joblib.Function:version] (a cache keyed on it is cleared when
 * it changes, as joblib does when a function's source changes).
 *
 * Pair a function with a tuple of arguments in a [struct@Joblib.Call] to
 * get joblib's `delayed(f)(*args)`, and run many calls with
 * [class@Joblib.Parallel].
 *
 * Functions made from closures of languages that cannot be called from
 * other threads (GJS) must be marked
 * [property@Joblib.Function:main-thread-only]; they then run on the
 * [method@Joblib.Function.get_owner_context] of the function, never on a
 * worker thread.
 *
 * Thread safety: the properties are meant to be set before the function is
 * shared; [method@Joblib.Function.invoke] may be called from any thread.
 */

typedef struct
{
  char           *name;                 /* (owned) */
  char           *version;              /* (owned) */
  char          **parameter_names;      /* (owned) (nullable) */
  GMainContext   *owner_context;        /* (owned) */
  JobFunc         func;
  gpointer        user_data;
  GDestroyNotify  destroy;
  guint           main_thread_only : 1;
  GVariant       *reference;            /* (owned) (nullable) "(sa{sv})" */
} JobFunctionPrivate;

enum {
  PROP_0,
  PROP_NAME,
  PROP_VERSION,
  PROP_MAIN_THREAD_ONLY,
  PROP_PARAMETER_NAMES,
  PROP_REFERENCE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_TYPE_WITH_PRIVATE (JobFunction, job_function, G_TYPE_OBJECT)

static GVariant *
job_function_real_invoke (JobFunction   *self,
                          GVariant      *args,
                          GCancellable  *cancellable,
                          GError       **error)
{
  JobFunctionPrivate *priv = job_function_get_instance_private (self);

  if (priv->func == NULL)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_FAILED,
                   _("Function “%s” has no body to call"), priv->name);
      return NULL;
    }

  return priv->func (args, cancellable, priv->user_data, error);
}

static void
job_function_finalize (GObject *object)
{
  JobFunction *self = JOB_FUNCTION (object);
  JobFunctionPrivate *priv = job_function_get_instance_private (self);

  if (priv->destroy != NULL)
    priv->destroy (priv->user_data);

  g_clear_pointer (&priv->name, g_free);
  g_clear_pointer (&priv->version, g_free);
  g_clear_pointer (&priv->parameter_names, g_strfreev);
  g_clear_pointer (&priv->owner_context, g_main_context_unref);
  g_clear_pointer (&priv->reference, g_variant_unref);

  G_OBJECT_CLASS (job_function_parent_class)->finalize (object);
}

static void
job_function_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  JobFunction *self = JOB_FUNCTION (object);
  JobFunctionPrivate *priv = job_function_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_NAME:
      g_value_set_string (value, priv->name);
      break;

    case PROP_VERSION:
      g_value_set_string (value, priv->version);
      break;

    case PROP_MAIN_THREAD_ONLY:
      g_value_set_boolean (value, priv->main_thread_only);
      break;

    case PROP_PARAMETER_NAMES:
      g_value_set_boxed (value, priv->parameter_names);
      break;

    case PROP_REFERENCE:
      g_value_set_variant (value, priv->reference);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
job_function_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  JobFunction *self = JOB_FUNCTION (object);
  JobFunctionPrivate *priv = job_function_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_NAME:
      g_free (priv->name);
      priv->name = g_value_dup_string (value);
      if (priv->name == NULL || priv->name[0] == '\0')
        {
          g_free (priv->name);
          priv->name = g_strdup ("anonymous");
        }
      break;

    case PROP_VERSION:
      job_function_set_version (self, g_value_get_string (value));
      break;

    case PROP_MAIN_THREAD_ONLY:
      job_function_set_main_thread_only (self, g_value_get_boolean (value));
      break;

    case PROP_PARAMETER_NAMES:
      job_function_set_parameter_names (self, g_value_get_boxed (value));
      break;

    case PROP_REFERENCE:
      job_function_set_reference (self, g_value_get_variant (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
job_function_class_init (JobFunctionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = job_function_finalize;
  object_class->get_property = job_function_get_property;
  object_class->set_property = job_function_set_property;

  klass->invoke = job_function_real_invoke;

  /**
   * JobFunction:name:
   *
   * The name of the function, used in error messages, verbose lines and as
   * the folder of its cache entries. Never %NULL: an empty name becomes
   * `anonymous`.
   */
  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL,
                         "anonymous",
                         (G_PARAM_READWRITE |
                          G_PARAM_CONSTRUCT_ONLY |
                          G_PARAM_STATIC_STRINGS));

  /**
   * JobFunction:version:
   *
   * The version of the function's code. A cache keyed on the function is
   * cleared when the version changes. Defaults to `"1"`.
   */
  properties[PROP_VERSION] =
    g_param_spec_string ("version", NULL, NULL,
                         "1",
                         (G_PARAM_READWRITE |
                          G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS));

  /**
   * JobFunction:main-thread-only:
   *
   * Whether the function may only be called on the thread that owns its
   * [method@Joblib.Function.get_owner_context] (the thread-default main
   * context when the function was created). [class@Joblib.Parallel] runs
   * such functions there, never on a worker thread. Set it for closures of
   * GJS, which refuses calls from other threads. On a backend that runs
   * calls in other processes (%JOB_BACKEND_FLAGS_NEEDS_REFERENCE), a
   * function with a [method@Joblib.Function.get_reference] runs there
   * instead, never here: a GJS function with a `"gjs"` reference runs in
   * parallel in GJS workers.
   */
  properties[PROP_MAIN_THREAD_ONLY] =
    g_param_spec_boolean ("main-thread-only", NULL, NULL,
                          FALSE,
                          (G_PARAM_READWRITE |
                           G_PARAM_EXPLICIT_NOTIFY |
                           G_PARAM_STATIC_STRINGS));

  /**
   * JobFunction:parameter-names:
   *
   * The names of the positional parameters, when the function declares
   * them; %NULL otherwise. Used by caches to ignore arguments by name and
   * to describe calls.
   */
  properties[PROP_PARAMETER_NAMES] =
    g_param_spec_boxed ("parameter-names", NULL, NULL,
                        G_TYPE_STRV,
                        (G_PARAM_READWRITE |
                         G_PARAM_EXPLICIT_NOTIFY |
                         G_PARAM_STATIC_STRINGS));

  /**
   * JobFunction:reference:
   *
   * The `(sa{sv})` reference by which worker processes find the function
   * (see [method@Joblib.Function.get_reference]), or %NULL.
   */
  properties[PROP_REFERENCE] =
    g_param_spec_variant ("reference", NULL, NULL,
                          G_VARIANT_TYPE ("(sa{sv})"), NULL,
                          (G_PARAM_READWRITE |
                           G_PARAM_EXPLICIT_NOTIFY |
                           G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
job_function_init (JobFunction *self)
{
  JobFunctionPrivate *priv = job_function_get_instance_private (self);

  priv->name = g_strdup ("anonymous");
  priv->version = g_strdup ("1");
  priv->owner_context = g_main_context_ref_thread_default ();
}

/**
 * job_function_new:
 * @name: the name of the function
 * @func: (scope notified) (closure user_data) (destroy destroy): the body
 * @user_data: data passed to @func
 * @destroy: (nullable): frees @user_data when the function is finalized
 *
 * Creates a function whose body is @func. The thread-default main context
 * of the calling thread becomes the function's owner context.
 *
 * Returns: (transfer full): a new #JobFunction
 */
JobFunction *
job_function_new (const char     *name,
                  JobFunc         func,
                  gpointer        user_data,
                  GDestroyNotify  destroy)
{
  JobFunction *self;
  JobFunctionPrivate *priv;

  g_return_val_if_fail (func != NULL, NULL);

  self = g_object_new (JOB_TYPE_FUNCTION, "name", name, NULL);
  priv = job_function_get_instance_private (self);
  priv->func = func;
  priv->user_data = user_data;
  priv->destroy = destroy;

  return self;
}

/**
 * job_function_get_name:
 * @self: a #JobFunction
 *
 * Gets the name of the function. Thread-safe.
 *
 * Returns: (transfer none): the name
 */
const char *
job_function_get_name (JobFunction *self)
{
  JobFunctionPrivate *priv = job_function_get_instance_private (self);

  g_return_val_if_fail (JOB_IS_FUNCTION (self), NULL);

  return priv->name;
}

/**
 * job_function_get_version:
 * @self: a #JobFunction
 *
 * Gets the version of the function's code.
 *
 * Returns: (transfer none): the version
 */
const char *
job_function_get_version (JobFunction *self)
{
  JobFunctionPrivate *priv = job_function_get_instance_private (self);

  g_return_val_if_fail (JOB_IS_FUNCTION (self), NULL);

  return priv->version;
}

/**
 * job_function_set_version:
 * @self: a #JobFunction
 * @version: (nullable): the new version; %NULL means `"1"`
 *
 * Sets the version of the function's code. Call it before the function is
 * shared with other threads.
 */
void
job_function_set_version (JobFunction *self,
                          const char  *version)
{
  JobFunctionPrivate *priv = job_function_get_instance_private (self);

  g_return_if_fail (JOB_IS_FUNCTION (self));

  if (version == NULL)
    version = "1";

  if (g_strcmp0 (priv->version, version) == 0)
    return;

  g_free (priv->version);
  priv->version = g_strdup (version);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VERSION]);
}

/**
 * job_function_get_main_thread_only:
 * @self: a #JobFunction
 *
 * Whether the function only runs on its owner context.
 *
 * Returns: %TRUE if the function is main-thread-only
 */
gboolean
job_function_get_main_thread_only (JobFunction *self)
{
  JobFunctionPrivate *priv = job_function_get_instance_private (self);

  g_return_val_if_fail (JOB_IS_FUNCTION (self), FALSE);

  return priv->main_thread_only;
}

/**
 * job_function_set_main_thread_only:
 * @self: a #JobFunction
 * @main_thread_only: whether calls must run on the owner context
 *
 * Marks the function as callable only on the thread that owns its owner
 * context. Call it before the function is shared with other threads.
 */
void
job_function_set_main_thread_only (JobFunction *self,
                                   gboolean     main_thread_only)
{
  JobFunctionPrivate *priv = job_function_get_instance_private (self);

  g_return_if_fail (JOB_IS_FUNCTION (self));

  main_thread_only = !!main_thread_only;
  if (priv->main_thread_only != main_thread_only)
    {
      priv->main_thread_only = main_thread_only;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAIN_THREAD_ONLY]);
    }
}

/**
 * job_function_get_owner_context:
 * @self: a #JobFunction
 *
 * Gets the main context that was thread-default when the function was
 * created. Main-thread-only functions run there.
 *
 * Returns: (transfer none): the owner context
 */
GMainContext *
job_function_get_owner_context (JobFunction *self)
{
  JobFunctionPrivate *priv = job_function_get_instance_private (self);

  g_return_val_if_fail (JOB_IS_FUNCTION (self), NULL);

  return priv->owner_context;
}

/**
 * job_function_get_parameter_names:
 * @self: a #JobFunction
 *
 * Gets the names of the positional parameters, if the function declares
 * them.
 *
 * Returns: (transfer none) (nullable) (array zero-terminated=1): the names
 */
const char * const *
job_function_get_parameter_names (JobFunction *self)
{
  JobFunctionPrivate *priv = job_function_get_instance_private (self);

  g_return_val_if_fail (JOB_IS_FUNCTION (self), NULL);

  return (const char * const *) priv->parameter_names;
}

/**
 * job_function_set_parameter_names:
 * @self: a #JobFunction
 * @names: (nullable) (array zero-terminated=1): the parameter names
 *
 * Declares the names of the function's positional parameters.
 */
void
job_function_set_parameter_names (JobFunction        *self,
                                  const char * const *names)
{
  JobFunctionPrivate *priv = job_function_get_instance_private (self);

  g_return_if_fail (JOB_IS_FUNCTION (self));

  if (names != NULL && priv->parameter_names != NULL &&
      g_strv_equal ((const char * const *) priv->parameter_names, names))
    return;
  if (names == NULL && priv->parameter_names == NULL)
    return;

  g_strfreev (priv->parameter_names);
  priv->parameter_names = g_strdupv ((char **) names);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PARAMETER_NAMES]);
}

/**
 * job_function_invoke:
 * @self: a #JobFunction
 * @args: a tuple of arguments
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Calls the function once, in the calling thread. A floating @args is
 * consumed. A body that returns %NULL without setting an error fails with
 * [error@Joblib.Error.TASK_FAILED].
 *
 * Thread safety: callable from any thread, except for main-thread-only
 * functions, which the caller must only invoke on the owner context's
 * thread.
 *
 * Returns: (transfer full): the result, never floating
 */
GVariant *
job_function_invoke (JobFunction   *self,
                     GVariant      *args,
                     GCancellable  *cancellable,
                     GError       **error)
{
  g_autoptr(GVariant) owned_args = NULL;

  g_return_val_if_fail (JOB_IS_FUNCTION (self), NULL);
  g_return_val_if_fail (args != NULL, NULL);
  g_return_val_if_fail (g_variant_is_of_type (args, G_VARIANT_TYPE_TUPLE), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  owned_args = g_variant_ref_sink (args);
  return job_function_invoke_owned (self, owned_args, cancellable, error);
}

/* The hot path of batches: @args is a checked tuple that the caller owns
 * for the whole call, so no reference is taken (two atomic operations per
 * task on a cache line the dispatcher shares). */
GVariant *
job_function_invoke_owned (JobFunction   *self,
                           GVariant      *args,
                           GCancellable  *cancellable,
                           GError       **error)
{
  GError *local_error = NULL;
  GVariant *result;

  result = JOB_FUNCTION_GET_CLASS (self)->invoke (self, args, cancellable, &local_error);
  if (result == NULL)
    {
      /* Bindings end up here when their callback failed in a way they
       * could not turn into a GError: name the usual causes. */
      if (local_error == NULL)
        g_set_error (&local_error, JOB_ERROR, JOB_ERROR_TASK_FAILED,
                     _("%s returned no value and no error. From a binding, this "
                       "usually means: a Python exception other than GLib.Error "
                       "(printed above; joblib_glib passes every exception on); a "
                       "JavaScript function called from a worker thread (mark it "
                       "main-thread-only, or use a process backend); or a return "
                       "value that is not a GLib.Variant"),
                     job_function_get_name (self));
      g_propagate_error (error, local_error);
      return NULL;
    }

  return g_variant_take_ref (result);
}

/* References: a reference is a small tagged value, `(sa{sv})`:
 * a kind and the fields that kind needs. Process backends pick the worker
 * program from the kind and hand the whole value to the worker, so new
 * kinds (python, gjs) need no change in the backend. */

typedef struct
{
  char    *module_path;
  char    *symbol;
  JobFunc  func;        /* (atomic) (nullable): resolved on first call */
} NativeSymbol;

static void
native_symbol_free (gpointer data)
{
  NativeSymbol *native = data;

  g_free (native->module_path);
  g_free (native->symbol);
  g_free (native);
}

static GVariant *
native_symbol_invoke (GVariant      *args,
                      GCancellable  *cancellable,
                      gpointer       user_data,
                      GError       **error)
{
  NativeSymbol *native = user_data;
  JobFunc func = g_atomic_pointer_get (&native->func);

  if (func == NULL)
    {
      func = job_native_symbol_resolve (native->module_path, native->symbol,
                                        error);
      if (func == NULL)
        return NULL;
      g_atomic_pointer_set (&native->func, func);
    }

  return func (args, cancellable, NULL, error);
}

/**
 * job_function_new_for_symbol:
 * @module_path: the path of a shared object (a plugin or library)
 * @symbol: the name of a [callback@Joblib.Func] exported by it; it is
 *   called with %NULL user data
 * @name: (nullable): the name of the function; %NULL means @symbol
 *
 * Creates a function whose body is a symbol of a shared object. It carries
 * a [const@Joblib.FUNCTION_REFERENCE_NATIVE] reference, so process
 * backends can run it in their workers; in the calling process it is
 * resolved with #GModule on its first call (the module stays loaded).
 *
 * Returns: (transfer full): a new #JobFunction
 */
JobFunction *
job_function_new_for_symbol (const char *module_path,
                             const char *symbol,
                             const char *name)
{
  JobFunction *self;
  NativeSymbol *native;
  GVariantDict fields;

  g_return_val_if_fail (module_path != NULL && module_path[0] != '\0', NULL);
  g_return_val_if_fail (symbol != NULL && symbol[0] != '\0', NULL);

  native = g_new0 (NativeSymbol, 1);
  native->module_path = g_strdup (module_path);
  native->symbol = g_strdup (symbol);
  self = job_function_new (name != NULL ? name : symbol,
                           native_symbol_invoke, native, native_symbol_free);

  g_variant_dict_init (&fields, NULL);
  g_variant_dict_insert (&fields, "module", "s", module_path);
  g_variant_dict_insert (&fields, "symbol", "s", symbol);
  job_function_set_reference (self,
                              g_variant_new ("(s@a{sv})",
                                             JOB_FUNCTION_REFERENCE_NATIVE,
                                             g_variant_dict_end (&fields)));
  return self;
}

/**
 * job_function_get_reference:
 * @self: a #JobFunction
 *
 * Gets the reference by which another process can find the function: a
 * `(sa{sv})` value holding its kind (`"native"`, and later `"python"` or
 * `"gjs"`) and the fields that kind needs.
 *
 * Returns: (transfer none) (nullable): the reference, or %NULL for a
 *   function that only exists in this process
 */
GVariant *
job_function_get_reference (JobFunction *self)
{
  JobFunctionPrivate *priv = job_function_get_instance_private (self);

  g_return_val_if_fail (JOB_IS_FUNCTION (self), NULL);

  return priv->reference;
}

/**
 * job_function_set_reference:
 * @self: a #JobFunction
 * @reference: (nullable): a `(sa{sv})` reference, or %NULL
 *
 * Sets the reference by which worker processes resolve the function.
 * Language bindings use it for their own kinds; C code usually calls
 * [ctor@Joblib.Function.new_for_symbol] instead. A floating @reference is
 * consumed. Call it before the function is shared with other threads.
 */
void
job_function_set_reference (JobFunction *self,
                            GVariant    *reference)
{
  JobFunctionPrivate *priv = job_function_get_instance_private (self);

  g_return_if_fail (JOB_IS_FUNCTION (self));
  g_return_if_fail (reference == NULL ||
                    g_variant_is_of_type (reference, G_VARIANT_TYPE ("(sa{sv})")));

  if (reference != NULL)
    reference = g_variant_ref_sink (reference);
  if (reference == priv->reference ||
      (reference != NULL && priv->reference != NULL && g_variant_equal (reference, priv->reference)))
    {
      g_clear_pointer (&reference, g_variant_unref);
      return;
    }
  g_clear_pointer (&priv->reference, g_variant_unref);
  priv->reference = reference;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REFERENCE]);
}

/**
 * job_function_get_reference_kind:
 * @self: a #JobFunction
 *
 * Gets the kind of the function's reference, which selects the worker
 * program that can run it.
 *
 * Returns: (transfer none) (nullable): the kind, or %NULL without a
 *   reference
 */
const char *
job_function_get_reference_kind (JobFunction *self)
{
  JobFunctionPrivate *priv = job_function_get_instance_private (self);
  const char *kind = NULL;

  g_return_val_if_fail (JOB_IS_FUNCTION (self), NULL);

  if (priv->reference == NULL)
    return NULL;
  g_variant_get_child (priv->reference, 0, "&s", &kind);
  return kind;
}
