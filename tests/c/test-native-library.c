/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dlfcn.h>

#include <joblib-glib.h>

/* The libraries are loaded here with dlopen(), as an application would
 * load numpy's BLAS; the test skips what is not installed. */

static JobNativeLibrary *
find_loaded (const char *internal_api)
{
  JobNativeLibrary *found = NULL;
  guint n = 0;
  JobNativeLibrary **libraries = job_native_library_list_loaded (&n);

  for (guint i = 0; i < n; i++)
    {
      if (found == NULL &&
          g_str_equal (job_native_library_get_internal_api (libraries[i]), internal_api))
        found = job_native_library_ref (libraries[i]);
      job_native_library_unref (libraries[i]);
    }
  g_free (libraries);
  return found;
}

static gboolean
load (const char *soname)
{
  /* never closed: the library stays for the whole test */
  return dlopen (soname, RTLD_NOW | RTLD_LOCAL) != NULL;
}

static void
check_library (const char *soname,
               const char *internal_api,
               const char *user_api)
{
  g_autoptr(JobNativeLibrary) library = NULL;
  g_autoptr(GError) error = NULL;

  if (!load (soname))
    {
      g_test_skip_printf ("%s is not installed", soname);
      return;
    }

  library = find_loaded (internal_api);
  g_assert_nonnull (library);
  g_assert_cmpstr (job_native_library_get_user_api (library), ==, user_api);
  g_assert_true (g_path_is_absolute (job_native_library_get_path (library)));

  g_assert_true (job_native_library_set_num_threads (library, 3, &error));
  g_assert_no_error (error);
  g_assert_cmpint (job_native_library_get_num_threads (library), ==, 3);

  /* limit_all reaches it through its user API only */
  g_assert_cmpuint (job_native_library_limit_all (user_api, 1), >=, 1);
  g_assert_cmpint (job_native_library_get_num_threads (library), ==, 1);
  job_native_library_limit_all (g_str_equal (user_api, "blas") ? "openmp" : "blas", 2);
  g_assert_cmpint (job_native_library_get_num_threads (library), ==, 1);
  g_assert_cmpuint (job_native_library_limit_all (NULL, 2), >=, 1);
  g_assert_cmpint (job_native_library_get_num_threads (library), ==, 2);

  /* bad input: an error, and the count is unchanged */
  g_assert_false (job_native_library_set_num_threads (library, 0, &error));
  g_assert_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT);
  g_assert_cmpint (job_native_library_get_num_threads (library), ==, 2);
}

static void
test_openmp (void)
{
  check_library ("libgomp.so.1", "openmp", "openmp");
}

static void
test_openblas (void)
{
  check_library ("libopenblas.so.0", "openblas", "blas");
}

static void
test_nothing_loaded_by_listing (void)
{
  guint n = 0;
  JobNativeLibrary **libraries = job_native_library_list_loaded (&n);

  /* RTLD_NOLOAD: listing never loads libblis into the process */
  for (guint i = 0; i < n; i++)
    {
      g_assert_cmpstr (job_native_library_get_internal_api (libraries[i]), !=, "blis");
      job_native_library_unref (libraries[i]);
    }
  g_free (libraries);
  g_assert_null (find_loaded ("blis"));
}

static void
test_bad_user_api (void)
{
  if (g_test_subprocess ())
    {
      job_native_library_limit_all ("cuda", 1);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*user_api*");
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/joblib/native-library/openmp", test_openmp);
  g_test_add_func ("/joblib/native-library/openblas", test_openblas);
  g_test_add_func ("/joblib/native-library/nothing-loaded-by-listing", test_nothing_loaded_by_listing);
  g_test_add_func ("/joblib/native-library/bad-user-api", test_bad_user_api);

  return g_test_run ();
}
