/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * Single-flight inside one process: the first caller of a key becomes its
 * leader and computes; callers that arrive meanwhile wait and share the
 * leader's outcome. (Across processes, the cache store's lock file does
 * the same, and the leader re-reads the cache once it holds that lock.)
 */
typedef struct _JobFlight JobFlight;

/* Returns the flight of @key; *@leader is TRUE for the caller that must
 * compute and call job_flight_finish(). */
JobFlight *job_flight_join   (const char    *key,
                              gboolean      *leader);
/* Leader only: publishes the outcome (one of @result, @error is set) and
 * wakes the waiters. Consumes the caller's reference to @flight. */
void       job_flight_finish (JobFlight     *flight,
                              GVariant      *result,
                              const GError  *error);
/* Waiters: blocks until the leader finishes; returns its result or sets
 * @error. Consumes the caller's reference to @flight. */
GVariant  *job_flight_wait   (JobFlight     *flight,
                              GError       **error);

G_END_DECLS
