/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-backend.h"
#include "job-dask-backend.h"
#include "job-error.h"
#include "job-i18n-private.h"
#include "job-ipyparallel-backend.h"
#include "job-process-backend.h"
#include "job-sequential-backend.h"
#include "job-slurm-backend.h"
#include "job-ssh-backend.h"
#include "job-thread-backend.h"

/* Backends by name, as joblib's register_parallel_backend. Guarded by a
 * mutex: registration and lookup may happen on any thread. */
static GMutex registry_mutex;
static GHashTable *registry; /* (owned) name → GType */

static void
ensure_registry_locked (void)
{
  if (registry != NULL)
    return;

  registry = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_hash_table_insert (registry, g_strdup ("sequential"),
                       GSIZE_TO_POINTER (JOB_TYPE_SEQUENTIAL_BACKEND));
  g_hash_table_insert (registry, g_strdup ("threading"),
                       GSIZE_TO_POINTER (JOB_TYPE_THREAD_BACKEND));
  g_hash_table_insert (registry, g_strdup ("threads"),
                       GSIZE_TO_POINTER (JOB_TYPE_THREAD_BACKEND));
  g_hash_table_insert (registry, g_strdup ("processes"),
                       GSIZE_TO_POINTER (JOB_TYPE_PROCESS_BACKEND));
  g_hash_table_insert (registry, g_strdup ("loky"),
                       GSIZE_TO_POINTER (JOB_TYPE_PROCESS_BACKEND));
  g_hash_table_insert (registry, g_strdup ("slurm"),
                       GSIZE_TO_POINTER (JOB_TYPE_SLURM_BACKEND));
  g_hash_table_insert (registry, g_strdup ("ssh"),
                       GSIZE_TO_POINTER (JOB_TYPE_SSH_BACKEND));
  g_hash_table_insert (registry, g_strdup ("dask"),
                       GSIZE_TO_POINTER (JOB_TYPE_DASK_BACKEND));
  g_hash_table_insert (registry, g_strdup ("ipyparallel"),
                       GSIZE_TO_POINTER (JOB_TYPE_IPYPARALLEL_BACKEND));
}

/**
 * job_backend_register:
 * @name: the name users select the backend by
 * @backend_type: a #GType that implements [iface@Joblib.Backend] and can be
 *   created with g_object_new() without properties
 *
 * Makes a backend available by name to [class@Joblib.Parallel] and
 * [class@Joblib.ParallelConfig]. Registering a name again replaces the
 * previous type. Thread-safe.
 */
void
job_backend_register (const char *name,
                      GType       backend_type)
{
  g_return_if_fail (name != NULL && name[0] != '\0');
  g_return_if_fail (g_type_is_a (backend_type, JOB_TYPE_BACKEND));
  g_return_if_fail (G_TYPE_IS_INSTANTIATABLE (backend_type) &&
                    !G_TYPE_IS_ABSTRACT (backend_type));

  g_mutex_lock (&registry_mutex);
  ensure_registry_locked ();
  g_hash_table_insert (registry, g_strdup (name), GSIZE_TO_POINTER (backend_type));
  g_mutex_unlock (&registry_mutex);
}

/**
 * job_backend_new_for_name:
 * @name: a registered backend name (`"sequential"`, `"threading"`, …)
 * @error: return location for a #GError
 *
 * Creates a new instance of the backend registered as @name. Thread-safe.
 *
 * Returns: (transfer full): the backend, or %NULL with
 *   [error@Joblib.Error.UNKNOWN_BACKEND]
 */
JobBackend *
job_backend_new_for_name (const char  *name,
                          GError     **error)
{
  GType type = G_TYPE_INVALID;
  gpointer found;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (name == NULL)
    {
      g_set_error_literal (error, JOB_ERROR, JOB_ERROR_UNKNOWN_BACKEND,
                           _("No backend name was given"));
      return NULL;
    }

  g_mutex_lock (&registry_mutex);
  ensure_registry_locked ();
  if (g_hash_table_lookup_extended (registry, name, NULL, &found))
    type = GPOINTER_TO_SIZE (found);
  g_mutex_unlock (&registry_mutex);

  if (type == G_TYPE_INVALID)
    {
      g_auto(GStrv) names = job_backend_list_names ();
      g_autofree char *known = g_strjoinv (", ", names);

      g_set_error (error, JOB_ERROR, JOB_ERROR_UNKNOWN_BACKEND,
                   _("No backend is registered as “%s” (known: %s)"),
                   name, known);
      return NULL;
    }

  return g_object_new (type, NULL);
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  /* g_ptr_array_sort() passes pointers to the elements */
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

/**
 * job_backend_list_names:
 *
 * Lists the registered backend names, sorted. Thread-safe.
 *
 * Returns: (transfer full) (array zero-terminated=1): the names
 */
char **
job_backend_list_names (void)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer key;

  g_mutex_lock (&registry_mutex);
  ensure_registry_locked ();
  g_hash_table_iter_init (&iter, registry);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (names, g_strdup (key));
  g_mutex_unlock (&registry_mutex);

  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);

  return (char **) g_ptr_array_free (g_steal_pointer (&names), FALSE);
}
