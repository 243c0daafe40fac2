/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The joblib tutorial's two plots, with this library in C.
 *
 *   tutorial-bench TASKS_MODULE svd  SIZE TASK_COUNTS N_JOBS REPS
 *   tutorial-bench TASKS_MODULE mcmc N_ITER TASKS N_JOBS_LIST REPS
 *
 * svd: running time of TASK_COUNTS (e.g. "1,2,4,8") SVDs of SIZE×SIZE
 * normal matrices, for inner parallelism (n_jobs=1: the tasks run in the
 * caller, BLAS uses every CPU) and outer parallelism (N_JOBS workers, BLAS
 * limited to one thread): on processes through
 * JobProcessBackend:inner-max-num-threads, which sets OPENBLAS_NUM_THREADS
 * & co. in the workers, and on threads with job_native_library_limit_all() in
 * this process (the library has no in-process thread-limit call).
 *
 * mcmc: running time of TASKS iterative loops of N_ITER steps against
 * n_jobs (e.g. "1,2,3,4"), on threads and on processes.
 *
 * Prints one JSON object per line (see bench-util.h); runs are warmed up
 * first (workers started), cold start is measured by process-overhead. */

#include <string.h>

#include "bench-util.h"

#ifdef HAVE_OPENBLAS
int  openblas_get_num_threads (void);
#endif

static const char *module_path;

static int
blas_threads (void)
{
#ifdef HAVE_OPENBLAS
  return openblas_get_num_threads ();
#else
  return -1;
#endif
}

/* The library's threadpoolctl-like call: every loaded BLAS, by name. */
static void
set_blas_threads (int n_threads)
{
  job_native_library_limit_all ("blas", n_threads);
}

/* Runs bench_blas_threads once per worker, which also starts the workers
 * before anything is timed; returns the largest BLAS thread count seen. */
static int
worker_blas_threads (JobParallel *parallel,
                     int          n_jobs)
{
  g_autoptr(JobFunction) f = job_function_new_for_symbol (module_path, "bench_blas_threads",
                                                          NULL);
  g_autoptr(GPtrArray) calls = g_ptr_array_new_with_free_func ((GDestroyNotify) job_call_unref);
  g_autoptr(GPtrArray) values = NULL;
  g_autoptr(GError) error = NULL;
  int most = -1;

  for (int i = 0; i < n_jobs; i++)
    g_ptr_array_add (calls, job_call_new (f, g_variant_new ("()")));
  values = job_parallel_run (parallel, (JobCall **) calls->pdata, calls->len, NULL, &error);
  if (values == NULL)
    g_error ("%s", error->message);
  for (guint i = 0; i < values->len; i++)
    most = MAX (most, g_variant_get_int32 (g_ptr_array_index (values, i)));
  return most;
}

static GPtrArray *
make_calls (JobFunction *function,
            guint        n,
            GVariant  *(*make_args) (guint i, guint64 param),
            guint64      param)
{
  GPtrArray *calls = g_ptr_array_new_with_free_func ((GDestroyNotify) job_call_unref);

  for (guint i = 0; i < n; i++)
    g_ptr_array_add (calls, job_call_new (function, make_args (i, param)));
  return calls;
}

static GVariant *
svd_args (guint   i,
          guint64 size)
{
  return g_variant_new ("(tu)", (guint64) i, (guint32) size);
}

static GVariant *
mcmc_args (guint   i,
           guint64 n_iter)
{
  return g_variant_new ("(tx)", (guint64) i, (gint64) n_iter);
}

static void
measure (JobParallel *parallel,
         JobFunction *function,
         guint        n_tasks,
         GVariant  *(*make_args) (guint i, guint64 param),
         guint64      param,
         guint        reps,
         const char  *fields)
{
  g_autoptr(GPtrArray) calls = make_calls (function, n_tasks, make_args, param);
  g_autofree double *runs = g_new0 (double, reps);

  for (guint r = 0; r < reps; r++)
    runs[r] = bench_time_run (parallel, calls);
  bench_report (fields, runs, reps);
}

static JobParallel *
parallel_on (JobBackend *backend,
             int         n_jobs)
{
  JobParallel *parallel = job_parallel_new (n_jobs);

  if (backend != NULL)
    job_parallel_set_backend (parallel, backend);
  else
    job_parallel_set_backend_name (parallel, "sequential");
  return parallel;
}

