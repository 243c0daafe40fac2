/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * joblib-glib info FILE and joblib-glib convert FILE OUT.
 */
#include "config.h"

#include <string.h>

#include "cli-private.h"

/* Reads the first bytes of @file to name its codec, as job_load does. */
static gboolean
detect_compression (GFile           *file,
                    JobCompression  *compression,
                    guint64         *size,
                    GError         **error)
{
  g_autoptr(GFileInputStream) stream = NULL;
  g_autoptr(GFileInfo) info = NULL;
  guint8 magic[16];
  gsize n_read = 0;

  stream = g_file_read (file, NULL, error);
  if (stream == NULL)
    return FALSE;
  info = g_file_input_stream_query_info (stream, G_FILE_ATTRIBUTE_STANDARD_SIZE, NULL, error);
  if (info == NULL ||
      !g_input_stream_read_all (G_INPUT_STREAM (stream), magic, sizeof magic, &n_read, NULL, error))
    return FALSE;
  *compression = job_compression_detect (magic, n_read);
  *size = g_file_info_get_size (info);
  return TRUE;
}

/* Loads @file with a progress line; checksums are verified on the way. */
static GVariant *
load_with_progress (GFile        *file,
                    guint64       size,
                    CliProgress  *progress,
                    GError      **error)
{
  g_autoptr(GFileInputStream) stream = g_file_read (file, NULL, error);
  g_autoptr(GInputStream) counted = NULL;
  g_autofree char *label = NULL;

  if (stream == NULL)
    return NULL;
  label = g_strdup_printf (_("Reading %s"), g_file_peek_path (file));
  cli_progress_set_label (progress, label, size);
  counted = cli_progress_wrap_input (progress, G_INPUT_STREAM (stream));
  return job_load_from_stream (counted, 0, NULL, error);
}

typedef struct
{
  guint   n_arrays;
  guint64 n_bytes;
} ArrayTotals;

/* Prints every array of @value with the path that leads to it. */
static void
describe_arrays (GVariant    *value,
                 const char  *path,
                 ArrayTotals *totals)
{
  if (job_array_is_array_variant (value))
    {
      g_autoptr(JobArray) array = job_array_new_from_variant (value, NULL);
      g_autoptr(GString) shape = g_string_new ("(");
      g_autofree char *size = NULL;
      const gsize *dims;
      guint n_dims;
      guint64 n_bytes;

      if (array == NULL)
        return;
      dims = job_array_get_shape (array, &n_dims);
      for (guint i = 0; i < n_dims; i++)
        g_string_append_printf (shape, "%s%" G_GSIZE_FORMAT, i ? ", " : "", dims[i]);
      g_string_append (shape, n_dims == 1 ? ",)" : ")");
      n_bytes = (guint64) job_array_get_n_elements (array) * job_array_get_item_size (array);
      size = cli_format_size (n_bytes);
      g_print ("  %-24s %-5s %-20s %s\n", *path ? path : _("(top level)"),
               job_array_get_typestr (array), shape->str, size);
      totals->n_arrays++;
      totals->n_bytes += n_bytes;
      return;
    }

  if (g_variant_is_of_type (value, G_VARIANT_TYPE_VARIANT))
    {
      g_autoptr(GVariant) inner = g_variant_get_variant (value);

      describe_arrays (inner, path, totals);
      return;
    }

  /* Arrays of numbers hold no JobArray: skip their elements. */
  if (!g_variant_is_container (value) ||
      (g_variant_is_of_type (value, G_VARIANT_TYPE_ARRAY) &&
       g_variant_type_is_basic (g_variant_type_element (g_variant_get_type (value)))))
    return;

  for (gsize i = 0, n = g_variant_n_children (value); i < n; i++)
    {
      g_autoptr(GVariant) child = g_variant_get_child_value (value, i);
      g_autofree char *child_path = NULL;

      if (g_variant_is_of_type (child, G_VARIANT_TYPE_DICT_ENTRY))
        {
          g_autoptr(GVariant) key = g_variant_get_child_value (child, 0);
          g_autoptr(GVariant) item = g_variant_get_child_value (child, 1);
          g_autofree char *key_text = g_variant_print (key, FALSE);

          child_path = g_strdup_printf ("%s[%s]", path, key_text);
          describe_arrays (item, child_path, totals);
        }
      else
        {
          child_path = g_strdup_printf ("%s[%" G_GSIZE_FORMAT "]", path, i);
          describe_arrays (child, child_path, totals);
        }
    }
}

