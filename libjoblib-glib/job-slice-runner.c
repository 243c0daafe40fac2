/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-batch-private.h"
#include "job-slice-runner-private.h"

/* One runner per main context that has work queued: a source that runs
 * one slice of the first batch it can per dispatch. Its readiness is its
 * ready time (0: ready, -1: not), which any thread may set; so a batch
 * submitted from another thread wakes the context, and a loop nested in a
 * task does not spin while only running batches are queued. */
typedef struct
{
  GTask    *task;     /* (owned) */
  JobBatch *batch;    /* (owned) */
  gboolean  running;  /* a slice of it is on the stack */
} Entry;

typedef struct
{
  GMainContext *context;  /* (unowned): the key; the source is attached to it */
  GSource      *source;   /* (owned) */
  GQueue        entries;  /* (element-type Entry) */
} Runner;

/* Guards the table and every runner's entries and ready time. */
static GMutex runners_lock;
static GHashTable *runners;  /* (element-type GMainContext Runner) */

static void
entry_free (Entry *entry)
{
  g_object_unref (entry->task);
  job_batch_unref (entry->batch);
  g_free (entry);
}

/* Called with runners_lock held. */
static Entry *
first_waiting_entry (Runner *runner)
{
  for (GList *l = runner->entries.head; l != NULL; l = l->next)
    {
      Entry *entry = l->data;

      if (!entry->running)
        return entry;
    }
  return NULL;
}

/* The source's callback data: freed when the source is destroyed, after
 * its last dispatch or with its context. A runner still in the table is
 * only there when its context went away with work queued. */
static void
runner_free (gpointer data)
{
  Runner *runner = data;

  g_mutex_lock (&runners_lock);
  if (runners != NULL && g_hash_table_lookup (runners, runner->context) == runner)
    g_hash_table_remove (runners, runner->context);
  g_mutex_unlock (&runners_lock);

  g_queue_clear_full (&runner->entries, (GDestroyNotify) entry_free);
  g_source_unref (runner->source);
  g_free (runner);
}

static gboolean
runner_dispatch (gpointer user_data)
{
  Runner *runner = user_data;
  Entry *entry;
  gboolean done;
  gboolean empty;

  g_mutex_lock (&runners_lock);
  entry = first_waiting_entry (runner);
  if (entry == NULL)
    {
      g_source_set_ready_time (runner->source, -1);
      g_mutex_unlock (&runners_lock);
      return G_SOURCE_CONTINUE;
    }
  entry->running = TRUE;
  g_mutex_unlock (&runners_lock);

  done = job_batch_execute_slice (entry->batch, JOB_SLICE_BUDGET_USEC);

  g_mutex_lock (&runners_lock);
  entry->running = FALSE;
  if (done)
    g_queue_remove (&runner->entries, entry);
  empty = g_queue_is_empty (&runner->entries);
  if (empty)
    g_hash_table_remove (runners, runner->context);
  else
    g_source_set_ready_time (runner->source,
                             first_waiting_entry (runner) != NULL ? 0 : -1);
  g_mutex_unlock (&runners_lock);

  /* Unlocked: the completion may queue the run's next batch here. */
  if (done)
    {
      g_task_return_boolean (entry->task, TRUE);
      entry_free (entry);
    }

  return empty ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
}

static gboolean
runner_source_dispatch (GSource     *source,
                        GSourceFunc  callback,
                        gpointer     user_data)
{
  return callback (user_data);
}

static GSourceFuncs runner_source_funcs = {
  NULL, NULL, runner_source_dispatch, NULL, NULL, NULL
};

void
job_slice_runner_run (GMainContext *context,
                      JobBatch     *batch,
                      GTask        *task)
{
  Entry *entry = g_new0 (Entry, 1);
  Runner *runner;

  g_return_if_fail (context != NULL);
  g_return_if_fail (batch != NULL);
  g_return_if_fail (G_IS_TASK (task));

  entry->task = g_object_ref (task);
  entry->batch = job_batch_ref (batch);

  g_mutex_lock (&runners_lock);
  if (runners == NULL)
    runners = g_hash_table_new (NULL, NULL);
  runner = g_hash_table_lookup (runners, context);
  if (runner == NULL)
    {
      runner = g_new0 (Runner, 1);
      runner->context = context;
      g_queue_init (&runner->entries);
      runner->source = g_source_new (&runner_source_funcs, sizeof (GSource));
      g_source_set_static_name (runner->source, "[joblib-glib] main-context slices");
      g_source_set_priority (runner->source, G_PRIORITY_DEFAULT_IDLE);
      /* A task that iterates the context lets the next batches run. */
      g_source_set_can_recurse (runner->source, TRUE);
      g_source_set_callback (runner->source, runner_dispatch, runner, runner_free);
      g_hash_table_insert (runners, context, runner);
      g_queue_push_tail (&runner->entries, entry);
      g_source_set_ready_time (runner->source, 0);
      g_source_attach (runner->source, context);
    }
  else
    {
      g_queue_push_tail (&runner->entries, entry);
      g_source_set_ready_time (runner->source, 0);
    }
  g_mutex_unlock (&runners_lock);
}
