/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Task functions of benchmarks/tutorial-bench.c and scaling-bench.c. They
 * live in a shared module so that the same symbols run on threads (loaded
 * in the caller through GModule) and in joblib-glib-worker processes. */

#include <math.h>

#include <joblib-glib.h>

#ifdef HAVE_LAPACKE
#include <lapacke.h>
#endif

#ifdef HAVE_OPENBLAS
int openblas_get_num_threads (void);
#endif

G_MODULE_EXPORT GVariant *bench_add_one   (GVariant *args, GCancellable *cancellable,
                                           gpointer user_data, GError **error);
G_MODULE_EXPORT GVariant *bench_sum_pages (GVariant *args, GCancellable *cancellable,
                                           gpointer user_data, GError **error);
G_MODULE_EXPORT GVariant *bench_mcmc      (GVariant *args, GCancellable *cancellable,
                                           gpointer user_data, GError **error);
G_MODULE_EXPORT GVariant *bench_svd       (GVariant *args, GCancellable *cancellable,
                                           gpointer user_data, GError **error);
G_MODULE_EXPORT GVariant *bench_blas_threads (GVariant *args, GCancellable *cancellable,
                                              gpointer user_data, GError **error);

/* (x) → x + 1: the cheapest task there is, to measure dispatch. */
G_MODULE_EXPORT GVariant *
bench_add_one (GVariant      *args,
               GCancellable  *cancellable,
               gpointer       user_data,
               GError       **error)
{
  gint64 x;

  g_variant_get (args, "(x)", &x);
  return g_variant_new_int64 (x + 1);
}

/* (ay) → the sum of one byte per 4 KiB page: touches every page once, as a
 * task reading its argument would, without making the task compute-bound. */
G_MODULE_EXPORT GVariant *
bench_sum_pages (GVariant      *args,
                 GCancellable  *cancellable,
                 gpointer       user_data,
                 GError       **error)
{
  g_autoptr(GVariant) array = g_variant_get_child_value (args, 0);
  const guint8 *data;
  gsize n;
  guint64 sum = 0;

  data = g_variant_get_fixed_array (array, &n, 1);
  for (gsize i = 0; i < n; i += 4096)
    sum += data[i];
  return g_variant_new_uint64 (sum);
}

/* splitmix64: a small, good, seedable generator; each task owns one. */
static inline guint64
next_u64 (guint64 *state)
{
  guint64 z = (*state += G_GUINT64_CONSTANT (0x9E3779B97F4A7C15));

  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94D049BB133111EB);
  return z ^ (z >> 31);
}

/* Two standard normal draws (Marsaglia's polar method). */
static inline void
normal_pair (guint64 *state,
             double  *a,
             double  *b)
{
  double u, v, s;

  do
    {
      u = (next_u64 (state) >> 11) * 0x1.0p-53 * 2.0 - 1.0;
      v = (next_u64 (state) >> 11) * 0x1.0p-53 * 2.0 - 1.0;
      s = u * u + v * v;
    }
  while (s >= 1.0 || s == 0.0);
  s = sqrt (-2.0 * log (s) / s);
  *a = u * s;
  *b = v * s;
}

/* (tx) seed, n_iter → theta[0]: the tutorial's run_mcmc, an iterative loop
 * (`theta += rs.randn(10)` n_iter times) that no library call vectorises. */
G_MODULE_EXPORT GVariant *
bench_mcmc (GVariant      *args,
            GCancellable  *cancellable,
            gpointer       user_data,
            GError       **error)
{
  guint64 seed, state;
  gint64 n_iter;
  double theta[10] = { 0 };

  g_variant_get (args, "(tx)", &seed, &n_iter);
  state = seed;
  for (gint64 i = 0; i < n_iter; i++)
    for (int k = 0; k < 10; k += 2)
      {
        double a, b;

        normal_pair (&state, &a, &b);
        theta[k] += a;
        theta[k + 1] += b;
      }
  return g_variant_new_double (theta[0]);
}

/* (tu) seed, n → the largest singular value of an n×n standard normal
 * matrix: the tutorial's run_svd (numpy's svd is LAPACK's gesdd with full
 * U and Vᵀ, as here). BLAS decides how many threads it uses. */
G_MODULE_EXPORT GVariant *
bench_svd (GVariant      *args,
           GCancellable  *cancellable,
           gpointer       user_data,
           GError       **error)
{
#ifdef HAVE_LAPACKE
  guint64 seed, state;
  guint32 n;
  g_autofree double *a = NULL;
  g_autofree double *s = NULL;
  g_autofree double *u = NULL;
  g_autofree double *vt = NULL;
  lapack_int info;

  g_variant_get (args, "(tu)", &seed, &n);
  if (n == 0 || n > 20000)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
                   "bench_svd: matrix size %u out of range", n);
      return NULL;
    }
  state = seed;
  a = g_new (double, (gsize) n * n);
  for (gsize i = 0; i + 1 < (gsize) n * n; i += 2)
    normal_pair (&state, &a[i], &a[i + 1]);
  if (((gsize) n * n) % 2)
    {
      double spare;

      normal_pair (&state, &a[(gsize) n * n - 1], &spare);
    }
  s = g_new (double, n);
  u = g_new (double, (gsize) n * n);
  vt = g_new (double, (gsize) n * n);
  info = LAPACKE_dgesdd (LAPACK_ROW_MAJOR, 'A', n, n, a, n, s, u, n, vt, n);
  if (info != 0)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_FAILED,
                   "bench_svd: dgesdd failed (info %d)", (int) info);
      return NULL;
    }
  return g_variant_new_double (s[0]);
#else
  g_set_error (error, JOB_ERROR, JOB_ERROR_FAILED,
               "bench_svd: built without LAPACKE");
  return NULL;
#endif
}

/* () → the number of threads OpenBLAS uses in this process (-1: unknown
 * BLAS), so the benchmark can show what a worker really ran with. */
G_MODULE_EXPORT GVariant *
bench_blas_threads (GVariant      *args,
                    GCancellable  *cancellable,
                    gpointer       user_data,
                    GError       **error)
{
#ifdef HAVE_OPENBLAS
  return g_variant_new_int32 (openblas_get_num_threads ());
#else
  return g_variant_new_int32 (-1);
#endif
}
