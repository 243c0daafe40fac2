/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Task functions for the Slurm backend tests, run by native workers in
 * Slurm jobs. JOB_SLURM_TEST_DIR (the harness's shared folder) receives
 * a marker file per task start, so that tests can tell where a task ran
 * before its worker was lost. */

#include <stdlib.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <joblib-glib.h>

#define TASK_EXPORT G_MODULE_EXPORT GVariant *
#define TASK_ARGS GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error

TASK_EXPORT slurm_task_where (TASK_ARGS);
TASK_EXPORT slurm_task_crash (TASK_ARGS) G_GNUC_NORETURN;
TASK_EXPORT slurm_task_sum_bytes (TASK_ARGS);

static const char *
node_name (void)
{
  const char *node = g_getenv ("SLURMD_NODENAME");

  return node != NULL ? node : "none";
}

/* (xd) → (x², "node:pid"), after sleeping d seconds; writes
 * started-X-NODE-PID in the test folder first. When the folder holds a
 * file hold-NODE, the first task to start on NODE takes it (a rename:
 * one task only) and waits up to a minute more before its sleep, so
 * that a test can lose that worker while the task is surely running. */
TASK_EXPORT
slurm_task_where (TASK_ARGS)
{
  const char *folder = g_getenv ("JOB_SLURM_TEST_DIR");
  g_autofree char *where = g_strdup_printf ("%s:%d", node_name (), (int) getpid ());
  gint64 x;
  double seconds;

  g_variant_get (args, "(xd)", &x, &seconds);
  if (folder != NULL)
    {
      g_autofree char *name = g_strdup_printf ("started-%" G_GINT64_FORMAT "-%s-%d", x,
                                               node_name (), (int) getpid ());
      g_autofree char *path = g_build_filename (folder, name, NULL);

      g_autofree char *hold = g_strdup_printf ("%s/hold-%s", folder, node_name ());
      g_autofree char *held = g_strdup_printf ("%s/held-%s", folder, node_name ());

      g_file_set_contents (path, "", 0, NULL);
      if (g_rename (hold, held) == 0)
        for (guint i = 0; i < 600 && !g_cancellable_is_cancelled (cancellable); i++)
          g_usleep (G_USEC_PER_SEC / 10);
    }
  g_usleep ((gulong) (seconds * G_USEC_PER_SEC));
  return g_variant_new ("(xs)", x * x, where);
}

/* () → the worker dies (SIGABRT) */
TASK_EXPORT
slurm_task_crash (TASK_ARGS)
{
  abort ();
}

/* (ay) → the sum of the bytes */
TASK_EXPORT
slurm_task_sum_bytes (TASK_ARGS)
{
  g_autoptr(GVariant) bytes = g_variant_get_child_value (args, 0);
  gsize n;
  const guint8 *data = g_variant_get_fixed_array (bytes, &n, 1);
  guint64 sum = 0;

  for (gsize i = 0; i < n; i++)
    sum += data[i];
  return g_variant_new_uint64 (sum);
}
