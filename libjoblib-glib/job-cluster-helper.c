/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <json-glib/json-glib.h>

#include "job-cluster-helper-private.h"
#include "job-error.h"
#include "job-i18n-private.h"

/* Seconds the helper gets to cancel its tasks and leave when freed. */
#define QUIT_GRACE 3

/* Longest event line read from the helper: an exit message is at most a
 * few KiB; anything longer is a broken helper. */
#define MAX_LINE (64 * 1024)

struct _JobClusterHelper
{
  GSubprocess                     *process;     /* (owned) */
  GDataInputStream                *events;      /* (owned) */
  GOutputStream                   *requests;    /* (unowned) the process's stdin */
  GCancellable                    *cancellable; /* (owned) ends the reads */
  JobClusterHelperCallbacks        callbacks;
  gpointer                         user_data;
  gboolean                         up;          /* connected, not failed */
  gboolean                         failed;
};

static void read_next (JobClusterHelper *helper);

static void
fail (JobClusterHelper *helper,
      const char       *message)
{
  g_autoptr(GError) error = NULL;

  if (helper->failed)
    return;
  helper->failed = TRUE;
  helper->up = FALSE;
  error = g_error_new_literal (JOB_ERROR, JOB_ERROR_FAILED, message);
  helper->callbacks.failed (error, helper->user_data);
}

static void
handle_event (JobClusterHelper *helper,
              JsonObject       *event)
{
  const char *name = json_object_get_string_member_with_default (event, "event", "");

  if (g_str_equal (name, "connected") || g_str_equal (name, "cluster"))
    {
      helper->up = TRUE;
      helper->callbacks.shape ((guint) MAX (json_object_get_int_member_with_default (event, "threads", 0), 0),
                               (guint) MAX (json_object_get_int_member_with_default (event, "workers", 0), 0),
                               helper->user_data);
    }
  else if (g_str_equal (name, "ended"))
    helper->callbacks.ended (json_object_get_string_member_with_default (event, "id", ""),
                             (int) json_object_get_int_member_with_default (event, "status", -1),
                             json_object_get_string_member_with_default (event, "message", ""),
                             helper->user_data);
  else if (g_str_equal (name, "error"))
    fail (helper, json_object_get_string_member_with_default (event, "message", name));
}

static void
on_line (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  g_autoptr(JsonParser) parser = NULL;
  JobClusterHelper *helper;
  JsonNode *root;
  gsize length = 0;

  line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result,
                                                   &length, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;   /* freed: user_data is gone */
  helper = user_data;
  if (line == NULL)
    {
      g_autofree char *message =
        error != NULL
        ? g_strdup_printf (_("Lost the cluster submission helper: %s"), error->message)
        : g_strdup (_("The cluster submission helper exited"));

      fail (helper, message);
      return;
    }
  if (length > MAX_LINE)
    {
      fail (helper, _("The cluster submission helper sent an over-long line"));
      return;
    }

  parser = json_parser_new ();
  if (json_parser_load_from_data (parser, line, (gssize) length, NULL) &&
      (root = json_parser_get_root (parser)) != NULL && JSON_NODE_HOLDS_OBJECT (root))
    handle_event (helper, json_node_get_object (root));
  else
    g_debug ("cluster helper: not an event: %s", line);
  if (!helper->failed)
    read_next (helper);
}

static void
read_next (JobClusterHelper *helper)
{
  g_data_input_stream_read_line_async (helper->events, G_PRIORITY_DEFAULT,
                                       helper->cancellable, on_line, helper);
}

