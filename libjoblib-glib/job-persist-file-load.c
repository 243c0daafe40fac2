/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gfiledescriptorbased.h>
#include <glib/gstdio.h>

#include "job-error.h"
#include "job-i18n-private.h"
#include "job-persist-buffer-private.h"
#include "job-persist-private.h"
#include "job-pickle-private.h"
#include "job-xxhash-private.h"

/* What the first read takes: the preamble and, for most values, the
 * whole header. */
#define FIRST_READ_SIZE (16 * 1024)

/* Arrays are read in pieces of this size, each hashed right after its
 * read, while it is still in the CPU's cache. Larger pieces cost fewer
 * system calls (about 7 us each on a paravirtualized VM). */
#define ARRAY_PIECE_SIZE (4 * 1024 * 1024)

/* From this size on, when a CPU is free, an array is hashed on a thread
 * of its own, a piece behind the reads, in pieces of HASHED_PIECE_SIZE:
 * the hash (a sixth of a load) then overlaps the kernel's copies, and
 * only the last piece's hash is left after the last read. With every
 * CPU busy the thread waits for one: at load 10 such loads took 2.7-4.4
 * ms against 1.9-2.1 ms hashing on the reading thread. */
#define HASH_THREAD_MIN_SIZE (4 * 1024 * 1024)
#define HASHED_PIECE_SIZE (1024 * 1024)

/* pread() until @size bytes are in or the file ends; FALSE on a short
 * read or an error. */
static gboolean
pread_exact (int      fd,
             guint8  *buffer,
             gsize    size,
             guint64  offset)
{
  while (size > 0)
    {
      gssize n = pread (fd, buffer, MIN (size, (gsize) G_MAXSSIZE), (off_t) offset);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      buffer += n;
      size -= (gsize) n;
      offset += (guint64) n;
    }
  return TRUE;
}

/* The hashing side of an array's load: the reader says how many bytes
 * are in (ready), the hashing thread hashes up to there and waits. */
typedef struct
{
  const guint8 *data;
  guint64       size;
  GMutex        lock;
  GCond         cond;
  guint64       ready;     /* (lock) */
  gboolean      stop;      /* (lock) the reader gave up */
  gboolean      complete;  /* set by the hashing thread, read after join */
  guint64       checksum;  /* likewise */
} Hasher;

/* Runs in the hashing thread. */
static gpointer
hash_behind (gpointer data)
{
  Hasher *self = data;
  XXH3_state_t *state = XXH3_createState ();
  guint64 done = 0;

  g_assert (state != NULL);
  XXH3_64bits_reset (state);
  while (done < self->size)
    {
      guint64 ready;
      gboolean stop;

      g_mutex_lock (&self->lock);
      while (self->ready == done && !self->stop)
        g_cond_wait (&self->cond, &self->lock);
      ready = self->ready;
      stop = self->stop;
      g_mutex_unlock (&self->lock);
      if (stop)
        break;
      XXH3_64bits_update (state, self->data + done, (gsize) (ready - done));
      done = ready;
    }
  self->complete = done == self->size;
  self->checksum = XXH3_64bits_digest (state);
  XXH3_freeState (state);
  return NULL;
}

static void
hasher_advance (Hasher   *self,
                guint64   ready,
                gboolean  stop)
{
  g_mutex_lock (&self->lock);
  self->ready = ready;
  self->stop = stop;
  g_cond_signal (&self->cond);
  g_mutex_unlock (&self->lock);
}

/* Reads @entry's bytes, at @base + its offset, into a new buffer and
 * checks them against its checksum. NULL when anything is wrong, with
 * *@cancelled set when that was @cancellable. */
