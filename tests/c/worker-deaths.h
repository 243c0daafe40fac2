/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <string.h>

#include <glib.h>

/* The process pool warns when a worker ends while it had nothing to run
 * (no task would report it otherwise), and g_test_init() makes warnings
 * fatal. Tests that kill or break workers on purpose, at moments they do
 * not control, tolerate that warning, and only that one, while they do:
 *
 *   worker_deaths_install ();     once, in main(), before any thread
 *   worker_deaths_tolerate ("worker * killed by signal 9 (*)");
 *   ...                           0 or more such warnings, counted
 *   worker_deaths_tolerate (NULL);  every warning fatal again
 *
 * The pattern (g_pattern_match_simple) applies to the text after "A KIND
 * worker ended while it had nothing to run: ". g_test_expect_message()
 * needs an exact count; this is for counts that depend on timing.
 * GLib's way: a log handler for the library's domain (so that gtest does
 * not print "Bail out!" for it) and g_test_log_set_fatal_handler(), which
 * GLib resets at the start of each test case, so tolerate() sets it. The
 * pool thread reads the pattern: atomics, no lock. */

#define WORKER_DEATH_PREFIX " worker ended while it had nothing to run: "

static const char *worker_deaths_pattern;  /* (atomic) (nullable) */
static gint worker_deaths_seen;            /* (atomic) */

static gboolean
worker_deaths_is_tolerated (const char     *log_domain,
                            GLogLevelFlags  log_level,
                            const char     *message)
{
  const char *pattern = g_atomic_pointer_get (&worker_deaths_pattern);
  const char *text;

  return pattern != NULL && (log_level & G_LOG_LEVEL_WARNING) != 0 &&
         g_strcmp0 (log_domain, "Joblib") == 0 &&
         (text = strstr (message, WORKER_DEATH_PREFIX)) != NULL &&
         g_pattern_match_simple (pattern, text + strlen (WORKER_DEATH_PREFIX));
}

static gboolean
worker_deaths_fatal_handler (const char     *log_domain,
                             GLogLevelFlags  log_level,
                             const char     *message,
                             gpointer        user_data)
{
  return !worker_deaths_is_tolerated (log_domain, log_level, message);
}

static void
worker_deaths_log_handler (const char     *log_domain,
                           GLogLevelFlags  log_level,
                           const char     *message,
                           gpointer        user_data)
{
  if (!worker_deaths_is_tolerated (log_domain, log_level, message))
    {
      g_log_default_handler (log_domain, log_level, message, user_data);
      return;
    }
  g_printerr ("tolerated %s-WARNING: %s\n", log_domain, message);
  g_atomic_int_inc (&worker_deaths_seen);
}

static inline void
worker_deaths_install (void)
{
  g_log_set_handler ("Joblib", G_LOG_LEVEL_WARNING | G_LOG_FLAG_FATAL,
                     worker_deaths_log_handler, NULL);
}

/* @pattern: (nullable): must live until the next call */
static inline void
worker_deaths_tolerate (const char *pattern)
{
  g_test_log_set_fatal_handler (pattern != NULL ? worker_deaths_fatal_handler : NULL, NULL);
  g_atomic_pointer_set (&worker_deaths_pattern, pattern);
}

static inline int
worker_deaths_get_seen (void)
{
  return g_atomic_int_get (&worker_deaths_seen);
}
