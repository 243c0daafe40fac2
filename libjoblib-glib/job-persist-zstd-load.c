/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gfiledescriptorbased.h>
#include <zstd.h>

#include "job-cpu.h"
#include "job-persist-buffer-private.h"
#include "job-persist-private.h"
#include "job-persist-zstd-private.h"
#include "job-xxhash-private.h"

/* Below this, a file is read by the streaming loader: mapping it and
 * starting threads would cost more than they save. */
#define MAPPED_MIN_SIZE (64 * 1024)
/* A frame that spans arrays decodes into a buffer of its thread's and
 * is copied from there; larger ones are left to the streaming loader. */
#define SPANNING_MAX_SIZE (16 * 1024 * 1024)
/* Threads decode from this much data on. */
#define THREADED_MIN_SIZE (4 * 1024 * 1024)
#define MAX_THREADS 8

typedef struct
{
  const guint8 *src;
  gsize         src_size;
  guint64       start;   /* where its bytes go in the uncompressed dump */
  guint64       size;
  guint8       *direct;  /* (nullable) into an array's buffer */
  gboolean      done;    /* decoded and in place */
} InFrame;

typedef struct
{
  GArray            *frames;    /* (element-type InFrame) */
  JobPersistLayout  *layout;
  guint8           **buffers;   /* one per entry, NULL for an empty one */
  gpointer          *mappings;

  GMutex             lock;
  guint              next_claim;
  gboolean           failed;
  /* In-order hashing of what is done: the next frame to hash, the
   * entry being hashed and its state. */
  gboolean           hashing;
  guint              hash_frame;
  guint              hash_entry;
  XXH3_state_t      *state;
  gboolean           state_started;
} Loader;

typedef struct
{
  ZSTD_DCtx *dctx;
  guint8    *scratch;
  gsize      scratch_size;
} Worker;

static JobPersistEntry *
entry_at (Loader *self,
          guint   i)
{
  return &g_array_index (self->layout->entries, JobPersistEntry, i);
}

