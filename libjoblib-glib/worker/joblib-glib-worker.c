/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* joblib-glib-worker: the native worker of JobProcessBackend.
 *
 * It speaks the worker protocol (job-worker-protocol-private.h) on its
 * standard input and output, resolves "native" function references with
 * GModule (cached for its lifetime), and runs the tasks of each call in
 * order. Anything tasks print to stdout goes to stderr: stdout carries
 * the protocol. It exits when its input ends, on GOODBYE, and with a
 * message on stderr (and a GOODBYE frame) when it receives a malformed
 * frame. */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <signal.h>
#include <unistd.h>

#include <joblib-glib.h>

#include "job-native-symbol-private.h"
#include "job-shm-mappings-private.h"
#include "job-variant-array-reader-private.h"
#include "job-worker-protocol-private.h"

/* Results are buffered so that a batch of small tasks costs one write;
 * the buffer is flushed when it is large or old, so that the parent sees
 * progress of long batches (its timeout watch relies on that). */
#define FLUSH_BYTES (64 * 1024)
#define FLUSH_USEC  (10 * 1000)
/* Nor more than this many calls: the parent sends the next calls as the
 * answers of the first ones come, while the worker runs those queued. */
#define FLUSH_CALLS 4
#define READ_BUFFER (64 * 1024)

typedef struct
{
  JobFunc      func;
  char        *symbol;     /* (owned) */
  JobFunction *memorized;  /* (owned) (nullable) runs func through a cache */
} Resolved;

static void
resolved_free (Resolved *resolved)
{
  g_free (resolved->symbol);
  g_clear_object (&resolved->memorized);
  g_free (resolved);
}

/* A reference with a "memory" field is a memorized function (see
 * JobMemorizedFunction): the same cache folder and settings here, so
 * that results computed by any worker or by the parent are shared. */
static JobFunction *
memorize (const char  *symbol,
          JobFunc      func,
          GVariant    *reference,
          GError     **error)
{
  g_autoptr(JobFunction) function = job_function_new (symbol, func, NULL, NULL);

  return JOB_FUNCTION (job_memory_cache_for_reference (function, reference, error));
}

/* The parent's frames, read from the descriptor with read(2) into a
 * buffer: one read for all the frames queued, and no poll(2) before
 * each read (GIO's Unix streams poll first). */
typedef struct
{
  int     fd;
  guint8  data[READ_BUFFER];
  gsize   pos;
  gsize   len;
} Reader;

static gboolean
reader_read_all (gpointer       source,
                 void          *buffer,
                 gsize          count,
                 gsize         *n_read,
                 GCancellable  *cancellable,
                 GError       **error)
{
  Reader *reader = source;
  guint8 *out = buffer;

  *n_read = 0;
  while (*n_read < count)
    {
      gsize want = count - *n_read;
      gssize n;

      if (reader->pos < reader->len)
        {
          gsize take = MIN (want, reader->len - reader->pos);

          memcpy (out + *n_read, reader->data + reader->pos, take);
          reader->pos += take;
          *n_read += take;
          continue;
        }

      /* Large payloads go straight to their buffer. */
      if (want >= sizeof reader->data)
        n = read (reader->fd, out + *n_read, want);
      else
        n = read (reader->fd, reader->data, sizeof reader->data);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;

          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                       "Error reading from the parent: %s", g_strerror (saved));
          return FALSE;
        }
      if (n == 0)
        break;
      if (want >= sizeof reader->data)
        *n_read += n;
      else
        {
          reader->pos = 0;
          reader->len = n;
        }
    }
  return TRUE;
}

typedef struct
{
  int              out_fd;
  GHashTable      *resolved;       /* (owned) GBytes → Resolved */
  GByteArray      *buffer;
  gint64           last_flush;
  guint            held_calls;     /* calls answered in the buffer */
  JobWorkerStatus *status;
  /* Results not yet in the buffer: consecutive tasks of one call from
   * pending_first. One RESULTS frame carries them all. */
  GPtrArray       *pending;
  guint64          pending_call;
  guint32          pending_first;
  gsize            pending_bytes;
  /* An empty value of the last argument tuple's type: GLib 2.74 frees a
   * container type's information with its last value and builds it
   * again for the next (see job-worker-protocol.c). */
  GVariant        *args_type;
  JobShmMappings  *mappings;       /* (owned) of shared-memory arguments */
} Worker;

