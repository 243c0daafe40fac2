/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gstdio.h>

#include "job-batch-private.h"
#include "job-error.h"
#include "job-function.h"
#include "job-i18n-private.h"
#include "job-worker-request-private.h"
#include "job-shm-pool-private.h"
#include "job-worker-protocol-private.h"

/* Function references, serialized once. A reference built in tree form
 * (a dictionary of variants) costs thousands of instructions to
 * serialize, on every call frame it goes into; its serialized normal form
 * is copied as bytes. Keyed by the reference (held, so that its address
 * is not reused while cached); shared by the pools of all backends. */
#define MAX_CACHED_REFERENCES 256

typedef struct
{
  GVariant *serialized;  /* (owned) */
  char     *kind;        /* (owned) */
} CachedReference;

static GMutex references_mutex;
static GHashTable *serialized_references; /* (owned) reference → CachedReference */

static void
cached_reference_free (CachedReference *cached)
{
  g_variant_unref (cached->serialized);
  g_free (cached->kind);
  g_free (cached);
}

/* Returns the serialized reference of @function (a new reference) and
 * copies its kind into @kind (NULL without a reference) */
static GVariant *
serialized_reference (JobFunction  *function,
                      char        **kind)
{
  GVariant *reference = job_function_get_reference (function);
  CachedReference *cached;
  GVariant *serialized;

  if (reference == NULL)
    {
      *kind = NULL;
      return NULL;
    }

  g_mutex_lock (&references_mutex);
  if (serialized_references == NULL)
    serialized_references = g_hash_table_new_full (NULL, NULL,
                                                   (GDestroyNotify) g_variant_unref,
                                                   (GDestroyNotify) cached_reference_free);
  cached = g_hash_table_lookup (serialized_references, reference);
  if (cached == NULL)
    {
      if (g_hash_table_size (serialized_references) >= MAX_CACHED_REFERENCES)
        g_hash_table_remove_all (serialized_references);
      cached = g_new0 (CachedReference, 1);
      cached->serialized = g_variant_take_ref (g_variant_get_normal_form (reference));
      cached->kind = g_strdup (job_function_get_reference_kind (function));
      g_hash_table_insert (serialized_references, g_variant_ref (reference), cached);
    }
  serialized = g_variant_ref (cached->serialized);
  *kind = g_strdup (cached->kind);
  g_mutex_unlock (&references_mutex);

  return serialized;
}

/* Requests and batches. */

static void
batch_complete (JobWorkerBatch *op)
{
  guint n_tasks = job_batch_get_n_tasks (op->batch);
  g_autoptr(GError) skipped = NULL;

  for (guint i = 0; i < n_tasks; i++)
    if (job_batch_get_result (op->batch, i) == NULL &&
        job_batch_get_error (op->batch, i) == NULL)
      {
        if (skipped == NULL)
          skipped = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                         _("The run was stopped before this task started"));
        job_batch_set_error (op->batch, i, skipped);
      }

  job_batch_set_running (op->batch, 0, 0);
  job_batch_set_duration (op->batch, op->duration);
  if (op->task != NULL)
    {
      g_task_return_boolean (op->task, TRUE);
      g_object_unref (op->task);
    }
  else
    {
      job_batch_inbox_post (op->inbox, op->batch, op->inbox_data);
      job_batch_inbox_unref (op->inbox);
    }
  job_batch_unref (op->batch);
  g_free (op);
}

/* With @reuse, the worker answered the call: nothing reads the files
 * any more, and the pool may write the next arguments over them. */
static void
release_shared_files (JobWorkerRequest *request,
                      gboolean          reuse)
{
  for (guint i = 0; request->shm_files != NULL && i < request->shm_files->len; i++)
    job_shm_pool_release (request->shm_pool, g_ptr_array_index (request->shm_files, i), reuse);
  g_clear_pointer (&request->shm_files, g_ptr_array_unref);
  g_clear_pointer (&request->shm_pool, job_shm_pool_unref);
}