static GBytes *
read_array (int               fd,
            guint64           base,
            JobPersistEntry  *entry,
            GCancellable     *cancellable,
            gboolean         *cancelled)
{
  XXH3_state_t *state = NULL;
  Hasher hasher = { 0, };
  GThread *thread = NULL;
  gpointer mapping = NULL;
  gsize piece_size = ARRAY_PIECE_SIZE;
  gboolean same;
  guint64 done = 0;
  guint8 *buffer;

  if (entry->size == 0)
    return g_bytes_new (NULL, 0);
  buffer = entry->size <= G_MAXSIZE ? job_persist_buffer_alloc (entry->size, &mapping) : NULL;
  if (buffer == NULL)
    return NULL;

  if (entry->size >= HASH_THREAD_MIN_SIZE && job_persist_cpu_is_free ())
    {
      hasher.data = buffer;
      hasher.size = entry->size;
      g_mutex_init (&hasher.lock);
      g_cond_init (&hasher.cond);
      thread = g_thread_try_new ("job-persist-hash", hash_behind, &hasher, NULL);
      if (thread != NULL)
        piece_size = HASHED_PIECE_SIZE;
      else
        {
          g_mutex_clear (&hasher.lock);
          g_cond_clear (&hasher.cond);
        }
    }
  if (thread == NULL)
    {
      state = XXH3_createState ();
      g_assert (state != NULL);
      XXH3_64bits_reset (state);
    }

  while (done < entry->size)
    {
      gsize piece = (gsize) MIN (entry->size - done, piece_size);

      if (g_cancellable_is_cancelled (cancellable))
        *cancelled = TRUE;
      if (*cancelled || !pread_exact (fd, buffer + done, piece, base + entry->offset + done))
        break;
      if (thread != NULL)
        hasher_advance (&hasher, done + piece, FALSE);
      else
        XXH3_64bits_update (state, buffer + done, piece);
      done += piece;
    }

  if (thread != NULL)
    {
      if (done < entry->size)
        hasher_advance (&hasher, done, TRUE);
      g_thread_join (thread);
      g_mutex_clear (&hasher.lock);
      g_cond_clear (&hasher.cond);
      same = hasher.complete && hasher.checksum == entry->checksum;
    }
  else
    {
      same = XXH3_64bits_digest (state) == entry->checksum;
      XXH3_freeState (state);
    }
  if (done == entry->size && same)
    return job_persist_buffer_take (buffer, entry->size, mapping);
  job_persist_buffer_free (buffer, mapping);
  return NULL;
}

/* The header of the dump at @base of @fd, @size bytes from there; NULL
 * when it is not a sound one, or when it exceeds the bounds of
 * job_load_from_stream(). */
static JobPersistLayout *
read_layout (int       fd,
             guint64   base,
             guint64   size,
             guint64   max_size)
{
  g_autofree guint8 *first = NULL;
  g_autoptr(GBytes) header = NULL;
  guint64 header_size, header_checksum;
  gsize first_size = (gsize) MIN (size, FIRST_READ_SIZE);
  JobPersistLayout *layout;

  first = g_malloc (first_size);
  if (!pread_exact (fd, first, first_size, base) ||
      !job_persist_parse_preamble (first, &header_size, &header_checksum, NULL) ||
      header_size > (max_size != 0 ? max_size : JOB_LOAD_DEFAULT_MAX_HEADER) ||
      header_size > size - JOB_PERSIST_PREAMBLE_SIZE)
    return NULL;

  if (JOB_PERSIST_PREAMBLE_SIZE + header_size <= first_size)
    {
      memmove (first, first + JOB_PERSIST_PREAMBLE_SIZE, (gsize) header_size);
      header = g_bytes_new_take (g_steal_pointer (&first), (gsize) header_size);
    }
  else
    {
      /* bounded by the file's size, checked above */
      guint8 *data = g_try_malloc ((gsize) header_size);

      if (data == NULL)
        return NULL;
      header = g_bytes_new_take (data, (gsize) header_size);
      memcpy (data, first + JOB_PERSIST_PREAMBLE_SIZE, first_size - JOB_PERSIST_PREAMBLE_SIZE);
      if (!pread_exact (fd, data + first_size - JOB_PERSIST_PREAMBLE_SIZE,
                        (gsize) header_size - (first_size - JOB_PERSIST_PREAMBLE_SIZE),
                        base + first_size))
        return NULL;
    }

  layout = job_persist_parse_header (header, header_checksum, NULL);
  if (layout == NULL)
    return NULL;
  if (layout->data_end > size ||
      layout->data_end > (max_size != 0 ? max_size : job_persist_default_max_size ()))
    {
      job_persist_layout_free (layout);
      return NULL;
    }
  return layout;
}