static void
keep_type (Worker   *worker,
           GVariant *value)
{
  g_autoptr(GBytes) empty = NULL;

  if (worker->args_type != NULL &&
      g_variant_type_equal (g_variant_get_type (worker->args_type), g_variant_get_type (value)))
    return;
  g_clear_pointer (&worker->args_type, g_variant_unref);
  empty = g_bytes_new_static (NULL, 0);
  worker->args_type = g_variant_ref_sink (g_variant_new_from_bytes (g_variant_get_type (value),
                                                                    empty, FALSE));
}

static void
append_results (Worker *worker)
{
  if (worker->pending->len == 0)
    return;

  job_worker_frame_append_results (worker->buffer, worker->pending_call,
                                   worker->pending_first,
                                   (GVariant * const *) worker->pending->pdata,
                                   worker->pending->len);
  g_ptr_array_set_size (worker->pending, 0);
  worker->pending_bytes = 0;
}

static gboolean
flush (Worker  *worker,
       GError **error)
{
  gboolean ok = TRUE;

  append_results (worker);
  for (gsize done = 0; ok && done < worker->buffer->len; )
    {
      gssize n = write (worker->out_fd, worker->buffer->data + done,
                        worker->buffer->len - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;

          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                       "Error writing to the parent: %s", g_strerror (saved));
          ok = FALSE;
        }
      else
        done += n;
    }
  g_byte_array_set_size (worker->buffer, 0);
  worker->held_calls = 0;
  worker->last_flush = g_get_monotonic_time ();
  return ok;
}

static GVariant *
map_argument (JobShmMappings  *mappings,
              const char      *path,
              const char      *type_string,
              guint64          size,
              GError         **error)
{
  g_autoptr(GBytes) bytes = NULL;

  if (!g_variant_type_string_is_valid (type_string))
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_PROTOCOL,
                   "invalid type “%s” for a shared-memory argument", type_string);
      return NULL;
    }

  bytes = job_shm_mappings_get (mappings, path, size, error);
  if (bytes == NULL)
    return NULL;
  return g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE (type_string),
                                                       bytes, FALSE));
}

/* Replaces the `()` placeholders of task @task in @args by the values of
 * its shared-memory arguments: the entries of @shared from *@cursor on
 * whose task is @task (entries come in task order). */
static GVariant *
build_arguments (JobShmMappings  *mappings,
                 GVariant        *args,
                 guint32          task,
                 GVariant        *shared,
                 gsize           *cursor,
                 GError         **error)
{
  g_autoptr(GPtrArray) children = NULL;
  gsize n_shared = g_variant_n_children (shared);
  gsize n;

  if (!g_variant_is_of_type (args, G_VARIANT_TYPE_TUPLE))
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_PROTOCOL,
                   "arguments of type “%s” are not a tuple",
                   g_variant_get_type_string (args));
      return NULL;
    }

  n = g_variant_n_children (args);
  while (*cursor < n_shared)
    {
      const char *path;
      const char *type_string;
      guint32 entry_task;
      guint32 position;
      guint64 size;
      GVariant *mapped;

      g_variant_get_child (shared, *cursor, "(uu&s&st)", &entry_task, &position,
                           &path, &type_string, &size);
      if (entry_task < task)
        {
          g_set_error (error, JOB_ERROR, JOB_ERROR_PROTOCOL,
                       "shared-memory arguments are not in task order (task %u after %u)",
                       entry_task, task);
          return NULL;
        }
      if (entry_task > task)
        break;
      ++*cursor;

      if (children == NULL)
        {
          children = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
          for (gsize i = 0; i < n; i++)
            g_ptr_array_add (children, g_variant_get_child_value (args, i));
        }
      if (position >= n)
        {
          g_set_error (error, JOB_ERROR, JOB_ERROR_PROTOCOL,
                       "shared-memory argument %u of %" G_GSIZE_FORMAT,
                       position, n);
          return NULL;
        }
      mapped = map_argument (mappings, path, type_string, size, error);
      if (mapped == NULL)
        return NULL;
      g_variant_unref (g_ptr_array_index (children, position));
      g_ptr_array_index (children, position) = mapped;
    }

  if (children == NULL)
    return g_variant_ref (args);
  return g_variant_ref_sink (g_variant_new_tuple ((GVariant **) children->pdata, n));
}