static void
run_svd (guint64        size,
         const guint64 *counts,
         int            n_jobs,
         guint          reps)
{
  g_autoptr(JobFunction) svd = job_function_new_for_symbol (module_path, "bench_svd", NULL);
  g_autoptr(JobBackend) processes = job_process_backend_new ();
  g_autoptr(JobBackend) threads = job_thread_backend_new ();
  g_autoptr(JobParallel) inner = parallel_on (NULL, 1);
  g_autoptr(JobParallel) outer_p = parallel_on (processes, n_jobs);
  g_autoptr(JobParallel) outer_t = parallel_on (threads, n_jobs);
  int cpus = job_cpu_count ();
  int worker_threads;

  job_process_backend_set_inner_max_num_threads (JOB_PROCESS_BACKEND (processes), 1);
  job_parallel_set_batch_size (outer_p, 1);
  job_parallel_set_batch_size (outer_t, 1);
  worker_threads = worker_blas_threads (outer_p, n_jobs);

  for (const guint64 *k = counts; *k != 0; k++)
    {
      g_autofree char *fields = NULL;

      set_blas_threads (cpus);
      if (k == counts)  /* warm up BLAS's own thread pool */
        measure (inner, svd, 1, svd_args, size, 1, "\"workload\": \"warm-up\"");
      fields = g_strdup_printf ("\"workload\": \"svd\", \"mode\": \"inner\", "
                                "\"backend\": \"sequential\", \"size\": %" G_GUINT64_FORMAT ", "
                                "\"tasks\": %" G_GUINT64_FORMAT ", \"n_jobs\": 1, "
                                "\"blas_threads\": %d",
                                size, *k, blas_threads ());
      measure (inner, svd, *k, svd_args, size, reps, fields);
      g_free (fields);

      fields = g_strdup_printf ("\"workload\": \"svd\", \"mode\": \"outer\", "
                                "\"backend\": \"processes\", \"size\": %" G_GUINT64_FORMAT ", "
                                "\"tasks\": %" G_GUINT64_FORMAT ", \"n_jobs\": %d, "
                                "\"blas_threads\": %d, "
                                "\"blas_limit\": \"JobProcessBackend:inner-max-num-threads\"",
                                size, *k, n_jobs, worker_threads);
      measure (outer_p, svd, *k, svd_args, size, reps, fields);
      g_free (fields);

      set_blas_threads (1);
      fields = g_strdup_printf ("\"workload\": \"svd\", \"mode\": \"outer\", "
                                "\"backend\": \"threading\", \"size\": %" G_GUINT64_FORMAT ", "
                                "\"tasks\": %" G_GUINT64_FORMAT ", \"n_jobs\": %d, "
                                "\"blas_threads\": %d, "
                                "\"blas_limit\": \"job_native_library_limit_all\"",
                                size, *k, n_jobs, blas_threads ());
      measure (outer_t, svd, *k, svd_args, size, reps, fields);
    }
  set_blas_threads (cpus);
  job_backend_shutdown (processes);
}

static void
run_mcmc (guint64        n_iter,
          guint          n_tasks,
          const guint64 *n_jobs_list,
          guint          reps)
{
  g_autoptr(JobFunction) mcmc = job_function_new_for_symbol (module_path, "bench_mcmc", NULL);
  g_autoptr(JobBackend) processes = job_process_backend_new ();
  g_autoptr(JobBackend) threads = job_thread_backend_new ();
  JobBackend *backends[] = { threads, processes };
  const char *names[] = { "threading", "processes" };

  for (gsize b = 0; b < G_N_ELEMENTS (backends); b++)
    for (const guint64 *n = n_jobs_list; *n != 0; n++)
      {
        g_autoptr(JobParallel) parallel = parallel_on (backends[b], (int) *n);
        g_autofree char *fields = NULL;

        /* start the workers before timing */
        measure (parallel, mcmc, (guint) *n, mcmc_args, 1, 1, "\"workload\": \"warm-up\"");
        fields = g_strdup_printf ("\"workload\": \"mcmc\", \"backend\": \"%s\", "
                                  "\"n_iter\": %" G_GUINT64_FORMAT ", \"tasks\": %u, "
                                  "\"n_jobs\": %" G_GUINT64_FORMAT,
                                  names[b], n_iter, n_tasks, *n);
        measure (parallel, mcmc, n_tasks, mcmc_args, n_iter, reps, fields);
      }
  job_backend_shutdown (processes);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree guint64 *list = NULL;
  guint64 param;
  guint reps;

  if (argc != 7 || (strcmp (argv[2], "svd") != 0 && strcmp (argv[2], "mcmc") != 0))
    {
      g_printerr ("usage: %s TASKS_MODULE svd SIZE TASK_COUNTS N_JOBS REPS\n"
                  "       %s TASKS_MODULE mcmc N_ITER TASKS N_JOBS_LIST REPS\n",
                  argv[0], argv[0]);
      return 2;
    }
  module_path = argv[1];
  param = g_ascii_strtoull (argv[3], NULL, 10);
  reps = MAX (atoi (argv[6]), 1);
  if (param == 0)
    {
      g_printerr ("SIZE or N_ITER must be a positive integer, not '%s'\n", argv[3]);
      return 2;
    }

  if (strcmp (argv[2], "svd") == 0)
    {
      list = bench_parse_list (argv[4]);
      run_svd (param, list, MAX (atoi (argv[5]), 1), reps);
    }
  else
    {
      list = bench_parse_list (argv[5]);
      run_mcmc (param, MAX (atoi (argv[4]), 1), list, reps);
    }
  return 0;
}