int
cli_info (int    argc,
          char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(CliProgress) progress = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GFile) file = NULL;
  g_autofree char *type_text = NULL;
  g_autofree char *file_size = NULL;
  g_autofree char *arrays_size = NULL;
  GError *error = NULL;
  ArrayTotals totals = { 0, 0 };
  JobCompression compression;
  guint64 size;
  int exit_code;

  context = cli_option_context_new ("info", _("FILE"),
                                    _("Describe a file written by job_dump() (or joblib_glib.dump): "
                                      "its format version, compression, value type and arrays. "
                                      "The whole file is read and every checksum verified."));
  if (!cli_parse (context, &argc, &argv, &exit_code))
    return exit_code;
  if (argc != 2)
    return cli_usage_error (context, _("Expected one FILE, got %d arguments"), argc - 1);

  file = g_file_new_for_commandline_arg (argv[1]);
  if (!detect_compression (file, &compression, &size, &error))
    return cli_fail (error, argv[1]);
  progress = cli_progress_new ("", 0);
  value = load_with_progress (file, size, progress, &error);
  cli_progress_done (progress);
  if (value == NULL)
    return cli_fail (error, argv[1]);

  type_text = g_variant_type_dup_string (g_variant_get_type (value));
  file_size = cli_format_size (size);
  g_print (_("File:            %s\n"), argv[1]);
  g_print (_("Size:            %s\n"), file_size);
  g_print (_("Compression:     %s\n"), job_compression_get_name (compression));
  /* job_load refuses every other version, so a loaded file has this one. */
  g_print (_("Format version:  %d\n"), JOB_PERSIST_FORMAT_VERSION);
  g_print (_("Value type:      %s\n"), type_text);
  g_print (_("Arrays:\n"));
  describe_arrays (value, "", &totals);
  if (totals.n_arrays == 0)
    g_print (_("  none\n"));
  arrays_size = cli_format_size (totals.n_bytes);
  g_print (ngettext ("Array data:      %u array, %s\n",
                     "Array data:      %u arrays, %s\n", totals.n_arrays),
           totals.n_arrays, arrays_size);
  g_print (_("Checksums:       verified\n"));
  return CLI_EXIT_OK;
}

/* "zstd", "zstd:3", "none": a codec and an optional level in its range. */
static gboolean
parse_compression (const char      *text,
                   JobCompression  *compression,
                   int             *level,
                   char           **message)
{
  g_auto(GStrv) parts = g_strsplit (text, ":", 2);
  int min_level, max_level;
  gint64 value;

  if (!job_compression_from_name (parts[0], compression) ||
      *compression == JOB_COMPRESSION_AUTO)
    {
      *message = g_strdup_printf (_("Unknown compression “%s” (expected zlib, gzip, bz2, "
                                    "lzma, xz, lz4, zstd or none)"), parts[0]);
      return FALSE;
    }
  *level = JOB_COMPRESSION_DEFAULT_LEVEL;
  if (parts[1] == NULL)
    return TRUE;
  if (!job_compression_get_level_range (*compression, &min_level, &max_level, NULL))
    {
      *message = g_strdup_printf (_("Compression “%s” takes no level"), parts[0]);
      return FALSE;
    }
  if (!g_ascii_string_to_signed (parts[1], 10, min_level, max_level, &value, NULL))
    {
      *message = g_strdup_printf (_("Level “%s” of %s is not a number from %d to %d"),
                                  parts[1], parts[0], min_level, max_level);
      return FALSE;
    }
  *level = (int) value;
  return TRUE;
}

