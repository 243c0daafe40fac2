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

/* The text of an entry's metadata.json: {"function", "version",
 * "args_hash", "duration", "time", "input_args": {name: text, …}}, the
 * members joblib writes. @arg_names and @arg_texts hold @n_args strings.
 * Written directly (JSON escapes, numbers that stay floats): json-glib's
 * builder and generator took a fifth of a cache miss's CPU time.
 * Thread-safe: no state. */
char    *job_cache_metadata_build (const char         *function,
                                   const char         *version,
                                   const char         *args_hash,
                                   double              duration,
                                   double              time,
                                   const char * const *arg_names,
                                   const char * const *arg_texts,
                                   gsize               n_args);

G_END_DECLS
