/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <gio/gfiledescriptorbased.h>

#include "job-i18n-private.h"
#include "job-persist-private.h"
#include "job-xxhash-private.h"

/* From this many bytes of stored arrays on, hashing them on a thread of
 * its own while the caller writes them saves more than the thread costs,
 * when a CPU is free for it: with every CPU taken by other processes it
 * waits for one, and a 16 MiB dump took 1.1-1.5x longer than hashing
 * before writing (load average 10-16 on 2 CPUs).
 * The header, which holds the checksums, comes first in the file: it is
 * written last, at the stream's position. */
#define FILE_WRITE_MIN_SIZE (1024 * 1024)

/* Each write(2) takes this much at most, so that a cancellation is
 * noticed in time; larger writes cost fewer system calls (about 7 us
 * each on a paravirtualized VM). */
#define WRITE_PIECE_SIZE (64 * 1024 * 1024)

static const guint8 zeros[JOB_PERSIST_ALIGNMENT];

typedef struct
{
  GPtrArray *externals;  /* (element-type GVariant) */
  GArray    *entries;    /* (element-type JobPersistEntry) */
  gint       stop;       /* (atomic) the writer failed: give up */
} Hasher;

/* Runs in the hashing thread; the caller reads the checksums after
 * g_thread_join(). */
static gpointer
hash_arrays (gpointer data)
{
  Hasher *hasher = data;

  for (guint i = 0; i < hasher->externals->len && !g_atomic_int_get (&hasher->stop); i++)
    {
      GVariant *array = hasher->externals->pdata[i];

      g_array_index (hasher->entries, JobPersistEntry, i).checksum =
        job_persist_checksum (g_variant_get_data (array), g_variant_get_size (array));
    }
  return NULL;
}

static gboolean
write_failed (int       saved_errno,
              GError  **error)
{
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
               _("Error writing to file: %s"), g_strerror (saved_errno));
  return FALSE;
}

/* Writes the @n_lead bytes of @lead then @size bytes of @data at
 * @offset. */
static gboolean
write_at (int            fd,
          const guint8  *lead,
          gsize          n_lead,
          const guint8  *data,
          guint64        size,
          guint64        offset,
          GCancellable  *cancellable,
          GError       **error)
{
  while (n_lead > 0 || size > 0)
    {
      struct iovec iov[2] = {
        { (void *) lead, n_lead },
        { (void *) data, (size_t) MIN (size, WRITE_PIECE_SIZE) },
      };
      gssize n;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      n = pwritev (fd, iov, 2, (off_t) offset);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return write_failed (errno, error);
      if (n == 0)
        return write_failed (ENOSPC, error);
      offset += (guint64) n;
      if ((gsize) n < n_lead)
        {
          lead += n;
          n_lead -= (gsize) n;
          continue;
        }
      n -= (gssize) n_lead;
      n_lead = 0;
      data += n;
      size -= (guint64) n;
    }
  return TRUE;
}

gboolean
job_persist_file_write (GVariant       *value,
                        GOutputStream  *stream,
                        gboolean       *handled,
                        GCancellable   *cancellable,
                        GError        **error)
{
  g_autoptr(GPtrArray) externals = NULL;
  g_autoptr(JobPersistLayout) layout = NULL;
  g_autoptr(GBytes) header = NULL;
  g_autofree guint8 *head = NULL;
  guint64 header_end;
  Hasher hasher = { 0, };
  GThread *thread = NULL;
  guint64 offset, stored = 0;
  gboolean ok = TRUE;
  struct stat st;
  off_t position;
  int fd, flags;

  *handled = FALSE;
  if (!G_IS_FILE_OUTPUT_STREAM (stream) || !G_IS_FILE_DESCRIPTOR_BASED (stream) ||
      g_output_stream_is_closed (stream) || g_output_stream_has_pending (stream) ||
      g_variant_get_size (value) < FILE_WRITE_MIN_SIZE)
    return FALSE;
  fd = g_file_descriptor_based_get_fd (G_FILE_DESCRIPTOR_BASED (stream));
  flags = fcntl (fd, F_GETFL);
  position = lseek (fd, 0, SEEK_CUR);
  /* pwrite() on a file opened for appending writes at its end */
  if (flags < 0 || (flags & O_APPEND) != 0 || position < 0 || fstat (fd, &st) != 0 ||
      !S_ISREG (st.st_mode))
    return FALSE;

  *handled = TRUE;
  externals = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  layout = job_persist_plan (value, externals, error);
  if (layout == NULL)
    return FALSE;
  for (guint i = 0; i < externals->len; i++)
    stored += g_variant_get_size (externals->pdata[i]);

#if defined(HAVE_FALLOCATE) && defined(FALLOC_FL_KEEP_SIZE)
  /* The blocks at once, the file's size left alone: ext4 then skips the
   * per-block bookkeeping of delayed allocation in each write (16 MiB
   * written in 1 MiB pieces: 10-30 % faster here). Only advice: without
   * it, or when it fails, the writes report what is wrong. */
  (void) fallocate (fd, FALLOC_FL_KEEP_SIZE, position, (off_t) layout->data_end);
#endif

  hasher.externals = externals;
  hasher.entries = layout->entries;
  if (stored >= FILE_WRITE_MIN_SIZE && job_persist_cpu_is_free ())
    thread = g_thread_try_new ("job-persist-hash", hash_arrays, &hasher, NULL);
  if (thread == NULL)
    hash_arrays (&hasher);

  /* every array with the padding before it, the first one with zeros in
   * the header's place: the first write then starts at the stream's
   * position, and the page cache gives the file's head a folio as large
   * as the later ones (2 MiB). Started past the header, it held the head
   * in a 1 MiB folio, which a mapped load maps with 256 page-table
   * entries at its first touch instead of one PMD entry (62 against 40 us
   * to the first element on this VM). */
  header_end = layout->entries->len > 0
                 ? g_array_index (layout->entries, JobPersistEntry, 0).offset
                 : 0;
  head = g_malloc0 ((gsize) header_end);
  offset = 0;
  for (guint i = 0; i < layout->entries->len && ok; i++)
    {
      JobPersistEntry *e = &g_array_index (layout->entries, JobPersistEntry, i);
      GVariant *array = externals->pdata[i];
      gsize padding = (gsize) (e->offset - offset);

      /* between arrays, less than the alignment */
      g_assert (i == 0 || padding < sizeof zeros);
      ok = write_at (fd, i == 0 ? head : zeros, padding, g_variant_get_data (array), e->size,
                     (guint64) position + offset, cancellable, error);
      offset = e->offset + e->size;
    }
  if (!ok)
    g_atomic_int_set (&hasher.stop, 1);
  if (thread != NULL)
    g_thread_join (thread);
  if (!ok)
    return FALSE;

  /* the header and the padding after it, at the stream's position */
  header = job_persist_layout_encode (layout);
  if (layout->entries->len == 0)
    {
      header_end = g_bytes_get_size (header);
      g_free (head);
      head = g_malloc0 ((gsize) header_end);
    }
  g_assert (g_bytes_get_size (header) <= header_end);
  memcpy (head, g_bytes_get_data (header, NULL), g_bytes_get_size (header));
  if (!write_at (fd, NULL, 0, head, header_end, (guint64) position, cancellable, error))
    return FALSE;
  if (lseek (fd, position + (off_t) layout->data_end, SEEK_SET) < 0)
    return write_failed (errno, error);
  return TRUE;
}
