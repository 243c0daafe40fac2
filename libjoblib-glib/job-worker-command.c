/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-error.h"
#include "job-function.h"
#include "job-i18n-private.h"
#include "job-worker-command-private.h"
#include "job-worker-protocol-private.h"

/* Worker programs by reference kind. */
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
      /* JOB_WORKER_PATH: uninstalled builds and tests. */
      const char *path = g_getenv ("JOB_WORKER_PATH");
      char *default_argv[] = { NULL, NULL };

      default_argv[0] = (char *) (path != NULL && path[0] != '\0'
                                  ? path : JOB_LIBEXECDIR "/joblib-glib-worker");
      return g_strdupv (default_argv);
    }
  if (g_strcmp0 (kind, "python") == 0)
    {
      const char * const python_argv[] = { "/usr/bin/python3", "-m", "joblib_glib.worker", NULL };

      return g_strdupv ((char **) python_argv);
    }

  if (g_strcmp0 (kind, "gjs") == 0)
    {
      /* bindings/gjs/worker.js; JOB_GJS_WORKER_PATH: uninstalled builds.
       * setpriv: the worker dies with us, as the native one does (prctl);
       * sh moves the protocol to fds 4 and 5 and points stdout at stderr,
       * which JS cannot do itself; the worker speaks our version. */
      const char *path = g_getenv ("JOB_GJS_WORKER_PATH");
      g_autofree char *script =
        g_strdup_printf ("exec 4<&0 5>&1 </dev/null >&2; JOB_GJS_WORKER_FDS=4,5 "
                         "JOB_WORKER_PROTOCOL=%d exec gjs -m \"$0\"",
                         JOB_WORKER_PROTOCOL_VERSION);
      const char * const gjs_argv[] = {
        "setpriv", "--pdeathsig", "KILL", "/bin/sh", "-c", script,
        path != NULL && path[0] != '\0' ? path : JOB_GJS_WORKER, NULL
      };

      return g_strdupv ((char **) gjs_argv);
    }

  g_set_error (error, JOB_ERROR, JOB_ERROR_UNSUPPORTED,
               _("No worker program is known for “%s” function references"),
               kind);
  return NULL;
}
