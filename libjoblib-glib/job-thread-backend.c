/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "job-array-private.h"
#include "job-cpu.h"
#include "job-error.h"
#include "job-i18n-private.h"
#include "job-nesting-private.h"
#include "job-thread-backend.h"
#include "job-thread-map-private.h"

/**
 * JobThreadBackend:
 *
 * Runs batches on a [struct@GLib.ThreadPool] of its own, sized to the run's
 * `n_jobs`. Registered as `"threading"` (and `"threads"`).
 *
 * Threads share memory, so arguments and results are never copied; the
 * price is that functions must be thread-safe. Python callables work (the
 * interpreter lock is taken for each call; numpy releases it while it
 * computes); GJS closures cannot run on threads and are run on their owner
 * context instead.
 *
 * A batch is one item of the pool, never one task: pushing costs about
 * half a microsecond and waking a sleeping thread tens of microseconds, so
 * per-task costs stay low only when batches are large, which auto batching
 * ensures.
 *
 * Threads cannot be stopped by force: on cancellation or timeout, running
 * tasks see the run's cancellable, and tasks not yet started are skipped.
 *
 * Next to the per-call API of [class@Joblib.Parallel], the backend has a
 * bulk form for many small native tasks:
 * [method@Joblib.ThreadBackend.map_range],
 * [method@Joblib.ThreadBackend.map_array] and
 * [method@Joblib.ThreadBackend.map_variant] run a C function over a range
 * of indices, the rows of a [struct@Joblib.Array] or the elements of a
 * #GVariant array. The engine cuts the work into chunks (16 per thread)
 * that the calling thread and the pool's threads claim with one atomic
 * increment each; no object is created per element, which is what a
 * #JobCall costs (about 1 µs with its argument and result variants).
 */
struct _JobThreadBackend
{
  GObject      parent_instance;
  GThreadPool *pool;         /* (owned) (nullable) */
  guint        max_threads;
};

