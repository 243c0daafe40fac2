/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <zstd.h>

#include "job-codec-private.h"
#include "job-persist-private.h"
#include "job-persist-zstd-private.h"

/* One stretch of the uncompressed dump: bytes of the header or of an
 * array, or padding (@data NULL: zeros). */
typedef struct
{
  const guint8 *data;
  guint64       start;
  guint64       size;
  gboolean      array;
} Segment;

typedef struct
{
  guint64 start;
  guint64 size;
} Frame;

/* A compressed frame on its way to the stream. */
typedef struct
{
  guint8   *out;
  gsize     out_size;
  gboolean  done;
} Slot;

typedef struct
{
  GArray   *segments;  /* (element-type Segment) */
  GArray   *frames;    /* (element-type Frame) */
  int       level;

  GMutex    lock;
  GCond     cond;
  guint     next_claim;
  guint     next_write;
  guint     window;    /* frames compressed ahead of the writer */
  Slot     *slots;     /* window of them */
  gboolean  failed;
  char     *failure;   /* (owned) (nullable) libzstd's word for it */
} Writer;

/* Per thread: a compression context, and room to gather a frame that
 * spans segments. */
typedef struct
{
  ZSTD_CCtx *cctx;
  guint8    *scratch;
} Worker;

static void
add_frames (GArray  *frames,
            guint64  start,
            guint64  end)
{
  while (start < end)
    {
      Frame frame = { start, MIN (end - start, JOB_PERSIST_ZSTD_FRAME_SIZE) };

      g_array_append_val (frames, frame);
      start += frame.size;
    }
}

/* Cuts at both ends of every large array and every FRAME_SIZE within
 * it; the rest is cut every FRAME_SIZE. */
static void
plan_frames (Writer *self)
{
  guint64 cut = 0, end = 0;

  for (guint i = 0; i < self->segments->len; i++)
    {
      Segment *s = &g_array_index (self->segments, Segment, i);

      end = s->start + s->size;
      if (!s->array || s->size < JOB_PERSIST_ZSTD_DIRECT_MIN)
        continue;
      add_frames (self->frames, cut, s->start);
      add_frames (self->frames, s->start, end);
      cut = end;
    }
  add_frames (self->frames, cut, end);
}

static void
add_segment (GArray        *segments,
             const guint8  *data,
             guint64       *offset,
             guint64        size,
             gboolean       array)
{
  Segment segment = { data, *offset, size, array };

  if (size > 0)
    g_array_append_val (segments, segment);
  *offset += size;
}

/* The frame's bytes: a pointer into one segment, or gathered into
 * @worker's scratch. */
static const guint8 *
frame_input (Writer       *self,
             const Frame  *frame,
             Worker       *worker)
{
  guint64 end = frame->start + frame->size;
  guint lo = 0, hi = self->segments->len;

  /* the last segment starting at or before the frame */
  while (hi - lo > 1)
    {
      guint mid = (lo + hi) / 2;

      if (g_array_index (self->segments, Segment, mid).start <= frame->start)
        lo = mid;
      else
        hi = mid;
    }

  for (guint i = lo; i < self->segments->len; i++)
    {
      Segment *s = &g_array_index (self->segments, Segment, i);
      guint64 from = MAX (s->start, frame->start);
      guint64 to = MIN (s->start + s->size, end);

      if (s->start >= end)
        break;
      if (from >= to)
        continue;
      if (from == frame->start && to == end && s->data != NULL)
        return s->data + (from - s->start);
      if (worker->scratch == NULL)
        worker->scratch = g_malloc (JOB_PERSIST_ZSTD_FRAME_SIZE);
      if (s->data != NULL)
        memcpy (worker->scratch + (from - frame->start), s->data + (from - s->start), to - from);
      else
        memset (worker->scratch + (from - frame->start), 0, to - from);
    }
  return worker->scratch;
}

static gboolean
compress_frame (Writer  *self,
                guint    index,
                Worker  *worker)
{
  const Frame *frame = &g_array_index (self->frames, Frame, index);
  Slot *slot = &self->slots[index % self->window];
  const guint8 *input = frame_input (self, frame, worker);
  size_t ret;

  if (worker->cctx == NULL)
    {
      worker->cctx = ZSTD_createCCtx ();
      ZSTD_CCtx_setParameter (worker->cctx, ZSTD_c_compressionLevel, self->level);
      /* The format hashes every byte that a load uses (see dump.c). */
      ZSTD_CCtx_setParameter (worker->cctx, ZSTD_c_checksumFlag, 0);
      ZSTD_CCtx_setParameter (worker->cctx, ZSTD_c_contentSizeFlag, 1);
    }
  ret = ZSTD_compress2 (worker->cctx, slot->out, ZSTD_compressBound (JOB_PERSIST_ZSTD_FRAME_SIZE),
                        input, frame->size);
  g_mutex_lock (&self->lock);
  if (ZSTD_isError (ret))
    {
      if (!self->failed)
        self->failure = g_strdup (ZSTD_getErrorName (ret));
      self->failed = TRUE;
    }
  else
    {
      slot->out_size = ret;
      slot->done = TRUE;
    }
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  return !ZSTD_isError (ret);
}

/* Called with the lock held: the next frame to compress, or -1 when
 * there is none now. */
static int
claim (Writer *self)
{
  if (self->failed || self->next_claim >= self->frames->len ||
      self->next_claim >= self->next_write + self->window)
    return -1;
  return (int) self->next_claim++;
}

