/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* How long a GTK 4 window's main loop is held while a parallel run of C
 * functions goes on: a 10 ms timer on the window's context records the
 * longest gap between two of its calls, from the tick that starts a run to
 * the tick after the run ends, and the most CPU time the main thread used
 * between two ticks (from /proc/thread-self/schedstat): the wall-clock gap
 * also counts the time the thread waited for a CPU on a loaded machine,
 * the busy time only what the loop itself did. benchmarks/ui-gaps-report.py runs
 * it under Xvfb.
 *
 *   ui-gaps MODULE BACKEND N_TASKS TASK_MS [main-thread-only]
 *
 * MODULE is the ui-gaps-tasks module; BACKEND "threading" or "processes".
 * With main-thread-only, the function is marked so (as JS closures are):
 * its calls run on the window's context. Two runs: the first starts the
 * workers ("cold"), the second reuses them ("warm"). Prints one JSON line. */

#include <gtk/gtk.h>
#include <joblib-glib.h>

typedef struct
{
  JobParallel *parallel;
  GPtrArray   *calls;
  GtkWidget   *progress;
  gint64       last_tick;
  gint64       last_busy;
  gint64       worst_gap;
  gint64       worst_busy;
  guint        n_gaps;
  gint64       sum_gaps;
  gboolean     measuring;
  gboolean     ending;      /* the run ended: measure up to the next tick */
  gboolean     start_next;  /* the next tick starts a run */
  guint        run;         /* runs started */
  double       worst[2];    /* ms, per run */
  double       busy[2];
  double       mean[2];
  double       seconds[2];
  gint64       started;
  GError      *error;
  GMainLoop   *loop;
} Bench;

static void
on_progress (JobParallel *parallel,
             guint        done,
             int          total,
             gpointer     user_data)
{
  Bench *bench = user_data;

  if (total > 0)
    gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (bench->progress), (double) done / total);
}

static void
on_done (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Bench *bench = user_data;
  g_autoptr(GPtrArray) results = job_parallel_run_finish (JOB_PARALLEL (source), result,
                                                          &bench->error);

  bench->seconds[bench->run - 1] = (g_get_monotonic_time () - bench->started) / 1e6;
  bench->ending = TRUE;
}

/* ns the calling thread has run on a CPU */
static gint64
thread_cpu_ns (void)
{
  g_autofree char *text = NULL;

  if (!g_file_get_contents ("/proc/thread-self/schedstat", &text, NULL, NULL))
    return 0;
  return g_ascii_strtoll (text, NULL, 10);
}

static gboolean
tick (gpointer user_data)
{
  Bench *bench = user_data;
  gint64 now = g_get_monotonic_time ();
  gint64 busy = thread_cpu_ns ();

  if (bench->measuring)
    {
      gint64 gap = now - bench->last_tick;

      bench->worst_gap = MAX (bench->worst_gap, gap);
      bench->worst_busy = MAX (bench->worst_busy, busy - bench->last_busy);
      bench->sum_gaps += gap;
      bench->n_gaps++;
    }
  bench->last_tick = now;
  bench->last_busy = busy;

  if (bench->ending)
    {
      guint i = bench->run - 1;

      bench->worst[i] = bench->worst_gap / 1000.0;
      bench->busy[i] = bench->worst_busy / 1e6;
      bench->mean[i] = bench->n_gaps ? bench->sum_gaps / 1000.0 / bench->n_gaps : 0;
      bench->measuring = bench->ending = FALSE;
      if (bench->error != NULL || bench->run == 2)
        {
          g_main_loop_quit (bench->loop);
          return G_SOURCE_REMOVE;
        }
      bench->start_next = TRUE;
      return G_SOURCE_CONTINUE;
    }

  if (bench->start_next)
    {
      /* Started from a tick: what starting costs is in the next gap. */
      bench->start_next = FALSE;
      bench->measuring = TRUE;
      bench->worst_gap = bench->worst_busy = bench->sum_gaps = 0;
      bench->n_gaps = 0;
      bench->run++;
      bench->started = now;
      job_parallel_run_async (bench->parallel, (JobCall **) bench->calls->pdata,
                              bench->calls->len, NULL, on_done, bench);
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
begin (gpointer user_data)
{
  Bench *bench = user_data;

  bench->last_tick = g_get_monotonic_time ();
  bench->last_busy = thread_cpu_ns ();
  bench->start_next = TRUE;
  g_timeout_add (10, tick, bench);
  return G_SOURCE_REMOVE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(JobFunction) function = NULL;
  g_autoptr(JobBackend) backend = NULL;
  Bench bench = { NULL };
  GtkWidget *window, *box, *spinner;
  int n_tasks, task_ms;

  if (argc < 5)
    {
      g_printerr ("usage: %s MODULE BACKEND N_TASKS TASK_MS [main-thread-only]\n", argv[0]);
      return 2;
    }
  n_tasks = atoi (argv[3]);
  task_ms = atoi (argv[4]);

  gtk_init ();
  function = job_function_new_for_symbol (argv[1], "ui_gaps_spin", NULL);
  if (argc > 5 && g_str_equal (argv[5], "main-thread-only"))
    job_function_set_main_thread_only (function, TRUE);

  bench.calls = g_ptr_array_new_with_free_func ((GDestroyNotify) job_call_unref);
  for (int i = 0; i < n_tasks; i++)
    g_ptr_array_add (bench.calls, job_call_new (function, g_variant_new ("(i)", task_ms)));
  backend = job_backend_new_for_name (argv[2], &bench.error);
  if (backend == NULL)
    {
      g_printerr ("%s\n", bench.error->message);
      return 2;
    }
  bench.parallel = job_parallel_new (2);
  job_parallel_set_backend (bench.parallel, backend);
  g_signal_connect (bench.parallel, "progress", G_CALLBACK (on_progress), &bench);

  window = gtk_window_new ();
  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  spinner = gtk_spinner_new ();
  gtk_spinner_start (GTK_SPINNER (spinner));
  bench.progress = gtk_progress_bar_new ();
  gtk_box_append (GTK_BOX (box), spinner);
  gtk_box_append (GTK_BOX (box), bench.progress);
  gtk_window_set_child (GTK_WINDOW (window), box);
  gtk_window_set_default_size (GTK_WINDOW (window), 320, 120);
  gtk_window_present (GTK_WINDOW (window));

  bench.loop = g_main_loop_new (NULL, FALSE);
  /* Once the window is up and drawn. */
  g_timeout_add (300, begin, &bench);
  g_main_loop_run (bench.loop);

  if (bench.error != NULL)
    {
      g_printerr ("%s\n", bench.error->message);
      return 1;
    }
  for (guint i = 0; i < 2; i++)
    g_print ("%s\"%s\": {\"worst_ms\": %.1f, \"busy_ms\": %.1f, \"mean_ms\": %.1f, "
             "\"seconds\": %.2f}%s",
             i == 0 ? "{" : ", ", i == 0 ? "cold" : "warm",
             bench.worst[i], bench.busy[i], bench.mean[i], bench.seconds[i],
             i == 1 ? "}\n" : "");

  job_backend_shutdown (backend);
  gtk_window_destroy (GTK_WINDOW (window));
  g_ptr_array_unref (bench.calls);
  g_object_unref (bench.parallel);
  g_main_loop_unref (bench.loop);
  return 0;
}
