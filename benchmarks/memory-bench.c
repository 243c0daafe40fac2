/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* JobMemory timings, printed as one JSON object; memory-compare.py runs
 * this next to Python joblib's Memory and prints the table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

#include <glib/gstdio.h>
#include <joblib-glib.h>

static double
now (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* CPU seconds (user + system) of this process: on a loaded machine, the
 * wall time of unlink and rmdir is mostly waiting for a core or the disk. */
static double
cpu_now (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static int
compare_doubles (const void *a,
                 const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static double
median (double *v,
        int     n)
{
  qsort (v, n, sizeof *v, compare_doubles);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static GVariant *
identity_sum (GVariant      *args,
              GCancellable  *cancellable,
              gpointer       user_data,
              GError       **error)
{
  g_autoptr(GVariant) first = g_variant_get_child_value (args, 0);

  if (g_variant_is_of_type (first, G_VARIANT_TYPE ("ad")))
    {
      gsize n;
      const double *d = g_variant_get_fixed_array (first, &n, sizeof (double));
      double sum = 0;

      for (gsize i = 0; i < n; i += 4096)
        sum += d[i];
      return g_variant_new_double (sum);
    }

  return g_variant_new_int64 (g_variant_get_int64 (first) * 2);
}

static GVariant *
array_arg (gsize n)
{
  double *data = g_new (double, n);

  for (gsize i = 0; i < n; i++)
    data[i] = g_random_double ();

  return g_variant_ref_sink (g_variant_new_from_data (G_VARIANT_TYPE ("ad"), data,
                                                      n * sizeof (double), TRUE,
                                                      g_free, data));
}

static void
call_or_die (JobMemorizedFunction *cached,
             GVariant             *args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) r = job_memorized_function_call (cached, args, NULL, &error);

  if (r == NULL)
    g_error ("%s", error->message);
}

/* Median seconds of @n cached calls of (@arg). */
static double
time_calls (JobMemorizedFunction *cached,
            GVariant             *arg,
            int                   n)
{
  g_autoptr(GVariant) owned = g_variant_ref_sink (arg);
  double *t = g_new (double, n);
  double m;

  for (int i = 0; i < n; i++)
    {
      double t0 = now ();
      call_or_die (cached, g_variant_new_tuple (&arg, 1));
      t[i] = now () - t0;
    }
  m = median (t, n);
  g_free (t);
  return m;
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *dir = g_dir_make_tmp ("memory-bench-XXXXXX", NULL);
  g_autoptr(JobMemory) memory = job_memory_new_for_path (dir);
  g_autoptr(JobFunction) function = job_function_new ("f", identity_sum, NULL, NULL);
  g_autoptr(JobMemorizedFunction) cached = job_memory_cache (memory, function, NULL);
  g_autoptr(GVariant) big6 = array_arg (1000000);
  g_autoptr(GVariant) big7 = array_arg (10000000);
  double miss[200], hash_s[7], t0;
  double hit_int, hit_1e6, hit_1e7, c0;
  double reduce_s[3], reduce_freed_s[3], reduce_cpu[3], clear_s[3], clear_freed_s[3], clear_cpu[3];
  g_autoptr(GError) error = NULL;

  /* Hit and miss with an int argument. */
  call_or_die (cached, g_variant_new ("(x)", (gint64) -1));
  hit_int = time_calls (cached, g_variant_new_int64 (-1), 20001);
  for (int i = 0; i < 200; i++)
    {
      t0 = now ();
      call_or_die (cached, g_variant_new ("(x)", (gint64) i));
      miss[i] = now () - t0;
    }

  /* Hits with big array arguments (the result is a double). */
  call_or_die (cached, g_variant_new_tuple (&big6, 1));
  hit_1e6 = time_calls (cached, big6, 51);
  call_or_die (cached, g_variant_new_tuple (&big7, 1));
  hit_1e7 = time_calls (cached, big7, 11);

  /* Hash throughput on 80 MB. */
  for (int i = 0; i < 7; i++)
    {
      g_autofree char *h = NULL;

      t0 = now ();
      h = job_hash_variant (big7);
      hash_s[i] = now () - t0;
    }

  /* reduce_size and clear on 1000 entries, three rounds (medians): the
   * time until the call returns (the entries are out of sight) and until
   * the background removal has freed their files. */
  for (int round = 0; round < 3; round++)
    {
      for (int i = 0; i < 1000; i++)
        call_or_die (cached, g_variant_new ("(x)", (gint64) i));
      t0 = now ();
      c0 = cpu_now ();
      if (!job_memory_reduce_size (memory, 0, 500, 0, NULL, &error))
        g_error ("%s", error->message);
      reduce_s[round] = now () - t0;
      job_memory_wait_reclaimed (memory);
      reduce_freed_s[round] = now () - t0;
      reduce_cpu[round] = cpu_now () - c0;
      for (int i = 0; i < 1000; i++)
        call_or_die (cached, g_variant_new ("(x)", (gint64) i));
      t0 = now ();
      c0 = cpu_now ();
      if (!job_memory_clear (memory, &error))
        g_error ("%s", error->message);
      clear_s[round] = now () - t0;
      job_memory_wait_reclaimed (memory);
      clear_freed_s[round] = now () - t0;
      clear_cpu[round] = cpu_now () - c0;
    }
  g_rmdir (dir);

  printf ("{\"hit_int_us\": %.2f, \"miss_int_us\": %.2f, \"hit_1e6_ms\": %.3f, "
          "\"hit_1e7_ms\": %.3f, \"hash_80mb_gbs\": %.2f, \"reduce_1000_ms\": %.2f, "
          "\"clear_1000_ms\": %.2f, \"reduce_1000_freed_ms\": %.2f, "
          "\"clear_1000_freed_ms\": %.2f, \"reduce_1000_cpu_ms\": %.2f, "
          "\"clear_1000_cpu_ms\": %.2f}\n",
          hit_int * 1e6, median (miss, 200) * 1e6, hit_1e6 * 1e3, hit_1e7 * 1e3,
          8e7 / median (hash_s, 7) / 1e9,
          median (reduce_s, 3) * 1e3, median (clear_s, 3) * 1e3,
          median (reduce_freed_s, 3) * 1e3, median (clear_freed_s, 3) * 1e3,
          median (reduce_cpu, 3) * 1e3, median (clear_cpu, 3) * 1e3);
  return 0;
}
