/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * zstd dumps of large values, written as independent frames so that a
 * load can decode them on several threads, each straight into the array
 * it belongs to.
 *
 * A frame holds JOB_PERSIST_ZSTD_FRAME_SIZE bytes of the uncompressed
 * dump or fewer, and says how many in its header (content size). Every
 * stored array of JOB_PERSIST_ZSTD_DIRECT_MIN bytes or more starts a new
 * frame and ends one, so that its frames decode into its buffer with no
 * copy; what lies between such arrays (the header, padding, small
 * arrays) shares frames. Any zstd decoder reads the file as one stream
 * (concatenated frames), and the loader accepts files of any framing:
 * one frame (older dumps) or frames without a content size take the
 * streaming path.
 */
#define JOB_PERSIST_ZSTD_FRAME_SIZE  (2 * 1024 * 1024)
#define JOB_PERSIST_ZSTD_DIRECT_MIN  (64 * 1024)

/* Writes @header (the preamble and header from job_persist_encode()) and
 * the arrays of @externals, each at its 64-aligned offset, to @stream as
 * zstd frames compressed at @level on @n_threads threads (the caller's
 * included). Blocks; @stream is only written from the calling thread. */
gboolean   job_persist_zstd_write  (GOutputStream  *stream,
                                    GBytes         *header,
                                    GPtrArray      *externals,
                                    int             level,
                                    guint           n_threads,
                                    GCancellable   *cancellable,
                                    GError        **error);

/* Loads a dump from @stream when it is a local file holding a zstd
 * dump of several frames with their content sizes: the file is mapped
 * and its frames decoded on every CPU. Sets *@handled to FALSE, and
 * leaves @stream where it was, for any other input, and for any input it
 * finds wrong in any way: the streaming loader then reads it and says
 * what is wrong. When *@handled is TRUE, the result is the value, or
 * NULL with @error set (cancelled), and @stream is at its end. */
GVariant  *job_persist_zstd_load   (GInputStream   *stream,
                                    guint64         max_size,
                                    gboolean       *handled,
                                    GCancellable   *cancellable,
                                    GError        **error);

G_END_DECLS
