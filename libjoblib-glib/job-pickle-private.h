/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "job-array.h"
#include "job-error.h"

G_BEGIN_DECLS

/* The reader of joblib's files (a pickle, protocols 2 to 5, with the raw
 * bytes of each numpy array following its NumpyArrayWrapper) works in two
 * steps: the opcodes build a graph of JobPickleNode, as the unpickler
 * would build Python objects, then the graph becomes a GVariant
 * (docs/joblib-files.md has the mapping). Nothing is ever called or
 * imported: a class reference is a JobPickleGlobal from a fixed list.
 *
 * Threading: all of it runs in the caller's thread on data no other
 * thread sees; nodes are not thread-safe. */

typedef enum
{
  JOB_PICKLE_NONE,
  JOB_PICKLE_BOOL,
  JOB_PICKLE_INT,
  JOB_PICKLE_BIGINT,        /* decimal text in str */
  JOB_PICKLE_FLOAT,
  JOB_PICKLE_COMPLEX,
  JOB_PICKLE_STR,           /* UTF-8 (surrogates allowed) in str */
  JOB_PICKLE_BYTES,
  JOB_PICKLE_BYTEARRAY,
  JOB_PICKLE_LIST,
  JOB_PICKLE_TUPLE,
  JOB_PICKLE_SET,
  JOB_PICKLE_FROZENSET,
  JOB_PICKLE_DICT,
  JOB_PICKLE_ORDERED_DICT,
  JOB_PICKLE_GLOBAL,        /* a class or function from the allow-list */
  JOB_PICKLE_DTYPE,
  JOB_PICKLE_WRAPPER,       /* joblib's NumpyArrayWrapper before BUILD */
  JOB_PICKLE_ARRAY,
  JOB_PICKLE_SCALAR,        /* a numpy scalar: a 0-d array in items[0] */
} JobPickleKind;

typedef enum
{
  JOB_PICKLE_GLOBAL_WRAPPER,
  JOB_PICKLE_GLOBAL_NDARRAY,
  JOB_PICKLE_GLOBAL_MEMMAP,
  JOB_PICKLE_GLOBAL_DTYPE,
  JOB_PICKLE_GLOBAL_RECONSTRUCT,
  JOB_PICKLE_GLOBAL_SCALAR,
  JOB_PICKLE_GLOBAL_ORDERED_DICT,
  JOB_PICKLE_GLOBAL_COMPLEX,
  JOB_PICKLE_GLOBAL_SET,
  JOB_PICKLE_GLOBAL_FROZENSET,
  JOB_PICKLE_GLOBAL_BYTEARRAY,
  JOB_PICKLE_GLOBAL_BYTES,
  JOB_PICKLE_GLOBAL_ENCODE,
} JobPickleGlobal;

/* The largest numpy type string the reader makes, "<M8[1000000ns]". */
#define JOB_PICKLE_TYPESTR_SIZE 32

typedef struct _JobPickleNode JobPickleNode;

struct _JobPickleNode
{
  JobPickleKind  kind;
  gboolean       visiting;      /* on the path of a conversion: a cycle */
  gboolean       written;       /* job_pickle_node_serialize() met it */
  union
  {
    gboolean  boolean;
    gint64    integer;
    double    real;
    double    complex[2];
    JobPickleGlobal global;
  };
  char          *str;           /* STR, BIGINT: text; DTYPE: descriptor */
  gsize          str_len;
  GBytes        *bytes;         /* BYTES, BYTEARRAY; ARRAY: its data */
  GPtrArray     *items;         /* LIST TUPLE SET FROZENSET; DICT keys;
                                 * ARRAY: elements of an object array;
                                 * SCALAR: its 0-d array; WRAPPER: state */
  GPtrArray     *values;        /* DICT, ORDERED_DICT values */
  GHashTable    *index;         /* DICT, SET: key node -> position + 1,
                                 * by fingerprint */
  GString       *fingerprint;   /* a hashable node's, once computed */
  guint          fingerprint_hash;
  /* DTYPE and ARRAY */
  char           typestr[JOB_PICKLE_TYPESTR_SIZE];
  gsize          item_size;
  gboolean       is_object;
  gboolean       built;         /* DTYPE, ARRAY: BUILD has set the state */
  /* ARRAY */
  guint          n_dims;
  guint64        shape[JOB_ARRAY_MAX_DIMS];
  gboolean       fortran;
  /* conversion: the GVariant made for this node and what it cost */
  GVariant      *converted;
  guint64        cost;
};