GVariant *
job_persist_file_load (GInputStream  *stream,
                       guint64        max_size,
                       gboolean      *handled,
                       GCancellable  *cancellable,
                       GError       **error)
{
  g_autoptr(JobPersistLayout) layout = NULL;
  gboolean cancelled = FALSE;
  GBytes **buffers;
  GVariant *value = NULL;
  struct stat st;
  off_t position;
  guint i, n;
  int fd;

  *handled = FALSE;
  if (!G_IS_FILE_INPUT_STREAM (stream) || !G_IS_FILE_DESCRIPTOR_BASED (stream) ||
      g_cancellable_is_cancelled (cancellable))
    return NULL;
  fd = g_file_descriptor_based_get_fd (G_FILE_DESCRIPTOR_BASED (stream));
  position = lseek (fd, 0, SEEK_CUR);
  if (position < 0 || fstat (fd, &st) != 0 || !S_ISREG (st.st_mode) ||
      st.st_size < position ||
      (guint64) (st.st_size - position) < JOB_PERSIST_PREAMBLE_SIZE)
    return NULL;

  layout = read_layout (fd, (guint64) position, (guint64) (st.st_size - position), max_size);
  if (layout == NULL)
    return NULL;

  n = layout->entries->len;
  buffers = g_new0 (GBytes *, n + 1);
  for (i = 0; i < n; i++)
    {
      buffers[i] = read_array (fd, (guint64) position,
                               &g_array_index (layout->entries, JobPersistEntry, i),
                               cancellable, &cancelled);
      if (buffers[i] == NULL)
        break;
    }
  if (cancelled)
    {
      *handled = TRUE;
      g_cancellable_set_error_if_cancelled (cancellable, error);
    }
  else if (i == n)
    {
      value = job_persist_rebuild (layout, buffers, NULL);
      if (value != NULL)
        {
          *handled = TRUE;
          lseek (fd, position + (off_t) layout->data_end, SEEK_SET);
        }
    }
  for (i = 0; i < n; i++)
    g_clear_pointer (&buffers[i], g_bytes_unref);
  g_free (buffers);
  return value;
}

/* The header of our dump whose first @head_size bytes are @head, and
 * the arrays as views of @mapped. */
static GVariant *
load_mapped (int            fd,
             const guint8  *head,
             gsize          head_size,
             guint64        length,
             guint64        max_size,
             GError       **error)
{
  g_autoptr(JobPersistLayout) layout = NULL;
  g_autoptr(GBytes) header = NULL;
  g_autoptr(GMappedFile) mapped = NULL;
  g_autoptr(GBytes) contents = NULL;
  g_autoptr(GError) map_error = NULL;
  guint64 header_size, header_checksum;
  GBytes **buffers;
  GVariant *value;

  if (length < JOB_PERSIST_PREAMBLE_SIZE)
    {
      job_persist_error_truncated (error);
      return NULL;
    }
  if (!job_persist_parse_preamble (head, &header_size, &header_checksum, error))
    return NULL;
  if (header_size > length - JOB_PERSIST_PREAMBLE_SIZE)
    {
      job_persist_error_truncated (error);
      return NULL;
    }

  /* Read, not mapped: the arrays' pages are only touched when used, and
   * the header is often what the first page holds. */
  if (JOB_PERSIST_PREAMBLE_SIZE + header_size <= head_size)
    header = g_bytes_new (head + JOB_PERSIST_PREAMBLE_SIZE, (gsize) header_size);
  else
    {
      /* bounded by the file's size, checked above */
      guint8 *data = g_try_malloc ((gsize) header_size);

      if (data == NULL)
        {
          g_set_error (error, JOB_ERROR, JOB_ERROR_TOO_LARGE,
                       _("Cannot allocate %" PRIu64 " bytes for the header"), header_size);
          return NULL;
        }
      header = g_bytes_new_take (data, (gsize) header_size);
      if (!pread_exact (fd, data, (gsize) header_size, JOB_PERSIST_PREAMBLE_SIZE))
        {
          job_persist_error_truncated (error);
          return NULL;
        }
    }
  layout = job_persist_parse_header (header, header_checksum, error);
  if (layout == NULL)
    return NULL;
  if (layout->data_end > length)
    {
      job_persist_error_truncated (error);
      return NULL;
    }
  /* Mapped arrays cost no memory; only the header counts. */
  if (header_size > (max_size != 0 ? max_size : JOB_LOAD_DEFAULT_MAX_HEADER))
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_TOO_LARGE,
                   _("The header needs %" PRIu64 " bytes, more than the "
                     "limit of %" PRIu64),
                   header_size, max_size != 0 ? max_size : JOB_LOAD_DEFAULT_MAX_HEADER);
      return NULL;
    }

  mapped = g_mapped_file_new_from_fd (fd, FALSE, &map_error);
  if (mapped == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, g_io_error_from_file_error (map_error->code),
                           map_error->message);
      return NULL;
    }
  contents = g_mapped_file_get_bytes (mapped);
  /* the file may have shrunk since fstat() */
  if (g_bytes_get_size (contents) < layout->data_end)
    {
      job_persist_error_truncated (error);
      return NULL;
    }
  buffers = g_new0 (GBytes *, layout->entries->len + 1);
  for (guint i = 0; i < layout->entries->len; i++)
    {
      JobPersistEntry *entry = &g_array_index (layout->entries, JobPersistEntry, i);

      buffers[i] = g_bytes_new_from_bytes (contents, entry->offset, entry->size);
    }
  value = job_persist_rebuild (layout, buffers, error);
  for (guint i = 0; i < layout->entries->len; i++)
    g_bytes_unref (buffers[i]);
  g_free (buffers);
  return value;
}