void
job_worker_request_free (JobWorkerRequest *request)
{
  release_shared_files (request, FALSE);
  g_clear_pointer (&request->frame, g_bytes_unref);
  g_array_unref (request->positions);
  g_free (request->kind);
  g_free (request);
}

/* Gives @error to every task of @request that has no outcome yet and
 * completes the batch once all its requests are done. The request stays
 * with its worker (its answers are then ignored) until it is freed. */
void
job_worker_request_abandon (JobWorkerRequest *request,
                            const GError     *error)
{
  JobWorkerBatch *op = g_steal_pointer (&request->op);

  if (op == NULL)
    return;

  for (guint i = 0; error != NULL && i < request->positions->len; i++)
    {
      guint position = g_array_index (request->positions, guint, i);

      if (job_batch_get_result (op->batch, position) == NULL &&
          job_batch_get_error (op->batch, position) == NULL)
        job_batch_set_error (op->batch, position, error);
    }

  if (--op->n_requests == 0)
    batch_complete (op);
}

void
job_worker_request_finish (JobWorkerRequest *request,
                           const GError     *error)
{
  /* Before the batch completes: its caller may look for the files. */
  release_shared_files (request, FALSE);
  job_worker_request_abandon (request, error);
  job_worker_request_free (request);
}

void
job_worker_request_finish_answered (JobWorkerRequest *request)
{
  release_shared_files (request, TRUE);
  job_worker_request_finish (request, NULL);
}

JobWorkerRequest *
job_worker_request_new_rerun (JobWorkerRequest *request,
                              guint             first,
                              guint             end,
                              guint             skip,
                              guint64           id)
{
  JobWorkerRequest *rerun;

  if (request->op == NULL)
    return NULL;

  rerun = g_new0 (JobWorkerRequest, 1);
  rerun->kind = g_strdup (request->kind);
  rerun->attempt = request->attempt;
  rerun->positions = g_array_new (FALSE, FALSE, sizeof (guint));
  for (guint i = first; i < end && i < request->positions->len; i++)
    if (i != skip)
      g_array_append_val (rerun->positions, g_array_index (request->positions, guint, i));
  if (rerun->positions->len == 0)
    {
      job_worker_request_free (rerun);
      return NULL;
    }
  rerun->op = request->op;
  rerun->op->n_requests++;
  rerun->id = id;
  return rerun;
}

gboolean
job_worker_request_is_cancelled (JobWorkerRequest *request)
{
  return request->op == NULL ||
         g_cancellable_is_cancelled (job_batch_get_cancellable (request->op->batch));
}

/* Replaces the arguments larger than max-nbytes by `()` and writes them to
 * shared-memory files listed in @shared. */
static GVariant *
share_large_arguments (JobWorkerRequest *request,
                       guint32            task,
                       GVariant          *args,
                       guint64            max_nbytes,
                       const char        *folder,
                       JobShmPool        *pool,
                       GVariantBuilder   *shared,
                       GError           **error)
{
  g_autoptr(GPtrArray) children = NULL;
  gsize n = g_variant_n_children (args);

  children = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  for (gsize i = 0; i < n; i++)
    {
      GVariant *child = g_variant_get_child_value (args, i);
      gsize size = g_variant_get_size (child);
      JobShmFile *file;

      if (size <= max_nbytes)
        {
          g_ptr_array_add (children, child);
          continue;
        }

      file = job_shm_pool_write (pool, folder, child, error);
      if (file == NULL)
        {
          g_variant_unref (child);
          return NULL;
        }
      if (request->shm_files == NULL)
        {
          request->shm_files = g_ptr_array_new ();
          request->shm_pool = job_shm_pool_ref (pool);
        }
      g_ptr_array_add (request->shm_files, file);
      g_variant_builder_add (shared, "(uusst)", task, (guint32) i, file->path,
                             g_variant_get_type_string (child), (guint64) size);
      g_ptr_array_add (children, g_variant_ref_sink (g_variant_new_tuple (NULL, 0)));
      g_variant_unref (child);
    }

  return g_variant_new_tuple ((GVariant **) children->pdata, n);
}

