/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Task functions for the process backend tests, loaded by the native
 * worker (and by the tests themselves) with GModule. */

#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <joblib-glib.h>

#define TASK_EXPORT G_MODULE_EXPORT GVariant *
#define TASK_ARGS GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error

TASK_EXPORT task_square (TASK_ARGS);
TASK_EXPORT task_pid (TASK_ARGS);
TASK_EXPORT task_sleep (TASK_ARGS);
TASK_EXPORT task_fail (TASK_ARGS);
TASK_EXPORT task_crash (TASK_ARGS);
TASK_EXPORT task_exit (TASK_ARGS) G_GNUC_NORETURN;
TASK_EXPORT task_kill (TASK_ARGS);
TASK_EXPORT task_sum_bytes (TASK_ARGS);
TASK_EXPORT task_getenv (TASK_ARGS);
TASK_EXPORT task_print (TASK_ARGS);
TASK_EXPORT task_counted_result (TASK_ARGS);
TASK_EXPORT task_payload (TASK_ARGS);
TASK_EXPORT task_barrier (TASK_ARGS);

/* (x) → x² */
TASK_EXPORT
task_square (TASK_ARGS)
{
  gint64 x;

  g_variant_get (args, "(x)", &x);
  return g_variant_new_int64 (x * x);
}

/* () → the pid of the process that ran the task */
TASK_EXPORT
task_pid (TASK_ARGS)
{
  return g_variant_new_int64 (getpid ());
}

/* (d) → sleeps that many seconds, returns the pid */
TASK_EXPORT
task_sleep (TASK_ARGS)
{
  double seconds;

  /* (d, …): more arguments are ignored (shared-memory tests) */
  g_variant_get_child (args, 0, "d", &seconds);
  g_usleep ((gulong) (seconds * G_USEC_PER_SEC));
  return g_variant_new_int64 (getpid ());
}

/* () → an error of a domain the parent does not know */
TASK_EXPORT
task_fail (TASK_ARGS)
{
  g_set_error_literal (error, g_quark_from_static_string ("test-tasks-error"), 7,
                       "failed on purpose");
  return NULL;
}

TASK_EXPORT
task_crash (TASK_ARGS)
{
  /* Die by the signal itself, even where a sanitizer catches SIGSEGV to
   * report it: a crash on purpose is no finding. */
  signal (SIGSEGV, SIG_DFL);
  raise (SIGSEGV);
  return NULL;
}

TASK_EXPORT
task_exit (TASK_ARGS)
{
  exit (3);
}

TASK_EXPORT
task_kill (TASK_ARGS)
{
  kill (getpid (), SIGKILL);
  g_usleep (G_USEC_PER_SEC);
  return NULL;
}

/* (ay) → (sum of the bytes, the joblib-glib files this process maps) */
TASK_EXPORT
task_sum_bytes (TASK_ARGS)
{
  g_autoptr(GVariant) array = NULL;
  g_autofree char *maps = NULL;
  g_auto(GStrv) lines = NULL;
  GVariantBuilder paths;
  const guint8 *data;
  gsize n;
  guint64 sum = 0;

  g_variant_get (args, "(@ay)", &array);
  data = g_variant_get_fixed_array (array, &n, 1);
  for (gsize i = 0; i < n; i++)
    sum += data[i];

  g_variant_builder_init (&paths, G_VARIANT_TYPE ("as"));
  if (g_file_get_contents ("/proc/self/maps", &maps, NULL, NULL))
    {
      lines = g_strsplit (maps, "\n", -1);
      for (gsize i = 0; lines[i] != NULL; i++)
        {
          const char *path = strchr (lines[i], '/');

          if (path != NULL && strstr (path, "/joblib-glib-") != NULL &&
              strstr (path, ".so") == NULL && strstr (path, "worker") == NULL)
            g_variant_builder_add (&paths, "s", path);
        }
    }

  return g_variant_new ("(tas)", sum, &paths);
}

/* (s) → the value of that environment variable, or "" */
TASK_EXPORT
task_getenv (TASK_ARGS)
{
  const char *name;
  const char *value;

  g_variant_get (args, "(&s)", &name);
  value = g_getenv (name);
  return g_variant_new_string (value != NULL ? value : "");
}

/* () → prints to stdout (which must not reach the protocol) and returns 1 */
TASK_EXPORT
task_print (TASK_ARGS)
{
  printf ("JOBW garbage on stdout\n");
  fflush (stdout);
  return g_variant_new_int32 (1);
}

