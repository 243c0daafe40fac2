/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * joblib-glib cache ls|du|show|clear|reduce LOCATION: the entries model
 * and reduce_size of JobMemory, for people who look after caches.
 */
#include "config.h"

#include <inttypes.h>

#include <string.h>

#include "cli-private.h"

typedef struct
{
  gboolean  done;
  GError   *error;
} Mounting;

static void
on_mounted (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Mounting *mounting = user_data;

  g_file_mount_enclosing_volume_finish (G_FILE (source), result, &mounting->error);
  mounting->done = TRUE;
}

/* An sftp:// (smb://, dav://…) location that GVfs has not mounted yet:
 * mount it, as `gio mount` would, but never ask for a password. */
static gboolean
mount_location (GFile   *root,
                GError **error)
{
  Mounting mounting = { FALSE, NULL };

  g_file_mount_enclosing_volume (root, G_MOUNT_MOUNT_NONE, NULL, NULL, on_mounted, &mounting);
  while (!mounting.done)
    g_main_context_iteration (NULL, TRUE);
  if (mounting.error != NULL &&
      !g_error_matches (mounting.error, G_IO_ERROR, G_IO_ERROR_ALREADY_MOUNTED))
    {
      g_propagate_error (error, mounting.error);
      return FALSE;
    }
  g_clear_error (&mounting.error);
  return TRUE;
}

/* A location without a joblib-glib tree is an error: listing it would
 * print nothing and hide a typo in the path. */
static JobMemory *
open_cache (const char  *location,
            GError     **error)
{
  g_autoptr(GFile) root = g_file_new_for_commandline_arg (location);
  g_autoptr(GFile) tree = g_file_get_child (root, "joblib-glib");
  g_autoptr(GError) query_error = NULL;
  g_autoptr(GFileInfo) info = g_file_query_info (tree, G_FILE_ATTRIBUTE_STANDARD_TYPE,
                                                 G_FILE_QUERY_INFO_NONE, NULL, &query_error);

  if (info == NULL && g_error_matches (query_error, G_IO_ERROR, G_IO_ERROR_NOT_MOUNTED))
    {
      if (!mount_location (root, error))
        return NULL;
      info = g_file_query_info (tree, G_FILE_ATTRIBUTE_STANDARD_TYPE, G_FILE_QUERY_INFO_NONE,
                                NULL, NULL);
    }
  if (info == NULL || g_file_info_get_file_type (info) != G_FILE_TYPE_DIRECTORY)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   _("No joblib-glib cache in “%s” (no “joblib-glib” folder)"), location);
      return NULL;
    }
  return job_memory_new (root);
}

/* "xxh3-128:9ca1e18…" without the algorithm tag, which every entry shares. */
static const char *
bare_hash (JobCacheEntry *entry)
{
  const char *hash = job_cache_entry_get_args_hash (entry);
  const char *colon = strchr (hash, ':');

  return colon != NULL ? colon + 1 : hash;
}

static char *
format_time (GDateTime *time)
{
  g_autoptr(GDateTime) local = NULL;

  if (time == NULL)
    return g_strdup ("-");
  local = g_date_time_to_local (time);
  return g_date_time_format (local, "%Y-%m-%d %H:%M:%S");
}

/* Parses "cache SUB [options] LOCATION [ARG]": one context per command so
 * that each has its own --help. */
static GOptionContext *
command_context (const char *sub,
                 const char *parameters,
                 const char *summary)
{
  g_autofree char *command = g_strconcat ("cache ", sub, NULL);

  return cli_option_context_new (command, parameters, summary);
}

/* Parses a cache command's options and checks its operands: LOCATION,
 * then ENTRY when @n_operands is 2. FALSE with *@exit_code set when the
 * command must stop (help printed, usage error). */
