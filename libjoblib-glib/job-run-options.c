/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-cpu.h"
#include "job-error.h"
#include "job-i18n-private.h"
#include "job-parallel-config.h"
#include "job-remote-backend-private.h"
#include "job-run-options-private.h"
#include "job-sequential-backend.h"

/* The options of one run (see JobRunOptions): what the caller's settings,
 * the active config and the enclosing runs resolve to, and what the
 * dispatcher takes. */

void
job_run_options_clear (JobRunOptions *options)
{
  g_clear_object (&options->backend);
  g_clear_pointer (&options->nesting, job_nesting_unref);
  if (options->callback_destroy != NULL)
    g_clear_pointer (&options->callback_data, options->callback_destroy);
  options->callback_destroy = NULL;
}

gboolean
job_run_options_parse_pre_dispatch (const char  *text,
                                    int          n_workers,
                                    guint       *out,
                                    GError     **error)
{
  g_autofree char *compact = g_strdup (text);
  const char *rest;
  guint64 factor = 1;
  char *end = NULL;

  /* allow spaces, as Python expressions do */
  {
    char *w = compact;

    for (const char *r = text; *r; r++)
      if (!g_ascii_isspace (*r))
        *w++ = *r;
    *w = '\0';
  }

  if (g_str_equal (compact, "all"))
    {
      *out = G_MAXUINT;
      return TRUE;
    }

  rest = compact;
  if (g_ascii_isdigit (*rest))
    {
      factor = g_ascii_strtoull (rest, &end, 10);
      rest = end;
      if (*rest == '\0')
        {
          if (factor == 0 || factor > G_MAXUINT)
            goto invalid;
          *out = (guint) factor;
          return TRUE;
        }
      if (*rest != '*')
        goto invalid;
      rest++;
    }

  if (!g_str_equal (rest, "n_jobs") || factor == 0 || factor > G_MAXINT)
    goto invalid;

  *out = (guint) MIN (factor * (guint64) n_workers, (guint64) G_MAXUINT);
  return TRUE;

invalid:
  g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
               _("pre_dispatch “%s” is not “all”, “n_jobs”, “k*n_jobs” or a positive count"),
               text);
  return FALSE;
}

/* The backend of a run when neither the caller nor the active config
 * names one. */
#define DEFAULT_BACKEND_NAME "threading"

/* The sequential backend, created on first use. */
static JobBackend *
sequential_backend (const JobRunRequest *request)
{
  if (*request->sequential == NULL)
    *request->sequential = job_sequential_backend_new ();
  return *request->sequential;
}

gboolean
job_run_options_resolve (JobRunOptions        *options,
                         const JobRunRequest  *request,
                         GError              **error)
{
  g_autoptr(JobParallelConfig) config = job_parallel_config_get_current ();
  JobNesting *parent = job_nesting_get_current ();
  int n_jobs = request->n_jobs;
  int effective;
  JobBackend *backend = NULL;

  if (n_jobs == JOB_N_JOBS_DEFAULT)
    n_jobs = job_parallel_config_get_n_jobs (config);
  if (n_jobs == JOB_N_JOBS_DEFAULT)
    n_jobs = 1;

  effective = job_effective_n_jobs (n_jobs, error);
  if (effective == 0)
    return FALSE;
  /* A run started from a task gets fewer workers, then none of its own. */
  effective = job_nesting_limit_workers (parent, effective);

  if (effective == 1)
    {
      /* joblib runs n_jobs=1 in the caller, whatever the backend */
      backend = sequential_backend (request);
    }
  else if (request->backend != NULL)
    backend = request->backend;
  else if (request->backend_name != NULL)
    {
      if (*request->named_backend == NULL)
        *request->named_backend = job_backend_new_for_name (request->backend_name, error);
      backend = *request->named_backend;
    }
  else if (job_parallel_config_get_backend (config) != NULL)
    backend = job_parallel_config_get_backend (config);
  else
    {
      const char *name = job_parallel_config_get_backend_name (config);

      if (*request->named_backend == NULL)
        *request->named_backend = job_backend_new_for_name (name ? name : DEFAULT_BACKEND_NAME,
                                                            error);
      backend = *request->named_backend;
    }

  if (backend == NULL)
    return FALSE;

  /* A pool that an enclosing run uses may have all its workers waiting
   * for this run: queueing on it would never end. */
  if (effective > 1 && job_nesting_uses_pool (parent, backend) &&
      (job_backend_get_flags (backend) & JOB_BACKEND_FLAGS_IN_CALLER) == 0)
    {
      effective = 1;
      backend = sequential_backend (request);
    }

  options->backend = g_object_ref (backend);
  options->n_jobs_requested = n_jobs;
  /* n_jobs=-1 on a cluster means the cluster's size, not this machine's. */
  if (JOB_IS_REMOTE_BACKEND (backend))
    options->n_workers = job_remote_backend_size_run (backend, n_jobs, effective);
  else
    options->n_workers = job_backend_effective_n_jobs (backend, effective);
  options->batch_size = request->batch_size;
  options->timeout = request->timeout;
  options->verbose = request->verbose >= 0 ? request->verbose
                                           : MAX (job_parallel_config_get_verbose (config), 0);

  options->nesting = job_nesting_new (parent, backend, options->n_workers);

  if (!job_run_options_parse_pre_dispatch (request->pre_dispatch, options->n_workers,
                                           &options->pre_dispatch, error))
    return FALSE;

  return job_backend_configure_for_run (backend, options->n_workers,
                                        job_parallel_config_get_inner_max_num_threads (config),
                                        error);
}