static void
append_error (Worker       *worker,
              guint64       call_id,
              guint32       position,
              const GError *error)
{
  /* Results before the error go first: answers stay in task order. */
  append_results (worker);
  job_worker_frame_append (worker->buffer, JOB_WORKER_MESSAGE_ERROR,
                           g_variant_new ("(tusis)", call_id, position,
                                          g_quark_to_string (error->domain),
                                          error->code, error->message));
}

static void
add_result (Worker   *worker,
            guint64   call_id,
            guint32   position,
            GVariant *result)
{
  if (worker->pending->len > 0 &&
      (worker->pending_call != call_id ||
       worker->pending_first + worker->pending->len != position))
    append_results (worker);
  if (worker->pending->len == 0)
    {
      worker->pending_call = call_id;
      worker->pending_first = position;
    }
  g_ptr_array_add (worker->pending, g_variant_ref (result));
  worker->pending_bytes += g_variant_get_size (result) + 16;
}

/* Resolves a reference, cached by its serialized bytes: the parent sends
 * the same references with every call, and looking fields up in their
 * dictionary costs more than a small task. Failures are not cached (the
 * module may appear later). */
static Resolved *
resolve (Worker    *worker,
         GVariant  *reference,
         GError   **error)
{
  g_autoptr(GBytes) key = g_variant_get_data_as_bytes (reference);
  g_autoptr(GVariant) fields = NULL;
  g_autoptr(GVariant) settings = NULL;
  Resolved *resolved = g_hash_table_lookup (worker->resolved, key);
  JobFunc func;

  if (resolved != NULL)
    return resolved;

  func = job_native_symbol_resolve_reference (reference, error);
  if (func == NULL)
    return NULL;

  resolved = g_new0 (Resolved, 1);
  resolved->func = func;
  fields = g_variant_get_child_value (reference, 1);
  if (!g_variant_lookup (fields, "symbol", "s", &resolved->symbol))
    resolved->symbol = g_strdup ("function");
  settings = g_variant_lookup_value (fields, "memory", NULL);
  if (settings != NULL &&
      (resolved->memorized = memorize (resolved->symbol, func, reference, error)) == NULL)
    {
      resolved_free (resolved);
      return NULL;
    }
  g_hash_table_insert (worker->resolved, g_steal_pointer (&key), resolved);
  return resolved;
}

static void
free_error (gpointer error)
{
  if (error != NULL)
    g_error_free (error);
}

