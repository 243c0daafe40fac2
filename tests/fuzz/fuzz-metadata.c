/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz target for the Memory cache entry reader: the input is the
 * metadata.json of one cache entry, which job_memory_list_entries() reads
 * (job-cache-metadata.c) into a JobCacheEntry. A cache folder is shared and
 * may be written by other programs or older versions, so any bytes must
 * give an entry with an unknown duration or the parsed one, never a crash.
 *
 * Built with -Dfuzzing=true (tools/fuzz.sh) it is a libFuzzer target;
 * otherwise main() runs it over the files and directories given on the
 * command line (the seed corpus tests/fuzz/corpus-metadata/) as a plain
 * test.
 */
#include <stdlib.h>

#include <glib/gstdio.h>
#include <joblib-glib.h>

#define HEX "0123456789abcdef0123456789abcdef"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static char *location;
static char *entry_dir;
static JobMemory *memory;

static void
remove_in (const char *dir,
           const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);

  g_remove (path);
}

static void
remove_at_exit (void)
{
  g_autofree char *function_dir = g_path_get_dirname (entry_dir);
  g_autofree char *root = g_path_get_dirname (function_dir);

  remove_in (entry_dir, "metadata.json");
  remove_in (entry_dir, "output");
  g_rmdir (entry_dir);
  g_rmdir (function_dir);
  g_rmdir (root);
  g_rmdir (location);
  g_clear_object (&memory);
  g_clear_pointer (&entry_dir, g_free);
  g_clear_pointer (&location, g_free);
}

/* One entry folder, made once: <location>/joblib-glib/fuzzed/<hex>/ with
 * a valid output. Each input only replaces metadata.json. */
static void
ensure_entry (void)
{
  g_autofree char *output = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) file = NULL;

  if (memory != NULL)
    return;
  location = g_dir_make_tmp ("fuzz-metadata-XXXXXX", &error);
  g_assert_no_error (error);
  entry_dir = g_build_filename (location, "joblib-glib", "fuzzed", HEX, NULL);
  g_assert_cmpint (g_mkdir_with_parents (entry_dir, 0755), ==, 0);
  output = g_build_filename (entry_dir, "output", NULL);
  file = g_file_new_for_path (output);
  g_assert_true (job_dump (g_variant_new_int32 (42), file, JOB_COMPRESSION_NONE, 0, NULL, &error));
  g_assert_no_error (error);
  memory = job_memory_new_for_path (location);
  atexit (remove_at_exit);
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autofree char *path = NULL;
  g_autoptr(GListModel) entries = NULL;
  g_autoptr(GError) error = NULL;

  ensure_entry ();
  path = g_build_filename (entry_dir, "metadata.json", NULL);
  g_assert_true (g_file_set_contents_full (path, (const char *) data, size,
                                           G_FILE_SET_CONTENTS_NONE, 0644, &error));

  entries = job_memory_list_entries (memory);
  /* the entry is listed whatever its metadata says */
  g_assert_cmpuint (g_list_model_get_n_items (entries), ==, 1);
  for (guint i = 0; i < g_list_model_get_n_items (entries); i++)
    {
      g_autoptr(JobCacheEntry) entry = g_list_model_get_item (entries, i);
      const char *args = job_cache_entry_get_input_args (entry);
      g_autoptr(GDateTime) last_access = job_cache_entry_get_last_access (entry);
      g_autoptr(GDateTime) created = job_cache_entry_get_created (entry);

      g_assert_cmpstr (job_cache_entry_get_function_name (entry), ==, "fuzzed");
      g_assert_true (g_str_has_suffix (job_cache_entry_get_args_hash (entry), HEX));
      g_assert_true (args == NULL || g_utf8_validate (args, -1, NULL));
      /* any number the file holds, or -1 when it holds none */
      job_cache_entry_get_duration (entry);
      g_assert_nonnull (last_access);
      g_assert_nonnull (created);
    }

  return 0;
}

#ifndef JOB_FUZZING_LIBFUZZER
#include "fuzz-main.h"
#endif
