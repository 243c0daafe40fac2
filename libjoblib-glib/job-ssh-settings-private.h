/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The settings of JobSshBackend's launcher, and its hosts as users write
 * them ("lab1:4", "lab2", "me@lab3", "[fe80::1]:2"). No state:
 * thread-safe. */

typedef struct
{
  char  *name;     /* what ssh is given: "lab1", "me@lab1", an alias */
  guint  slots;
} JobSshHost;

typedef struct
{
  GPtrArray       *hosts;          /* (element-type JobSshHost) */
  char           **ssh_command;    /* (nullable) argv before the host; NULL: "ssh" */
  GHashTable      *programs;       /* (nullable) host → its connect program */
  GHashTable      *commands;       /* (nullable) kind → GStrv */
  char            *listen_address; /* (nullable) */
  guint16          port;
  GTlsCertificate *certificate;    /* (nullable) */
  gboolean         tls;
} JobSshSettings;

void               job_ssh_settings_init         (JobSshSettings       *settings);
void               job_ssh_settings_clear        (JobSshSettings       *settings);
void               job_ssh_settings_copy         (const JobSshSettings *from,
                                                  JobSshSettings       *to);
/* Parses "HOST" or "HOST:SLOTS" (SLOTS ≥ 1; an IPv6 address in
 * brackets); FALSE with JOB_ERROR_INVALID_ARGUMENT naming @spec. */
gboolean           job_ssh_host_parse            (const char           *spec,
                                                  JobSshHost           *host,
                                                  GError              **error);
void               job_ssh_host_clear            (JobSshHost           *host);

/* Appends the hosts of the file at @path (one "HOST[:WORKERS]" a line,
 * "#" comments) to @hosts (element-type JobSshHost); FALSE with an error
 * naming the file and line. */
gboolean           job_ssh_hosts_file_read       (const char           *path,
                                                  GPtrArray            *hosts,
                                                  GError              **error);
void               job_ssh_host_free             (JobSshHost           *host);

G_END_DECLS
