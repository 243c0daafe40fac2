/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include "config.h"

#include <dlfcn.h>

#include <gmodule.h>

#include "job-error.h"
#include "job-function.h"
#include "job-i18n-private.h"
#include "job-worker-command-private.h"
#include "job-worker-protocol-private.h"

/* Commands set by the application, by reference kind. */
static GMutex commands_mutex;
static GHashTable *commands; /* (owned) kind → GStrv */

void
job_worker_command_set (const char         *kind,
                        const char * const *argv)
{
  g_mutex_lock (&commands_mutex);
  if (commands == NULL)
    commands = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                      (GDestroyNotify) g_strfreev);
  if (argv == NULL || argv[0] == NULL)
    g_hash_table_remove (commands, kind);
  else
    g_hash_table_insert (commands, g_strdup (kind), g_strdupv ((char **) argv));
  g_mutex_unlock (&commands_mutex);
}

/* The prefix the running library was installed into, found from its own
 * file name (dladdr): the configured prefix when the library sits in a
 * build tree or in a layout that does not end in the configured libdir. */
static const char *
library_dir (void)
{
  static char *dir = NULL;

  if (g_once_init_enter (&dir))
    {
      Dl_info info = { 0, };
      char *found = NULL;

      /* A relative name (LD_LIBRARY_PATH=build) is relative to the
       * folder the process started in: taken as the current one. */
      if (dladdr ((void *) job_worker_command_dup, &info) != 0 && info.dli_fname != NULL &&
          strchr (info.dli_fname, '/') != NULL)
        {
          g_autofree char *path = g_canonicalize_filename (info.dli_fname, NULL);

          found = g_path_get_dirname (path);
        }
      g_once_init_leave (&dir, found != NULL ? found : g_strdup (""));
    }
  return dir;
}

static const char *
installed_prefix (void)
{
  static char *prefix = NULL;

  if (g_once_init_enter (&prefix))
    {
      const char *libdir = library_dir ();
      gsize len = strlen (libdir), rel_len = strlen (JOB_LIBDIR_REL);
      char *found = NULL;

      if (!g_path_is_absolute (JOB_LIBDIR_REL) &&
          len > rel_len + 1 && libdir[len - rel_len - 1] == '/' &&
          strcmp (libdir + len - rel_len, JOB_LIBDIR_REL) == 0)
        found = g_strndup (libdir, len - rel_len - 1);
      g_once_init_leave (&prefix, found != NULL ? found : g_strdup (JOB_PREFIX));
    }
  return prefix;
}

/* @relative (to the prefix) in the prefix of the running library if it is
 * there, else in the configured prefix. */
static char *
installed_file (const char *relative)
{
  g_autofree char *relocated = NULL;

  if (g_path_is_absolute (relative))
    return g_strdup (relative);
  relocated = g_build_filename (installed_prefix (), relative, NULL);

  if (g_file_test (relocated, G_FILE_TEST_EXISTS))
    return g_steal_pointer (&relocated);
  return g_build_filename (JOB_PREFIX, relative, NULL);
}

/* g_strv_builder_take() is GLib 2.80. */
static void
builder_take (GStrvBuilder *builder,
              char         *value)
{
  g_strv_builder_add (builder, value);
  g_free (value);
}

static char *
from_environment (const char *variable)
{
  const char *value = g_getenv (variable);

  return value != NULL && value[0] != '\0' ? g_strdup (value) : NULL;
}

/**
 * job_worker_command_find_program:
 * @name: `"joblib-glib-worker"`, `"joblib-glib-worker-connect"`,
 *   `"joblib-glib-worker-launch"` or `"joblib-glib-cluster-submit"`
 *
 * Returns: (transfer full): the path of an installed helper program,
 *   honouring its environment variable
 */
char *
job_worker_command_find_program (const char *name)
{
  static const struct { const char *name, *variable; } variables[] = {
    { "joblib-glib-worker", "JOB_WORKER_PATH" },
    { "joblib-glib-worker-connect", "JOB_WORKER_CONNECT_PATH" },
    { "joblib-glib-worker-launch", "JOB_WORKER_LAUNCH_PATH" },
    { "joblib-glib-cluster-submit", "JOB_CLUSTER_SUBMIT_PATH" },
  };
  g_autofree char *relative = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (variables); i++)
    if (strcmp (variables[i].name, name) == 0)
      {
        char *path = from_environment (variables[i].variable);

        if (path != NULL)
          return path;
      }
  /* An uninstalled build: the programs are built in worker/ next to the
   * library (libjoblib-glib/worker/ in the build tree). */
  if (library_dir ()[0] != '\0')
    {
      g_autofree char *built = g_build_filename (library_dir (), "worker", name, NULL);

      if (g_file_test (built, G_FILE_TEST_IS_EXECUTABLE))
        return g_steal_pointer (&built);
    }
  relative = g_build_filename (JOB_LIBEXECDIR_REL, name, NULL);
  return installed_file (relative);
}

