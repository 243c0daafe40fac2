/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "job-persist.h"

G_BEGIN_DECLS

/* File layout, all integers little-endian:
 *
 *   0  magic "\x89JOBGLIB"
 *   8  guint32 format version
 *  12  guint32 flags (none defined: must be 0)
 *  16  guint64 size of the header
 *  24  guint64 xxh3-64 of the header
 *  32  header: a GVariant "(sva(tttt))" in little-endian serialized form:
 *      the value's type string, the skeleton (the value with every
 *      externalized array left empty), and one (ordinal, offset, size,
 *      xxh3-64) per externalized array, where ordinal counts the
 *      fixed-element arrays of the skeleton in depth-first order
 *  then each array's bytes at its offset: the end of what precedes it
 *      rounded up to 64, zero padding in between.
 */
#define JOB_PERSIST_MAGIC          "\x89JOBGLIB"
#define JOB_PERSIST_MAGIC_SIZE     8
#define JOB_PERSIST_PREAMBLE_SIZE  32
#define JOB_PERSIST_ALIGNMENT      64
#define JOB_PERSIST_HEADER_TYPE    ((const GVariantType *) "(sva(tttt))")
/* Arrays from this size up are stored out of the skeleton. */
#define JOB_PERSIST_EXTERNAL_MIN   1024
/* A header this large is not a header. */
#define JOB_PERSIST_MAX_HEADER     ((guint64) 1 << 32)

typedef struct
{
  guint64 ordinal;
  guint64 offset;
  guint64 size;
  guint64 checksum;
} JobPersistEntry;

typedef struct
{
  GVariant *skeleton;   /* (owned) */
  GArray   *entries;    /* (owned) (element-type JobPersistEntry) */
  guint64   data_end;   /* end of the last array, or of the header */
} JobPersistLayout;

void              job_persist_layout_free      (JobPersistLayout  *layout);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobPersistLayout, job_persist_layout_free)

guint64           job_persist_align            (guint64            offset);
guint64           job_persist_checksum         (gconstpointer      data,
                                                gsize              size);
/* Whether a CPU is idle now (fewer tasks running or ready than CPUs):
 * hashing on a second thread only helps then. */
gboolean          job_persist_cpu_is_free      (void);

/* Shared by both sides of the format (job-persist-format.c). */
gboolean          job_persist_is_fixed_array   (GVariant          *value);
/* FALSE with JOB_ERROR_TOO_LARGE past JOB_PERSIST_MAX_DEPTH. */
gboolean          job_persist_check_depth      (guint              depth,
                                                GError           **error);
typedef GVariant *(*JobPersistMapChild) (GVariant  *child,
                                         guint      depth,
                                         gpointer   data,
                                         gboolean  *changed,
                                         GError   **error);
/* (transfer full) @value with each child replaced by what @map_child makes
 * of it; @value itself when no child changed. NULL on error. */
GVariant         *job_persist_map_container    (GVariant           *value,
                                                guint               depth,
                                                JobPersistMapChild  map_child,
                                                gpointer            data,
                                                gboolean           *changed,
                                                GError            **error);

/* Dump side (job-persist-plan.c). */
GBytes           *job_persist_encode           (GVariant          *value,
                                                GPtrArray         *externals,
                                                GError           **error);
/* job_persist_encode() in two steps, for a writer that hashes the arrays
 * while it writes them: the layout, its checksums 0 until the caller
 * fills them in, then the preamble and header. */
JobPersistLayout *job_persist_plan             (GVariant          *value,
                                                GPtrArray         *externals,
                                                GError           **error);
GBytes           *job_persist_layout_encode    (JobPersistLayout  *layout);
/* Writes the uncompressed dump of @value to @stream when it is a local
 * file open for writing at a known position (not appending) and @value
 * holds large arrays: the arrays are written from the end of the header
 * on while another thread hashes them, then the header at the start.
 * The bytes are those of the streaming writer. Sets *@handled to FALSE,
 * having written nothing, for any other stream or value; else returns
 * whether the dump succeeded, @stream then being at the end of the
 * value. Blocks; thread-safe for distinct streams. */