static gboolean
parse_command (GOptionContext   *context,
               int              *argc,
               char           ***argv,
               int               n_operands,
               int              *exit_code)
{
  if (!cli_parse (context, argc, argv, exit_code))
    return FALSE;
  if (*argc - 1 == n_operands)
    return TRUE;
  if (n_operands == 1)
    *exit_code = cli_usage_error (context, _("Expected one LOCATION, got %d arguments"), *argc - 1);
  else
    *exit_code = cli_usage_error (context, _("Expected LOCATION and ENTRY, got %d arguments"),
                                  *argc - 1);
  return FALSE;
}

/* open_cache(), or NULL with the failure reported in *@exit_code */
static JobMemory *
open_cache_or_fail (const char *location,
                    int        *exit_code)
{
  GError *error = NULL;
  JobMemory *memory = open_cache (location, &error);

  if (memory == NULL)
    *exit_code = cli_fail (error, location);
  return memory;
}

static int
cache_ls (int    argc,
          char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(JobMemory) memory = NULL;
  g_autoptr(GListModel) entries = NULL;
  int exit_code;

  context = command_context ("ls", _("LOCATION"),
                             _("List the entries of the cache at LOCATION: function, "
                               "arguments hash, size, last access and compute time."));
  if (!parse_command (context, &argc, &argv, 1, &exit_code) ||
      (memory = open_cache_or_fail (argv[1], &exit_code)) == NULL)
    return exit_code;

  entries = job_memory_list_entries (memory);
  g_print ("%-24s %-18s %10s  %-19s  %s\n", _("FUNCTION"), _("HASH"), _("SIZE"),
           _("LAST ACCESS"), _("DURATION"));
  for (guint i = 0, n = g_list_model_get_n_items (entries); i < n; i++)
    {
      g_autoptr(JobCacheEntry) entry = g_list_model_get_item (entries, i);
      g_autofree char *size = cli_format_size (job_cache_entry_get_size (entry));
      g_autofree char *access = format_time (job_cache_entry_get_last_access (entry));
      g_autofree char *hash = g_strndup (bare_hash (entry), 16);

      g_print ("%-24s %-18s %10s  %-19s  %.3f s\n", job_cache_entry_get_function_name (entry),
               hash, size, access, job_cache_entry_get_duration (entry));
    }
  return CLI_EXIT_OK;
}

static int
cache_du (int    argc,
          char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(JobMemory) memory = NULL;
  g_autoptr(GListModel) entries = NULL;
  g_autoptr(GHashTable) sizes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autofree char *total_text = NULL;
  guint64 total = 0;
  guint n;
  int exit_code;

  context = command_context ("du", _("LOCATION"),
                             _("Show the disk usage of the cache at LOCATION, per function "
                               "and in total, with the number of entries."));
  if (!parse_command (context, &argc, &argv, 1, &exit_code) ||
      (memory = open_cache_or_fail (argv[1], &exit_code)) == NULL)
    return exit_code;

  /* Entries come sorted by function name: sum runs of equal names. */
  entries = job_memory_list_entries (memory);
  n = g_list_model_get_n_items (entries);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(JobCacheEntry) entry = g_list_model_get_item (entries, i);
      const char *name = job_cache_entry_get_function_name (entry);
      guint64 *sum = g_hash_table_lookup (sizes, name);

      if (sum == NULL)
        {
          char *key = g_strdup (name);

          sum = g_new0 (guint64, 2);
          g_hash_table_insert (sizes, key, sum);
          g_ptr_array_add (names, key);
        }
      sum[0] += job_cache_entry_get_size (entry);
      sum[1]++;
      total += job_cache_entry_get_size (entry);
    }
  for (guint i = 0; i < names->len; i++)
    {
      guint64 *sum = g_hash_table_lookup (sizes, names->pdata[i]);
      g_autofree char *text = cli_format_size (sum[0]);

      g_print (ngettext ("%10s  %-24s %" PRIu64 " entry\n",
                         "%10s  %-24s %" PRIu64 " entries\n", sum[1]),
               text, (const char *) names->pdata[i], sum[1]);
    }
  total_text = cli_format_size (total);
  g_print (ngettext ("%10s  total, %u entry\n", "%10s  total, %u entries\n", n),
           total_text, n);
  return CLI_EXIT_OK;
}

