/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* A GConverter around a decompressor that stops a decompression bomb: it
 * fails with JOB_ERROR_TOO_LARGE once the output passes @max_output bytes
 * (0: no bound) or, when @max_ratio is not 0, once the output passes
 * @allowance bytes and @max_ratio times the compressed input consumed so
 * far. So the memory a hostile file can make a loader fill is bounded by
 * its own size, not by the sizes it announces. Not thread-safe: one
 * stream uses it. */
#define JOB_TYPE_BOUNDED_CONVERTER (job_bounded_converter_get_type ())

G_DECLARE_FINAL_TYPE (JobBoundedConverter, job_bounded_converter, JOB, BOUNDED_CONVERTER, GObject)

GConverter *job_bounded_converter_new (GConverter *inner,
                                       guint64     max_output,
                                       guint       max_ratio,
                                       guint64     allowance);

G_END_DECLS
