/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <string.h>

#include "job-error.h"
#include "job-i18n-private.h"
#include "job-native-library.h"

/**
 * JobNativeLibrary:
 *
 * A native thread pool loaded in this process: a BLAS library (OpenBLAS,
 * MKL, BLIS, FlexiBLAS) or an OpenMP runtime (libgomp, LLVM's libomp,
 * Intel's libiomp5), like the entries of Python's `threadpoolctl`.
 *
 * [func@Joblib.NativeLibrary.list_loaded] finds them among the shared
 * objects mapped in the process (`dl_iterate_phdr`); each one reads and
 * sets its library's thread count through the library's own functions
 * (`openblas_set_num_threads`, `MKL_Set_Num_Threads`,
 * `bli_thread_set_num_threads`, `flexiblas_set_num_threads`,
 * `omp_set_num_threads` and their getters), found with `dlsym` on a
 * handle opened with `RTLD_NOLOAD`: nothing is loaded that was not.
 *
 * Worker processes of [class@Joblib.ProcessBackend] get their limits from
 * environment variables at start; this is for the calling process, for
 * example to keep BLAS single-threaded around a run on the thread
 * backend:
 *
 * ```c
 * job_native_library_limit_all ("blas", 1);
 * ```
 *
 * Thread safety: listing is thread-safe. The libraries' own setters are
 * not always: OpenMP's `omp_set_num_threads` only affects parallel
 * regions started by the calling thread, as in `threadpoolctl`.
 */

typedef int  (*GetFunc) (void);
typedef void (*SetFunc) (int);

struct _JobNativeLibrary
{
  gatomicrefcount  ref_count;
  char            *path;
  const char      *internal_api;  /* static */
  const char      *user_api;      /* static */
  GetFunc          get;
  SetFunc          set;
};

G_DEFINE_BOXED_TYPE (JobNativeLibrary, job_native_library,
                     job_native_library_ref, job_native_library_unref)

static const struct
{
  const char *prefix;        /* of the file name */
  const char *internal_api;
  const char *user_api;
  const char *get_symbol;
  const char *set_symbol;
} known[] = {
  { "libopenblas", "openblas",  "blas",   "openblas_get_num_threads",   "openblas_set_num_threads" },
  { "libmkl_rt",   "mkl",       "blas",   "MKL_Get_Max_Threads",        "MKL_Set_Num_Threads" },
  { "libblis",     "blis",      "blas",   "bli_thread_get_num_threads", "bli_thread_set_num_threads" },
  { "libflexiblas", "flexiblas", "blas",  "flexiblas_get_num_threads",  "flexiblas_set_num_threads" },
  { "libgomp",     "openmp",    "openmp", "omp_get_max_threads",        "omp_set_num_threads" },
  { "libomp",      "openmp",    "openmp", "omp_get_max_threads",        "omp_set_num_threads" },
  { "libiomp",     "openmp",    "openmp", "omp_get_max_threads",        "omp_set_num_threads" },
};

static int
collect (struct dl_phdr_info *info,
         size_t               size,
         void                *data)
{
  GPtrArray *paths = data;

  if (info->dlpi_name != NULL && info->dlpi_name[0] != '\0')
    g_ptr_array_add (paths, g_strdup (info->dlpi_name));
  return 0;
}

static JobNativeLibrary *
probe (const char *path)
{
  g_autofree char *base = g_path_get_basename (path);
  JobNativeLibrary *library;
  void *handle;
  gpointer get, set;
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (known); i++)
    if (g_str_has_prefix (base, known[i].prefix) && strstr (base, ".so") != NULL)
      break;
  if (i == G_N_ELEMENTS (known))
    return NULL;

  /* A handle on the mapped object only; its reference is dropped at once
   * and the library stays mapped by whoever loaded it. */
  handle = dlopen (path, RTLD_LAZY | RTLD_NOLOAD);
  if (handle == NULL)
    return NULL;
  get = dlsym (handle, known[i].get_symbol);
  set = dlsym (handle, known[i].set_symbol);
  dlclose (handle);
  if (get == NULL || set == NULL)
    return NULL;

  library = g_new0 (JobNativeLibrary, 1);
  g_atomic_ref_count_init (&library->ref_count);
  library->path = g_strdup (path);
  library->internal_api = known[i].internal_api;
  library->user_api = known[i].user_api;
  library->get = (GetFunc) get;
  library->set = (SetFunc) set;
  return library;
}

/**
 * job_native_library_list_loaded:
 * @n_libraries: (out): the number of libraries found
 *
 * Lists the native thread pools loaded in this process, in load order.
 * A library loaded under two names is listed once. Thread-safe.
 *
 * Returns: (transfer full) (array length=n_libraries): the libraries;
 *   free with g_free() after unreffing each
 */
