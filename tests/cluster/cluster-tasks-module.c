/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Task functions for the Dask and IPython Parallel backend tests, run by
 * native workers started as cluster tasks. JOB_CLUSTER_TEST_DIR (set by
 * tests/cluster/cluster.py for the cluster's processes) receives a
 * marker file per task start, so that tests can tell where a task runs
 * before they disturb the cluster. */

#include <unistd.h>

#include <joblib-glib.h>

#define TASK_EXPORT G_MODULE_EXPORT GVariant *
#define TASK_ARGS GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error

TASK_EXPORT cluster_task_where (TASK_ARGS);

/* (xd) → (x², "NODE/PID"), after sleeping d seconds, where NODE is the
 * cluster process running the worker's task ("host:pid", from
 * JOB_WORKER_NODE) and PID the worker's own; first writes
 * started-X-NODEPID-PID in the test folder. */
TASK_EXPORT
cluster_task_where (TASK_ARGS)
{
  const char *folder = g_getenv ("JOB_CLUSTER_TEST_DIR");
  const char *node = g_getenv ("JOB_WORKER_NODE");
  const char *node_pid;
  g_autofree char *where = NULL;
  gint64 x;
  double seconds;

  if (node == NULL)
    node = "none:0";
  node_pid = strrchr (node, ':') != NULL ? strrchr (node, ':') + 1 : node;
  where = g_strdup_printf ("%s/%d", node_pid, (int) getpid ());
  g_variant_get (args, "(xd)", &x, &seconds);
  if (folder != NULL)
    {
      g_autofree char *name = g_strdup_printf ("started-%" G_GINT64_FORMAT "-%s-%d", x,
                                               node_pid, (int) getpid ());
      g_autofree char *path = g_build_filename (folder, name, NULL);

      g_file_set_contents (path, "", 0, NULL);
    }
  g_usleep ((gulong) (seconds * G_USEC_PER_SEC));
  return g_variant_new ("(xs)", x * x, where);
}