gboolean          job_persist_file_write       (GVariant          *value,
                                                GOutputStream     *stream,
                                                gboolean          *handled,
                                                GCancellable      *cancellable,
                                                GError           **error);

/* Load side. */
/* What job_load_from_stream() reads before it knows the format: enough
 * for the magic of either format. */
#define JOB_PERSIST_HEAD_SIZE JOB_PERSIST_MAGIC_SIZE
/* The shortest file that job_load() reads: a joblib pickle of None,
 * `80 02 4e 2e`. Below, nothing tells a cut dump from other bytes. */
#define JOB_PERSIST_MIN_FILE_SIZE 4

/* What the first bytes of a file, or of its decompressed data, are. */
typedef enum
{
  JOB_PERSIST_HEAD_JOBLIB_GLIB,  /* our magic */
  JOB_PERSIST_HEAD_PICKLE,       /* a pickle, protocol 2 to 5 */
  JOB_PERSIST_HEAD_PARTIAL,      /* a strict prefix of one of those: cut short */
  JOB_PERSIST_HEAD_UNKNOWN,      /* something else */
} JobPersistHead;

JobPersistHead    job_persist_classify_head    (const guint8      *data,
                                                gsize              size);
/* One message per class of bad input, whichever path found it. Each
 * returns FALSE; job_persist_read_failed() takes @local_error (NULL for a
 * short read) and says "truncated" for a stream that ended early. */
gboolean          job_persist_error_truncated  (GError           **error);
gboolean          job_persist_error_too_short  (GError           **error,
                                                gsize              size);
gboolean          job_persist_error_not_a_dump (GError           **error);
gboolean          job_persist_read_failed      (GError           **error,
                                                GError            *local_error);
GInputStream     *job_persist_open_decoded     (GInputStream      *base,
                                                guint64            max_size,
                                                gsize             *out_raw_peeked,
                                                GCancellable      *cancellable,
                                                GError           **error);
gboolean          job_persist_parse_preamble   (const guint8      *data,
                                                guint64           *header_size,
                                                guint64           *header_checksum,
                                                GError           **error);
JobPersistLayout *job_persist_parse_header     (GBytes            *header,
                                                guint64            header_checksum,
                                                GError           **error);
GVariant         *job_persist_rebuild          (JobPersistLayout  *layout,
                                                GBytes           **buffers,
                                                GError           **error);
guint64           job_persist_default_max_size (void);
/* Loads an uncompressed dump of this format from @stream when it is a
 * local file, with pread() straight into each array's buffer (no stream
 * buffer, no copy), hashing each piece as it arrives. Sets *@handled to
 * FALSE, and leaves @stream where it was, for any other input and for
 * any input it finds wrong in any way or past a bound: the streaming
 * loader then reads it and says what is wrong. When *@handled is TRUE,
 * the result is the value, or NULL with @error set (cancelled), and
 * @stream is at the end of the value. Blocks; thread-safe for distinct
 * streams. */
GVariant         *job_persist_file_load        (GInputStream      *stream,
                                                guint64            max_size,
                                                gboolean          *handled,
                                                GCancellable      *cancellable,
                                                GError           **error);
/* job_load (JOB_LOAD_MMAP): maps @file when it is a local, uncompressed
 * dump of ours or joblib's; sets *@fallback when a normal load should be
 * done instead. For our dumps the preamble and header are read with
 * pread(), not through the mapping, which is left untouched until the
 * arrays are used. Blocks; thread-safe. */
GVariant         *job_persist_file_load_mapped (GFile             *file,
                                                guint64            max_size,
                                                gboolean          *fallback,
                                                GError           **error);
/* A whole uncompressed dump in memory (starting with our magic). */
GVariant         *job_persist_load_bytes       (GBytes            *contents,
                                                guint64            max_size,
                                                GError           **error);

G_END_DECLS
