/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (JOBLIB_GLIB_INSIDE) && !defined (JOBLIB_GLIB_COMPILATION)
# error "Only <joblib-glib.h> can be included directly."
#endif

#include <gio/gio.h>

#include "job-version-macros.h"

G_BEGIN_DECLS

#define JOB_TYPE_ARRAY (job_array_get_type ())

/**
 * JOB_ARRAY_MAX_DIMS:
 *
 * The largest number of dimensions of a [struct@Joblib.Array], numpy's
 * `NPY_MAXDIMS`.
 */
#define JOB_ARRAY_MAX_DIMS 32

/**
 * JOB_ARRAY_VARIANT_TYPE:
 *
 * The type of the #GVariant that stands for a [struct@Joblib.Array]:
 * a tag, the typestr, the shape and the raw bytes, `(ssatay)`; see
 * [method@Joblib.Array.to_variant].
 */
#define JOB_ARRAY_VARIANT_TYPE ((const GVariantType *) "(ssatay)")

typedef struct _JobArray JobArray;

JOB_AVAILABLE_IN_ALL
GType          job_array_get_type           (void) G_GNUC_CONST;
JOB_AVAILABLE_IN_ALL
JobArray      *job_array_new                (const char    *typestr,
                                             const gsize   *shape,
                                             guint          n_dims,
                                             GBytes        *data,
                                             GError       **error);
JOB_AVAILABLE_IN_ALL
JobArray      *job_array_new_zeros          (const char    *typestr,
                                             const gsize   *shape,
                                             guint          n_dims,
                                             GError       **error);
JOB_AVAILABLE_IN_ALL
JobArray      *job_array_new_from_variant   (GVariant      *variant,
                                             GError       **error);
JOB_AVAILABLE_IN_ALL
JobArray      *job_array_ref                (JobArray      *self);
JOB_AVAILABLE_IN_ALL
void           job_array_unref              (JobArray      *self);
JOB_AVAILABLE_IN_ALL
const char    *job_array_get_typestr        (JobArray      *self);
JOB_AVAILABLE_IN_ALL
const gsize   *job_array_get_shape          (JobArray      *self,
                                             guint         *n_dims);
JOB_AVAILABLE_IN_ALL
guint          job_array_get_n_dims         (JobArray      *self);
JOB_AVAILABLE_IN_ALL
gsize          job_array_get_n_elements     (JobArray      *self);
JOB_AVAILABLE_IN_ALL
gsize          job_array_get_item_size      (JobArray      *self);
JOB_AVAILABLE_IN_ALL
GBytes        *job_array_get_data           (JobArray      *self);
JOB_AVAILABLE_IN_ALL
gconstpointer  job_array_get_element        (JobArray      *self,
                                             const gsize   *index,
                                             guint          n_index);
JOB_AVAILABLE_IN_ALL
gdouble        job_array_get_double         (JobArray      *self,
                                             gsize          flat_index);
JOB_AVAILABLE_IN_ALL
gint64         job_array_get_int64          (JobArray      *self,
                                             gsize          flat_index);
JOB_AVAILABLE_IN_ALL
gboolean       job_array_equal              (JobArray      *a,
                                             JobArray      *b);
JOB_AVAILABLE_IN_ALL
GVariant      *job_array_to_variant         (JobArray      *self);
JOB_AVAILABLE_IN_ALL
gboolean       job_array_is_array_variant   (GVariant      *variant);
JOB_AVAILABLE_IN_ALL
gboolean       job_array_save_npy           (JobArray      *self,
                                             GFile         *file,
                                             GCancellable  *cancellable,
                                             GError       **error);
JOB_AVAILABLE_IN_ALL
JobArray      *job_array_load_npy           (GFile         *file,
                                             GCancellable  *cancellable,
                                             GError       **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobArray, job_array_unref)

G_END_DECLS
