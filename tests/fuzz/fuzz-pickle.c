/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz target for the reader of files written by Python's joblib.dump:
 * job_load_from_stream() (decompression, then the pickle subset) and
 * job_load() with JOB_LOAD_MMAP (arrays as views of the mapping).
 *
 * Built with -fsanitize=fuzzer it is a libFuzzer target; otherwise the
 * main() of fuzz-main.h runs it once over every file of the directories
 * or files given on the command line (the seed corpus: the joblib files
 * of tests/data/joblib-files and what fuzzing found, corpus-pickle), as a
 * plain test. To fuzz it: tools/fuzz.sh fuzz-pickle -t 300
 */
#include "fuzz-load-paths.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

/* Reads @value the way a user would: children, each array's last
 * element, up to *@budget nodes in all. A value may share its children
 * (a file can repeat a container), so that a full walk could visit far
 * more nodes than the value holds: a slow harness, not a slow reader. */
static void
consume (GVariant *value,
         guint     depth,
         guint    *budget)
{
  if (*budget == 0)
    return;
  (*budget)--;
  if (job_array_is_array_variant (value))
    {
      g_autoptr (JobArray) array = job_array_new_from_variant (value, NULL);

      if (array != NULL && job_array_get_n_elements (array) > 0)
        job_array_get_double (array, job_array_get_n_elements (array) - 1);
      return;
    }
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_BYTESTRING))
    {
      gsize           size;
      const guint8   *bytes = g_variant_get_fixed_array (value, &size, 1);
      volatile guint8 sink = size > 0 ? bytes[size - 1] : 0;

      (void) sink;
      return;
    }
  if (g_variant_is_container (value) && depth < 64)
    {
      gsize n = g_variant_n_children (value);

      for (gsize i = 0; i < n && i < 256; i++)
        {
          g_autoptr (GVariant) child = g_variant_get_child_value (value, i);

          consume (child, depth + 1, budget);
        }
    }
}

static void
consume_result (GVariant *value)
{
  guint budget = 100000;

  consume (value, 0, &budget);
  g_variant_unref (value);
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  /* The mapped reader takes uncompressed pickles only. */
  fuzz_load_paths (data, size, size >= 2 && data[0] == 0x80, "fuzz-pickle-XXXXXX",
                   consume_result);
  return 0;
}

#ifndef JOB_FUZZING_LIBFUZZER
#include "fuzz-main.h"
#endif