/* Work limits shared by the reader and the conversion, and the arena
 * that owns every node of one load. */
typedef struct
{
  guint64    budget;            /* bytes still allowed */
  guint64    limit;             /* the caller's max_size, for messages */
  GPtrArray *nodes;             /* (owned) (element-type JobPickleNode) */
} JobPickleBudget;

void           job_pickle_budget_init    (JobPickleBudget  *budget,
                                          guint64           limit);
void           job_pickle_budget_clear   (JobPickleBudget  *budget);
gboolean       job_pickle_budget_spend   (JobPickleBudget  *budget,
                                          guint64           cost,
                                          GError          **error);

JobPickleNode *job_pickle_node_new       (JobPickleBudget  *budget,
                                          JobPickleKind     kind);

const char    *job_pickle_kind_name      (JobPickleKind     kind);
gboolean       job_pickle_dict_set       (JobPickleNode    *dict,
                                          JobPickleNode    *key,
                                          JobPickleNode    *value,
                                          JobPickleBudget  *budget,
                                          GError          **error);
gboolean       job_pickle_set_add        (JobPickleNode    *set,
                                          JobPickleNode    *item,
                                          JobPickleBudget  *budget,
                                          GError          **error);
GVariant      *job_pickle_node_to_variant (JobPickleNode   *node,
                                           JobPickleBudget *budget,
                                           GError         **error);
/* The same value for a tree of plain nodes, written straight in
 * serialized form (job-pickle-serial.c); NULL, with nothing spent, for
 * anything else: then job_pickle_node_to_variant(). */
GVariant      *job_pickle_node_serialize  (JobPickleNode   *root,
                                           JobPickleBudget *budget);

/* numpy: dtypes and arrays (job-pickle-numpy.c) */
gboolean       job_pickle_dtype_build    (JobPickleNode    *dtype,
                                          JobPickleNode    *state,
                                          GError          **error);
gboolean       job_pickle_dtype_check    (JobPickleNode    *dtype,
                                          GError          **error);
gboolean       job_pickle_shape_from_tuple (JobPickleNode  *array,
                                            JobPickleNode  *tuple,
                                            GError        **error);
gboolean       job_pickle_array_n_bytes  (JobPickleNode    *array,
                                          guint64          *n_bytes,
                                          guint64          *n_elements,
                                          GError          **error);
GBytes        *job_pickle_to_native_order (JobPickleNode   *array,
                                           GBytes          *data);

/* The reader (job-pickle-reader.c). @stream is read from its current
 * position, after the @prefix_size bytes of @prefix already taken from
 * it (it reads ahead: do not read @stream after); @mapped, when not
 * NULL, is the whole file and arrays that joblib allows to map become
 * views of it (then @stream is NULL). */
JobPickleNode *job_pickle_read           (GInputStream     *stream,
                                          const guint8     *prefix,
                                          gsize             prefix_size,
                                          GBytes           *mapped,
                                          JobPickleBudget  *budget,
                                          GCancellable     *cancellable,
                                          GError          **error);

/* The same, refusing every class but complex and any container met
 * twice (JOB_ERROR_UNSUPPORTED): what job_variant_from_pickle() reads. */
JobPickleNode *job_pickle_read_full      (GInputStream     *stream,
                                          const guint8     *prefix,
                                          gsize             prefix_size,
                                          GBytes           *mapped,
                                          gboolean          plain_only,
                                          JobPickleBudget  *budget,
                                          GCancellable     *cancellable,
                                          GError          **error);

/* joblib.dump's files are pickles of protocol 2 or more: PROTO first.
 * Inline: the format sniffers below the reader need it too. */
static inline gboolean
job_pickle_is_pickle (const guint8 *data,
                      gsize         size)
{
  return size >= 2 && data[0] == 0x80 && data[1] >= 2 && data[1] <= 5;
}

/* Entry points for the loader (job-pickle.c): the whole value, or NULL
 * with @error set. */
GVariant      *job_pickle_load_stream    (GInputStream     *stream,
                                          const guint8     *prefix,
                                          gsize             prefix_size,
                                          guint64           max_size,
                                          GCancellable     *cancellable,
                                          GError          **error);
GVariant      *job_pickle_load_mapped    (GBytes           *contents,
                                          guint64           max_size,
                                          GError          **error);

G_END_DECLS