/* () → the thread count of the OpenBLAS loaded by this task, as
 * JobNativeLibrary reads it, or -1 when OpenBLAS is not installed */
TASK_EXPORT task_blas_threads (TASK_ARGS);

TASK_EXPORT
task_blas_threads (TASK_ARGS)
{
  JobNativeLibrary **libraries;
  guint n = 0;
  int threads = -1;

  if (dlopen ("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL) == NULL)
    return g_variant_new_int32 (-1);

  libraries = job_native_library_list_loaded (&n);
  for (guint i = 0; i < n; i++)
    {
      if (g_str_equal (job_native_library_get_internal_api (libraries[i]), "openblas"))
        threads = job_native_library_get_num_threads (libraries[i]);
      job_native_library_unref (libraries[i]);
    }
  g_free (libraries);
  return g_variant_new_int32 (threads);
}

/* (s) → () and remembers the string: the worker initializer of the tests */
static char *init_value;

TASK_EXPORT task_init (TASK_ARGS);
TASK_EXPORT task_read_init (TASK_ARGS);

TASK_EXPORT
task_init (TASK_ARGS)
{
  g_free (init_value);
  g_variant_get (args, "(s)", &init_value);
  return g_variant_new ("()");
}

/* () → what task_init remembered in this process, or "" */
TASK_EXPORT
task_read_init (TASK_ARGS)
{
  return g_variant_new_string (init_value != NULL ? init_value : "");
}

/* Results of task_counted_result in this process: made, and released by
 * whoever held them last. */
static gint n_counted_made;
static gint n_counted_freed;

static void
counted_freed (gpointer data)
{
  g_atomic_int_inc (&n_counted_freed);
  g_free (data);
}

/* (x) → (x, results made before this one, results released so far) in
 * this process, as a full (not floating) reference: functions return
 * (transfer full), and a caller that references such a result again
 * leaks it. The value is serialized in bytes whose release is counted. */
TASK_EXPORT
task_counted_result (TASK_ARGS)
{
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GBytes) bytes = NULL;
  gpointer data;
  gint64 x;

  g_variant_get (args, "(x)", &x);
  value = g_variant_ref_sink (g_variant_new ("(xii)", x,
                                             g_atomic_int_add (&n_counted_made, 1),
                                             g_atomic_int_get (&n_counted_freed)));
  data = g_memdup2 (g_variant_get_data (value), g_variant_get_size (value));
  bytes = g_bytes_new_with_free_func (data, g_variant_get_size (value), counted_freed, data);
  return g_variant_take_ref (g_variant_new_from_bytes (G_VARIANT_TYPE ("(xii)"), bytes, TRUE));
}

/* (xu) → @size bytes of value x mod 256 (the soak test's task) */
TASK_EXPORT
task_payload (TASK_ARGS)
{
  gint64 x;
  guint32 size;
  guint8 *data;

  g_variant_get (args, "(xu)", &x, &size);
  data = g_malloc (size);
  memset (data, (int) (x & 0xff), size);
  return g_variant_new_from_data (G_VARIANT_TYPE_BYTESTRING, data, size, TRUE, g_free, data);
}

/* (si) → leaves a file named after its pid in the folder, then waits
 * (up to 60 s) until the folder holds that many files: tasks that only
 * return once that many of them run at the same time, in as many
 * processes. Returns the pid; fails when the others never came. */
TASK_EXPORT
task_barrier (TASK_ARGS)
{
  const char *folder;
  gint32 n;
  g_autofree char *name = NULL;
  g_autofree char *path = NULL;

  g_variant_get (args, "(&si)", &folder, &n);
  name = g_strdup_printf ("%d", (int) getpid ());
  path = g_build_filename (folder, name, NULL);
  if (!g_file_set_contents (path, "", 0, error))
    return NULL;
  for (int i = 0; i < 6000; i++)
    {
      g_autoptr(GDir) dir = g_dir_open (folder, 0, error);
      int seen = 0;

      if (dir == NULL)
        return NULL;
      while (g_dir_read_name (dir) != NULL)
        seen++;
      if (seen >= n)
        return g_variant_new_int64 (getpid ());
      g_usleep (10000);
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
               "only some of the %d barrier tasks ran at the same time", (int) n);
  return NULL;
}