/* Builds the CALL frame: serialized by hand from the arguments and the
 * cached serialized references (job_worker_frame_append_call()); with
 * tiny tasks this frame is most of what the parent does per task. */
gboolean
job_worker_request_build (JobWorkerRequest  *request,
                          guint64            max_nbytes,
                          const char        *folder,
                          JobShmPool        *pool,
                          GError           **error)
{
  g_autoptr(GByteArray) frame = NULL;
  g_autoptr(GPtrArray) boxed = NULL;
  g_autoptr(GHashTable) more = NULL;
  g_autofree guint32 *indexes = NULL;
  g_autoptr(GPtrArray) references = NULL;
  GVariantBuilder shared;
  gboolean any_shared = FALSE;
  JobFunction *functions[8];
  g_autoptr(GVariant) shared_array = NULL;
  guint n_tasks = request->positions->len;
  guint n_refs = 0;
  gsize estimate = JOB_WORKER_FRAME_HEADER_SIZE + 64;
  JobBatch *batch = request->op->batch;

  references = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  boxed = g_ptr_array_new_full (n_tasks, (GDestroyNotify) g_variant_unref);
  indexes = g_new (guint32, MAX (n_tasks, 1));

  for (guint i = 0; i < n_tasks; i++)
    {
      guint position = g_array_index (request->positions, guint, i);
      JobCall *call = job_batch_get_call (batch, position);
      JobFunction *function = job_call_get_function (call);
      GVariant *args = job_call_get_args (call);
      guint index;

      /* Batches mostly call one function or a few: a linear search over
       * the first ones beats hashing; a table takes the others. */
      for (index = 0; index < MIN (n_refs, G_N_ELEMENTS (functions)); index++)
        if (functions[index] == function)
          break;
      if (index == G_N_ELEMENTS (functions))
        {
          gpointer found;

          if (more == NULL)
            more = g_hash_table_new (NULL, NULL);
          if (g_hash_table_lookup_extended (more, function, NULL, &found))
            index = GPOINTER_TO_UINT (found);
          else
            index = n_refs;
        }
      if (index == n_refs)
        {
          n_refs++;
          if (index < G_N_ELEMENTS (functions))
            functions[index] = function;
          else
            g_hash_table_insert (more, function, GUINT_TO_POINTER (index));
          g_autofree char *kind = NULL;

          g_ptr_array_add (references, serialized_reference (function, &kind));
        }
      indexes[i] = index;

      if (g_variant_get_size (args) > max_nbytes)
        {
          if (!any_shared)
            g_variant_builder_init (&shared, G_VARIANT_TYPE ("a(uusst)"));
          any_shared = TRUE;
          args = share_large_arguments (request, i, args, max_nbytes, folder, pool,
                                        &shared, error);
          if (args == NULL)
            {
              g_variant_builder_clear (&shared);
              return FALSE;
            }
        }
      g_ptr_array_add (boxed, g_variant_ref_sink (args));
      /* value, padding, its type string, an index and a framing offset */
      estimate += g_variant_get_size (args) + 40;
    }

  if (any_shared)
    shared_array = g_variant_ref_sink (g_variant_builder_end (&shared));
  /* Sized once: growing the array as the frame is written cost about ten
   * reallocations per small call. */
  for (guint i = 0; i < references->len; i++)
    estimate += g_variant_get_size (g_ptr_array_index (references, i)) + 16;
  if (shared_array != NULL)
    estimate += g_variant_get_size (shared_array) + 8;
  frame = g_byte_array_sized_new (MIN (estimate, G_MAXUINT));
  job_worker_frame_append_call (frame, request->id, job_batch_get_stop_on_error (batch),
                                (GVariant * const *) references->pdata, references->len,
                                indexes, (GVariant * const *) boxed->pdata, boxed->len,
                                shared_array);
  request->frame = g_byte_array_free_to_bytes (g_steal_pointer (&frame));
  return TRUE;
}