static int
cache_show (int    argc,
            char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(JobMemory) memory = NULL;
  g_autoptr(GListModel) entries = NULL;
  g_autoptr(JobCacheEntry) found = NULL;
  g_autofree char *size = NULL;
  g_autofree char *access = NULL;
  g_autofree char *created = NULL;
  guint n_matches = 0;
  int exit_code;

  context = command_context ("show", _("LOCATION ENTRY"),
                             _("Show one entry of the cache at LOCATION: ENTRY is "
                               "FUNCTION/HASH, or the start of a hash that only one "
                               "entry has."));
  if (!parse_command (context, &argc, &argv, 2, &exit_code) ||
      (memory = open_cache_or_fail (argv[1], &exit_code)) == NULL)
    return exit_code;

  entries = job_memory_list_entries (memory);
  for (guint i = 0, n = g_list_model_get_n_items (entries); i < n; i++)
    {
      g_autoptr(JobCacheEntry) entry = g_list_model_get_item (entries, i);
      g_autofree char *full = g_strdup_printf ("%s/%s", job_cache_entry_get_function_name (entry),
                                               job_cache_entry_get_args_hash (entry));

      g_autofree char *short_full = g_strdup_printf ("%s/%s", job_cache_entry_get_function_name (entry),
                                                     bare_hash (entry));

      if (g_str_has_prefix (full, argv[2]) || g_str_has_prefix (short_full, argv[2]) ||
          g_str_has_prefix (job_cache_entry_get_args_hash (entry), argv[2]) ||
          g_str_has_prefix (bare_hash (entry), argv[2]))
        {
          n_matches++;
          g_set_object (&found, entry);
        }
    }
  if (n_matches == 0)
    {
      g_printerr (_("joblib-glib: no entry “%s” in %s\n"), argv[2], argv[1]);
      return CLI_EXIT_FAILED;
    }
  if (n_matches > 1)
    {
      g_printerr (_("joblib-glib: “%s” matches %u entries; give more of the hash\n"),
                  argv[2], n_matches);
      return CLI_EXIT_USAGE;
    }

  size = cli_format_size (job_cache_entry_get_size (found));
  access = format_time (job_cache_entry_get_last_access (found));
  created = format_time (job_cache_entry_get_created (found));
  g_print (_("Function:     %s\n"), job_cache_entry_get_function_name (found));
  g_print (_("Hash:         %s\n"), job_cache_entry_get_args_hash (found));
  g_print (_("Arguments:    %s\n"), job_cache_entry_get_input_args (found) ?: "-");
  g_print (_("Size:         %s\n"), size);
  g_print (_("Created:      %s\n"), created);
  g_print (_("Last access:  %s\n"), access);
  g_print (_("Duration:     %.3f s\n"), job_cache_entry_get_duration (found));
  return CLI_EXIT_OK;
}

static int
cache_clear (int    argc,
             char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(JobMemory) memory = NULL;
  g_autoptr(GListModel) entries = NULL;
  GError *error = NULL;
  guint n;
  int exit_code;

  context = command_context ("clear", _("LOCATION"),
                             _("Remove every entry of the cache at LOCATION, as "
                               "Memory.clear() does."));
  if (!parse_command (context, &argc, &argv, 1, &exit_code) ||
      (memory = open_cache_or_fail (argv[1], &exit_code)) == NULL)
    return exit_code;

  entries = job_memory_list_entries (memory);
  n = g_list_model_get_n_items (entries);
  if (!job_memory_clear (memory, &error))
    return cli_fail (error, argv[1]);
  /* the files go on a background thread: say "removed" once they are */
  job_memory_wait_reclaimed (memory);
  g_print (ngettext ("Removed %u entry\n", "Removed %u entries\n", n), n);
  return CLI_EXIT_OK;
}

