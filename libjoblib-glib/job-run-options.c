/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-error.h"
#include "job-i18n-private.h"
#include "job-parallel-dispatcher-private.h"

/* The options of one run (see JobRunOptions): what JobParallel resolves
 * and the dispatcher takes. */

void
job_run_options_clear (JobRunOptions *options)
{
  g_clear_object (&options->backend);
  g_clear_pointer (&options->nesting, job_nesting_unref);
  if (options->callback_destroy != NULL)
    g_clear_pointer (&options->callback_data, options->callback_destroy);
  options->callback_destroy = NULL;
}

gboolean
job_run_options_parse_pre_dispatch (const char  *text,
                                    int          n_workers,
                                    guint       *out,
                                    GError     **error)
{
  g_autofree char *compact = g_strdup (text);
  const char *rest;
  guint64 factor = 1;
  char *end = NULL;

  /* allow spaces, as Python expressions do */
  {
    char *w = compact;

    for (const char *r = text; *r; r++)
      if (!g_ascii_isspace (*r))
        *w++ = *r;
    *w = '\0';
  }

  if (g_str_equal (compact, "all"))
    {
      *out = G_MAXUINT;
      return TRUE;
    }

  rest = compact;
  if (g_ascii_isdigit (*rest))
    {
      factor = g_ascii_strtoull (rest, &end, 10);
      rest = end;
      if (*rest == '\0')
        {
          if (factor == 0 || factor > G_MAXUINT)
            goto invalid;
          *out = (guint) factor;
          return TRUE;
        }
      if (*rest != '*')
        goto invalid;
      rest++;
    }

  if (!g_str_equal (rest, "n_jobs") || factor == 0 || factor > G_MAXINT)
    goto invalid;

  *out = (guint) MIN (factor * (guint64) n_workers, (guint64) G_MAXUINT);
  return TRUE;

invalid:
  g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
               _("pre_dispatch “%s” is not “all”, “n_jobs”, “k*n_jobs” or a positive count"),
               text);
  return FALSE;
}
