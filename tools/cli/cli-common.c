/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * What every subcommand of joblib-glib shares: option contexts and their
 * help, usage errors and failures with their exit codes, sizes, ages and
 * counts on the command line. Below both the main program and the
 * subcommands, which call it.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli-private.h"

const char *
cli_exit_codes_text (void)
{
  return _("Exit status:\n"
           "  0  success\n"
           "  1  failure: a missing file or cache, an I/O error\n"
           "  2  usage error: unknown command, bad option or argument\n"
           "  3  invalid data: a corrupt, truncated or unsupported file");
}

GOptionContext *
cli_option_context_new (const char *command,
                        const char *parameters,
                        const char *summary)
{
  g_autofree char *prgname = g_strdup_printf ("joblib-glib %s", command);
  GOptionContext *context = g_option_context_new (parameters);

  /* Usage lines and hints then read "joblib-glib cache reduce …". */
  g_set_prgname (prgname);

  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context, summary);
  g_option_context_set_description (context, cli_exit_codes_text ());
  return context;
}

/* Parses the options of one command; on failure sets the exit code. */
gboolean
cli_parse (GOptionContext   *context,
           int              *argc,
           char           ***argv,
           int              *exit_code)
{
  g_autoptr(GError) error = NULL;

  if (g_option_context_parse (context, argc, argv, &error))
    return TRUE;
  *exit_code = cli_usage_error (context, "%s", error->message);
  return FALSE;
}

int
cli_usage_error (GOptionContext *context,
                 const char     *format,
                 ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("joblib-glib: %s\n", message);
  if (context != NULL)
    g_printerr (_("Try “%s --help” for more information.\n"), g_get_prgname ());
  return CLI_EXIT_USAGE;
}

/* Reports @error (taking it) and maps it to an exit code. */
int
cli_fail (GError     *error,
          const char *what)
{
  int code = CLI_EXIT_FAILED;

  if (g_error_matches (error, JOB_ERROR, JOB_ERROR_INVALID_DATA) ||
      g_error_matches (error, JOB_ERROR, JOB_ERROR_UNSUPPORTED) ||
      g_error_matches (error, JOB_ERROR, JOB_ERROR_TOO_LARGE))
    code = CLI_EXIT_INVALID_DATA;
  g_printerr ("joblib-glib: %s: %s\n", what, error->message);
  g_error_free (error);
  return code;
}

char *
cli_format_size (guint64 bytes)
{
  return g_format_size_full (bytes, G_FORMAT_SIZE_IEC_UNITS);
}

/* "1000", "10K", "1.5MiB", "2G": powers of 1024, as du does. */
gboolean
cli_parse_size (const char *text,
                guint64    *bytes)
{
  static const struct { const char *suffix; double factor; } units[] = {
    { "", 1 }, { "B", 1 },
    { "K", 1024.0 }, { "KB", 1024.0 }, { "KIB", 1024.0 },
    { "M", 1048576.0 }, { "MB", 1048576.0 }, { "MIB", 1048576.0 },
    { "G", 1073741824.0 }, { "GB", 1073741824.0 }, { "GIB", 1073741824.0 },
    { "T", 1099511627776.0 }, { "TB", 1099511627776.0 }, { "TIB", 1099511627776.0 },
  };
  char *end = NULL;
  double value;

  if (text == NULL || *text == '\0' || !g_ascii_isdigit (*text))
    return FALSE;
  value = g_ascii_strtod (text, &end);
  for (guint i = 0; i < G_N_ELEMENTS (units); i++)
    if (g_ascii_strcasecmp (end, units[i].suffix) == 0)
      {
        double total = value * units[i].factor;

        if (!isfinite (total) || total >= 18446744073709551615.0)
          return FALSE;
        *bytes = (guint64) total;
        return TRUE;
      }
  return FALSE;
}

/* "90", "90s", "15m", "12h", "7d", "2w". */
gboolean
cli_parse_age (const char *text,
               double     *seconds)
{
  char *end = NULL;
  double value, factor;

  if (text == NULL || *text == '\0' || !g_ascii_isdigit (*text))
    return FALSE;
  value = g_ascii_strtod (text, &end);
  if (g_str_equal (end, "") || g_str_equal (end, "s"))
    factor = 1;
  else if (g_str_equal (end, "m"))
    factor = 60;
  else if (g_str_equal (end, "h"))
    factor = 3600;
  else if (g_str_equal (end, "d"))
    factor = 86400;
  else if (g_str_equal (end, "w"))
    factor = 7 * 86400;
  else
    return FALSE;
  if (!isfinite (value * factor))
    return FALSE;
  *seconds = value * factor;
  return TRUE;
}

gboolean
cli_parse_count (const char *text,
                 guint      *count)
{
  guint64 value;

  if (text == NULL || !g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT, &value, NULL))
    return FALSE;
  *count = (guint) value;
  return TRUE;
}