JobClusterHelper *
job_cluster_helper_new (const char * const              *argv,
                        const JobClusterHelperCallbacks *callbacks,
                        gpointer                         user_data,
                        GError                         **error)
{
  g_autoptr(GSubprocess) process = NULL;
  JobClusterHelper *helper;

  g_return_val_if_fail (argv != NULL && argv[0] != NULL, NULL);

  process = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDIN_PIPE |
                               G_SUBPROCESS_FLAGS_STDOUT_PIPE, error);
  if (process == NULL)
    {
      g_prefix_error (error, _("Cannot start the cluster submission helper: "));
      return NULL;
    }

  helper = g_new0 (JobClusterHelper, 1);
  helper->process = g_steal_pointer (&process);
  helper->events = g_data_input_stream_new (g_subprocess_get_stdout_pipe (helper->process));
  g_data_input_stream_set_newline_type (helper->events, G_DATA_STREAM_NEWLINE_TYPE_LF);
  helper->requests = g_subprocess_get_stdin_pipe (helper->process);
  helper->cancellable = g_cancellable_new ();
  helper->callbacks = *callbacks;
  helper->user_data = user_data;
  read_next (helper);
  return helper;
}

static void
send_request (JobClusterHelper *helper,
              JsonBuilder      *builder)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *line = NULL;

  if (helper->failed)
    return;
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, NULL);
  line = g_strconcat (text, "\n", NULL);
  /* A few hundred bytes into a pipe the helper keeps reading. */
  if (!g_output_stream_write_all (helper->requests, line, strlen (line), NULL, NULL, &error))
    {
      g_autofree char *message =
        g_strdup_printf (_("Lost the cluster submission helper: %s"), error->message);

      fail (helper, message);
    }
}

void
job_cluster_helper_start (JobClusterHelper   *helper,
                          const char         *id,
                          const char * const *argv,
                          const char * const *environment)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "op");
  json_builder_add_string_value (builder, "start");
  json_builder_set_member_name (builder, "id");
  json_builder_add_string_value (builder, id);
  json_builder_set_member_name (builder, "argv");
  json_builder_begin_array (builder);
  for (gsize i = 0; argv[i] != NULL; i++)
    json_builder_add_string_value (builder, argv[i]);
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "env");
  json_builder_begin_object (builder);
  for (gsize i = 0; environment != NULL && environment[i] != NULL; i++)
    {
      const char *equals = strchr (environment[i], '=');
      g_autofree char *name = NULL;

      if (equals == NULL)
        continue;
      name = g_strndup (environment[i], equals - environment[i]);
      json_builder_set_member_name (builder, name);
      json_builder_add_string_value (builder, equals + 1);
    }
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  send_request (helper, builder);
}

void
job_cluster_helper_stop (JobClusterHelper *helper,
                         const char       *id)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "op");
  json_builder_add_string_value (builder, "stop");
  json_builder_set_member_name (builder, "id");
  json_builder_add_string_value (builder, id);
  json_builder_end_object (builder);
  send_request (helper, builder);
}

gboolean
job_cluster_helper_is_up (JobClusterHelper *helper)
{
  return helper->up && !helper->failed;
}

static void
on_exited (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  gboolean *exited = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *exited = TRUE;
}

static gboolean
on_grace_over (gpointer user_data)
{
  gboolean *over = user_data;

  *over = TRUE;
  return G_SOURCE_REMOVE;
}

void
job_cluster_helper_free (JobClusterHelper *helper)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GSource) timeout = NULL;
  gboolean exited = FALSE;
  gboolean over = FALSE;

  if (helper == NULL)
    return;

  g_cancellable_cancel (helper->cancellable);
  /* End of input: the helper cancels its tasks and disconnects. */
  g_output_stream_close (helper->requests, NULL, NULL);

  g_main_context_push_thread_default (context);
  g_subprocess_wait_async (helper->process, NULL, on_exited, &exited);
  timeout = g_timeout_source_new_seconds (QUIT_GRACE);
  g_source_set_callback (timeout, on_grace_over, &over, NULL);
  g_source_attach (timeout, context);
  while (!exited && !over)
    g_main_context_iteration (context, TRUE);
  if (!exited)
    {
      g_subprocess_force_exit (helper->process);
      while (!exited)
        g_main_context_iteration (context, TRUE);
    }
  g_source_destroy (timeout);
  g_main_context_pop_thread_default (context);

  g_object_unref (helper->events);
  g_object_unref (helper->cancellable);
  g_object_unref (helper->process);
  g_free (helper);
}
