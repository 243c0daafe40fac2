/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "job-pickle-private.h"

G_BEGIN_DECLS

/* The state of one run of the pickle machine. From the bottom up: its
 * input (job-pickle-source.c), its stack (job-pickle-stack.c), the
 * opcodes of single values (job-pickle-atoms.c) and the object rules
 * (job-pickle-objects.c), all driven by the opcode loop
 * (job-pickle-reader.c), which only the loader's entry points call.
 * One thread at a time. */

#define JOB_PICKLE_NODE_COST 64
#define JOB_PICKLE_STREAM_BUFFER_SIZE (64 * 1024)

typedef struct
{
  GInputStream  *stream;       /* NULL when reading @mapped */
  GCancellable  *cancellable;
  GBytes        *mapped;
  const guint8  *map_data;
  gsize          map_size;
  guint8        *buffer;       /* stream mode: read ahead */
  gsize          buffer_len;
  gsize          buffer_pos;
  guint64        position;     /* mapped mode: the next byte */
} JobPickleSource;

typedef struct _JobPickleReader JobPickleReader;

/* The opcode loop, handed down so that a nested run reaches it: runs
 * @r to STOP. Returns: (transfer full): the value, or NULL */
typedef JobPickleNode *(*JobPickleRunFunc) (JobPickleReader  *r,
                                            GError          **error);

struct _JobPickleReader
{
  JobPickleSource *source;
  JobPickleBudget *budget;
  JobPickleRunFunc run;
  GPtrArray       *stack;      /* (element-type JobPickleNode) (owned) */
  GArray          *marks;      /* (element-type guint) stack lengths */
  GHashTable      *memo;       /* guint -> JobPickleNode (owned) */
  gboolean         nested;     /* reading the pickle of an object array */
  gboolean         plain_only; /* refuse classes but complex, and shared
                                * containers (job_variant_from_pickle) */
};

gboolean       job_pickle_truncated            (GError          **error);
gboolean       job_pickle_malformed            (GError          **error,
                                                const char       *what);
gboolean       job_pickle_source_read          (JobPickleSource  *source,
                                                void             *dest,
                                                gsize             size,
                                                GError          **error);
GBytes        *job_pickle_source_bytes         (JobPickleSource  *source,
                                                guint64           size,
                                                gboolean          view,
                                                JobPickleBudget  *budget,
                                                GError          **error);
gboolean       job_pickle_source_byte          (JobPickleSource  *source,
                                                guint8           *byte,
                                                GError          **error);
gboolean       job_pickle_source_uint          (JobPickleSource  *source,
                                                guint             size,
                                                guint64          *value,
                                                GError          **error);
guint64        job_pickle_read_le              (const guint8     *data,
                                                guint             size);

/* The machine's state (job-pickle-stack.c). */
void           job_pickle_stack_init           (JobPickleReader  *r,
                                                JobPickleSource  *source,
                                                JobPickleBudget  *budget,
                                                JobPickleRunFunc  run);
void           job_pickle_stack_clear          (JobPickleReader  *r);
JobPickleNode *job_pickle_stack_new_node       (JobPickleReader  *r,
                                                JobPickleKind     kind,
                                                GError          **error);
JobPickleNode *job_pickle_stack_new_container  (JobPickleReader  *r,
                                                JobPickleKind     kind,
                                                GError          **error);
gboolean       job_pickle_stack_push           (JobPickleReader  *r,
                                                JobPickleNode    *node);
guint          job_pickle_stack_floor          (JobPickleReader  *r);
JobPickleNode *job_pickle_stack_top            (JobPickleReader  *r,
                                                GError          **error);
JobPickleNode *job_pickle_stack_pop            (JobPickleReader  *r,
                                                GError          **error);
GPtrArray     *job_pickle_stack_pop_mark       (JobPickleReader  *r,
                                                GError          **error);
GPtrArray     *job_pickle_stack_pop_n          (JobPickleReader  *r,
                                                guint             n,
                                                GError          **error);
JobPickleNode *job_pickle_stack_run_nested     (JobPickleReader  *parent,
                                                GError          **error);

/* Opcodes that push one value (job-pickle-atoms.c). */
gboolean       job_pickle_push_int             (JobPickleReader  *r,
                                                gint64            value,
                                                GError          **error);
gboolean       job_pickle_push_long            (JobPickleReader  *r,
                                                guint64           size,
                                                GError          **error);
JobPickleNode *job_pickle_read_string          (JobPickleReader  *r,
                                                JobPickleKind     kind,
                                                guint64           size,
                                                gboolean          ascii,
                                                GError          **error);
gboolean       job_pickle_push_bytes           (JobPickleReader  *r,
                                                JobPickleKind     kind,
                                                guint64           size,
                                                GError          **error);
gboolean       job_pickle_op_global            (JobPickleReader  *r,
                                                GError          **error);
gboolean       job_pickle_op_stack_global      (JobPickleReader  *r,
                                                GError          **error);

/* Object rules: the callable or class is checked against what it may
 * do; each returns the new node (transfer full) or NULL with @error. */
JobPickleNode *job_pickle_reduce               (JobPickleReader  *r,
                                                JobPickleNode    *callable,
                                                JobPickleNode    *args,
                                                GError          **error);
JobPickleNode *job_pickle_new_object           (JobPickleReader  *r,
                                                JobPickleNode    *cls,
                                                JobPickleNode    *args,
                                                GError          **error);
/* Applies BUILD's @state to @target, which it may replace (a wrapper
 * becomes its array): returns the node to leave on the stack. */
JobPickleNode *job_pickle_build                (JobPickleReader  *r,
                                                JobPickleNode    *target,
                                                JobPickleNode    *state,
                                                GError          **error);

G_END_DECLS