/* The first entry that ends after @offset (entries are sorted). */
static guint
first_entry_after (Loader  *self,
                   guint64  offset)
{
  guint lo = 0, hi = self->layout->entries->len;

  while (lo < hi)
    {
      guint mid = (lo + hi) / 2;
      JobPersistEntry *e = entry_at (self, mid);

      if (e->offset + e->size <= offset)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo;
}

/* Copies the array bytes of @data (the uncompressed bytes from @start)
 * into the arrays they belong to. */
static void
scatter (Loader        *self,
         const guint8  *data,
         guint64        start,
         guint64        size)
{
  guint64 end = start + size;

  for (guint i = first_entry_after (self, start); i < self->layout->entries->len; i++)
    {
      JobPersistEntry *e = entry_at (self, i);
      guint64 from = MAX (e->offset, start);
      guint64 to = MIN (e->offset + e->size, end);

      if (e->offset >= end)
        break;
      if (from < to)
        memcpy (self->buffers[i] + (from - e->offset), data + (from - start), to - from);
    }
}

/* Decodes frame @index into place; FALSE when libzstd refuses it or it
 * does not hold what its header says. */
static gboolean
decode (Loader  *self,
        guint    index,
        Worker  *worker)
{
  InFrame *frame = &g_array_index (self->frames, InFrame, index);
  guint8 *out = frame->direct;
  size_t ret;

  if (worker->dctx == NULL)
    worker->dctx = ZSTD_createDCtx ();
  if (out == NULL)
    {
      if (worker->scratch_size < frame->size)
        {
          g_free (worker->scratch);
          worker->scratch = g_try_malloc (frame->size);
          worker->scratch_size = worker->scratch != NULL ? frame->size : 0;
          if (worker->scratch == NULL)
            return FALSE;
        }
      out = worker->scratch;
    }
  ret = ZSTD_decompressDCtx (worker->dctx, out, frame->size, frame->src, frame->src_size);
  if (ZSTD_isError (ret) || ret != frame->size)
    return FALSE;
  if (frame->direct == NULL)
    scatter (self, out, frame->start, frame->size);
  return TRUE;
}

/* Hashes the array bytes of one frame, in order; FALSE on a checksum
 * that fails. Empty arrays are not checked, as in the streaming path. */
static gboolean
hash_frame (Loader  *self,
            InFrame *frame)
{
  guint64 end = frame->start + frame->size;

  while (self->hash_entry < self->layout->entries->len)
    {
      JobPersistEntry *e = entry_at (self, self->hash_entry);
      guint64 from = MAX (e->offset, frame->start);
      guint64 to = MIN (e->offset + e->size, end);

      if (e->size == 0)
        {
          self->hash_entry++;
          continue;
        }
      if (e->offset >= end)
        break;
      if (!self->state_started)
        {
          XXH3_64bits_reset (self->state);
          self->state_started = TRUE;
        }
      XXH3_64bits_update (self->state, self->buffers[self->hash_entry] + (from - e->offset),
                          to - from);
      if (to < e->offset + e->size)
        break;
      self->state_started = FALSE;
      if (XXH3_64bits_digest (self->state) != e->checksum)
        return FALSE;
      self->hash_entry++;
    }
  return TRUE;
}

/* Marks @index done, then hashes whatever is done in order, unless
 * another thread is at it: it will see this frame before it stops. */
static void
finish_frame (Loader   *self,
              guint     index,
              gboolean  ok)
{
  g_mutex_lock (&self->lock);
  g_array_index (self->frames, InFrame, index).done = ok;
  self->failed |= !ok;
  if (self->hashing)
    {
      g_mutex_unlock (&self->lock);
      return;
    }
  self->hashing = TRUE;
  while (!self->failed && self->hash_frame < self->frames->len &&
         g_array_index (self->frames, InFrame, self->hash_frame).done)
    {
      InFrame *frame = &g_array_index (self->frames, InFrame, self->hash_frame);
      gboolean hashed;

      g_mutex_unlock (&self->lock);
      hashed = hash_frame (self, frame);
      g_mutex_lock (&self->lock);
      self->failed |= !hashed;
      self->hash_frame++;
    }
  self->hashing = FALSE;
  g_mutex_unlock (&self->lock);
}

static void
run_worker (Loader       *self,
            GCancellable *cancellable)
{
  Worker worker = { NULL, NULL, 0 };

  for (;;)
    {
      guint index;

      g_mutex_lock (&self->lock);
      if (self->failed || self->next_claim >= self->frames->len ||
          g_cancellable_is_cancelled (cancellable))
        {
          g_mutex_unlock (&self->lock);
          break;
        }
      index = self->next_claim++;
      g_mutex_unlock (&self->lock);
      finish_frame (self, index, decode (self, index, &worker));
    }
  ZSTD_freeDCtx (worker.dctx);
  g_free (worker.scratch);
}

typedef struct
{
  Loader       *loader;
  GCancellable *cancellable;
} HelperData;

static gpointer
helper_thread (gpointer data)
{
  HelperData *helper = data;

  run_worker (helper->loader, helper->cancellable);
  return NULL;
}

/* Lists the frames; FALSE for anything but zstd frames with content
 * sizes that end where the file ends and stay within the bounds that
 * the streaming loader applies (the expansion ratio checked at the
 * start of each frame: at least as strict as checking as bytes come). */
static gboolean
list_frames (GArray        *frames,
             const guint8  *data,
             gsize          size,
             guint64        max_size)
{
  guint64 limit = max_size != 0 ? max_size : job_persist_default_max_size ();
  gsize max_frames = size / 1024 + 16;
  guint64 total = 0;
  gsize pos = 0;

  while (pos < size)
    {
      InFrame frame = { data + pos, 0, total, 0, NULL, FALSE };
      unsigned long long content;
      guint32 magic;
      size_t csize;

      /* Frames follow each other at any byte offset: copy, never cast. */
      if (frames->len >= max_frames || size - pos < 4)
        return FALSE;
      memcpy (&magic, data + pos, sizeof magic);
      if (GUINT32_FROM_LE (magic) != ZSTD_MAGICNUMBER)
        return FALSE;
      csize = ZSTD_findFrameCompressedSize (data + pos, size - pos);
      if (ZSTD_isError (csize))
        return FALSE;
      content = ZSTD_getFrameContentSize (data + pos, csize);
      if (content == ZSTD_CONTENTSIZE_UNKNOWN || content == ZSTD_CONTENTSIZE_ERROR ||
          content > limit - total)
        return FALSE;
      total += content;
      if (max_size == 0 && total > JOB_LOAD_RATIO_ALLOWANCE &&
          total / JOB_LOAD_MAX_RATIO > pos)
        return FALSE;
      frame.src_size = csize;
      frame.size = content;
      if (content > 0)
        g_array_append_val (frames, frame);
      pos += csize;
    }
  return frames->len >= 2;
}

/* Decodes the frames that hold the preamble and the header, in order,
 * and parses them; the last of them may hold array bytes too: its
 * decoded bytes are kept in *@tail. Returns how many frames it used, 0
 * when the dump is not one of ours or is wrong. */
static guint
read_header_frames (Loader     *self,
                    ZSTD_DCtx  *dctx,
                    guint64     max_size,
                    guint8    **tail)
{
  g_autofree guint8 *header = NULL;
  guint8 preamble[JOB_PERSIST_PREAMBLE_SIZE];
  guint64 header_size = 0, header_checksum = 0, header_end = JOB_PERSIST_PREAMBLE_SIZE;
  guint64 header_limit = max_size != 0 ? max_size : JOB_LOAD_DEFAULT_MAX_HEADER;
  guint i;

  *tail = NULL;
  for (i = 0; i < self->frames->len; i++)
    {
      InFrame *frame = &g_array_index (self->frames, InFrame, i);
      g_autofree guint8 *out = NULL;
      guint64 end = frame->start + frame->size;
      size_t ret;

      if (frame->size > SPANNING_MAX_SIZE || (out = g_try_malloc (frame->size)) == NULL)
        return 0;
      ret = ZSTD_decompressDCtx (dctx, out, frame->size, frame->src, frame->src_size);
      if (ZSTD_isError (ret) || ret != frame->size)
        return 0;
      if (frame->start < JOB_PERSIST_PREAMBLE_SIZE)
        {
          gsize n = (gsize) MIN (end, JOB_PERSIST_PREAMBLE_SIZE) - frame->start;

          memcpy (preamble + frame->start, out, n);
          if (end >= JOB_PERSIST_PREAMBLE_SIZE)
            {
              if (memcmp (preamble, JOB_PERSIST_MAGIC, JOB_PERSIST_MAGIC_SIZE) != 0 ||
                  !job_persist_parse_preamble (preamble, &header_size, &header_checksum, NULL) ||
                  header_size > header_limit ||
                  (header = g_try_malloc (MAX (header_size, 1))) == NULL)
                return 0;
              header_end = JOB_PERSIST_PREAMBLE_SIZE + header_size;
            }
        }
      if (header != NULL && end > JOB_PERSIST_PREAMBLE_SIZE)
        {
          guint64 from = MAX (frame->start, JOB_PERSIST_PREAMBLE_SIZE);
          guint64 to = MIN (end, header_end);

          if (from < to)
            memcpy (header + (from - JOB_PERSIST_PREAMBLE_SIZE), out + (from - frame->start),
                    to - from);
        }
      if (header != NULL && end >= header_end)
        {
          g_autoptr(GBytes) bytes = g_bytes_new_take (g_steal_pointer (&header), header_size);

          self->layout = job_persist_parse_header (bytes, header_checksum, NULL);
          if (self->layout == NULL)
            return 0;
          *tail = g_steal_pointer (&out);
          return i + 1;
        }
    }
  return 0;
}

static guint
read_header (Loader   *self,
             guint64   max_size,
             guint8  **tail)
{
  ZSTD_DCtx *dctx = ZSTD_createDCtx ();
  guint first = read_header_frames (self, dctx, max_size, tail);

  ZSTD_freeDCtx (dctx);
  return first;
}

/* Gives each frame inside one array its place in that array's buffer. */
static void
place_frames (Loader *self,
              guint   first)
{
  for (guint i = first; i < self->frames->len; i++)
    {
      InFrame *frame = &g_array_index (self->frames, InFrame, i);
      guint e = first_entry_after (self, frame->start);
      JobPersistEntry *entry;

      if (e >= self->layout->entries->len)
        continue;
      entry = entry_at (self, e);
      if (entry->offset <= frame->start &&
          frame->start + frame->size <= entry->offset + entry->size)
        frame->direct = self->buffers[e] + (frame->start - entry->offset);
    }
}

static gboolean
allocate_buffers (Loader *self)
{
  guint n = self->layout->entries->len;

  self->buffers = g_new0 (guint8 *, n);
  self->mappings = g_new0 (gpointer, n);
  for (guint i = 0; i < n; i++)
    {
      JobPersistEntry *e = entry_at (self, i);

      if (e->size == 0)
        continue;
      self->buffers[i] = e->size <= G_MAXSIZE ? job_persist_buffer_alloc (e->size, &self->mappings[i])
                                              : NULL;
      if (self->buffers[i] == NULL)
        return FALSE;
    }
  return TRUE;
}

/* Decodes every frame from @first on, on up to one thread per CPU. */
static void
decode_all (Loader       *self,
            guint         first,
            GCancellable *cancellable)
{
  g_autoptr(GPtrArray) threads = g_ptr_array_new ();
  HelperData helper = { self, cancellable };
  guint64 remaining = 0;
  guint n_threads = 1;

  for (guint i = first; i < self->frames->len; i++)
    remaining += g_array_index (self->frames, InFrame, i).size;
  if (remaining >= THREADED_MIN_SIZE)
    n_threads = CLAMP ((guint) MAX (job_cpu_count (), 1), 1, MIN (MAX_THREADS, self->frames->len - first));
  self->next_claim = first;
  for (guint i = 1; i < n_threads; i++)
    {
      GThread *thread = g_thread_try_new ("job-zstd-load", helper_thread, &helper, NULL);

      if (thread != NULL)
        g_ptr_array_add (threads, thread);
    }
  run_worker (self, cancellable);
  for (guint i = 0; i < threads->len; i++)
    g_thread_join (threads->pdata[i]);
}

static GVariant *
load_frames (Loader        *self,
             guint64        max_size,
             gboolean      *handled,
             GCancellable  *cancellable,
             GError       **error)
{
  g_autofree guint8 *tail = NULL;
  g_autofree GBytes **bytes = NULL;
  guint first, n;
  InFrame *last;
  GVariant *value;

  first = read_header (self, max_size, &tail);
  if (first == 0 ||
      self->layout->data_end > (max_size != 0 ? max_size : job_persist_default_max_size ()))
    return NULL;
  last = &g_array_index (self->frames, InFrame, self->frames->len - 1);
  if (last->start + last->size != self->layout->data_end || !allocate_buffers (self))
    return NULL;

  /* the header's frames, then the others as they come */
  last = &g_array_index (self->frames, InFrame, first - 1);
  scatter (self, tail, last->start, last->size);
  for (guint i = 0; i < first - 1; i++)
    g_array_index (self->frames, InFrame, i).done = TRUE;
  finish_frame (self, first - 1, TRUE);
  place_frames (self, first);
  decode_all (self, first, cancellable);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    {
      *handled = TRUE;
      return NULL;
    }
  if (self->failed || self->hash_frame != self->frames->len ||
      self->hash_entry != self->layout->entries->len)
    return NULL;

  n = self->layout->entries->len;
  bytes = g_new0 (GBytes *, n + 1);
  for (guint i = 0; i < n; i++)
    {
      bytes[i] = self->buffers[i] != NULL
                   ? job_persist_buffer_take (self->buffers[i], entry_at (self, i)->size,
                                              self->mappings[i])
                   : g_bytes_new (NULL, 0);
      self->buffers[i] = NULL;
    }
  *handled = TRUE;
  value = job_persist_rebuild (self->layout, bytes, error);
  for (guint i = 0; i < n; i++)
    g_bytes_unref (bytes[i]);
  return value;
}

static GVariant *
load_mapped (const guint8  *data,
             gsize          size,
             guint64        max_size,
             gboolean      *handled,
             GCancellable  *cancellable,
             GError       **error)
{
  Loader self = { 0, };
  GVariant *value = NULL;

  self.frames = g_array_new (FALSE, FALSE, sizeof (InFrame));
  g_mutex_init (&self.lock);
  self.state = XXH3_createState ();
  g_assert (self.state != NULL);

  if (list_frames (self.frames, data, size, max_size))
    value = load_frames (&self, max_size, handled, cancellable, error);

  if (self.buffers != NULL)
    for (guint i = 0; i < self.layout->entries->len; i++)
      if (self.buffers[i] != NULL)
        job_persist_buffer_free (self.buffers[i], self.mappings[i]);
  g_free (self.buffers);
  g_free (self.mappings);
  g_clear_pointer (&self.layout, job_persist_layout_free);
  XXH3_freeState (self.state);
  g_mutex_clear (&self.lock);
  g_array_unref (self.frames);
  return value;
}

GVariant *
job_persist_zstd_load (GInputStream  *stream,
                       guint64        max_size,
                       gboolean      *handled,
                       GCancellable  *cancellable,
                       GError       **error)
{
  guint32 magic;
  struct stat st;
  off_t position;
  void *map;
  GVariant *value;
  int fd;

  *handled = FALSE;
  if (!G_IS_FILE_INPUT_STREAM (stream) || !G_IS_FILE_DESCRIPTOR_BASED (stream))
    return NULL;
  fd = g_file_descriptor_based_get_fd (G_FILE_DESCRIPTOR_BASED (stream));
  position = lseek (fd, 0, SEEK_CUR);
  if (position < 0 || fstat (fd, &st) != 0 || !S_ISREG (st.st_mode) ||
      st.st_size < position || (guint64) (st.st_size - position) < MAPPED_MIN_SIZE ||
      (guint64) st.st_size > G_MAXSIZE ||
      pread (fd, &magic, sizeof magic, position) != sizeof magic ||
      GUINT32_FROM_LE (magic) != ZSTD_MAGICNUMBER)
    return NULL;

  /* Populated at once: faulting it in 64 KiB at a time costs more. */
  map = mmap (NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  if (map == MAP_FAILED)
    return NULL;
  value = load_mapped ((const guint8 *) map + position, (gsize) (st.st_size - position),
                       max_size, handled, cancellable, error);
  munmap (map, (size_t) st.st_size);
  if (*handled)
    lseek (fd, st.st_size, SEEK_SET);
  return value;
}
