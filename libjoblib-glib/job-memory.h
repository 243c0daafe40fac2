/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (JOBLIB_GLIB_INSIDE) && !defined (JOBLIB_GLIB_COMPILATION)
# error "Only <joblib-glib.h> can be included directly."
#endif

#include <gio/gio.h>

#include "job-function.h"
#include "job-version-macros.h"

G_BEGIN_DECLS

#define JOB_TYPE_MEMORY (job_memory_get_type ())

JOB_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (JobMemory, job_memory, JOB, MEMORY, GObject)

typedef struct _JobMemorizedFunction JobMemorizedFunction;

JOB_AVAILABLE_IN_ALL
JobMemory            *job_memory_new                 (GFile               *location);
JOB_AVAILABLE_IN_ALL
JobMemory            *job_memory_new_for_path        (const char          *path);
JOB_AVAILABLE_IN_ALL
GFile                *job_memory_get_location        (JobMemory           *self);
JOB_AVAILABLE_IN_ALL
const char           *job_memory_get_compression     (JobMemory           *self);
JOB_AVAILABLE_IN_ALL
void                  job_memory_set_compression     (JobMemory           *self,
                                                      const char          *compression);
JOB_AVAILABLE_IN_ALL
gboolean              job_memory_get_mmap            (JobMemory           *self);
JOB_AVAILABLE_IN_ALL
void                  job_memory_set_mmap            (JobMemory           *self,
                                                      gboolean             mmap);
JOB_AVAILABLE_IN_ALL
int                   job_memory_get_verbose         (JobMemory           *self);
JOB_AVAILABLE_IN_ALL
void                  job_memory_set_verbose         (JobMemory           *self,
                                                      int                  verbose);
JOB_AVAILABLE_IN_ALL
guint64               job_memory_get_bytes_limit     (JobMemory           *self);
JOB_AVAILABLE_IN_ALL
void                  job_memory_set_bytes_limit     (JobMemory           *self,
                                                      guint64              bytes_limit);
JOB_AVAILABLE_IN_ALL
guint                 job_memory_get_items_limit     (JobMemory           *self);
JOB_AVAILABLE_IN_ALL
void                  job_memory_set_items_limit     (JobMemory           *self,
                                                      guint                items_limit);
JOB_AVAILABLE_IN_ALL
double                job_memory_get_age_limit       (JobMemory           *self);
JOB_AVAILABLE_IN_ALL
void                  job_memory_set_age_limit       (JobMemory           *self,
                                                      double               age_limit);
JOB_AVAILABLE_IN_ALL
JobMemorizedFunction *job_memory_cache               (JobMemory           *self,
                                                      JobFunction         *function,
                                                      const char * const  *ignore);
JOB_AVAILABLE_IN_ALL
JobMemorizedFunction *job_memory_cache_for_reference (JobFunction         *function,
                                                      GVariant            *reference,
                                                      GError             **error);
JOB_AVAILABLE_IN_ALL
gboolean              job_memory_clear               (JobMemory           *self,
                                                      GError             **error);
JOB_AVAILABLE_IN_ALL
gboolean              job_memory_reduce_size         (JobMemory           *self,
                                                      guint64              bytes_limit,
                                                      guint                items_limit,
                                                      double               age_limit,
                                                      guint               *n_removed,
                                                      GError             **error);
JOB_AVAILABLE_IN_ALL
void                  job_memory_wait_reclaimed      (JobMemory           *self);
JOB_AVAILABLE_IN_ALL
GListModel           *job_memory_list_entries        (JobMemory           *self);

G_END_DECLS
