/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* main() of a fuzz target built without libFuzzer: runs
 * LLVMFuzzerTestOneInput() once over every file of the directories or
 * files named on the command line (a seed corpus), as a plain test. A
 * crash or a failed assertion fails the test. Included once, at the end
 * of a target. */
#pragma once

#include <glib.h>

static void
fuzz_run_path (const char *path,
               guint      *n_inputs)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir == NULL)
    {
      g_autofree char *contents = NULL;
      gsize length;
      g_autoptr(GError) error = NULL;

      if (!g_file_get_contents (path, &contents, &length, &error))
        g_error ("%s", error->message);
      LLVMFuzzerTestOneInput ((const guint8 *) contents, length);
      (*n_inputs)++;
      return;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      fuzz_run_path (child, n_inputs);
    }
}

int
main (int   argc,
      char *argv[])
{
  guint n_inputs = 0;

  for (int i = 1; i < argc; i++)
    fuzz_run_path (argv[i], &n_inputs);
  g_print ("ran %u inputs without a crash\n", n_inputs);
  return n_inputs > 0 ? 0 : 1;
}
