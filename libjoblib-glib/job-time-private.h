/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Durations reach the library as doubles (properties, arguments, Python
 * floats) and leave it as the integers GLib's clocks and timers take. A
 * plain cast of a value beyond the integer's range is undefined and, on
 * x86, gives the most negative integer: a timeout of infinity would expire
 * at once and a poll interval of G_MAXDOUBLE would become a 0 ms timer.
 * These conversions saturate instead, so infinity and every huge value
 * mean "no limit"; NaN and negative values give 0. Thread-safe. */

/* The largest number of seconds that still fits in gint64 microseconds. */
#define JOB_TIME_MAX_SECONDS ((double) (G_MAXINT64 / G_USEC_PER_SEC))

/* Whether @seconds is so large that it means "no limit" (infinity included). */
static inline gboolean
job_seconds_unlimited (double seconds)
{
  return seconds >= JOB_TIME_MAX_SECONDS;
}

/* @seconds in microseconds, saturated at G_MAXINT64. */
static inline gint64
job_seconds_to_usec (double seconds)
{
  if (!(seconds > 0))
    return 0;
  if (job_seconds_unlimited (seconds))
    return G_MAXINT64;
  return (gint64) (seconds * G_USEC_PER_SEC);
}

/* @seconds in milliseconds for g_timeout_source_new(), saturated at
 * G_MAXUINT (49 days: a timer that long is as good as none). */
static inline guint
job_seconds_to_msec (double seconds)
{
  if (!(seconds > 0))
    return 0;
  if (seconds >= G_MAXUINT / 1000.0)
    return G_MAXUINT;
  return (guint) (seconds * 1000);
}

/* The monotonic time @seconds after @now, saturated at G_MAXINT64. */
static inline gint64
job_deadline_after (gint64 now,
                    double seconds)
{
  gint64 usec = job_seconds_to_usec (seconds);

  return usec > G_MAXINT64 - now ? G_MAXINT64 : now + usec;
}

G_END_DECLS
