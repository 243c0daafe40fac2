/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The task of benchmarks/slurm-bench.c, loaded by native workers. */
#include <joblib-glib.h>

G_MODULE_EXPORT GVariant *slurm_bench_sleep (GVariant *args, GCancellable *cancellable,
                                             gpointer user_data, GError **error);

/* (d) → sleeps that many seconds; returns when it finished (µs, real
 * time: comparable across the processes of one machine). */
G_MODULE_EXPORT GVariant *
slurm_bench_sleep (GVariant     *args,
                   GCancellable *cancellable,
                   gpointer      user_data,
                   GError      **error)
{
  double seconds;

  g_variant_get (args, "(d)", &seconds);
  g_usleep ((gulong) (seconds * G_USEC_PER_SEC));
  return g_variant_new_int64 (g_get_real_time ());
}