JobNativeLibrary **
job_native_library_list_loaded (guint *n_libraries)
{
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  GPtrArray *libraries = g_ptr_array_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new (NULL, NULL);

  g_return_val_if_fail (n_libraries != NULL, NULL);

  dl_iterate_phdr (collect, paths);
  for (guint i = 0; i < paths->len; i++)
    {
      JobNativeLibrary *library = probe (g_ptr_array_index (paths, i));

      if (library == NULL)
        continue;
      /* libomp.so.5 and libomp5.so may be the same object */
      if (g_hash_table_contains (seen, library->set))
        {
          job_native_library_unref (library);
          continue;
        }
      g_hash_table_add (seen, library->set);
      g_ptr_array_add (libraries, library);
    }

  *n_libraries = libraries->len;
  return (JobNativeLibrary **) g_ptr_array_free (libraries, FALSE);
}

/**
 * job_native_library_limit_all:
 * @user_api: (nullable): `"blas"`, `"openmp"`, or %NULL for both
 * @n_threads: the thread count, at least 1
 *
 * Sets the thread count of every loaded library of @user_api, like
 * `threadpoolctl.threadpool_limits(n_threads, user_api)`. Thread-safe as
 * far as the libraries' setters are (see [struct@Joblib.NativeLibrary]).
 *
 * Returns: the number of libraries changed
 */
guint
job_native_library_limit_all (const char *user_api,
                              int         n_threads)
{
  JobNativeLibrary **libraries;
  guint n = 0, changed = 0;

  g_return_val_if_fail (n_threads >= 1, 0);
  g_return_val_if_fail (user_api == NULL || g_str_equal (user_api, "blas") ||
                        g_str_equal (user_api, "openmp"), 0);

  libraries = job_native_library_list_loaded (&n);
  for (guint i = 0; i < n; i++)
    {
      if (user_api == NULL || g_str_equal (user_api, libraries[i]->user_api))
        {
          libraries[i]->set (n_threads);
          changed++;
        }
      job_native_library_unref (libraries[i]);
    }
  g_free (libraries);
  return changed;
}

/**
 * job_native_library_ref:
 * @self: a #JobNativeLibrary
 *
 * Acquires a reference. Thread-safe.
 *
 * Returns: (transfer full): @self
 */
JobNativeLibrary *
job_native_library_ref (JobNativeLibrary *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

/**
 * job_native_library_unref:
 * @self: (transfer full): a #JobNativeLibrary
 *
 * Drops a reference.
 */
void
job_native_library_unref (JobNativeLibrary *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  g_free (self->path);
  g_free (self);
}

/**
 * job_native_library_get_path:
 * @self: a #JobNativeLibrary
 *
 * Gets the file the library was loaded from.
 *
 * Returns: (transfer none) (type filename): the path
 */
const char *
job_native_library_get_path (JobNativeLibrary *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->path;
}

/**
 * job_native_library_get_internal_api:
 * @self: a #JobNativeLibrary
 *
 * Gets the implementation: `"openblas"`, `"mkl"`, `"blis"`,
 * `"flexiblas"` or `"openmp"`.
 *
 * Returns: (transfer none): the implementation's name
 */
const char *
job_native_library_get_internal_api (JobNativeLibrary *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->internal_api;
}

/**
 * job_native_library_get_user_api:
 * @self: a #JobNativeLibrary
 *
 * Gets what the library offers: `"blas"` or `"openmp"`.
 *
 * Returns: (transfer none): the API's name
 */
const char *
job_native_library_get_user_api (JobNativeLibrary *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->user_api;
}

/**
 * job_native_library_get_num_threads:
 * @self: a #JobNativeLibrary
 *
 * Reads the library's current thread count (for OpenMP, the calling
 * thread's `omp_get_max_threads()`).
 *
 * Returns: the thread count
 */
int
job_native_library_get_num_threads (JobNativeLibrary *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->get ();
}

/**
 * job_native_library_set_num_threads:
 * @self: a #JobNativeLibrary
 * @n_threads: the thread count
 * @error: return location for a #GError
 *
 * Sets the library's thread count. Fails with
 * [error@Joblib.Error.INVALID_ARGUMENT] when @n_threads is below 1.
 *
 * Returns: %TRUE on success
 */
gboolean
job_native_library_set_num_threads (JobNativeLibrary  *self,
                                    int                n_threads,
                                    GError           **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (n_threads < 1)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
                   _("A thread pool needs at least one thread, not %d"), n_threads);
      return FALSE;
    }
  self->set (n_threads);
  return TRUE;
}