static gboolean
run_call (Worker    *worker,
          GVariant  *call,
          GError   **error)
{
  g_autoptr(GVariant) references = NULL;
  g_autoptr(GVariant) ref_indexes = NULL;
  g_autoptr(GVariant) all_args = NULL;
  g_autoptr(GVariant) shared = NULL;
  g_auto(JobVariantArrayReader) args_reader = { 0 };
  g_autofree JobFunc *funcs = NULL;
  g_autofree JobFunction **memorized = NULL;
  g_autofree const char **symbols = NULL;
  g_autoptr(GPtrArray) resolve_errors = NULL;
  gint64 start = g_get_monotonic_time ();
  const guint32 *indexes;
  guint64 call_id;
  gboolean stop_on_error;
  gsize n_refs, n_tasks, n_indexes;
  gsize cursor = 0;

  /* Children one by one: a format string costs more than a small task.
   * The leading `t` and `b` are read in place (offsets 0 and 8 of a
   * frame in normal form, checked when it was read; host order once
   * decoded): a child read costs over a thousand instructions. */
  {
    const guint8 *data = g_variant_get_data (call);

    if (g_variant_get_size (call) <= 8)
      {
        g_set_error_literal (error, JOB_ERROR, JOB_ERROR_PROTOCOL, "truncated call frame");
        return FALSE;
      }
    memcpy (&call_id, data, sizeof call_id);
    stop_on_error = data[8] != 0;
    references = g_variant_get_child_value (call, 2);
    ref_indexes = g_variant_get_child_value (call, 3);
    all_args = g_variant_get_child_value (call, 4);
    shared = g_variant_get_child_value (call, 5);
  }

  indexes = g_variant_get_fixed_array (ref_indexes, &n_indexes, sizeof (guint32));
  /* The argument tuples are the frame's bulk: read in one pass (see
   * job-variant-array-reader-private.h). */
  if (!job_variant_array_reader_init (&args_reader, all_args, error))
    return FALSE;
  n_tasks = job_variant_array_reader_get_n (&args_reader);
  if (n_indexes != n_tasks)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_PROTOCOL,
                   "call %" G_GUINT64_FORMAT " has %" G_GSIZE_FORMAT
                   " function indexes for %" G_GSIZE_FORMAT " tasks",
                   call_id, n_indexes, n_tasks);
      return FALSE;
    }

  n_refs = g_variant_n_children (references);
  funcs = g_new0 (JobFunc, n_refs);
  memorized = g_new0 (JobFunction *, n_refs);
  symbols = g_new0 (const char *, n_refs);
  /* The elements are GError pointers, freed with g_error_free (not
   * g_clear_error, which takes the address of one); NULL ones are
   * skipped by the wrapper. */
  resolve_errors = g_ptr_array_new_with_free_func (free_error);
  g_ptr_array_set_size (resolve_errors, n_refs);
  for (gsize i = 0; i < n_refs; i++)
    {
      g_autoptr(GVariant) reference = g_variant_get_child_value (references, i);
      GError *resolve_error = NULL;
      Resolved *resolved = resolve (worker, reference, &resolve_error);

      g_ptr_array_index (resolve_errors, i) = resolve_error;

      if (resolved != NULL)
        {
          funcs[i] = resolved->func;
          memorized[i] = resolved->memorized;
          symbols[i] = resolved->symbol;
        }
    }

  for (gsize i = 0; i < n_tasks; i++)
    {
      g_autoptr(GVariant) boxed = NULL;
      g_autoptr(GVariant) args = NULL;
      g_autoptr(GVariant) full_args = NULL;
      g_autoptr(GVariant) result = NULL;
      g_autoptr(GError) task_error = NULL;
      guint32 ref_index = indexes[i];

      boxed = job_variant_array_reader_next (&args_reader);
      args = g_variant_get_variant (boxed);
      keep_type (worker, args);

      if (worker->status != NULL)
        {
          worker->status->batch_id = call_id;
          worker->status->position = i;
          worker->status->running = 1;
        }

      if (ref_index >= n_refs)
        g_set_error (&task_error, JOB_ERROR, JOB_ERROR_PROTOCOL,
                     "task %" G_GSIZE_FORMAT " names function %u of %" G_GSIZE_FORMAT,
                     i, ref_index, n_refs);
      else if (g_ptr_array_index (resolve_errors, ref_index) != NULL)
        task_error = g_error_copy (g_ptr_array_index (resolve_errors, ref_index));
      else if ((full_args = build_arguments (worker->mappings, args, i, shared, &cursor,
                                             &task_error)) != NULL)
        {
          if (memorized[ref_index] != NULL)
            result = job_function_invoke (memorized[ref_index], full_args, NULL, &task_error);
          else
            result = funcs[ref_index] (full_args, NULL, NULL, &task_error);
          /* Functions return (transfer full): a floating reference is
           * sunk, a full one is taken over, not referenced again. */
          if (result != NULL)
            g_variant_take_ref (result);
          else if (task_error == NULL)
            g_set_error (&task_error, JOB_ERROR, JOB_ERROR_TASK_FAILED,
                         "%s returned no value and no error",
                         symbols[ref_index] ? symbols[ref_index] : "function");
        }

      if (worker->status != NULL)
        worker->status->running = 0;

      if (result != NULL)
        add_result (worker, call_id, i, result);
      else
        append_error (worker, call_id, i, task_error);

      /* Arguments mapped from shared memory are released here, with the
       * last reference to them (the map may stay for the next task). */
      g_clear_pointer (&full_args, g_variant_unref);

      if (worker->buffer->len + worker->pending_bytes >= FLUSH_BYTES ||
          g_get_monotonic_time () - worker->last_flush >= FLUSH_USEC)
        {
          if (!flush (worker, error))
            return FALSE;
        }

      if (result == NULL && stop_on_error)
        break;
    }

  append_results (worker);
  job_worker_frame_append_done (worker->buffer, call_id,
                                (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC);
  return TRUE;
}

