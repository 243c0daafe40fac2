/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The task of benchmarks/ui-gaps.c, exported so that native process
 * workers run the same code as the threads. */

#include <time.h>

#include <joblib-glib.h>

G_MODULE_EXPORT GVariant *ui_gaps_spin (GVariant *args, GCancellable *cancellable,
                                        gpointer user_data, GError **error);

static gint64
thread_cpu_usec (void)
{
  struct timespec now;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &now);
  return now.tv_sec * G_USEC_PER_SEC + now.tv_nsec / 1000;
}

/* args (i): uses that many milliseconds of CPU time (no sleep: a sleeping
 * task would leave the CPU to the window; CPU time, not wall-clock time:
 * the same work on a loaded machine), returns it */
G_MODULE_EXPORT GVariant *
ui_gaps_spin (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  gint32 msec;
  gint64 end;

  g_variant_get (args, "(i)", &msec);
  end = thread_cpu_usec () + (gint64) msec * 1000;
  while (thread_cpu_usec () < end)
    ;
  return g_variant_new_int32 (msec);
}
