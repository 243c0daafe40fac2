/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz target for job_load_from_stream() and the mapped loader.
 *
 * Built with -fsanitize=fuzzer it is a libFuzzer target; otherwise the
 * main() of fuzz-main.h runs it once over every file of the directories
 * or files given on the command line (the seed corpus), as a plain test.
 *
 * To fuzz it with libFuzzer (clang, ASan and UBSan), see tools/fuzz.sh:
 *   tools/fuzz.sh fuzz-load 300
 */
#include <glib/gstdio.h>
#include <joblib-glib.h>

/* Small enough that a hostile size is refused, not allocated. */
#define FUZZ_MAX_SIZE (64 * 1024 * 1024)

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

/* Takes @value (owned) apart the way a user would, then drops it. */
static void
consume (GVariant *value)
{
  if (value == NULL)
    return;
  if (job_array_is_array_variant (value))
    {
      g_autoptr(JobArray) array = job_array_new_from_variant (value, NULL);

      if (array != NULL && job_array_get_n_elements (array) > 0)
        job_array_get_double (array, job_array_get_n_elements (array) - 1);
    }
  else if (g_variant_is_container (value))
    for (gsize i = 0; i < g_variant_n_children (value) && i < 64; i++)
      consume (g_variant_get_child_value (value, i));
  g_variant_unref (value);
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autoptr(GBytes) bytes = g_bytes_new (data, size);
  g_autoptr(GInputStream) stream = g_memory_input_stream_new_from_bytes (bytes);
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GFile) file = NULL;
  int fd;

  consume (job_load_from_stream (stream, FUZZ_MAX_SIZE, NULL, &error));
  g_clear_error (&error);

  /* The mapped loader reads the same bytes by another path; compressed
   * inputs would only warn and repeat the stream load. */
  if (job_compression_detect (data, size) != JOB_COMPRESSION_NONE)
    return 0;
  fd = g_file_open_tmp ("fuzz-load-XXXXXX", &path, NULL);
  if (fd < 0)
    return 0;
  if (g_file_set_contents (path, (const char *) data, size, NULL))
    {
      file = g_file_new_for_path (path);
      consume (job_load (file, JOB_LOAD_MMAP, FUZZ_MAX_SIZE, NULL, &error));
    }
  g_close (fd, NULL);
  g_unlink (path);
  return 0;
}

#ifndef JOB_FUZZING_LIBFUZZER
#include "fuzz-main.h"
#endif
