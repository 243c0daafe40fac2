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
      bindtextdomain (GETTEXT_PACKAGE, JOB_LOCALEDIR);
      bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
      g_once_init_leave (&initialised, 1);
    }

  return g_dgettext (GETTEXT_PACKAGE, msgid);
}
