/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <math.h>

#include <joblib-glib.h>

/* What JobRemoteBackend gives every remote backend, checked without any
 * server: nothing here starts a worker. */

static JobBackend *
new_remote (GType type)
{
  if (type == JOB_TYPE_SSH_BACKEND)
    {
      const char *hosts[] = { "lab1:3", "lab2", NULL };

      return JOB_BACKEND (job_ssh_backend_new (hosts));
    }
  return g_object_new (type, NULL);
}

static GType
remote_type (guint i)
{
  GType types[] = { JOB_TYPE_SSH_BACKEND, JOB_TYPE_SLURM_BACKEND, JOB_TYPE_DASK_BACKEND,
                    JOB_TYPE_IPYPARALLEL_BACKEND };

  return i < G_N_ELEMENTS (types) ? types[i] : G_TYPE_INVALID;
}

static void
count_notify (GObject    *object,
              GParamSpec *pspec,
              gpointer    user_data)
{
  (*(guint *) user_data)++;
}

/* Each remote backend is one; the shared properties have the same names,
 * defaults and change notifications on all of them. */
static void
test_shared_properties (void)
{
  for (guint i = 0; remote_type (i) != G_TYPE_INVALID; i++)
    {
      g_autoptr(JobBackend) backend = new_remote (remote_type (i));
      g_autofree char *listen = NULL;
      g_autofree char *folder = NULL;
      guint max_retries = 0, port = 1;
      guint64 max_nbytes = 0;
      gboolean tls = FALSE;
      double idle = 0;
      guint notified = 0;

      g_test_message ("%s", G_OBJECT_TYPE_NAME (backend));
      g_assert_true (JOB_IS_REMOTE_BACKEND (backend));
      g_object_get (backend, "max-retries", &max_retries, "max-nbytes", &max_nbytes,
                    "port", &port, "tls", &tls, "idle-timeout", &idle,
                    "listen-address", &listen, "shared-folder", &folder, NULL);
      g_assert_cmpuint (max_retries, ==, 2);
      g_assert_cmpuint (max_nbytes, ==, 1024 * 1024);
      g_assert_cmpuint (port, ==, 0);
      g_assert_true (tls);
      g_assert_cmpfloat (idle, ==, 60.0);
      g_assert_null (listen);
      g_assert_null (folder);

      g_signal_connect (backend, "notify::max-retries", G_CALLBACK (count_notify), &notified);
      g_object_set (backend, "max-retries", 5, NULL);
      g_object_set (backend, "max-retries", 5, NULL);
      g_assert_cmpuint (notified, ==, 1);
      g_object_get (backend, "max-retries", &max_retries, NULL);
      g_assert_cmpuint (max_retries, ==, 5);

      /* An empty address is no address. */
      g_object_set (backend, "listen-address", "", "idle-timeout", INFINITY, NULL);
      g_clear_pointer (&listen, g_free);
      g_object_get (backend, "listen-address", &listen, "idle-timeout", &idle, NULL);
      g_assert_null (listen);
      g_assert_true (isinf (idle));
    }
}

/* A run on fewer than one worker is refused with an error by every
 * remote backend, before anything starts. */
static void
test_configure_zero_workers (void)
{
  for (guint i = 0; remote_type (i) != G_TYPE_INVALID; i++)
    {
      g_autoptr(JobBackend) backend = new_remote (remote_type (i));
      g_autoptr(GError) error = NULL;

      g_assert_false (job_backend_configure (backend, 0, &error));
      g_assert_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
      g_assert_false (job_backend_configure_for_run (backend, -1, 0, &error));
      g_assert_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT);
    }
}

/* The display name of verbose lines. */
static void
test_display_names (void)
{
  const char *names[] = { "SshBackend", "SlurmBackend", "DaskBackend", "IpyparallelBackend" };

  for (guint i = 0; remote_type (i) != G_TYPE_INVALID; i++)
    {
      g_autoptr(JobBackend) backend = new_remote (remote_type (i));

      g_assert_cmpstr (job_backend_get_display_name (backend), ==, names[i]);
      g_assert_cmpint (job_backend_get_flags (backend) & JOB_BACKEND_FLAGS_NEEDS_REFERENCE, !=, 0);
    }
}

/* The base is abstract: creating one is a programmer error. */
static void
test_abstract (void)
{
  if (g_test_subprocess ())
    {
      g_object_new (JOB_TYPE_REMOTE_BACKEND, NULL);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*abstract*");
}

/* An out-of-range port is refused by GObject's validation and the
 * property keeps its value. */
static void
test_port_out_of_range (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(JobBackend) backend = new_remote (JOB_TYPE_SLURM_BACKEND);
      guint port = 1;

      g_object_set (backend, "port", 70000, NULL);
      g_object_get (backend, "port", &port, NULL);
      g_assert_cmpuint (port, ==, 0);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*70000*port*");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/joblib/remote-backend/shared-properties", test_shared_properties);
  g_test_add_func ("/joblib/remote-backend/configure-zero-workers", test_configure_zero_workers);
  g_test_add_func ("/joblib/remote-backend/display-names", test_display_names);
  g_test_add_func ("/joblib/remote-backend/abstract", test_abstract);
  g_test_add_func ("/joblib/remote-backend/port-out-of-range", test_port_out_of_range);

  return g_test_run ();
}
