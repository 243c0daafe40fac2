/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <math.h>

#include "job-progress-printer-private.h"

struct _JobProgressPrinter
{
  int                n_jobs_requested;
  int                verbose;
  gint64             start_time;
  JobProgressWriter  writer;
  gpointer           user_data;
};

JobProgressPrinter *
job_progress_printer_new (int                n_jobs_requested,
                          int                verbose,
                          JobProgressWriter  writer,
                          gpointer           user_data)
{
  JobProgressPrinter *self = g_new0 (JobProgressPrinter, 1);

  self->n_jobs_requested = n_jobs_requested;
  self->verbose = verbose;
  self->start_time = g_get_monotonic_time ();
  self->writer = writer;
  self->user_data = user_data;

  return self;
}

void
job_progress_printer_free (JobProgressPrinter *self)
{
  g_free (self);
}

/* "    0.5s" below a minute, " 1.5min" above, as joblib's short_format_time */
char *
job_progress_printer_format_time (double seconds)
{
  if (seconds > 60)
    return g_strdup_printf ("%4.1fmin", seconds / 60.0);
  return g_strdup_printf (" %5.1fs", seconds);
}

static double
elapsed (JobProgressPrinter *self)
{
  return (g_get_monotonic_time () - self->start_time) / (double) G_USEC_PER_SEC;
}

G_GNUC_PRINTF (2, 3)
static void
print_line (JobProgressPrinter *self,
            const char         *format,
            ...)
{
  g_autofree char *message = NULL;
  g_autofree char *line = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  line = g_strdup_printf ("[Parallel(n_jobs=%d)]: %s\n", self->n_jobs_requested, message);
  self->writer (line, self->user_data);
}

void
job_progress_printer_started (JobProgressPrinter *self,
                              const char         *backend_name,
                              int                 n_workers)
{
  if (self->verbose <= 0)
    return;

  print_line (self, "Using backend %s with %d concurrent worker%s.",
              backend_name, n_workers, n_workers == 1 ? "" : "s");
}

/* Lines become rarer as the count grows (a lag growing as the square of
 * the index), less so at higher verbosity; above 10 every batch prints. */
static gboolean
verbosity_filter (guint index,
                  int   verbose)
{
  double scale, next_scale, lag;

  if (verbose > 10)
    return FALSE;
  if (index == 0)
    return FALSE;

  lag = 0.5 * (11 - verbose) * (11 - verbose);
  scale = sqrt (index / lag);
  next_scale = sqrt ((index + 1) / lag);

  return (int) next_scale == (int) scale;
}

void
job_progress_printer_batch_done (JobProgressPrinter *self,
                                 guint               n_completed,
                                 guint               n_dispatched_batches,
                                 int                 total,
                                 guint               pre_dispatch_tasks)
{
  g_autofree char *elapsed_text = NULL;
  g_autofree char *remaining_text = NULL;
  double seconds;

  if (self->verbose <= 0)
    return;

  seconds = elapsed (self);

  if (total < 0)
    {
      /* The total is not known yet: count what is done. */
      if (verbosity_filter (n_dispatched_batches, self->verbose))
        return;
      elapsed_text = job_progress_printer_format_time (seconds);
      print_line (self, "Done %3u tasks      | elapsed: %s", n_completed, elapsed_text);
      return;
    }

  if (n_completed != 0)
    {
      /* Print more often as the end nears, about verbose lines in all. */
      gint64 cursor = (gint64) total - n_completed + 1 - pre_dispatch_tasks;
      gint64 frequency = (total / self->verbose) + 1;
      gboolean is_last = (gint64) n_completed + 1 == total;

      if (is_last || cursor % frequency != 0)
        return;
    }

  elapsed_text = job_progress_printer_format_time (seconds);
  remaining_text = job_progress_printer_format_time (
    n_completed > 0 ? seconds / n_completed * (total - (double) n_completed) : 0.0);
  print_line (self, "Done %3u out of %3d | elapsed: %s remaining: %s",
              n_completed, total, elapsed_text, remaining_text);
}

void
job_progress_printer_finished (JobProgressPrinter *self,
                               guint               n_completed)
{
  g_autofree char *elapsed_text = NULL;

  if (self->verbose <= 0)
    return;

  elapsed_text = job_progress_printer_format_time (elapsed (self));
  print_line (self, "Done %3u out of %3u | elapsed: %s finished",
              n_completed, n_completed, elapsed_text);
}
