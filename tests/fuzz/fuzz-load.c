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
#include "fuzz-load-paths.h"

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
  /* The mapped loader reads the same bytes by another path; compressed
   * inputs would only warn and repeat the stream load. */
  fuzz_load_paths (data, size, job_compression_detect (data, size) == JOB_COMPRESSION_NONE,
                   "fuzz-load-XXXXXX", consume);
  return 0;
}

#ifndef JOB_FUZZING_LIBFUZZER
#include "fuzz-main.h"
#endif
