/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Progress of long reads and writes: streams that count the bytes going
 * through them and redraw one line on the terminal, at most ten times a
 * second. Nothing is drawn when stdout is not a terminal, so scripts and
 * pipes get only the result.
 */
#include "config.h"

#include <stdio.h>
#include <unistd.h>

#include "cli-private.h"

struct _CliProgress
{
  char    *label;
  guint64  total;   /* 0: unknown */
  guint64  done;
  gint64   last_draw;
  gboolean enabled;
  gboolean drawn;
};

static void
draw (CliProgress *self,
      gboolean     force)
{
  g_autofree char *done = NULL;
  gint64 now;

  if (!self->enabled)
    return;
  now = g_get_monotonic_time ();
  if (!force && now - self->last_draw < G_USEC_PER_SEC / 10)
    return;
  self->last_draw = now;
  self->drawn = TRUE;
  done = cli_format_size (self->done);
  if (self->total > 0)
    {
      g_autofree char *total = cli_format_size (self->total);

      /* \033[K clears what a longer previous line left. */
      g_print ("\r%s %3u%% (%s / %s)\033[K", self->label,
               (guint) (MIN (self->done, self->total) * 100 / self->total), done, total);
    }
  else
    g_print ("\r%s %s\033[K", self->label, done);
  fflush (stdout);
}

static void
advance (CliProgress *self,
         gsize        n)
{
  self->done += n;
  draw (self, FALSE);
}

CliProgress *
cli_progress_new (const char *label,
                  guint64     total)
{
  CliProgress *self = g_new0 (CliProgress, 1);

  self->enabled = isatty (STDOUT_FILENO);
  cli_progress_set_label (self, label, total);
  return self;
}

void
cli_progress_set_label (CliProgress *self,
                        const char  *label,
                        guint64      total)
{
  g_free (self->label);
  self->label = g_strdup (label);
  self->total = total;
  self->done = 0;
  self->last_draw = 0;
}

/* Ends the progress line so that the next output starts on a clean one. */
void
cli_progress_done (CliProgress *self)
{
  if (self->drawn)
    {
      g_print ("\r\033[K");
      fflush (stdout);
      self->drawn = FALSE;
    }
}

void
cli_progress_free (CliProgress *self)
{
  cli_progress_done (self);
  g_free (self->label);
  g_free (self);
}

/* A GFilterInputStream that reports what it reads. */
#define CLI_TYPE_COUNTING_INPUT (cli_counting_input_get_type ())
G_DECLARE_FINAL_TYPE (CliCountingInput, cli_counting_input, CLI, COUNTING_INPUT, GFilterInputStream)

struct _CliCountingInput
{
  GFilterInputStream  parent_instance;
  CliProgress        *progress;  /* (unowned) outlives the stream */
};

G_DEFINE_FINAL_TYPE (CliCountingInput, cli_counting_input, G_TYPE_FILTER_INPUT_STREAM)

static gssize
cli_counting_input_read (GInputStream  *stream,
                         void          *buffer,
                         gsize          count,
                         GCancellable  *cancellable,
                         GError       **error)
{
  CliCountingInput *self = CLI_COUNTING_INPUT (stream);
  GInputStream *base = g_filter_input_stream_get_base_stream (G_FILTER_INPUT_STREAM (stream));
  gssize n = g_input_stream_read (base, buffer, count, cancellable, error);

  if (n > 0)
    advance (self->progress, n);
  return n;
}

static void
cli_counting_input_class_init (CliCountingInputClass *klass)
{
  G_INPUT_STREAM_CLASS (klass)->read_fn = cli_counting_input_read;
}

static void
cli_counting_input_init (CliCountingInput *self)
{
}

GInputStream *
cli_progress_wrap_input (CliProgress  *self,
                         GInputStream *base)
{
  CliCountingInput *stream = g_object_new (CLI_TYPE_COUNTING_INPUT,
                                           "base-stream", base, NULL);

  stream->progress = self;
  return G_INPUT_STREAM (stream);
}

/* A GFilterOutputStream that reports what it writes. */
#define CLI_TYPE_COUNTING_OUTPUT (cli_counting_output_get_type ())
G_DECLARE_FINAL_TYPE (CliCountingOutput, cli_counting_output, CLI, COUNTING_OUTPUT, GFilterOutputStream)

struct _CliCountingOutput
{
  GFilterOutputStream  parent_instance;
  CliProgress         *progress;  /* (unowned) outlives the stream */
};

G_DEFINE_FINAL_TYPE (CliCountingOutput, cli_counting_output, G_TYPE_FILTER_OUTPUT_STREAM)

static gssize
cli_counting_output_write (GOutputStream  *stream,
                           const void     *buffer,
                           gsize           count,
                           GCancellable   *cancellable,
                           GError        **error)
{
  CliCountingOutput *self = CLI_COUNTING_OUTPUT (stream);
  GOutputStream *base = g_filter_output_stream_get_base_stream (G_FILTER_OUTPUT_STREAM (stream));
  gssize n = g_output_stream_write (base, buffer, count, cancellable, error);

  if (n > 0)
    advance (self->progress, n);
  return n;
}

static void
cli_counting_output_class_init (CliCountingOutputClass *klass)
{
  G_OUTPUT_STREAM_CLASS (klass)->write_fn = cli_counting_output_write;
}

static void
cli_counting_output_init (CliCountingOutput *self)
{
}

GOutputStream *
cli_progress_wrap_output (CliProgress   *self,
                          GOutputStream *base)
{
  CliCountingOutput *stream = g_object_new (CLI_TYPE_COUNTING_OUTPUT,
                                            "base-stream", base,
                                            "close-base-stream", FALSE, NULL);

  stream->progress = self;
  return G_OUTPUT_STREAM (stream);
}