/* Whether the parent's next frame is already waiting: then the answers
 * stay in the buffer and go out with those of the next calls, one write
 * for all of them (a write wakes the parent: with one per call, small
 * calls cost a wake-up each). The buffer still goes when it is large or
 * old (run_call), so that the parent sees progress. */
static gboolean
input_waiting (Reader *reader)
{
  struct pollfd pfd = { reader->fd, POLLIN, 0 };

  if (reader->pos < reader->len)
    return TRUE;
  return poll (&pfd, 1, 0) == 1 && (pfd.revents & POLLIN) != 0;
}

/* Before the worker blocks for the next frame: the maps of files that the
 * parent removed at the end of a run go soon after (their pages stay
 * while they are mapped), the others after a second without work. */
static void
wait_for_input (Reader         *reader,
                JobShmMappings *mappings)
{
  static const int waits_msec[] = { 100, 250, 1000 };
  struct pollfd pfd = { reader->fd, POLLIN, 0 };

  for (gsize i = 0; i < G_N_ELEMENTS (waits_msec); i++)
    {
      int ready;

      if (reader->pos < reader->len ||
          job_shm_mappings_trim (mappings, G_USEC_PER_SEC) == 0)
        return;
      do
        ready = poll (&pfd, 1, waits_msec[i]);
      while (ready < 0 && errno == EINTR);
      if (ready != 0)
        return;
    }
  job_shm_mappings_trim (mappings, 0);
}

/* Runs the initializer of an INIT frame. On failure the error goes to the
 * parent as the error of task 0 of call 0, and the worker leaves. */
static gboolean
run_init (Worker    *worker,
          GVariant  *init,
          GError   **error)
{
  g_autoptr(GVariant) reference = g_variant_get_child_value (init, 0);
  g_autoptr(GVariant) boxed = g_variant_get_child_value (init, 1);
  g_autoptr(GVariant) args = g_variant_get_variant (boxed);
  g_autoptr(GVariant) result = NULL;
  g_autoptr(GError) init_error = NULL;
  JobFunc func;

  func = job_native_symbol_resolve_reference (reference, &init_error);
  if (func != NULL && !g_variant_is_of_type (args, G_VARIANT_TYPE_TUPLE))
    g_set_error (&init_error, JOB_ERROR, JOB_ERROR_PROTOCOL,
                 "initializer arguments of type “%s” are not a tuple",
                 g_variant_get_type_string (args));
  else if (func != NULL)
    {
      result = func (args, NULL, NULL, &init_error);
      if (result != NULL)
        g_variant_take_ref (result);
      else if (init_error == NULL)
        g_set_error_literal (&init_error, JOB_ERROR, JOB_ERROR_TASK_FAILED,
                             "the initializer returned no value and no error");
    }
  if (init_error == NULL)
    return TRUE;

  append_error (worker, 0, 0, init_error);
  flush (worker, NULL);
  g_set_error (error, JOB_ERROR, JOB_ERROR_TASK_FAILED,
               "initializer failed: %s", init_error->message);
  return FALSE;
}

static JobWorkerStatus *
map_status_page (void)
{
  const char *fd_string = g_getenv (JOB_WORKER_STATUS_FD_ENV);
  gint64 fd;
  void *page;

  if (fd_string == NULL || !g_ascii_string_to_signed (fd_string, 10, 3, G_MAXINT,
                                                      &fd, NULL))
    return NULL;

  page = mmap (NULL, JOB_WORKER_STATUS_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
               (int) fd, 0);
  close ((int) fd);
  g_unsetenv (JOB_WORKER_STATUS_FD_ENV);
  return page == MAP_FAILED ? NULL : page;
}