static gboolean
dump_with_progress (GVariant        *value,
                    GFile           *out,
                    JobCompression   compression,
                    int              level,
                    CliProgress     *progress,
                    GError         **error)
{
  g_autoptr(GFileOutputStream) stream = NULL;
  g_autoptr(GOutputStream) counted = NULL;
  g_autoptr(GCancellable) abort = g_cancellable_new ();
  g_autofree char *label = NULL;

  /* g_file_replace writes a temporary file and renames it on close, so
   * OUT is never half-written, even when it is FILE itself. */
  stream = g_file_replace (out, NULL, FALSE, G_FILE_CREATE_REPLACE_DESTINATION, NULL, error);
  if (stream == NULL)
    return FALSE;
  label = g_strdup_printf (_("Writing %s"), g_file_peek_path (out));
  cli_progress_set_label (progress, label, 0);
  counted = cli_progress_wrap_output (progress, G_OUTPUT_STREAM (stream));
  if (!job_dump_to_stream (value, counted, compression, level, NULL, error))
    {
      /* Closing with a cancelled cancellable drops the temporary file. */
      g_cancellable_cancel (abort);
      g_output_stream_close (G_OUTPUT_STREAM (stream), abort, NULL);
      return FALSE;
    }
  return g_output_stream_close (G_OUTPUT_STREAM (stream), NULL, error);
}

int
cli_convert (int    argc,
             char **argv)
{
  g_autofree char *compress = NULL;
  const GOptionEntry entries[] = {
    { "compress", 'c', 0, G_OPTION_ARG_STRING, &compress,
      N_("Codec and level of OUT: zlib, gzip, bz2, lzma, xz, lz4, zstd or none, "
         "with an optional :LEVEL (default: from OUT’s extension)"), N_("NAME[:LEVEL]") },
    { NULL }
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(CliProgress) progress = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GFile) file = NULL;
  g_autoptr(GFile) out = NULL;
  g_autofree char *message = NULL;
  g_autofree char *in_size = NULL;
  g_autofree char *out_size = NULL;
  g_autoptr(GFileInfo) out_info = NULL;
  GError *error = NULL;
  JobCompression compression, in_compression;
  int level = JOB_COMPRESSION_DEFAULT_LEVEL;
  guint64 size;
  int exit_code;

  context = cli_option_context_new ("convert", _("FILE OUT"),
                                    _("Write the value of FILE to OUT with another compression. "
                                      "FILE is verified as it is read; OUT is replaced "
                                      "atomically, and may be FILE itself."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!cli_parse (context, &argc, &argv, &exit_code))
    return exit_code;
  if (argc != 3)
    return cli_usage_error (context, _("Expected FILE and OUT, got %d arguments"), argc - 1);
  if (compress != NULL)
    {
      if (!parse_compression (compress, &compression, &level, &message))
        return cli_usage_error (context, "%s", message);
    }
  else
    compression = job_compression_from_filename (argv[2]);

  file = g_file_new_for_commandline_arg (argv[1]);
  out = g_file_new_for_commandline_arg (argv[2]);
  if (!detect_compression (file, &in_compression, &size, &error))
    return cli_fail (error, argv[1]);
  progress = cli_progress_new ("", 0);
  value = load_with_progress (file, size, progress, &error);
  if (value == NULL)
    {
      cli_progress_done (progress);
      return cli_fail (error, argv[1]);
    }
  if (!dump_with_progress (value, out, compression, level, progress, &error))
    {
      cli_progress_done (progress);
      return cli_fail (error, argv[2]);
    }
  cli_progress_done (progress);

  out_info = g_file_query_info (out, G_FILE_ATTRIBUTE_STANDARD_SIZE, G_FILE_QUERY_INFO_NONE,
                                NULL, &error);
  if (out_info == NULL)
    return cli_fail (error, argv[2]);
  in_size = cli_format_size (size);
  out_size = cli_format_size (g_file_info_get_size (out_info));
  g_print ("%s (%s, %s) → %s (%s, %s)\n", argv[1], job_compression_get_name (in_compression),
           in_size, argv[2], job_compression_get_name (compression), out_size);
  return CLI_EXIT_OK;
}
