/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (JOBLIB_GLIB_INSIDE) && !defined (JOBLIB_GLIB_COMPILATION)
# error "Only <joblib-glib.h> can be included directly."
#endif

#include "job-array.h"
#include "job-backend.h"

G_BEGIN_DECLS

/**
 * JobRangeFunc:
 * @start: the first item of the chunk
 * @end: one past the last item of the chunk
 * @user_data: (closure): the data given to
 *   [method@Joblib.ThreadBackend.map_range]
 * @cancellable: (nullable): the map's cancellable; long chunks should check it
 * @error: return location for a #GError
 *
 * Runs the items `[start, end)` of a bulk map. Called from the thread that
 * started the map and from the pool's threads, several at once.
 *
 * Returns: %TRUE on success, %FALSE with @error set on failure
 */
typedef gboolean (*JobRangeFunc) (gsize          start,
                                  gsize          end,
                                  gpointer       user_data,
                                  GCancellable  *cancellable,
                                  GError       **error);

/**
 * JobElementFunc:
 * @input: (not nullable): the element or row to read
 * @output: (not nullable): the result element or row to fill
 * @index: the position of the element or row
 * @user_data: (closure): the data given to the map
 * @error: return location for a #GError
 *
 * Maps one element (or row) of a bulk map to one result element (or row):
 * see [method@Joblib.ThreadBackend.map_array] and
 * [method@Joblib.ThreadBackend.map_variant] for the layout of @input and
 * @output. Called from the thread that started the map and from the
 * pool's threads, several at once.
 *
 * Returns: %TRUE on success, %FALSE with @error set on failure
 */
typedef gboolean (*JobElementFunc) (gconstpointer   input,
                                    gpointer        output,
                                    gsize           index,
                                    gpointer        user_data,
                                    GError        **error);

#define JOB_TYPE_THREAD_BACKEND (job_thread_backend_get_type ())

JOB_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (JobThreadBackend, job_thread_backend, JOB, THREAD_BACKEND, GObject)

JOB_AVAILABLE_IN_ALL
JobBackend *job_thread_backend_new             (void);
JOB_AVAILABLE_IN_ALL
guint       job_thread_backend_get_max_threads (JobThreadBackend *self);

JOB_AVAILABLE_IN_ALL
gboolean    job_thread_backend_map_range       (JobThreadBackend    *self,
                                                int                  n_jobs,
                                                gsize                n_items,
                                                JobRangeFunc         func,
                                                gpointer             user_data,
                                                GCancellable        *cancellable,
                                                GError             **error);
JOB_AVAILABLE_IN_ALL
JobArray   *job_thread_backend_map_array       (JobThreadBackend    *self,
                                                int                  n_jobs,
                                                JobArray            *input,
                                                const char          *out_typestr,
                                                const gsize         *out_row_shape,
                                                guint                n_out_row_dims,
                                                JobElementFunc       func,
                                                gpointer             user_data,
                                                GCancellable        *cancellable,
                                                GError             **error);
JOB_AVAILABLE_IN_ALL
GVariant   *job_thread_backend_map_variant     (JobThreadBackend    *self,
                                                int                  n_jobs,
                                                GVariant            *array,
                                                const GVariantType  *out_element_type,
                                                JobElementFunc       func,
                                                gpointer             user_data,
                                                GCancellable        *cancellable,
                                                GError             **error);

G_END_DECLS
