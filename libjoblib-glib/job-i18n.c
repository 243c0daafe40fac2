/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <libintl.h>

#include "job-i18n-private.h"

const char *
job_gettext (const char *msgid)
{
  static gsize initialised = 0;

  if (g_once_init_enter (&initialised))
    {
      /* JOB_LOCALEDIR points uninstalled runs (the tests, the CLI in the
       * build tree) at the catalogs built in <builddir>/po. */
      const char *localedir = g_getenv ("JOB_LOCALEDIR");

      if (localedir == NULL || localedir[0] == '\0')
        localedir = JOB_LOCALEDIR;
      bindtextdomain (GETTEXT_PACKAGE, localedir);
      bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
      g_once_init_leave (&initialised, 1);
    }

  return g_dgettext (GETTEXT_PACKAGE, msgid);
}