static GVariant *
load_pickle_mapped (int       fd,
                    guint64   max_size,
                    GError  **error)
{
  g_autoptr(GError) map_error = NULL;
  g_autoptr(GMappedFile) mapped = g_mapped_file_new_from_fd (fd, FALSE, &map_error);
  g_autoptr(GBytes) contents = NULL;

  if (mapped == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, g_io_error_from_file_error (map_error->code),
                           map_error->message);
      return NULL;
    }
  contents = g_mapped_file_get_bytes (mapped);
  return job_pickle_load_mapped (contents, max_size, error);
}

GVariant *
job_persist_file_load_mapped (GFile     *file,
                              guint64    max_size,
                              gboolean  *fallback,
                              GError   **error)
{
  g_autofree char *path = g_file_get_path (file);
  guint8 head[FIRST_READ_SIZE];
  JobCompression compression;
  GVariant *value = NULL;
  struct stat st;
  gsize head_size;
  int fd;

  *fallback = FALSE;
  if (path == NULL)
    {
      g_warning (_ ("Cannot map %s, which has no local path: loading it into memory"),
                 g_file_peek_path (file) ?: "a file");
      *fallback = TRUE;
      return NULL;
    }

  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0 || fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      /* GMappedFile's own errors, as before (GIO's domain) */
      g_autoptr(GError) map_error = NULL;
      g_autoptr(GMappedFile) mapped = NULL;

      if (fd >= 0)
        close (fd);
      mapped = g_mapped_file_new (path, FALSE, &map_error);
      if (mapped == NULL)
        {
          g_set_error_literal (error, G_IO_ERROR, g_io_error_from_file_error (map_error->code),
                               map_error->message);
          return NULL;
        }
      /* mappable, but not a regular file: read it as a stream */
      *fallback = TRUE;
      return NULL;
    }

  head_size = (gsize) MIN ((guint64) st.st_size, sizeof head);
  if (!pread_exact (fd, head, head_size, 0))
    {
      close (fd);
      *fallback = TRUE;
      return NULL;
    }
  if (head_size < JOB_PERSIST_MIN_FILE_SIZE)
    {
      close (fd);
      job_persist_error_too_short (error, head_size);
      return NULL;
    }
  compression = job_compression_detect (head, head_size);
  if (compression != JOB_COMPRESSION_NONE)
    {
      close (fd);
      g_warning (_ ("Cannot map %s, which is compressed (%s): loading it into memory"),
                 path, job_compression_get_name (compression));
      *fallback = TRUE;
      return NULL;
    }
  switch (job_persist_classify_head (head, MIN (head_size, JOB_PERSIST_HEAD_SIZE)))
    {
    case JOB_PERSIST_HEAD_PICKLE:
      value = load_pickle_mapped (fd, max_size, error);
      break;
    case JOB_PERSIST_HEAD_JOBLIB_GLIB:
      value = load_mapped (fd, head, head_size, (guint64) st.st_size, max_size, error);
      break;
    case JOB_PERSIST_HEAD_PARTIAL:
      job_persist_error_truncated (error);
      break;
    case JOB_PERSIST_HEAD_UNKNOWN:
    default:
      job_persist_error_not_a_dump (error);
      break;
    }
  close (fd);
  return value;
}
