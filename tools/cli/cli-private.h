/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib/gi18n.h>
#include <joblib-glib.h>

G_BEGIN_DECLS

/* Exit codes, documented in --help and in docs/cli.md. */
typedef enum
{
  CLI_EXIT_OK = 0,
  CLI_EXIT_FAILED = 1,        /* I/O error, missing file or cache */
  CLI_EXIT_USAGE = 2,         /* bad command line */
  CLI_EXIT_INVALID_DATA = 3,  /* corrupt, truncated or unsupported file */
} CliExit;

typedef struct _CliProgress CliProgress;

/* cli-common.c */
const char  *cli_exit_codes_text      (void);
int          cli_usage_error          (GOptionContext  *context,
                                       const char      *format,
                                       ...) G_GNUC_PRINTF (2, 3);
int          cli_fail                 (GError          *error,
                                       const char      *what);
GOptionContext *cli_option_context_new (const char     *command,
                                       const char      *parameters,
                                       const char      *summary);
gboolean     cli_parse                (GOptionContext  *context,
                                       int             *argc,
                                       char          ***argv,
                                       int             *exit_code);
char        *cli_format_size          (guint64          bytes);
gboolean     cli_parse_size           (const char      *text,
                                       guint64         *bytes);
gboolean     cli_parse_age            (const char      *text,
                                       double          *seconds);
gboolean     cli_parse_count          (const char      *text,
                                       guint           *count);

/* cli-cache.c */
int          cli_cache                (int              argc,
                                       char           **argv);

/* cli-file.c */
int          cli_info                 (int              argc,
                                       char           **argv);
int          cli_convert              (int              argc,
                                       char           **argv);

/* cli-progress.c: a line redrawn in place while bytes flow, shown only
 * when stdout is a terminal. */
CliProgress   *cli_progress_new       (const char      *label,
                                       guint64          total);
void           cli_progress_free      (CliProgress     *self);
void           cli_progress_set_label (CliProgress     *self,
                                       const char      *label,
                                       guint64          total);
GInputStream  *cli_progress_wrap_input  (CliProgress   *self,
                                         GInputStream  *base);
GOutputStream *cli_progress_wrap_output (CliProgress   *self,
                                         GOutputStream *base);
void           cli_progress_done      (CliProgress     *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CliProgress, cli_progress_free)

G_END_DECLS
