/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "job-progress-printer-private.h"

static void
collect_line (const char *line,
              gpointer    user_data)
{
  g_ptr_array_add (user_data, g_strdup (line));
}

static GPtrArray *
new_lines (void)
{
  return g_ptr_array_new_with_free_func (g_free);
}

/* The elapsed and remaining times depend on the machine: check the fixed
 * parts of a line and that each time is formatted as joblib does. */
static void
assert_line (const char *line,
             const char *prefix,
             const char *suffix)
{
  g_assert_true (g_str_has_prefix (line, prefix));
  g_assert_true (g_str_has_suffix (line, suffix));
  g_assert_true (g_pattern_match_simple ("*elapsed: *.?s*", line) ||
                 g_pattern_match_simple ("*elapsed: *.?min*", line));
}

static void
test_format_time (void)
{
  /* the values of joblib.logger.short_format_time */
  const struct { double seconds; const char *text; } cases[] = {
    { 0.0, "   0.0s" },
    { 0.5, "   0.5s" },
    { 1.5, "   1.5s" },
    { 59.9, "  59.9s" },
    { 123.4, " 2.1min" },
    { 61.0, " 1.0min" },
    { 90.0, " 1.5min" },
    { 600.0, "10.0min" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = job_progress_printer_format_time (cases[i].seconds);

      g_assert_cmpstr (text, ==, cases[i].text);
    }
}

static void
test_silent_when_not_verbose (void)
{
  g_autoptr(GPtrArray) lines = new_lines ();
  g_autoptr(JobProgressPrinter) printer = job_progress_printer_new (2, 0, collect_line, lines);

  job_progress_printer_started (printer, "ThreadingBackend", 2);
  job_progress_printer_batch_done (printer, 1, 1, 6, 0);
  job_progress_printer_finished (printer, 6);
  g_assert_cmpuint (lines->len, ==, 0);
}

static void
test_started_and_finished (void)
{
  g_autoptr(GPtrArray) lines = new_lines ();
  g_autoptr(JobProgressPrinter) printer = job_progress_printer_new (2, 5, collect_line, lines);
  g_autoptr(JobProgressPrinter) single = job_progress_printer_new (1, 5, collect_line, lines);

  job_progress_printer_started (printer, "ThreadingBackend", 2);
  job_progress_printer_finished (printer, 6);
  job_progress_printer_started (single, "SequentialBackend", 1);

  g_assert_cmpuint (lines->len, ==, 3);
  g_assert_cmpstr (g_ptr_array_index (lines, 0), ==,
                   "[Parallel(n_jobs=2)]: Using backend ThreadingBackend with 2 concurrent workers.\n");
  assert_line (g_ptr_array_index (lines, 1),
               "[Parallel(n_jobs=2)]: Done   6 out of   6 | elapsed: ", "s finished\n");
  /* "elapsed:" then short_format_time's leading space and a %5.1f field */
  g_assert_cmpuint (strlen (g_ptr_array_index (lines, 1)),
                    ==, strlen ("[Parallel(n_jobs=2)]: Done   6 out of   6 | elapsed:    0.0s finished\n"));
  g_assert_cmpstr (g_ptr_array_index (lines, 2), ==,
                   "[Parallel(n_jobs=1)]: Using backend SequentialBackend with 1 concurrent worker.\n");
}

/* Known total: the first completion prints, then lines come every
 * total / verbose + 1 tasks counted back from the end, never for the
 * last-but-one task (the "finished" line follows). */
static void
test_known_total_frequency (void)
{
  g_autoptr(GPtrArray) lines = new_lines ();
  g_autoptr(JobProgressPrinter) printer = job_progress_printer_new (2, 10, collect_line, lines);
  g_autoptr(JobProgressPrinter) quiet = NULL;

  /* verbose 10, 6 tasks: frequency 1, so every count but 5 prints */
  for (guint done = 1; done < 6; done++)
    job_progress_printer_batch_done (printer, done, done, 6, 0);
  g_assert_cmpuint (lines->len, ==, 4);
  assert_line (g_ptr_array_index (lines, 0),
               "[Parallel(n_jobs=2)]: Done   1 out of   6 | elapsed: ", "s\n");
  g_assert_nonnull (strstr (g_ptr_array_index (lines, 0), " remaining: "));
  assert_line (g_ptr_array_index (lines, 3),
               "[Parallel(n_jobs=2)]: Done   4 out of   6 | elapsed: ", "s\n");

  /* verbose 1, 100 tasks, 4 pre-dispatched: frequency 101, cursor
   * 97 - done; only done = 97 prints */
  g_ptr_array_set_size (lines, 0);
  quiet = job_progress_printer_new (2, 1, collect_line, lines);
  for (guint done = 1; done < 100; done++)
    job_progress_printer_batch_done (quiet, done, done, 100, 4);
  g_assert_cmpuint (lines->len, ==, 1);
  assert_line (g_ptr_array_index (lines, 0),
               "[Parallel(n_jobs=2)]: Done  97 out of 100 | elapsed: ", "s\n");
}

/* Unknown total (lazy input): lines thin out as the square root of the
 * batch count, as joblib's _verbosity_filter; above 10 every batch prints. */
static void
test_unknown_total (void)
{
  g_autoptr(GPtrArray) lines = new_lines ();
  g_autoptr(JobProgressPrinter) printer = job_progress_printer_new (-1, 10, collect_line, lines);
  g_autoptr(JobProgressPrinter) chatty = job_progress_printer_new (-1, 50, collect_line, lines);

  /* verbose 10: lag 0.5; batch 1 prints (sqrt 2 → sqrt 4), 2 and 3 do not,
   * 4 does (sqrt 8 → sqrt 10) */
  for (guint batch = 1; batch <= 4; batch++)
    job_progress_printer_batch_done (printer, batch * 10, batch, -1, 0);
  g_assert_cmpuint (lines->len, ==, 2);
  assert_line (g_ptr_array_index (lines, 0),
               "[Parallel(n_jobs=-1)]: Done  10 tasks      | elapsed: ", "s\n");
  assert_line (g_ptr_array_index (lines, 1),
               "[Parallel(n_jobs=-1)]: Done  40 tasks      | elapsed: ", "s\n");

  g_ptr_array_set_size (lines, 0);
  for (guint batch = 1; batch <= 4; batch++)
    job_progress_printer_batch_done (chatty, batch, batch, -1, 0);
  g_assert_cmpuint (lines->len, ==, 4);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/joblib/progress-printer/format-time", test_format_time);
  g_test_add_func ("/joblib/progress-printer/silent", test_silent_when_not_verbose);
  g_test_add_func ("/joblib/progress-printer/started-finished", test_started_and_finished);
  g_test_add_func ("/joblib/progress-printer/known-total", test_known_total_frequency);
  g_test_add_func ("/joblib/progress-printer/unknown-total", test_unknown_total);

  return g_test_run ();
}