static gpointer
helper_thread (gpointer data)
{
  Writer *self = data;
  Worker worker = { NULL, NULL };

  g_mutex_lock (&self->lock);
  while (!self->failed && self->next_claim < self->frames->len)
    {
      int index = claim (self);

      if (index < 0)
        {
          g_cond_wait (&self->cond, &self->lock);
          continue;
        }
      g_mutex_unlock (&self->lock);
      compress_frame (self, (guint) index, &worker);
      g_mutex_lock (&self->lock);
    }
  g_mutex_unlock (&self->lock);
  ZSTD_freeCCtx (worker.cctx);
  g_free (worker.scratch);
  return NULL;
}

static void
fail (Writer *self)
{
  g_mutex_lock (&self->lock);
  self->failed = TRUE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

/* Compressed frames reach the stream in pieces of this size, each
 * ending on a multiple of it from the start of the dump. Written frame
 * by frame (about 2 MiB each, at odd offsets), a file's page cache was
 * kept in folios too small to be mapped 2 MiB at a time, and the load's
 * mapping of a 16 MB dump cost 3-9 ms here instead of 0.3-0.7 ms. */
#define STAGE_SIZE (4 * 1024 * 1024)

typedef struct
{
  guint8 *data;  /* (owned) STAGE_SIZE bytes */
  gsize   len;
} Stage;

static gboolean
stage_write (Stage          *stage,
             GOutputStream  *stream,
             const guint8   *data,
             gsize           size,
             GCancellable   *cancellable,
             GError        **error)
{
  while (size > 0)
    {
      gsize n = MIN (size, STAGE_SIZE - stage->len);

      memcpy (stage->data + stage->len, data, n);
      stage->len += n;
      data += n;
      size -= n;
      if (stage->len == STAGE_SIZE)
        {
          if (!g_output_stream_write_all (stream, stage->data, STAGE_SIZE, NULL,
                                          cancellable, error))
            return FALSE;
          stage->len = 0;
        }
    }
  return TRUE;
}

/* The caller's part: writes the frames in order, and compresses one
 * itself whenever the next to write is not ready. */
static gboolean
write_frames (Writer        *self,
              GOutputStream *stream,
              GCancellable  *cancellable,
              GError       **error)
{
  Worker worker = { NULL, NULL };
  Stage stage = { g_malloc (STAGE_SIZE), 0 };
  gboolean ok = TRUE;

  g_mutex_lock (&self->lock);
  while (self->next_write < self->frames->len && !self->failed)
    {
      Slot *slot = &self->slots[self->next_write % self->window];
      int index;

      if (slot->done)
        {
          g_mutex_unlock (&self->lock);
          ok = stage_write (&stage, stream, slot->out, slot->out_size, cancellable, error);
          g_mutex_lock (&self->lock);
          if (!ok)
            break;
          slot->done = FALSE;
          self->next_write++;
          g_cond_broadcast (&self->cond);
          continue;
        }
      index = claim (self);
      if (index < 0)
        {
          g_cond_wait (&self->cond, &self->lock);
          continue;
        }
      g_mutex_unlock (&self->lock);
      compress_frame (self, (guint) index, &worker);
      g_mutex_lock (&self->lock);
    }
  g_mutex_unlock (&self->lock);
  if (ok && !self->failed && stage.len > 0)
    ok = g_output_stream_write_all (stream, stage.data, stage.len, NULL, cancellable, error);
  g_free (stage.data);
  if (!ok)
    fail (self);
  else if (self->failed)
    {
      job_codec_set_error (error, FALSE, "zstd", self->failure ?: "?");
      ok = FALSE;
    }
  ZSTD_freeCCtx (worker.cctx);
  g_free (worker.scratch);
  return ok;
}

gboolean
job_persist_zstd_write (GOutputStream  *stream,
                        GBytes         *header,
                        GPtrArray      *externals,
                        int             level,
                        guint           n_threads,
                        GCancellable   *cancellable,
                        GError        **error)
{
  g_autoptr(GPtrArray) threads = g_ptr_array_new ();
  Writer self = { 0, };
  guint64 offset = 0;
  gboolean ok;

  self.segments = g_array_new (FALSE, FALSE, sizeof (Segment));
  self.frames = g_array_new (FALSE, FALSE, sizeof (Frame));
  self.level = level;
  g_mutex_init (&self.lock);
  g_cond_init (&self.cond);

  add_segment (self.segments, g_bytes_get_data (header, NULL), &offset,
               g_bytes_get_size (header), FALSE);
  for (guint i = 0; i < externals->len; i++)
    {
      GVariant *array = externals->pdata[i];

      add_segment (self.segments, NULL, &offset, job_persist_align (offset) - offset, FALSE);
      add_segment (self.segments, g_variant_get_data (array), &offset,
                   g_variant_get_size (array), TRUE);
    }
  plan_frames (&self);

  n_threads = CLAMP (n_threads, 1, MAX (self.frames->len, 1));
  /* Two frames ahead per thread keep every thread busy while the
   * caller writes; memory stays a few frames. */
  self.window = 2 * n_threads;
  self.slots = g_new0 (Slot, self.window);
  for (guint i = 0; i < self.window; i++)
    self.slots[i].out = g_malloc (ZSTD_compressBound (JOB_PERSIST_ZSTD_FRAME_SIZE));

  for (guint i = 1; i < n_threads; i++)
    {
      GThread *thread = g_thread_try_new ("job-zstd-dump", helper_thread, &self, NULL);

      /* fewer threads is slower, not wrong */
      if (thread != NULL)
        g_ptr_array_add (threads, thread);
    }
  ok = write_frames (&self, stream, cancellable, error);
  for (guint i = 0; i < threads->len; i++)
    g_thread_join (threads->pdata[i]);

  for (guint i = 0; i < self.window; i++)
    g_free (self.slots[i].out);
  g_free (self.slots);
  g_free (self.failure);
  g_array_unref (self.segments);
  g_array_unref (self.frames);
  g_mutex_clear (&self.lock);
  g_cond_clear (&self.cond);
  return ok;
}