static int
cache_reduce (int    argc,
              char **argv)
{
  g_autofree char *bytes_text = NULL;
  g_autofree char *items_text = NULL;
  g_autofree char *age_text = NULL;
  const GOptionEntry entries[] = {
    { "bytes-limit", 'b', 0, G_OPTION_ARG_STRING, &bytes_text,
      N_("Keep at most SIZE bytes (suffixes K, M, G, T: powers of 1024)"), N_("SIZE") },
    { "items-limit", 'n', 0, G_OPTION_ARG_STRING, &items_text,
      N_("Keep at most COUNT entries"), N_("COUNT") },
    { "age-limit", 'a', 0, G_OPTION_ARG_STRING, &age_text,
      N_("Remove entries unused for longer than AGE (suffixes s, m, h, d, w; default s)"),
      N_("AGE") },
    { NULL }
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(JobMemory) memory = NULL;
  GError *error = NULL;
  guint64 bytes_limit = 0;
  guint items_limit = 0;
  double age_limit = 0;
  guint n_removed = 0;
  int exit_code;

  context = command_context ("reduce", _("LOCATION"),
                             _("Remove entries of the cache at LOCATION, least recently used "
                               "first, until it fits every given limit: joblib’s "
                               "Memory.reduce_size(). Give at least one limit."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!parse_command (context, &argc, &argv, 1, &exit_code))
    return exit_code;
  if (bytes_text == NULL && items_text == NULL && age_text == NULL)
    return cli_usage_error (context, _("Give --bytes-limit, --items-limit or --age-limit"));
  if (bytes_text != NULL && !cli_parse_size (bytes_text, &bytes_limit))
    return cli_usage_error (context, _("Invalid size “%s” for --bytes-limit"), bytes_text);
  if (items_text != NULL && !cli_parse_count (items_text, &items_limit))
    return cli_usage_error (context, _("Invalid count “%s” for --items-limit"), items_text);
  if (age_text != NULL && !cli_parse_age (age_text, &age_limit))
    return cli_usage_error (context, _("Invalid age “%s” for --age-limit"), age_text);
  /* The library reads 0 as "no limit"; a limit of 0 means "remove all". */
  if ((bytes_text != NULL && bytes_limit == 0) || (items_text != NULL && items_limit == 0) ||
      (age_text != NULL && age_limit <= 0))
    return cli_usage_error (context, _("A limit must be above 0; use “cache clear” to remove everything"));

  memory = open_cache_or_fail (argv[1], &exit_code);
  if (memory == NULL)
    return exit_code;
  if (!job_memory_reduce_size (memory, bytes_limit, items_limit, age_limit, &n_removed, &error))
    return cli_fail (error, argv[1]);
  job_memory_wait_reclaimed (memory);
  g_print (ngettext ("Removed %u entry\n", "Removed %u entries\n", n_removed), n_removed);
  return CLI_EXIT_OK;
}

static void
print_cache_help (void)
{
  g_print ("%s\n", _("Usage:\n"
                     "  joblib-glib cache ls|du|show|clear|reduce [OPTION…] LOCATION\n"
                     "\n"
                     "LOCATION is the folder given to JobMemory (Memory(location) in Python).\n"
                     "Run “joblib-glib cache COMMAND --help” for the options of a command."));
}

int
cli_cache (int    argc,
           char **argv)
{
  const char *sub = argc > 1 ? argv[1] : NULL;

  if (sub == NULL)
    {
      print_cache_help ();
      return CLI_EXIT_USAGE;
    }
  if (g_str_equal (sub, "--help") || g_str_equal (sub, "-h"))
    {
      print_cache_help ();
      return CLI_EXIT_OK;
    }
  if (g_str_equal (sub, "ls"))
    return cache_ls (argc - 1, argv + 1);
  if (g_str_equal (sub, "du"))
    return cache_du (argc - 1, argv + 1);
  if (g_str_equal (sub, "show"))
    return cache_show (argc - 1, argv + 1);
  if (g_str_equal (sub, "clear"))
    return cache_clear (argc - 1, argv + 1);
  if (g_str_equal (sub, "reduce"))
    return cache_reduce (argc - 1, argv + 1);
  g_printerr (_("joblib-glib: unknown cache command “%s” (expected ls, du, show, clear or reduce)\n"),
              sub);
  return CLI_EXIT_USAGE;
}
