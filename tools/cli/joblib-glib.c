/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * joblib-glib: look after caches and files written by joblib-glib.
 */
#include "config.h"

#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli-private.h"

static const char *
exit_codes_text (void)
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
  g_option_context_set_description (context, exit_codes_text ());
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

static void
print_main_help (void)
{
  g_print ("%s\n", _("Usage:\n"
                     "  joblib-glib COMMAND [OPTION…] ARGUMENT…\n"
                     "\n"
                     "Look after the caches and files of joblib-glib.\n"
                     "\n"
                     "Commands:\n"
                     "  cache ls LOCATION        List the entries of a cache\n"
                     "  cache du LOCATION        Show the disk usage of a cache, per function\n"
                     "  cache show LOCATION ENTRY  Show one entry (FUNCTION/HASH or a hash prefix)\n"
                     "  cache clear LOCATION     Remove every entry of a cache\n"
                     "  cache reduce LOCATION    Remove the least recently used entries\n"
                     "                           until the cache fits the given limits\n"
                     "  info FILE                Describe a file written by dump, verifying it\n"
                     "  convert FILE OUT         Write FILE again with another compression\n"
                     "  help [COMMAND]           Show the help of a command\n"
                     "\n"
                     "Run “joblib-glib COMMAND --help” for the options of a command."));
  g_print ("\n%s\n", exit_codes_text ());
}

static int
dispatch (int    argc,
          char **argv)
{
  const char *command = argc > 1 ? argv[1] : NULL;

  if (command == NULL)
    {
      print_main_help ();
      return CLI_EXIT_USAGE;
    }
  if (g_str_equal (command, "--help") || g_str_equal (command, "-h"))
    {
      print_main_help ();
      return CLI_EXIT_OK;
    }
  if (g_str_equal (command, "--version"))
    {
      g_print ("joblib-glib %s\n", PACKAGE_VERSION);
      return CLI_EXIT_OK;
    }
  if (g_str_equal (command, "help"))
    {
      char *help_argv[] = { argv[0], argc > 2 ? argv[2] : NULL,
                            argc > 3 ? argv[3] : NULL, NULL, NULL };

      if (argc <= 2)
        {
          print_main_help ();
          return CLI_EXIT_OK;
        }
      /* "help cache reduce" is "cache reduce --help". */
      help_argv[argc > 3 ? 3 : 2] = (char *) "--help";
      return dispatch (argc > 3 ? 4 : 3, help_argv);
    }
  if (g_str_equal (command, "cache"))
    return cli_cache (argc - 1, argv + 1);
  if (g_str_equal (command, "info"))
    return cli_info (argc - 1, argv + 1);
  if (g_str_equal (command, "convert"))
    return cli_convert (argc - 1, argv + 1);

  g_printerr (_("joblib-glib: unknown command “%s”\n"), command);
  g_printerr (_("Try “%s --help” for more information.\n"), "joblib-glib");
  return CLI_EXIT_USAGE;
}

int
main (int    argc,
      char **argv)
{
  const char *localedir = g_getenv ("JOB_LOCALEDIR");

  setlocale (LC_ALL, "");
  /* JOB_LOCALEDIR points uninstalled runs (the tests) at the build tree's
   * catalogs; the library reads the same variable. */
  bindtextdomain (GETTEXT_PACKAGE, localedir != NULL && *localedir != '\0' ? localedir : JOB_LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_set_prgname ("joblib-glib");

  return dispatch (argc, argv);
}
