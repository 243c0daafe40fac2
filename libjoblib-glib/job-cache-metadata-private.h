/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Reads an entry's metadata.json (its text, from any store): the call's
 * duration (negative when absent) and its arguments as "name=value, …"
 * text (NULL when absent). FALSE when the text is not one JSON object.
 * Thread-safe: no state. */
gboolean job_cache_metadata_parse (const char  *contents,
                                   gsize        length,
                                   double      *duration,
                                   char       **input_args);

G_END_DECLS
