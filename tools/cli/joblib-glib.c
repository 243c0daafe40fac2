/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * joblib-glib: look after caches and files written by joblib-glib.
 */
#include "config.h"

#include <locale.h>
#include <stdlib.h>

#include "cli-private.h"

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
  g_print ("\n%s\n", cli_exit_codes_text ());
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
