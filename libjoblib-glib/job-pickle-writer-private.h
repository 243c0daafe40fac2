/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* What job_variant_to_pickle() shares between its two walks: the pickle
 * being written and its opcode emitters (job-pickle-emitter.c, below both
 * walks), the walk over GVariant nodes (job-pickle-writer.c) and the walk
 * over serialized bytes (job-pickle-writer-raw.c). A writer belongs to
 * one thread. */

/* Pickle opcodes (protocol 5, Python's Lib/pickle.py names). */
#define OP_MARK           '('
#define OP_STOP           '.'
#define OP_INT            'I'
#define OP_BININT         'J'
#define OP_NONE           'N'
#define OP_BINPERSID      'Q'
#define OP_REDUCE         'R'
#define OP_BINUNICODE     'X'
#define OP_BINBYTES       'B'
#define OP_EMPTY_LIST     ']'
#define OP_APPENDS        'e'
#define OP_BINFLOAT       'G'
#define OP_TUPLE          't'
#define OP_EMPTY_TUPLE    ')'
#define OP_EMPTY_DICT     '}'
#define OP_SETITEMS       'u'
#define OP_PROTO          0x80
#define OP_TUPLE2         0x86
#define OP_NEWTRUE        0x88
#define OP_NEWFALSE       0x89
#define OP_LONG1          0x8a
#define OP_BINUNICODE8    0x8d
#define OP_BINBYTES8      0x8e
#define OP_EMPTY_SET      0x8f
#define OP_ADDITEMS       0x90
#define OP_FROZENSET      0x91
#define OP_STACK_GLOBAL   0x93
#define OP_BYTEARRAY8     0x96

/* The tag-and-payload pair that stands for Python values GVariant has no
 * type of its own for (docs/joblib-files.md). */
#define TAGGED "(sv)"

typedef struct
{
  GByteArray      *out;       /* (owned) */
  GVariantBuilder  deferred;  /* av */
  guint            n_deferred;
  GBytes          *root;      /* (nullable): the serialized value walked raw */
  const guint8    *root_data;
} JobPickleWriter;

static inline void
job_pickle_writer_byte (JobPickleWriter *w,
                        guint8           byte)
{
  g_byte_array_append (w->out, &byte, 1);
}

void     job_pickle_writer_le       (JobPickleWriter *w,
                                     guint64          value,
                                     guint            n_bytes);
void     job_pickle_writer_int      (JobPickleWriter *w,
                                     gint64           value);
void     job_pickle_writer_sized    (JobPickleWriter *w,
                                     guint8           op4,
                                     guint8           op8,
                                     const guint8    *data,
                                     gsize            size);
void     job_pickle_writer_string   (JobPickleWriter *w,
                                     const char      *text,
                                     gsize            length);
void     job_pickle_writer_float    (JobPickleWriter *w,
                                     double           value);
void     job_pickle_writer_deferred (JobPickleWriter *w,
                                     GVariant        *value);

/* The walk over serialized bytes: writes @value, which must be in normal
 * form; FALSE when its bytes do not add up (the caller then starts again
 * with the walk over nodes). */
gboolean job_pickle_writer_raw      (JobPickleWriter *w,
                                     GVariant        *value);

G_END_DECLS
