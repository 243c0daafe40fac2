/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A frame header announcing 1 GiB followed by one byte must cost the
 * reader little: buffers grow with the bytes that arrived, and an
 * allocation that fails ends the connection, not the process. Each case
 * runs in a subprocess whose address space is limited (RLIMIT_AS) to
 * what it uses now plus 512 MiB, below the 1 GiB the header announces. */

#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>
#include <joblib-glib.h>

#include "crash-report.h"
#include "job-worker-connection-private.h"
#include "job-worker-protocol-private.h"

#define ANNOUNCED (1u << 30)

static void
limit_address_space (void)
{
  g_autofree char *statm = NULL;
  struct rlimit limit;
  unsigned long pages = 0;

  g_assert_true (g_file_get_contents ("/proc/self/statm", &statm, NULL, NULL));
  g_assert_cmpint (sscanf (statm, "%lu", &pages), ==, 1);
  limit.rlim_cur = limit.rlim_max = (rlim_t) pages * sysconf (_SC_PAGESIZE) + (512u << 20);
  g_assert_cmpint (setrlimit (RLIMIT_AS, &limit), ==, 0);
}

/* HELLO of @kind, then a header announcing 1 GiB of RESULTS, one byte. */
static GBytes *
hostile_bytes (const char *kind)
{
  GByteArray *out = g_byte_array_new ();
  guint8 header[JOB_WORKER_FRAME_HEADER_SIZE] = { 0, };
  guint32 length = GUINT32_TO_LE (ANNOUNCED);

  job_worker_frame_append (out, JOB_WORKER_MESSAGE_HELLO,
                           g_variant_new ("(sxa{sv})", kind, (gint64) getpid (), NULL));
  memcpy (header, &length, 4);
  header[4] = JOB_WORKER_PROTOCOL_VERSION;
  header[5] = JOB_WORKER_MESSAGE_RESULTS;
  g_byte_array_append (out, header, sizeof header);
  g_byte_array_append (out, (const guint8 *) "x", 1);
  return g_byte_array_free_to_bytes (out);
}

typedef struct
{
  GMainLoop *loop;
  GError    *error;
  gboolean   ended;
} Ending;

static void
on_frame (JobWorkerConnection *connection,
          JobWorkerMessage     message,
          GVariant            *body,
          gpointer             user_data)
{
  g_assert_not_reached ();
}

static void
on_end (JobWorkerConnection *connection,
        const GError        *error,
        gpointer             user_data)
{
  Ending *ending = user_data;

  ending->ended = TRUE;
  ending->error = error != NULL ? g_error_copy (error) : NULL;
  g_main_loop_quit (ending->loop);
}

/* The driver's side of a worker connection (process and cluster workers
 * alike): the end is reported as a protocol error, nothing aborts. */
