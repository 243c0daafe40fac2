/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Floods of connections that never authenticate, against the cluster
 * listener of a driver allowed few descriptors. */

#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <gio/gio.h>
#include <joblib-glib.h>

#include "job-worker-listener-private.h"

/* Connection floods: FLOOD idle connections against a driver allowed
 * few descriptors. The driver keeps accepting without a busy loop,
 * refuses every one of them, warns a few times only, and still serves
 * the next connection. Through the public API, in a subprocess whose
 * descriptor limit is lowered. */
#define FLOOD 80

static guint n_warnings;

static GLogWriterOutput
count_warnings (GLogLevelFlags   level,
                const GLogField *fields,
                gsize            n_fields,
                gpointer         user_data)
{
  if (level & G_LOG_LEVEL_WARNING)
    g_atomic_int_inc (&n_warnings);
  return g_log_writer_default (level, fields, n_fields, user_data);
}

/* The flooder: FLOOD connections held open until its input ends. */
static int
flood (const char *port)
{
  struct rlimit limit;
  int fds[FLOOD];
  char byte;

  getrlimit (RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit (RLIMIT_NOFILE, &limit);
  for (int i = 0; i < FLOOD; i++)
    {
      g_autoptr(GSocketClient) client = g_socket_client_new ();
      g_autoptr(GSocketConnection) connection =
        g_socket_client_connect_to_host (client, "127.0.0.1", atoi (port), NULL, NULL);

      /* Keep the descriptor; the GSocket goes. */
      fds[i] = connection != NULL ? dup (g_socket_get_fd (g_socket_connection_get_socket (connection))) : -1;
    }
  (void) fds;
  return read (STDIN_FILENO, &byte, 1) < 0;
}

static guint
n_refused (JobSlurmBackend *backend)
{
  return job_slurm_backend_get_n_refused (backend);
}

static void
run_flood (rlim_t extra_descriptors)
{
  g_autoptr(JobSlurmBackend) backend = job_slurm_backend_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *address = NULL;
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *port = NULL;
  g_autoptr(GSubprocess) flooder = NULL;
  g_autoptr(GDir) dir = NULL;
  struct rlimit limit;
  guint open_fds = 0;

  g_log_set_always_fatal (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL);
  g_log_set_writer_func (count_warnings, NULL, NULL);
  g_object_set (backend, "listen-address", "127.0.0.1", NULL);
  address = job_slurm_backend_listen (backend, &error);
  g_assert_no_error (error);
  port = g_strdup (strrchr (address, ':') + 1);
  flooder = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE, &error, self, "--flood", port, NULL);
  g_assert_no_error (error);

  dir = g_dir_open ("/proc/self/fd", 0, NULL);
  while (g_dir_read_name (dir) != NULL)
    open_fds++;
  getrlimit (RLIMIT_NOFILE, &limit);
  limit.rlim_cur = MIN (limit.rlim_cur, open_fds + extra_descriptors);
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &limit), ==, 0);
  g_test_message ("%u descriptors open, limit %lu", open_fds, (unsigned long) limit.rlim_cur);

  /* All but the pending ones are refused at once ... */
  while (n_refused (backend) < FLOOD - JOB_WORKER_LISTENER_MAX_PENDING)
    g_usleep (10 * 1000);
  /* ... and those when the flooder leaves. */
  g_output_stream_close (g_subprocess_get_stdin_pipe (flooder), NULL, NULL);
  g_subprocess_wait_check (flooder, NULL, &error);
  g_assert_no_error (error);
  while (n_refused (backend) < FLOOD)
    g_usleep (10 * 1000);

  /* The next connection is still read and judged. */
  {
    g_autoptr(GSocketClient) client = g_socket_client_new ();
    g_autoptr(GSocketConnection) connection =
      g_socket_client_connect_to_host (client, address, 0, NULL, &error);
    const guint8 garbage[] = "GET / HTTP/1.0\r\n\r\n";

    g_assert_no_error (error);
    g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                               garbage, sizeof garbage - 1, NULL, NULL, &error);
    g_assert_no_error (error);
    while (n_refused (backend) < FLOOD + 1)
      g_usleep (10 * 1000);
  }

  job_backend_shutdown (JOB_BACKEND (backend));
  g_clear_object (&backend);
  g_test_message ("%u warnings for %u refused connections", n_warnings, FLOOD + 1);
  /* A burst, a count of the rest, and the summary at the end. */
  g_assert_cmpuint (n_warnings, <=, 8);
}

static void
test_flood (void)
{
  if (g_test_subprocess ())
    {
      run_flood (64);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

/* Fewer descriptors than connections allowed to authenticate: the
 * listener runs out and sheds connections with its reserve. */
static void
test_flood_out_of_descriptors (void)
{
  if (g_test_subprocess ())
    {
      run_flood (6);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

int
main (int    argc,
      char **argv)
{
  if (argc == 3 && g_str_equal (argv[1], "--flood"))
    return flood (argv[2]);

  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/joblib/listener/flood", test_flood);
  g_test_add_func ("/joblib/listener/flood-out-of-descriptors", test_flood_out_of_descriptors);
  return g_test_run ();
}
