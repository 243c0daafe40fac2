/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-cache-reference-private.h"
#include "job-error.h"
#include "job-i18n-private.h"

GVariant *
job_cache_reference_encode (JobCacheSettings *settings,
                            JobFunction      *function,
                            GArray           *positions,
                            double            expires_after)
{
  const char * const *parameter_names = job_function_get_parameter_names (function);
  GVariantBuilder builder, ignored;

  if (settings->location_path == NULL)
    return NULL;

  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&builder, "{sv}", "location",
                         g_variant_new_string (settings->location_path));
  g_variant_builder_add (&builder, "{sv}", "compression",
                         g_variant_new_string (settings->compression ?: ""));
  g_variant_builder_add (&builder, "{sv}", "mmap", g_variant_new_boolean (settings->mmap));
  g_variant_builder_add (&builder, "{sv}", "bytes-limit",
                         g_variant_new_uint64 (settings->bytes_limit));
  g_variant_builder_add (&builder, "{sv}", "items-limit",
                         g_variant_new_uint32 (settings->items_limit));
  g_variant_builder_add (&builder, "{sv}", "age-limit", g_variant_new_double (settings->age_limit));
  /* by position: the worker's function may not know the names */
  g_variant_builder_init (&ignored, G_VARIANT_TYPE_STRING_ARRAY);
  for (guint i = 0; i < positions->len; i++)
    {
      char position[16];

      g_snprintf (position, sizeof position, "%u", g_array_index (positions, guint, i));
      g_variant_builder_add (&ignored, "s", position);
    }
  g_variant_builder_add (&builder, "{sv}", "ignore", g_variant_builder_end (&ignored));
  g_variant_builder_add (&builder, "{sv}", "name",
                         g_variant_new_string (job_function_get_name (function)));
  if (parameter_names != NULL)
    g_variant_builder_add (&builder, "{sv}", "parameter-names",
                           g_variant_new_strv (parameter_names, -1));
  g_variant_builder_add (&builder, "{sv}", "version",
                         g_variant_new_string (job_function_get_version (function) ?: ""));
  g_variant_builder_add (&builder, "{sv}", "expires-after", g_variant_new_double (expires_after));

  return g_variant_builder_end (&builder);
}

void
job_cache_reference_clear (JobCacheReference *decoded)
{
  g_clear_pointer (&decoded->settings, job_cache_settings_unref);
  g_clear_pointer (&decoded->name, g_free);
  g_clear_pointer (&decoded->version, g_free);
  g_clear_pointer (&decoded->parameter_names, g_strfreev);
  g_clear_pointer (&decoded->ignore, g_strfreev);
}

/* A field of the wrong type counts as missing, as in g_variant_lookup(). */
gboolean
job_cache_reference_decode (GVariant           *field,
                            const char         *fallback_name,
                            JobCacheReference  *decoded,
                            GError            **error)
{
  const char *location = NULL, *compression = "", *version = "", *name = fallback_name;
  g_autofree const char **ignore = NULL;
  g_autofree const char **parameter_names = NULL;
  gboolean mmap = FALSE;
  guint64 bytes_limit = 0;
  guint32 items_limit = 0;
  double age_limit = 0, expires_after = 0;

  if (!g_variant_is_of_type (field, G_VARIANT_TYPE_VARDICT))
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
                   _("The memory settings of %s are a “%s”, not a dictionary"),
                   fallback_name, g_variant_get_type_string (field));
      return FALSE;
    }
  if (!g_variant_lookup (field, "location", "&s", &location) || location[0] == '\0')
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
                   _("The memory settings of %s name no location"), fallback_name);
      return FALSE;
    }
  g_variant_lookup (field, "compression", "&s", &compression);
  g_variant_lookup (field, "version", "&s", &version);
  g_variant_lookup (field, "mmap", "b", &mmap);
  g_variant_lookup (field, "bytes-limit", "t", &bytes_limit);
  g_variant_lookup (field, "items-limit", "u", &items_limit);
  g_variant_lookup (field, "age-limit", "d", &age_limit);
  g_variant_lookup (field, "expires-after", "d", &expires_after);
  g_variant_lookup (field, "ignore", "^a&s", &ignore);
  g_variant_lookup (field, "name", "&s", &name);
  g_variant_lookup (field, "parameter-names", "^a&s", &parameter_names);
  /* written so that NaN fails too */
  if (!(age_limit >= 0) || !(expires_after >= 0) || name[0] == '\0')
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
                   _("The memory settings of %s hold a negative duration or no name"),
                   fallback_name);
      return FALSE;
    }
  for (guint i = 0; ignore != NULL && ignore[i] != NULL; i++)
    if (!g_ascii_string_to_unsigned (ignore[i], 10, 0, G_MAXUINT, NULL, NULL))
      {
        g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
                     _("The memory settings of %s ignore “%s”, not a position"),
                     fallback_name, ignore[i]);
        return FALSE;
      }

  decoded->settings = job_cache_settings_new (location);
  job_cache_settings_set_compression (decoded->settings, compression[0] != '\0' ? compression : NULL);
  decoded->settings->mmap = mmap;
  decoded->settings->bytes_limit = bytes_limit;
  decoded->settings->items_limit = items_limit;
  decoded->settings->age_limit = age_limit;
  decoded->name = g_strdup (name);
  decoded->version = version[0] != '\0' ? g_strdup (version) : NULL;
  decoded->parameter_names = g_strdupv ((char **) parameter_names);
  decoded->ignore = ignore != NULL && ignore[0] != NULL ? g_strdupv ((char **) ignore) : NULL;
  decoded->expires_after = expires_after;

  return TRUE;
}
