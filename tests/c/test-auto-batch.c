/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-auto-batch-private.h"

static void
test_starts_at_one (void)
{
  JobAutoBatch sizer;

  job_auto_batch_init (&sizer);
  g_assert_cmpuint (job_auto_batch_get_size (&sizer), ==, 1);
}

/* Fast batches: the size doubles at most per adjustment, whatever the
 * measured duration suggests. */
static void
test_grows_at_most_twice (void)
{
  JobAutoBatch sizer;
  guint previous;

  job_auto_batch_init (&sizer);
  for (int step = 0; step < 10; step++)
    {
      previous = job_auto_batch_get_size (&sizer);
      job_auto_batch_completed (&sizer, previous, 1e-6);
      g_assert_cmpuint (job_auto_batch_get_size (&sizer), ==, 2 * previous);
    }
  g_assert_cmpuint (job_auto_batch_get_size (&sizer), ==, 1024);
}

/* Growth aims at twice the lower ideal duration (0.2 s): a batch of 10 that
 * took 0.1 s suggests 2 * 10 * 0.2 / 0.1 = 40, capped at 20. */
static void
test_growth_toward_ideal (void)
{
  JobAutoBatch sizer;

  job_auto_batch_init (&sizer);
  /* reach size 8 with very fast batches */
  for (int step = 0; step < 3; step++)
    job_auto_batch_completed (&sizer, job_auto_batch_get_size (&sizer), 1e-6);
  g_assert_cmpuint (job_auto_batch_get_size (&sizer), ==, 8);

  /* 8 tasks in 0.15 s: ideal = 2 * 8 * 0.2 / 0.15 = 21.3, capped at 16 */
  job_auto_batch_completed (&sizer, 8, 0.15);
  g_assert_cmpuint (job_auto_batch_get_size (&sizer), ==, 16);

  /* 16 tasks in 0.18 s: ideal = 2 * 16 * 0.2 / 0.18 = 35.5, capped at 32 */
  job_auto_batch_completed (&sizer, 16, 0.18);
  g_assert_cmpuint (job_auto_batch_get_size (&sizer), ==, 32);
}

/* Batches within 0.2-2 s keep their size. */
static void
test_stable_in_ideal_window (void)
{
  JobAutoBatch sizer;

  job_auto_batch_init (&sizer);
  for (int step = 0; step < 2; step++)
    job_auto_batch_completed (&sizer, job_auto_batch_get_size (&sizer), 1e-6);
  g_assert_cmpuint (job_auto_batch_get_size (&sizer), ==, 4);

  for (int step = 0; step < 5; step++)
    {
      job_auto_batch_completed (&sizer, 4, 0.5);
      g_assert_cmpuint (job_auto_batch_get_size (&sizer), ==, 4);
    }
}

/* Too-long batches shrink to twice the size that would take 0.2 s. */
static void
test_shrinks_when_too_long (void)
{
  JobAutoBatch sizer;

  job_auto_batch_init (&sizer);
  for (int step = 0; step < 6; step++)
    job_auto_batch_completed (&sizer, job_auto_batch_get_size (&sizer), 1e-6);
  g_assert_cmpuint (job_auto_batch_get_size (&sizer), ==, 64);

  /* 64 tasks in 8 s: ideal = 64 * 0.2 / 8 = 1.6 → 2 * 1.6 = 3 */
  job_auto_batch_completed (&sizer, 64, 8.0);
  g_assert_cmpuint (job_auto_batch_get_size (&sizer), ==, 3);

  /* a single task never shrinks below one */
  job_auto_batch_init (&sizer);
  job_auto_batch_completed (&sizer, 1, 100.0);
  g_assert_cmpuint (job_auto_batch_get_size (&sizer), ==, 1);
}

