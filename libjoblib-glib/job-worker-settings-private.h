/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The settings of a worker pool, as one value: JobWorkerPool keeps the
 * current ones under its mutex and hands a copy down to its scheduler on
 * the pool's thread after each change, so that the scheduler reads them
 * without locks. Not thread-safe by itself. */
typedef struct
{
  int         n_workers;       /* the most workers of one kind */
  int         inner_threads;   /* BLAS/OpenMP threads of new workers */
  gboolean    inner_explicit;  /* inner_threads overrides the environment */
  GVariant   *init_reference;  /* (owned) (nullable) (sa{sv}) initializer */
  GVariant   *init_args;       /* (owned) (nullable) its argument tuple */
  char      **environment;     /* (owned) (nullable) NAME=VALUE for new workers */
  guint       setup;           /* counts changes of the three above */
  guint64     max_nbytes;      /* larger arguments go through files */
  double      idle_timeout;    /* seconds; negative keeps idle workers */
  char       *temp_folder;     /* (owned) (nullable) where those files go */
  guint       max_retries;     /* lost workers a task survives (remote) */
} JobWorkerSettings;

void job_worker_settings_init  (JobWorkerSettings       *settings);
void job_worker_settings_copy  (const JobWorkerSettings *from,
                                JobWorkerSettings       *to);
void job_worker_settings_clear (JobWorkerSettings       *settings);

G_END_DECLS
