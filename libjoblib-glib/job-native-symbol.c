/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <gmodule.h>

#include "job-error.h"
#include "job-i18n-private.h"
#include "job-native-symbol-private.h"

static GMutex cache_mutex;
static GHashTable *cache; /* (owned) "module\nsymbol" → JobFunc */

JobFunc
job_native_symbol_resolve (const char  *module_path,
                           const char  *symbol,
                           GError     **error)
{
  g_autofree char *key = g_strconcat (module_path, "\n", symbol, NULL);
  GModule *module;
  gpointer func = NULL;

  g_mutex_lock (&cache_mutex);
  if (cache == NULL)
    cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  func = g_hash_table_lookup (cache, key);
  if (func != NULL)
    {
      g_mutex_unlock (&cache_mutex);
      return (JobFunc) func;
    }

  /* Local binding: two task modules may export the same names. */
  module = g_module_open (module_path, G_MODULE_BIND_LOCAL);
  if (module == NULL)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_NOT_FOUND,
                   _("Could not load the module “%s”: %s"),
                   module_path, g_module_error ());
      g_mutex_unlock (&cache_mutex);
      return NULL;
    }

  if (!g_module_symbol (module, symbol, &func) || func == NULL)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_NOT_FOUND,
                   _("The module “%s” has no symbol “%s”"),
                   module_path, symbol);
      g_module_close (module);
      g_mutex_unlock (&cache_mutex);
      return NULL;
    }

  /* Functions handed out must stay valid: the module is never unloaded. */
  g_module_make_resident (module);
  g_hash_table_insert (cache, g_steal_pointer (&key), func);
  g_mutex_unlock (&cache_mutex);

  return (JobFunc) func;
}

JobFunc
job_native_symbol_resolve_reference (GVariant  *reference,
                                     GError   **error)
{
  g_autoptr(GVariant) fields = NULL;
  const char *kind = NULL;
  const char *module_path = NULL;
  const char *symbol = NULL;

  if (!g_variant_is_of_type (reference, G_VARIANT_TYPE ("(sa{sv})")))
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_DATA,
                   _("A function reference has the type “%s”, not “(sa{sv})”"),
                   g_variant_get_type_string (reference));
      return NULL;
    }

  g_variant_get (reference, "(&s@a{sv})", &kind, &fields);
  if (g_strcmp0 (kind, JOB_FUNCTION_REFERENCE_NATIVE) != 0)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_UNSUPPORTED,
                   _("The native worker cannot resolve “%s” references"),
                   kind);
      return NULL;
    }

  if (!g_variant_lookup (fields, "module", "&s", &module_path) ||
      !g_variant_lookup (fields, "symbol", "&s", &symbol))
    {
      g_set_error_literal (error, JOB_ERROR, JOB_ERROR_INVALID_DATA,
                           _("A native function reference lacks its “module” or “symbol” field"));
      return NULL;
    }

  return job_native_symbol_resolve (module_path, symbol, error);
}