static void
test_connection (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(GBytes) bytes = hostile_bytes ("native");
      g_autoptr(GInputStream) in = NULL;
      g_autoptr(GOutputStream) out = NULL;
      g_autoptr(GOutputStream) unused = NULL;
      g_autoptr(JobWorkerConnection) connection = NULL;
      g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
      Ending ending = { loop, NULL, FALSE };
      int to_reader[2], from_reader[2];

      crash_report_install ();
      limit_address_space ();
      g_assert_cmpint (pipe (to_reader), ==, 0);
      g_assert_cmpint (pipe (from_reader), ==, 0);
      g_assert_true (write (to_reader[1], g_bytes_get_data (bytes, NULL),
                            g_bytes_get_size (bytes)) == (gssize) g_bytes_get_size (bytes));
      close (to_reader[1]);
      in = g_unix_input_stream_new (to_reader[0], TRUE);
      out = g_unix_output_stream_new (from_reader[1], TRUE);
      close (from_reader[0]);
      connection = job_worker_connection_new_for_streams (in, out, JOB_WORKER_CONNECTION_FLAGS_NONE,
                                                          "native", on_frame, on_end, &ending);
      g_main_loop_run (loop);
      g_assert_true (ending.ended);
      g_assert_error (ending.error, JOB_ERROR, JOB_ERROR_PROTOCOL);
      g_assert_nonnull (strstr (ending.error->message, "inside a frame"));
      g_clear_error (&ending.error);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

/* The worker's side (blocking reads): an error, not an abort. */
static void
test_read_frame (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(GBytes) bytes = hostile_bytes ("native");
      g_autoptr(GInputStream) in = g_memory_input_stream_new_from_bytes (bytes);
      g_autoptr(GVariant) hello = NULL;
      g_autoptr(GVariant) body = NULL;
      g_autoptr(GError) error = NULL;
      JobWorkerMessage message;

      crash_report_install ();
      limit_address_space ();
      hello = job_worker_read_frame (in, JOB_WORKER_FRAME_DEFAULT_MAX, &message, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (message, ==, JOB_WORKER_MESSAGE_HELLO);
      body = job_worker_read_frame (in, JOB_WORKER_FRAME_DEFAULT_MAX, &message, NULL, &error);
      g_assert_null (body);
      g_assert_error (error, JOB_ERROR, JOB_ERROR_PROTOCOL);
      g_assert_nonnull (strstr (error->message, "(1 of 1073741824 bytes)"));
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

/* Frames that really are large still arrive whole. */
static void
test_large_frame_arrives (void)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GInputStream) in = NULL;
  g_autoptr(GVariant) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree guint8 *data = g_malloc (5 * 1000 * 1000 + 3);
  JobWorkerMessage message;
  const char *reason;

  memset (data, 'a', 5 * 1000 * 1000 + 2);
  data[5 * 1000 * 1000 + 2] = '\0';
  job_worker_frame_append (out, JOB_WORKER_MESSAGE_GOODBYE,
                           g_variant_new ("(s)", (const char *) data));
  bytes = g_byte_array_free_to_bytes (g_steal_pointer (&out));
  in = g_memory_input_stream_new_from_bytes (bytes);
  body = job_worker_read_frame (in, JOB_WORKER_FRAME_DEFAULT_MAX, &message, NULL, &error);
  g_assert_no_error (error);
  g_variant_get (body, "(&s)", &reason);
  g_assert_cmpuint (strlen (reason), ==, 5 * 1000 * 1000 + 2);
}

/* The same through JobProcessBackend, with a worker that sends it. */
static void
test_process_worker (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(JobBackend) backend = job_process_backend_new ();
      g_autoptr(JobParallel) parallel = job_parallel_new (1);
      g_autoptr(JobFunction) function =
        job_function_new_for_symbol ("/nonexistent/module.so", "task", NULL);
      g_autoptr(JobCall) call = job_call_new (function, g_variant_new ("(x)", (gint64) 1));
      g_autoptr(GPtrArray) results = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
      const char * const argv_real[] = { self, "--hostile-worker", NULL };

      crash_report_install ();
      limit_address_space ();
      job_process_backend_set_worker_command ("native", argv_real);
      job_parallel_set_backend (parallel, backend);
      job_parallel_set_n_jobs (parallel, 2);
      results = job_parallel_run (parallel, &call, 1, NULL, &error);
      g_assert_null (results);
      g_assert_nonnull (error);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, "inside a frame"));
      job_backend_shutdown (backend);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

/* A crash in one of these subprocesses says where (crash-report.h),
 * rather than "killed by signal 11" with empty output. */
static void
test_crash_is_reported (void)
{
#ifdef CRASH_REPORT_SANITIZER
  g_test_skip ("the sanitizer reports crashes itself");
#else
  if (g_test_subprocess ())
    {
      volatile int *nowhere = NULL;

      crash_report_install ();
      limit_address_space ();
      *nowhere = 1;
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRASH: signal 11 (SIGSEGV) at address (nil)*"
                             "backtrace:*test-frame-growth(*CRASH: end of backtrace*");
#endif
}

static int
hostile_worker (void)
{
  g_autoptr(GBytes) bytes = hostile_bytes ("native");

  /* Whatever the parent sends is ignored; the output ends mid-frame. */
  return write (STDOUT_FILENO, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes)) < 0;
}

int
main (int    argc,
      char **argv)
{
  if (argc == 2 && g_str_equal (argv[1], "--hostile-worker"))
    return hostile_worker ();

  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/joblib/frame-growth/connection", test_connection);
  g_test_add_func ("/joblib/frame-growth/read-frame", test_read_frame);
  g_test_add_func ("/joblib/frame-growth/large-frame-arrives", test_large_frame_arrives);
  g_test_add_func ("/joblib/frame-growth/process-worker", test_process_worker);
  g_test_add_func ("/joblib/frame-growth/crash-is-reported", test_crash_is_reported);
  return g_test_run ();
}
