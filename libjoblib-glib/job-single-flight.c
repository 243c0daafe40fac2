/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-single-flight-private.h"

struct _JobFlight
{
  char     *key;        /* (owned) */
  guint     ref_count;  /* guarded by flights_lock */
  gboolean  finished;   /* guarded by flights_lock */
  GVariant *result;     /* (owned) (nullable) guarded by flights_lock */
  GError   *error;      /* (owned) (nullable) guarded by flights_lock */
};

static GMutex flights_lock;
static GCond flights_cond;
static GHashTable *flights;  /* (element-type utf8 JobFlight) guarded by flights_lock */

/* Called with flights_lock held. */
static void
flight_unref_locked (JobFlight *flight)
{
  if (--flight->ref_count > 0)
    return;

  g_free (flight->key);
  g_clear_pointer (&flight->result, g_variant_unref);
  g_clear_error (&flight->error);
  g_free (flight);
}

JobFlight *
job_flight_join (const char *key,
                 gboolean   *leader)
{
  JobFlight *flight;

  g_mutex_lock (&flights_lock);
  if (flights == NULL)
    flights = g_hash_table_new (g_str_hash, g_str_equal);

  flight = g_hash_table_lookup (flights, key);
  *leader = flight == NULL;
  if (flight == NULL)
    {
      flight = g_new0 (JobFlight, 1);
      flight->key = g_strdup (key);
      flight->ref_count = 1;
      g_hash_table_insert (flights, flight->key, flight);
    }
  flight->ref_count++;
  g_mutex_unlock (&flights_lock);

  return flight;
}

void
job_flight_finish (JobFlight    *flight,
                   GVariant     *result,
                   const GError *error)
{
  gboolean waited_for;

  g_mutex_lock (&flights_lock);
  flight->finished = TRUE;
  flight->result = result != NULL ? g_variant_ref (result) : NULL;
  flight->error = error != NULL ? g_error_copy (error) : NULL;
  g_hash_table_remove (flights, flight->key);
  /* One reference was the table's, one the leader's; any other is a
   * waiter's, taken under this lock before it waits. */
  waited_for = flight->ref_count > 2;
  flight_unref_locked (flight);
  flight_unref_locked (flight);
  /* A broadcast is a futex system call even with nobody waiting: most
   * flights (every miss) have no waiter. */
  if (waited_for)
    g_cond_broadcast (&flights_cond);
  g_mutex_unlock (&flights_lock);
}

GVariant *
job_flight_wait (JobFlight  *flight,
                 GError    **error)
{
  GVariant *result = NULL;

  g_mutex_lock (&flights_lock);
  while (!flight->finished)
    g_cond_wait (&flights_cond, &flights_lock);

  if (flight->result != NULL)
    result = g_variant_ref (flight->result);
  else if (flight->error != NULL)
    g_propagate_error (error, g_error_copy (flight->error));
  flight_unref_locked (flight);
  g_mutex_unlock (&flights_lock);

  return result;
}
