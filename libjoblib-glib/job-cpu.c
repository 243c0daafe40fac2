/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include "config.h"

#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include "job-cpu.h"
#include "job-error.h"
#include "job-i18n-private.h"

/* cgroup v2 "cpu.max" is "<quota> <period>" or "max <period>". */
static int
cgroup_v2_cpu_limit (void)
{
  g_autofree char *contents = NULL;
  g_auto(GStrv) fields = NULL;
  double quota, period;

  if (!g_file_get_contents ("/sys/fs/cgroup/cpu.max", &contents, NULL, NULL))
    return 0;

  fields = g_strsplit_set (g_strstrip (contents), " ", 2);
  if (g_strv_length (fields) != 2 || g_str_equal (fields[0], "max"))
    return 0;

  quota = g_ascii_strtod (fields[0], NULL);
  period = g_ascii_strtod (fields[1], NULL);
  if (quota <= 0 || period <= 0)
    return 0;

  return (int) CLAMP (ceil (quota / period), 1, G_MAXINT);
}

/* cgroup v1: cfs_quota_us is -1 when unlimited. */
static int
cgroup_v1_cpu_limit (void)
{
  g_autofree char *quota_text = NULL;
  g_autofree char *period_text = NULL;
  double quota, period;

  if (!g_file_get_contents ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", &quota_text, NULL, NULL) ||
      !g_file_get_contents ("/sys/fs/cgroup/cpu/cpu.cfs_period_us", &period_text, NULL, NULL))
    return 0;

  quota = g_ascii_strtod (quota_text, NULL);
  period = g_ascii_strtod (period_text, NULL);
  if (quota <= 0 || period <= 0)
    return 0;

  return (int) CLAMP (ceil (quota / period), 1, G_MAXINT);
}

static int
compute_cpu_count (void)
{
  const char *override = g_getenv ("JOB_MAX_CPU_COUNT");
  int count = 0;
  int limit;

#ifdef HAVE_SCHED_GETAFFINITY
  {
    cpu_set_t set;

    if (sched_getaffinity (0, sizeof set, &set) == 0)
      count = CPU_COUNT (&set);
  }
#endif
  if (count <= 0)
    count = (int) sysconf (_SC_NPROCESSORS_ONLN);
  if (count <= 0)
    count = 1;

  limit = cgroup_v2_cpu_limit ();
  if (limit == 0)
    limit = cgroup_v1_cpu_limit ();
  if (limit > 0)
    count = MIN (count, limit);

  if (override != NULL)
    {
      gint64 max = g_ascii_strtoll (override, NULL, 10);

      if (max > 0)
        count = MIN (count, (int) MIN (max, G_MAXINT));
    }

  return count;
}

/**
 * job_cpu_count:
 *
 * Counts the CPUs this process may use: the CPUs of its scheduler
 * affinity mask, capped by a cgroup CPU quota (v2 `cpu.max` or v1 CFS
 * quota) and by the environment variable `JOB_MAX_CPU_COUNT` when set.
 * Computed once. Thread-safe.
 *
 * Returns: the number of usable CPUs, at least 1
 */
int
job_cpu_count (void)
{
  static gsize cached = 0;

  if (g_once_init_enter (&cached))
    g_once_init_leave (&cached, (gsize) compute_cpu_count ());

  return (int) cached;
}

/**
 * job_effective_n_jobs:
 * @n_jobs: a requested number of jobs
 * @error: return location for a #GError
 *
 * Applies joblib's rules to a requested number of jobs: a positive value
 * is used as is, -1 means all CPUs, -2 all but one, and in general a
 * negative value means `max (cpus + 1 + n_jobs, 1)`. 0 has no meaning and
 * fails with [error@Joblib.Error.INVALID_ARGUMENT]. Thread-safe.
 *
 * Returns: the number of jobs, or 0 with @error set
 */
int
job_effective_n_jobs (int      n_jobs,
                      GError **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, 0);

  if (n_jobs == 0)
    {
      g_set_error_literal (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
                           _("n_jobs == 0 has no meaning: use a positive number, "
                             "or -1 for all CPUs"));
      return 0;
    }

  if (n_jobs > 0)
    return n_jobs;

  return MAX (job_cpu_count () + 1 + n_jobs, 1);
}