JobWorkerBatch *
job_worker_batch_new (GTask    *task,
                      JobBatch *batch)
{
  JobWorkerBatch *op = g_new0 (JobWorkerBatch, 1);

  op->task = g_object_ref (task);
  op->batch = job_batch_ref (batch);
  return op;
}

JobWorkerBatch *
job_worker_batch_new_for_inbox (JobBatchInbox *inbox,
                                gpointer       inbox_data,
                                JobBatch      *batch)
{
  JobWorkerBatch *op = g_new0 (JobWorkerBatch, 1);

  op->inbox = job_batch_inbox_ref (inbox);
  op->inbox_data = inbox_data;
  op->batch = job_batch_ref (batch);
  return op;
}

/* Splits the batch into one request per reference kind; tasks of
 * functions without a reference fail here. A guard keeps the batch from
 * completing until job_worker_batch_release(). */
GPtrArray *
job_worker_batch_split (JobWorkerBatch *op,
                        guint64        *next_id)
{
  GPtrArray *requests = g_ptr_array_new ();
  guint n_tasks = job_batch_get_n_tasks (op->batch);
  JobFunction *last_function = NULL;
  g_autofree char *last_kind = NULL;

  op->n_requests = 1;
  for (guint i = 0; i < n_tasks; i++)
    {
      JobFunction *function = job_call_get_function (job_batch_get_call (op->batch, i));
      JobWorkerRequest *request;
      const char *kind;

      /* Reading the kind parses the reference: once per run of tasks of
       * one function, not per task. */
      if (function != last_function)
        {
          g_autoptr(GVariant) serialized = NULL;

          last_function = function;
          g_clear_pointer (&last_kind, g_free);
          serialized = serialized_reference (function, &last_kind);
        }
      kind = last_kind;

      if (kind == NULL)
        {
          g_autoptr(GError) error =
            g_error_new (JOB_ERROR, JOB_ERROR_UNSUPPORTED,
                         _("“%s” has no reference that a worker process can resolve; "
                           "create it with job_function_new_for_symbol() or use "
                           "the threading backend"),
                         job_function_get_name (function));
          job_batch_set_error (op->batch, i, error);
          continue;
        }

      /* Batches hold one kind, rarely a few: a linear search. */
      request = NULL;
      for (guint r = 0; r < requests->len && request == NULL; r++)
        if (g_str_equal (((JobWorkerRequest *) g_ptr_array_index (requests, r))->kind, kind))
          request = g_ptr_array_index (requests, r);
      if (request == NULL)
        {
          request = g_new0 (JobWorkerRequest, 1);
          request->op = op;
          request->kind = g_strdup (kind);
          request->positions = g_array_new (FALSE, FALSE, sizeof (guint));
          request->id = ++*next_id;
          op->n_requests++;
          g_ptr_array_add (requests, request);
        }
      g_array_append_val (request->positions, i);
    }

  return requests;
}

void
job_worker_batch_release (JobWorkerBatch *op)
{
  if (--op->n_requests == 0)
    batch_complete (op);
}

void
job_worker_requests_fail (GQueue       *queue,
                          const char   *kind,
                          const GError *error)
{
  GList *link = queue->head;

  while (link != NULL)
    {
      GList *next = link->next;
      JobWorkerRequest *request = link->data;

      if (kind == NULL || g_strcmp0 (request->kind, kind) == 0)
        {
          g_queue_delete_link (queue, link);
          job_worker_request_finish (request, error);
        }
      link = next;
    }
}

void
job_worker_requests_requeue (GQueue *queue,
                             GQueue *requests)
{
  JobWorkerRequest *request;

  while ((request = g_queue_pop_tail (requests)) != NULL)
    {
      if (request->op == NULL)
        job_worker_request_free (request);
      else
        g_queue_push_head (queue, request);
    }
}