static void job_backend_iface_init (JobBackendInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (JobThreadBackend, job_thread_backend, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (JOB_TYPE_BACKEND, job_backend_iface_init))

/* Set in the pool's threads: a backend finalized from one of its own
 * threads (its last reference dropped with a finished task) must not wait
 * for the pool, which would wait for itself. */
static GPrivate in_pool_thread;

/* What the pool runs: a batch of calls (its GTask) or a helper of a bulk
 * map. */
typedef struct
{
  GTask        *task;  /* (owned) (nullable) */
  JobThreadMap *map;   /* (owned) (nullable) */
} PoolItem;

static void
run_item_in_thread (gpointer data,
                    gpointer user_data)
{
  PoolItem *item = data;

  g_private_set (&in_pool_thread, GINT_TO_POINTER (TRUE));
  if (item->task != NULL)
    {
      job_batch_execute (g_task_get_task_data (item->task));
      g_task_return_boolean (item->task, TRUE);
      g_object_unref (item->task);
    }
  else
    {
      job_thread_map_help (item->map);
      job_thread_map_unref (item->map);
    }
  g_free (item);
}

static void
release_pool (JobThreadBackend *self)
{
  GThreadPool *pool = g_steal_pointer (&self->pool);
  gboolean wait;

  if (pool == NULL)
    return;

  wait = !GPOINTER_TO_INT (g_private_get (&in_pool_thread));
  /* Queued batches still run: their tasks complete normally. */
  g_thread_pool_free (pool, FALSE, wait);
}

static JobBackendFlags
job_thread_backend_get_flags (JobBackend *backend)
{
  return JOB_BACKEND_FLAGS_SHARED_MEMORY;
}

static const char *
job_thread_backend_get_display_name (JobBackend *backend)
{
  return "ThreadingBackend";
}

static gboolean
job_thread_backend_configure (JobBackend  *backend,
                              int          n_jobs,
                              GError     **error)
{
  JobThreadBackend *self = JOB_THREAD_BACKEND (backend);

  if (self->pool == NULL)
    {
      self->pool = g_thread_pool_new (run_item_in_thread, self, n_jobs,
                                      FALSE, error);
      if (self->pool == NULL)
        return FALSE;
      self->max_threads = n_jobs;
      return TRUE;
    }

  /* The pool only grows while it is in use, so that a run configured for
   * fewer workers never starves another one running concurrently. */
  if ((guint) n_jobs > self->max_threads)
    {
      if (!g_thread_pool_set_max_threads (self->pool, n_jobs, error))
        return FALSE;
      self->max_threads = n_jobs;
    }
  else if ((guint) n_jobs < self->max_threads &&
           g_thread_pool_get_num_threads (self->pool) == 0 &&
           g_thread_pool_unprocessed (self->pool) == 0)
    {
      if (!g_thread_pool_set_max_threads (self->pool, n_jobs, error))
        return FALSE;
      self->max_threads = n_jobs;
    }

  return TRUE;
}

static void
job_thread_backend_run_batch_async (JobBackend          *backend,
                                    JobBatch            *batch,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  JobThreadBackend *self = JOB_THREAD_BACKEND (backend);
  g_autoptr(GTask) task = g_task_new (backend, cancellable, callback, user_data);
  g_autoptr(GError) error = NULL;
  PoolItem *item;

  g_task_set_source_tag (task, job_thread_backend_run_batch_async);
  g_task_set_task_data (task, job_batch_ref (batch), (GDestroyNotify) job_batch_unref);

  if (self->pool == NULL &&
      !job_thread_backend_configure (backend, 1, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  item = g_new0 (PoolItem, 1);
  item->task = g_object_ref (task);
  if (!g_thread_pool_push (self->pool, item, &error))
    {
      g_object_unref (task);
      g_free (item);
      g_task_return_new_error (task, JOB_ERROR, JOB_ERROR_FAILED,
                               _("Could not start a worker thread: %s"),
                               error->message);
    }
}

static gboolean
job_thread_backend_run_batch_finish (JobBackend    *backend,
                                     GAsyncResult  *result,
                                     GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, backend), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
job_thread_backend_shutdown (JobBackend *backend)
{
  release_pool (JOB_THREAD_BACKEND (backend));
}

static void
job_backend_iface_init (JobBackendInterface *iface)
{
  iface->get_flags = job_thread_backend_get_flags;
  iface->get_display_name = job_thread_backend_get_display_name;
  iface->configure = job_thread_backend_configure;
  iface->run_batch_async = job_thread_backend_run_batch_async;
  iface->run_batch_finish = job_thread_backend_run_batch_finish;
  iface->shutdown = job_thread_backend_shutdown;
}

static void
job_thread_backend_finalize (GObject *object)
{
  release_pool (JOB_THREAD_BACKEND (object));

  G_OBJECT_CLASS (job_thread_backend_parent_class)->finalize (object);
}

static void
job_thread_backend_class_init (JobThreadBackendClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = job_thread_backend_finalize;
}

static void
job_thread_backend_init (JobThreadBackend *self)
{
}

/**
 * job_thread_backend_new:
 *
 * Creates a backend that runs tasks on its own pool of threads.
 *
 * Returns: (transfer full): a new thread backend; its threads start with
 *   the first batch
 */
JobBackend *
job_thread_backend_new (void)
{
  return g_object_new (JOB_TYPE_THREAD_BACKEND, NULL);
}

/**
 * job_thread_backend_get_max_threads:
 * @self: a #JobThreadBackend
 *
 * Gets the largest number of threads the pool may run now.
 *
 * Returns: the largest number of threads the pool may run now, 0 before
 *   the first run
 */
guint
job_thread_backend_get_max_threads (JobThreadBackend *self)
{
  g_return_val_if_fail (JOB_IS_THREAD_BACKEND (self), 0);

  return self->pool != NULL ? self->max_threads : 0;
}

/* Bulk maps */

/* Runs @func over @n_items items on up to n_jobs threads: the calling
 * thread and helpers pushed to the pool. A map started inside a task of a
 * run (on this or another pool) runs in the calling thread alone: nested
 * levels get no extra threads, as nested runs get fewer workers. */
static gboolean
run_map (JobThreadBackend       *self,
         int                     n_jobs,
         gsize                   n_items,
         JobThreadMapChunkFunc   func,
         gpointer                data,
         GCancellable           *cancellable,
         GError                **error)
{
  g_autoptr(JobThreadMap) map = NULL;
  int n_threads = job_effective_n_jobs (n_jobs, error);
  guint n_helpers;

  if (n_threads == 0)
    return FALSE;
  if (n_items == 0)
    return TRUE;

  if (job_nesting_get_current () != NULL ||
      GPOINTER_TO_INT (g_private_get (&in_pool_thread)))
    n_threads = 1;

  map = job_thread_map_new (n_items, n_threads, func, data, cancellable);
  n_helpers = MIN ((guint) n_threads - 1, job_thread_map_get_n_chunks (map) - 1);

  /* A helper that cannot be started or gets no thread (the pool is busy
   * with another run) costs nothing: the caller claims its chunks. */
  if (n_helpers > 0 &&
      job_thread_backend_configure (JOB_BACKEND (self), n_threads, NULL))
    {
      for (guint i = 0; i < n_helpers; i++)
        {
          PoolItem *item = g_new0 (PoolItem, 1);

          item->map = job_thread_map_ref (map);
          if (!g_thread_pool_push (self->pool, item, NULL))
            {
              job_thread_map_unref (item->map);
              g_free (item);
              break;
            }
        }
    }

  return job_thread_map_run (map, error);
}

typedef struct
{
  JobRangeFunc func;
  gpointer     user_data;
} RangeMap;

static gboolean
run_range_chunk (gsize          start,
                 gsize          end,
                 gpointer       data,
                 GCancellable  *cancellable,
                 GError       **error)
{
  RangeMap *map = data;

  return map->func (start, end, map->user_data, cancellable, error);
}

/**
 * job_thread_backend_map_range:
 * @self: a #JobThreadBackend
 * @n_jobs: the number of threads, with joblib's rules (-1: all CPUs);
 *   the calling thread is one of them
 * @n_items: the number of items
 * @func: (scope call): runs a chunk of items
 * @user_data: (closure func): data for @func
 * @cancellable: (nullable): a #GCancellable; chunks not yet started are
 *   skipped once it is cancelled
 * @error: return location for a #GError
 *
 * Runs @func over the items `0 … n_items - 1`, cut into chunks by the
 * engine: each call gets a half-open range `[start, end)`, and every item
 * is in exactly one call. This is a parallel `for` loop with no object per
 * item; use it when each item costs microseconds or less, where one
 * [struct@Joblib.Call] per item would cost more than the work.
 *
 * Blocks the calling thread, which runs chunks too, until every chunk is
 * done. @func runs in the calling thread and in the pool's threads, several
 * calls at once, so it must be thread-safe. Called from inside a task of a
 * run, the map runs in the calling thread alone.
 *
 * The first failure stops the map: chunks not yet started are skipped and
 * the error of the lowest failing chunk is returned. A @func that returns
 * %FALSE without setting an error fails with
 * [error@Joblib.Error.TASK_FAILED]. @n_jobs 0 fails with
 * [error@Joblib.Error.INVALID_ARGUMENT].
 *
 * Returns: %TRUE when every chunk ran and succeeded
 */
gboolean
job_thread_backend_map_range (JobThreadBackend  *self,
                              int                n_jobs,
                              gsize              n_items,
                              JobRangeFunc       func,
                              gpointer           user_data,
                              GCancellable      *cancellable,
                              GError           **error)
{
  RangeMap map = { func, user_data };

  g_return_val_if_fail (JOB_IS_THREAD_BACKEND (self), FALSE);
  g_return_val_if_fail (func != NULL, FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return run_map (self, n_jobs, n_items, run_range_chunk, &map, cancellable, error);
}

typedef struct
{
  const guint8   *input;
  guint8         *output;
  gsize           input_stride;
  gsize           output_stride;
  JobElementFunc  func;
  gpointer        user_data;
} ElementMap;

static gboolean
run_element_chunk (gsize          start,
                   gsize          end,
                   gpointer       data,
                   GCancellable  *cancellable,
                   GError       **error)
{
  ElementMap *map = data;
  const guint8 *input = map->input + start * map->input_stride;
  guint8 *output = map->output + start * map->output_stride;

  for (gsize i = start; i < end; i++)
    {
      GError *local_error = NULL;

      if (G_LIKELY (map->func (input, output, i, map->user_data, &local_error)))
        {
          input += map->input_stride;
          output += map->output_stride;
          continue;
        }

      if (local_error != NULL)
        g_propagate_prefixed_error (error, local_error, _("Element %zu: "), i);
      else
        g_set_error (error, JOB_ERROR, JOB_ERROR_TASK_FAILED,
                     _("Element %zu failed without saying why"), i);
      return FALSE;
    }
  return TRUE;
}

/**
 * job_thread_backend_map_array:
 * @self: a #JobThreadBackend
 * @n_jobs: the number of threads, with joblib's rules (-1: all CPUs);
 *   the calling thread is one of them
 * @input: the array whose rows (its elements when it has one dimension)
 *   are mapped
 * @out_typestr: the numpy typestr of the result's elements, such as `"<f8"`
 * @out_row_shape: (array length=n_out_row_dims) (nullable): the shape of
 *   one row of the result; %NULL and 0 for one element per input row
 * @n_out_row_dims: the length of @out_row_shape
 * @func: (scope call): maps one input row to one output row
 * @user_data: (closure func): data for @func
 * @cancellable: (nullable): a #GCancellable; chunks not yet started are
 *   skipped once it is cancelled
 * @error: return location for a #GError
 *
 * Maps @func over the rows of @input (along its first axis) into a new
 * array of shape `[rows, *out_row_shape]` and elements @out_typestr.
 * @func gets a pointer to the row's bytes in @input's buffer, in @input's
 * byte order, and a pointer to the row of the result to fill; both are
 * aligned as the buffers are (the result's to at least 8 bytes). No object
 * is created per row: chunks of rows run as in
 * [method@Joblib.ThreadBackend.map_range], whose thread rules apply.
 *
 * Errors: [error@Joblib.Error.INVALID_ARGUMENT] for a 0-dimensional
 * @input, a result shape too large, or @n_jobs 0;
 * [error@Joblib.Error.UNSUPPORTED] for an @out_typestr that is not a
 * numeric numpy typestr;
 * [error@Joblib.Error.TOO_LARGE] when the result cannot be allocated; a
 * failing @func's error prefixed with the row index.
 *
 * Returns: (transfer full): the result, or %NULL with @error set
 */
JobArray *
job_thread_backend_map_array (JobThreadBackend  *self,
                              int                n_jobs,
                              JobArray          *input,
                              const char        *out_typestr,
                              const gsize       *out_row_shape,
                              guint              n_out_row_dims,
                              JobElementFunc     func,
                              gpointer           user_data,
                              GCancellable      *cancellable,
                              GError           **error)
{
  gsize out_shape[JOB_ARRAY_MAX_DIMS];
  const gsize *in_shape;
  guint in_dims;
  gsize n_rows, out_bytes, row_bytes;
  g_autofree guint8 *out = NULL;
  g_autoptr(GBytes) out_data = NULL;
  ElementMap map = { 0, };

  g_return_val_if_fail (JOB_IS_THREAD_BACKEND (self), NULL);
  g_return_val_if_fail (input != NULL, NULL);
  g_return_val_if_fail (out_typestr != NULL, NULL);
  g_return_val_if_fail (out_row_shape != NULL || n_out_row_dims == 0, NULL);
  g_return_val_if_fail (func != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  in_shape = job_array_get_shape (input, &in_dims);
  if (in_dims == 0)
    {
      g_set_error_literal (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
                           _("A 0-dimensional array has no rows to map"));
      return NULL;
    }
  if (n_out_row_dims >= JOB_ARRAY_MAX_DIMS)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
                   _("A result row has %u dimensions, more than %u"),
                   n_out_row_dims, JOB_ARRAY_MAX_DIMS - 1);
      return NULL;
    }

  n_rows = in_shape[0];
  out_shape[0] = n_rows;
  if (n_out_row_dims > 0)
    memcpy (out_shape + 1, out_row_shape, n_out_row_dims * sizeof (gsize));

  /* The size of one result row, checked for overflow and typestr first. */
  if (!job_array_compute_size (out_typestr, out_shape + 1, n_out_row_dims,
                               JOB_ERROR_INVALID_ARGUMENT, &row_bytes, error) ||
      !job_array_compute_size (out_typestr, out_shape, n_out_row_dims + 1,
                               JOB_ERROR_INVALID_ARGUMENT, &out_bytes, error))
    return NULL;

  out = g_try_malloc (out_bytes);
  if (out == NULL && out_bytes > 0)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_TOO_LARGE,
                   _("Cannot allocate %zu bytes for an array"), out_bytes);
      return NULL;
    }

  map.input = g_bytes_get_data (job_array_get_data (input), NULL);
  map.input_stride = n_rows > 0
    ? g_bytes_get_size (job_array_get_data (input)) / n_rows : 0;
  map.output = out;
  map.output_stride = row_bytes;
  map.func = func;
  map.user_data = user_data;

  if (!run_map (self, n_jobs, n_rows, run_element_chunk, &map, cancellable, error))
    return NULL;

  out_data = g_bytes_new_take (g_steal_pointer (&out), out_bytes);
  return job_array_new_checked (out_typestr, out_shape, n_out_row_dims + 1, out_data,
                                JOB_ERROR_INVALID_ARGUMENT, error);
}

/* The serialized size of a value of @type when all its values have the
 * same size (GVariant's fixed-size types), else 0. */
static gsize
fixed_size (const GVariantType *type,
            gsize              *alignment)
{
  gsize offset = 0, align = 1;

  switch (g_variant_type_peek_string (type)[0])
    {
    case 'y': case 'b':
      *alignment = 1;
      return 1;
    case 'n': case 'q':
      *alignment = 2;
      return 2;
    case 'i': case 'u': case 'h':
      *alignment = 4;
      return 4;
    case 'x': case 't': case 'd':
      *alignment = 8;
      return 8;
    case '(': case '{':
      for (const GVariantType *member = g_variant_type_first (type);
           member != NULL; member = g_variant_type_next (member))
        {
          gsize member_align, member_size = fixed_size (member, &member_align);

          if (member_size == 0)
            return 0;
          offset = (offset + member_align - 1) & ~(member_align - 1);
          offset += member_size;
          align = MAX (align, member_align);
        }
      *alignment = align;
      /* The unit type () takes one byte. */
      return offset == 0 ? 1 : (offset + align - 1) & ~(align - 1);
    default:
      return 0;
    }
}

/**
 * job_thread_backend_map_variant:
 * @self: a #JobThreadBackend
 * @n_jobs: the number of threads, with joblib's rules (-1: all CPUs);
 *   the calling thread is one of them
 * @array: an array whose elements have a fixed size, such as `ad`, `ax`
 *   or `a(dd)`
 * @out_element_type: the type of the result's elements, of fixed size
 * @func: (scope call): maps one element to one result element
 * @user_data: (closure func): data for @func
 * @cancellable: (nullable): a #GCancellable; chunks not yet started are
 *   skipped once it is cancelled
 * @error: return location for a #GError
 *
 * Maps @func over the elements of @array into a new array of
 * @out_element_type. @func gets a pointer to each element in @array's
 * serialized data and a pointer to the result element to fill, both in
 * GVariant's in-memory layout (native byte order, a tuple's members at
 * their aligned offsets). No #GVariant is created per element: chunks of
 * elements run as in [method@Joblib.ThreadBackend.map_range], whose thread
 * rules apply.
 *
 * Errors: [error@Joblib.Error.INVALID_ARGUMENT] when @array is not an
 * array, its elements or @out_element_type have no fixed size (strings,
 * variants, nested arrays: map those with
 * [method@Joblib.ThreadBackend.map_range]), or @n_jobs is 0; a failing
 * @func's error prefixed with the element index.
 *
 * Returns: (transfer full): the result, an array of @out_element_type, or
 *   %NULL with @error set
 */
GVariant *
job_thread_backend_map_variant (JobThreadBackend    *self,
                                int                  n_jobs,
                                GVariant            *array,
                                const GVariantType  *out_element_type,
                                JobElementFunc       func,
                                gpointer             user_data,
                                GCancellable        *cancellable,
                                GError             **error)
{
  g_autoptr(GVariantType) out_type = NULL;
  g_autoptr(GBytes) bytes = NULL;
  gsize in_size, out_size, align, n_elements = 0;
  g_autofree guint8 *out = NULL;
  ElementMap map = { 0, };

  g_return_val_if_fail (JOB_IS_THREAD_BACKEND (self), NULL);
  g_return_val_if_fail (array != NULL, NULL);
  g_return_val_if_fail (out_element_type != NULL &&
                        g_variant_type_is_definite (out_element_type), NULL);
  g_return_val_if_fail (func != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!g_variant_is_of_type (array, G_VARIANT_TYPE_ARRAY))
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
                   _("Cannot map a value of type “%s”: it is not an array"),
                   g_variant_get_type_string (array));
      return NULL;
    }
  in_size = fixed_size (g_variant_type_element (g_variant_get_type (array)), &align);
  out_size = fixed_size (out_element_type, &align);
  if (in_size == 0 || out_size == 0)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
                   _("Cannot map “%s” to “a%s”: elements must have a fixed size"),
                   g_variant_get_type_string (array),
                   g_variant_type_peek_string (out_element_type));
      return NULL;
    }

  map.input = g_variant_get_fixed_array (array, &n_elements, in_size);
  if (n_elements > G_MAXSIZE / out_size)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_TOO_LARGE,
                   _("A result of %zu elements is too large"), n_elements);
      return NULL;
    }
  out = g_try_malloc (n_elements * out_size);
  if (out == NULL && n_elements > 0)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_TOO_LARGE,
                   _("Cannot allocate %zu bytes for an array"), n_elements * out_size);
      return NULL;
    }
  map.input_stride = in_size;
  map.output = out;
  map.output_stride = out_size;
  map.func = func;
  map.user_data = user_data;

  if (!run_map (self, n_jobs, n_elements, run_element_chunk, &map, cancellable, error))
    return NULL;

  out_type = g_variant_type_new_array (out_element_type);
  bytes = g_bytes_new_take (g_steal_pointer (&out), n_elements * out_size);
  return g_variant_ref_sink (g_variant_new_from_bytes (out_type, bytes, TRUE));
}