/**
 * job_worker_command_find_tls_module:
 *
 * Returns: (transfer full): the path of the GnuTLS module that makes
 *   certificates: $JOB_TLS_MODULE_PATH, the one built next to an
 *   uninstalled library, else the installed one
 */
char *
job_worker_command_find_tls_module (void)
{
  g_autofree char *file = g_module_build_path (NULL, "joblib-glib-tls");
  g_autofree char *relative = NULL;
  char *path = from_environment ("JOB_TLS_MODULE_PATH");

  if (path != NULL)
    return path;
  if (library_dir ()[0] != '\0')
    {
      g_autofree char *built = g_build_filename (library_dir (), "tls", file, NULL);

      if (g_file_test (built, G_FILE_TEST_EXISTS))
        return g_steal_pointer (&built);
    }
  relative = g_build_filename (JOB_TLS_MODULE_DIR_REL, file, NULL);
  return installed_file (relative);
}

/* The Python interpreter of "python" workers: $JOB_PYTHON, else the one
 * the joblib_glib package was installed for (set at configure time), else
 * python3 from PATH. The joblib_glib package sets the interpreter that
 * runs it (job_worker_command_set()), so Python callers never get here. */
static char *
python_interpreter (void)
{
  char *python = from_environment ("JOB_PYTHON");

  if (python == NULL && g_file_test (JOB_PYTHON_INTERPRETER, G_FILE_TEST_IS_EXECUTABLE))
    python = g_strdup (JOB_PYTHON_INTERPRETER);
  if (python == NULL)
    python = g_find_program_in_path ("python3");
  return python != NULL ? python : g_strdup ("python3");
}

char **
job_worker_command_dup_cluster_helper (void)
{
  GStrvBuilder *builder = g_strv_builder_new ();
  char **argv;

  /* A Python program that needs only the standard library and the
   * cluster's package, run by its file name: joblib_glib (and gi) need
   * not be importable by that interpreter. */
  builder_take (builder, python_interpreter ());
  builder_take (builder, job_worker_command_find_program ("joblib-glib-cluster-submit"));
  argv = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);
  return argv;
}

char **
job_worker_command_dup (const char  *kind,
                        GError     **error)
{
  char **argv = NULL;

  g_mutex_lock (&commands_mutex);
  if (commands != NULL)
    argv = g_strdupv (g_hash_table_lookup (commands, kind));
  g_mutex_unlock (&commands_mutex);
  if (argv != NULL)
    return argv;

  if (g_strcmp0 (kind, JOB_FUNCTION_REFERENCE_NATIVE) == 0)
    {
      GStrvBuilder *builder = g_strv_builder_new ();

      builder_take (builder, job_worker_command_find_program ("joblib-glib-worker"));
      argv = g_strv_builder_end (builder);
      g_strv_builder_unref (builder);
      return argv;
    }

  if (g_strcmp0 (kind, "python") == 0)
    {
      GStrvBuilder *builder = g_strv_builder_new ();

      builder_take (builder, python_interpreter ());
      g_strv_builder_add_many (builder, "-m", "joblib_glib.worker", NULL);
      argv = g_strv_builder_end (builder);
      g_strv_builder_unref (builder);
      return argv;
    }

  if (g_strcmp0 (kind, "gjs") == 0)
    {
      /* GJS cannot move descriptors or ask for a parent-death signal:
       * joblib-glib-worker-launch does both, then runs
       * `gjs -m worker.js`, which speaks the protocol on fds 4 and 5 while
       * its stdout goes to our stderr. */
      GStrvBuilder *builder = g_strv_builder_new ();
      g_autofree char *script = from_environment ("JOB_GJS_WORKER_PATH");
      g_autofree char *protocol = g_strdup_printf ("JOB_WORKER_PROTOCOL=%d",
                                                   JOB_WORKER_PROTOCOL_VERSION);

      if (script == NULL)
        {
          g_autofree char *relative = g_build_filename (JOB_DATADIR_REL, JOB_PACKAGE_NAME,
                                                        "gjs", "worker.js", NULL);
          script = installed_file (relative);
        }
      builder_take (builder, job_worker_command_find_program ("joblib-glib-worker-launch"));
      g_strv_builder_add_many (builder, "--protocol-fds", "4,5",
                               "--setenv", "JOB_GJS_WORKER_FDS=4,5",
                               "--setenv", protocol,
                               "--", "gjs", "-m", script, NULL);
      argv = g_strv_builder_end (builder);
      g_strv_builder_unref (builder);
      return argv;
    }

  g_set_error (error, JOB_ERROR, JOB_ERROR_UNSUPPORTED,
               _("No worker program is known for “%s” function references"),
               kind);
  return NULL;
}
