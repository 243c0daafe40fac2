/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Task functions of benchmarks/process-overhead.c, run by the native
 * worker. */

#include <joblib-glib.h>

G_MODULE_EXPORT GVariant *bench_square    (GVariant *args, GCancellable *cancellable,
                                           gpointer user_data, GError **error);
G_MODULE_EXPORT GVariant *bench_sum_bytes (GVariant *args, GCancellable *cancellable,
                                           gpointer user_data, GError **error);

G_MODULE_EXPORT GVariant *
bench_square (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  gint64 x;

  g_variant_get (args, "(x)", &x);
  return g_variant_new_int64 (x * x);
}

G_MODULE_EXPORT GVariant *
bench_sum_bytes (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  g_autoptr(GVariant) array = NULL;
  const guint8 *data;
  gsize n;
  guint64 sum = 0;

  g_variant_get (args, "(@ay)", &array);
  data = g_variant_get_fixed_array (array, &n, 1);
  for (gsize i = 0; i < n; i += 4096)
    sum += data[i];
  return g_variant_new_uint64 (sum);
}

G_MODULE_EXPORT GVariant *bench_fail (GVariant *args, GCancellable *cancellable,
                                      gpointer user_data, GError **error);

G_MODULE_EXPORT GVariant *
bench_fail (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "failed on purpose");
  return NULL;
}