/* Only batches of the current size inform the estimate. */
static void
test_ignores_stale_sizes (void)
{
  JobAutoBatch sizer;

  job_auto_batch_init (&sizer);
  job_auto_batch_completed (&sizer, 1, 1e-6);
  g_assert_cmpuint (job_auto_batch_get_size (&sizer), ==, 2);

  /* a late batch of the old size 1, even a slow one, changes nothing */
  job_auto_batch_completed (&sizer, 1, 50.0);
  g_assert_cmpuint (job_auto_batch_get_size (&sizer), ==, 2);
}

/* The duration is smoothed (0.8 old, 0.2 new): one slow batch among fast
 * ones in the ideal window does not shrink the size. */
static void
test_smoothing (void)
{
  JobAutoBatch sizer;

  job_auto_batch_init (&sizer);
  for (int step = 0; step < 2; step++)
    job_auto_batch_completed (&sizer, job_auto_batch_get_size (&sizer), 1e-6);
  g_assert_cmpuint (job_auto_batch_get_size (&sizer), ==, 4);

  job_auto_batch_completed (&sizer, 4, 1.0);
  g_assert_cmpfloat_with_epsilon (sizer.smoothed_duration, 1.0, 1e-12);
  /* 0.8 * 1.0 + 0.2 * 6.0 = 2.0: still not above the 2 s limit */
  job_auto_batch_completed (&sizer, 4, 6.0);
  g_assert_cmpfloat_with_epsilon (sizer.smoothed_duration, 2.0, 1e-12);
  g_assert_cmpuint (job_auto_batch_get_size (&sizer), ==, 4);
  /* 0.8 * 2.0 + 0.2 * 3.0 = 2.2 > 2: 4 * 0.2 / 2.2 = 0.36 → 2 * 0.36 → 1 */
  job_auto_batch_completed (&sizer, 4, 3.0);
  g_assert_cmpuint (job_auto_batch_get_size (&sizer), ==, 1);
}

/* The tail splits finer only for long batches, never below one task. */
static void
test_tail_size (void)
{
  JobAutoBatch sizer;

  job_auto_batch_init (&sizer);
  for (int step = 0; step < 5; step++)
    job_auto_batch_completed (&sizer, job_auto_batch_get_size (&sizer), 1e-6);
  g_assert_cmpuint (job_auto_batch_get_size (&sizer), ==, 32);

  /* plenty left: the normal size */
  g_assert_cmpuint (job_auto_batch_tail_size (&sizer, 1000, 2), ==, 32);
  /* one worker: nothing to balance */
  g_assert_cmpuint (job_auto_batch_tail_size (&sizer, 10, 1), ==, 32);
  /* fast batches (32 tasks in ~0 s): splitting would only add overhead */
  g_assert_cmpuint (job_auto_batch_tail_size (&sizer, 40, 2), ==, 32);

  /* slow batches (32 tasks in 0.5 s): the tail is split into
   * remaining / (2 * n_jobs) */
  job_auto_batch_completed (&sizer, 32, 0.5);
  g_assert_cmpuint (job_auto_batch_get_size (&sizer), ==, 32);
  g_assert_cmpuint (job_auto_batch_tail_size (&sizer, 40, 2), ==, 10);
  g_assert_cmpuint (job_auto_batch_tail_size (&sizer, 3, 2), ==, 1);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/joblib/auto-batch/starts-at-one", test_starts_at_one);
  g_test_add_func ("/joblib/auto-batch/grows-at-most-twice", test_grows_at_most_twice);
  g_test_add_func ("/joblib/auto-batch/growth-toward-ideal", test_growth_toward_ideal);
  g_test_add_func ("/joblib/auto-batch/stable-in-ideal-window", test_stable_in_ideal_window);
  g_test_add_func ("/joblib/auto-batch/shrinks-when-too-long", test_shrinks_when_too_long);
  g_test_add_func ("/joblib/auto-batch/ignores-stale-sizes", test_ignores_stale_sizes);
  g_test_add_func ("/joblib/auto-batch/smoothing", test_smoothing);
  g_test_add_func ("/joblib/auto-batch/tail-size", test_tail_size);

  return g_test_run ();
}
