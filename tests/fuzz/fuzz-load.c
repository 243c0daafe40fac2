/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz target for job_load_from_stream() and the mapped loader.
 *
 * Built with -fsanitize=fuzzer it is a libFuzzer target; otherwise the
 * main() below runs it once over every file of the directories or files
 * given on the command line (the seed corpus), as a plain test.
 *
 * To fuzz, from a configured build directory _b:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -DJOB_FUZZING_LIBFUZZER \
 *     -DJOBLIB_GLIB_COMPILATION -I_b -I_b/libjoblib-glib -Ilibjoblib-glib \
 *     $(pkg-config --cflags --libs gio-2.0) libjoblib-glib/job-*.c (the
 *     persistence sources, job-error.c, job-i18n.c) _b/libjoblib-glib/job-enums.c \
 *     tests/fuzz/fuzz-load.c -lxxhash -lz -llzma -llz4 -lzstd -lbz2 -o fuzz-load
 *   ASAN_OPTIONS=allocator_may_return_null=1 ./fuzz-load -max_total_time=300 corpus/
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
static void
run_path (const char *path,
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

      run_path (child, n_inputs);
    }
}

int
main (int   argc,
      char *argv[])
{
  guint n_inputs = 0;

  for (int i = 1; i < argc; i++)
    run_path (argv[i], &n_inputs);
  g_print ("ran %u inputs without a crash\n", n_inputs);
  return n_inputs > 0 ? 0 : 1;
}
#endif