int
main (int    argc,
      char **argv)
{
  g_autofree Reader *reader = g_new0 (Reader, 1);
  g_autoptr(GError) error = NULL;
  Worker worker = { 0, };
  int in_fd, out_fd, null_fd;
  int status = 0;

  setlocale (LC_ALL, "");

  /* A worker never outlives its parent, even one killed by SIGKILL. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () == 1)
    return 1;

  /* Keep the protocol on private descriptors: what tasks print to stdout
   * goes to stderr, and they read nothing from the parent's pipe. */
  in_fd = dup (STDIN_FILENO);
  out_fd = dup (STDOUT_FILENO);
  if (in_fd < 0 || out_fd < 0 || dup2 (STDERR_FILENO, STDOUT_FILENO) < 0)
    {
      g_printerr ("joblib-glib-worker: %s\n", g_strerror (errno));
      return 1;
    }
  null_fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd >= 0)
    {
      dup2 (null_fd, STDIN_FILENO);
      close (null_fd);
    }
  fcntl (in_fd, F_SETFD, FD_CLOEXEC);
  fcntl (out_fd, F_SETFD, FD_CLOEXEC);

  reader->fd = in_fd;
  worker.out_fd = out_fd;
  worker.buffer = g_byte_array_sized_new (FLUSH_BYTES + 4096);
  worker.status = map_status_page ();
  worker.pending = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  worker.mappings = job_shm_mappings_new ();
  worker.resolved = g_hash_table_new_full (g_bytes_hash, g_bytes_equal,
                                           (GDestroyNotify) g_bytes_unref,
                                           (GDestroyNotify) resolved_free);

  job_worker_frame_append (worker.buffer, JOB_WORKER_MESSAGE_HELLO,
                           g_variant_new ("(sx@a{sv})", "native", (gint64) getpid (),
                                          g_variant_new_array (G_VARIANT_TYPE ("{sv}"),
                                                               NULL, 0)));
  if (!flush (&worker, &error))
    goto out;

  for (;;)
    {
      g_autoptr(GVariant) body = NULL;
      JobWorkerMessage message = 0;

      wait_for_input (reader, worker.mappings);
      body = job_worker_read_frame_from (reader_read_all, reader, JOB_WORKER_FRAME_DEFAULT_MAX,
                                         &message, NULL, &error);
      if (body == NULL)
        break;

      if (message == JOB_WORKER_MESSAGE_GOODBYE)
        break;
      if (message == JOB_WORKER_MESSAGE_INIT)
        {
          if (!run_init (&worker, body, &error))
            break;
          continue;
        }
      if (message != JOB_WORKER_MESSAGE_CALL)
        {
          g_set_error (&error, JOB_ERROR, JOB_ERROR_PROTOCOL,
                       "unexpected “%s” frame from the parent",
                       job_worker_message_get_name (message));
          break;
        }
      /* "Old" counts from the first answer held, not from the last
       * write before the worker waited for this call. */
      if (worker.buffer->len == 0 && worker.pending->len == 0)
        worker.last_flush = g_get_monotonic_time ();
      if (!run_call (&worker, body, &error))
        break;
      worker.held_calls++;
      if ((worker.held_calls >= FLUSH_CALLS ||
           !input_waiting (reader)) &&
          !flush (&worker, &error))
        break;
    }

out:
  /* Answers held while the goodbye or the end of input was queued. */
  if (error == NULL)
    flush (&worker, &error);
  if (error != NULL)
    {
      g_printerr ("joblib-glib-worker[%d]: %s\n", (int) getpid (), error->message);
      if (g_error_matches (error, JOB_ERROR, JOB_ERROR_PROTOCOL))
        {
          g_byte_array_set_size (worker.buffer, 0);
          g_ptr_array_set_size (worker.pending, 0);
          job_worker_frame_append (worker.buffer, JOB_WORKER_MESSAGE_GOODBYE,
                                   g_variant_new ("(s)", error->message));
          flush (&worker, NULL);
        }
      /* 3: the initializer failed; 2: the protocol broke */
      status = g_error_matches (error, JOB_ERROR, JOB_ERROR_TASK_FAILED) ? 3 : 2;
    }

  g_byte_array_unref (worker.buffer);
  g_ptr_array_unref (worker.pending);
  g_hash_table_unref (worker.resolved);
  g_clear_pointer (&worker.args_type, g_variant_unref);
  job_shm_mappings_free (worker.mappings);
  close (out_fd);
  close (in_fd);
  return status;
}
