/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <xxhash.h>

#include "job-hash-private.h"

/*
 * The hash is XXH3-128 over a canonical byte stream:
 *
 *   "joblib-glib/hash/1" NUL, the type string, NUL, then the content.
 *
 * The type is known from the type string, so the content needs no more
 * tags: numbers are their bytes in host order, booleans one byte 0 or 1,
 * strings a 64-bit length then their bytes, variants their own type string
 * (length-prefixed) then their content, maybes a byte 0 or 1 then the
 * child, arrays a 64-bit element count then the elements, tuples and dict
 * entries their members in order. This encoding is prefix-free, so
 * distinct values of one type give distinct streams.
 *
 * Arrays of fixed-size numbers (y n q i u x t h d) are written as one
 * buffer straight from the value's memory (g_variant_get_fixed_array()
 * serializes nothing for values that are already serialized, such as a
 * JobArray's buffer or anything loaded from disk). Buffers of at least
 * TREE_MIN bytes are cut into BLOCK-sized blocks hashed independently and
 * the stream receives the 16-byte block digests: the definition does not
 * depend on the number of threads, and big buffers are hashed by several
 * threads at once.
 *
 * Children are read with g_variant_get_child_value(), which yields the
 * normal form of each member, so a value built with g_variant_new() and
 * the same value deserialized from bytes hash alike.
 */

#define STREAM_TAG   "joblib-glib/hash/1"
#define BLOCK        ((gsize) 1 << 20)
#define TREE_MIN     ((gsize) 4 << 20)
#define PARALLEL_MIN ((gsize) 16 << 20)
#define MAX_THREADS  4

typedef struct
{
  XXH3_state_t *state;
  gsize         len;
  guint8        buf[4096];
} Hasher;

/* The streaming state is made at the first flush: a value that fits the
 * buffer (most cache keys) is hashed in one shot, which gives the same
 * hash without the state's allocation and bookkeeping. */
static void
hasher_flush (Hasher *h)
{
  if (h->state == NULL)
    {
      h->state = XXH3_createState ();
      g_assert (h->state != NULL);
      XXH3_128bits_reset (h->state);
    }
  if (h->len > 0)
    XXH3_128bits_update (h->state, h->buf, h->len);
  h->len = 0;
}

static void
hasher_write (Hasher        *h,
              gconstpointer  data,
              gsize          n)
{
  if (n > sizeof h->buf - h->len)
    {
      hasher_flush (h);
      if (n >= sizeof h->buf)
        {
          XXH3_128bits_update (h->state, data, n);
          return;
        }
    }
  /* n == 0 comes with data == NULL (an empty array): memcpy's arguments
   * must not be NULL even then */
  if (n > 0)
    memcpy (h->buf + h->len, data, n);
  h->len += n;
}

static void
hasher_write_u64 (Hasher  *h,
                  guint64  v)
{
  hasher_write (h, &v, sizeof v);
}

static void
hasher_write_byte (Hasher *h,
                   guint8  v)
{
  hasher_write (h, &v, 1);
}

static void
hasher_write_string (Hasher     *h,
                     const char *s,
                     gsize       len)
{
  hasher_write_u64 (h, len);
  hasher_write (h, s, len);
}

typedef struct
{
  const guint8       *data;
  gsize               size;
  guint               n_blocks;
  gint                next;     /* (atomic) */
  XXH128_canonical_t *digests;
} BlockJob;

static gpointer
block_worker (gpointer user_data)
{
  BlockJob *job = user_data;
  guint i;

  while ((i = (guint) g_atomic_int_add (&job->next, 1)) < job->n_blocks)
    {
      gsize offset = (gsize) i * BLOCK;
      gsize len = MIN (BLOCK, job->size - offset);

      XXH128_canonicalFromHash (&job->digests[i],
                                XXH3_128bits (job->data + offset, len));
    }

  return NULL;
}

static void
hasher_write_buffer (Hasher       *h,
                     const guint8 *data,
                     gsize         size)
{
  BlockJob job = { data, size, 0, 0, NULL };
  GThread *threads[MAX_THREADS - 1];
  guint n_threads = 0;

  if (size < TREE_MIN)
    {
      hasher_write (h, data, size);
      return;
    }

  job.n_blocks = (guint) ((size + BLOCK - 1) / BLOCK);
  job.digests = g_new (XXH128_canonical_t, job.n_blocks);

  if (size >= PARALLEL_MIN)
    {
      guint wanted = MIN (g_get_num_processors (), MAX_THREADS);

      /* Thread creation failing only costs speed: the caller's thread
       * finishes the remaining blocks. */
      for (guint t = 1; t < wanted; t++)
        {
          GThread *thread = g_thread_try_new ("job-hash", block_worker, &job, NULL);

          if (thread == NULL)
            break;
          threads[n_threads++] = thread;
        }
    }

  block_worker (&job);
  for (guint t = 0; t < n_threads; t++)
    g_thread_join (threads[t]);

  hasher_write (h, job.digests, sizeof (XXH128_canonical_t) * job.n_blocks);
  g_free (job.digests);
}

static gsize
fixed_element_size (const GVariantType *element)
{
  switch (g_variant_type_peek_string (element)[0])
    {
    case 'y':
      return 1;
    case 'n': case 'q':
      return 2;
    case 'i': case 'u': case 'h':
      return 4;
    case 'x': case 't': case 'd':
      return 8;
    default:
      return 0;
    }
}

static void
hash_value (Hasher   *h,
            GVariant *value)
{
  GVariantClass klass = g_variant_classify (value);

  switch (klass)
    {
    case G_VARIANT_CLASS_BOOLEAN:
      hasher_write_byte (h, g_variant_get_boolean (value) ? 1 : 0);
      break;

    case G_VARIANT_CLASS_BYTE:
      hasher_write_byte (h, g_variant_get_byte (value));
      break;

    case G_VARIANT_CLASS_INT16:
      {
        gint16 v = g_variant_get_int16 (value);
        hasher_write (h, &v, sizeof v);
      }
      break;

    case G_VARIANT_CLASS_UINT16:
      {
        guint16 v = g_variant_get_uint16 (value);
        hasher_write (h, &v, sizeof v);
      }
      break;

    case G_VARIANT_CLASS_INT32:
      {
        gint32 v = g_variant_get_int32 (value);
        hasher_write (h, &v, sizeof v);
      }
      break;

    case G_VARIANT_CLASS_HANDLE:
      {
        gint32 v = g_variant_get_handle (value);
        hasher_write (h, &v, sizeof v);
      }
      break;

    case G_VARIANT_CLASS_UINT32:
      {
        guint32 v = g_variant_get_uint32 (value);
        hasher_write (h, &v, sizeof v);
      }
      break;

    case G_VARIANT_CLASS_INT64:
      {
        gint64 v = g_variant_get_int64 (value);
        hasher_write (h, &v, sizeof v);
      }
      break;

    case G_VARIANT_CLASS_UINT64:
      {
        guint64 v = g_variant_get_uint64 (value);
        hasher_write (h, &v, sizeof v);
      }
      break;

    case G_VARIANT_CLASS_DOUBLE:
      {
        double v = g_variant_get_double (value);
        hasher_write (h, &v, sizeof v);
      }
      break;

    case G_VARIANT_CLASS_STRING:
    case G_VARIANT_CLASS_OBJECT_PATH:
    case G_VARIANT_CLASS_SIGNATURE:
      {
        gsize len;
        const char *s = g_variant_get_string (value, &len);
        hasher_write_string (h, s, len);
      }
      break;

    case G_VARIANT_CLASS_VARIANT:
      {
        g_autoptr(GVariant) child = g_variant_get_variant (value);
        const char *type = g_variant_get_type_string (child);

        hasher_write_string (h, type, strlen (type));
        hash_value (h, child);
      }
      break;

    case G_VARIANT_CLASS_MAYBE:
      {
        g_autoptr(GVariant) child = g_variant_get_maybe (value);

        hasher_write_byte (h, child != NULL ? 1 : 0);
        if (child != NULL)
          hash_value (h, child);
      }
      break;

    case G_VARIANT_CLASS_ARRAY:
      {
        const GVariantType *element = g_variant_type_element (g_variant_get_type (value));
        gsize element_size = fixed_element_size (element);

        if (element_size > 0)
          {
            gsize n = 0;
            gconstpointer data = g_variant_get_fixed_array (value, &n, element_size);

            hasher_write_u64 (h, n);
            hasher_write_buffer (h, data, n * element_size);
            break;
          }
      }
      G_GNUC_FALLTHROUGH;
    case G_VARIANT_CLASS_TUPLE:
    case G_VARIANT_CLASS_DICT_ENTRY:
      {
        gsize n = g_variant_n_children (value);

        /* Tuples and dict entries have a fixed number of members given by
         * their type: only arrays need their count in the stream. */
        if (klass == G_VARIANT_CLASS_ARRAY)
          hasher_write_u64 (h, n);
        for (gsize i = 0; i < n; i++)
          {
            g_autoptr(GVariant) child = g_variant_get_child_value (value, i);
            hash_value (h, child);
          }
      }
      break;

    default:
      g_assert_not_reached ();
    }
}

static char *
hasher_finish (Hasher *h)
{
  XXH128_canonical_t canonical;
  char *out;

  if (h->state == NULL)
    XXH128_canonicalFromHash (&canonical, XXH3_128bits (h->buf, h->len));
  else
    {
      hasher_flush (h);
      XXH128_canonicalFromHash (&canonical, XXH3_128bits_digest (h->state));
      XXH3_freeState (h->state);
    }

  out = g_malloc (sizeof JOB_HASH_ALGORITHM + 33);
  memcpy (out, JOB_HASH_ALGORITHM ":", sizeof JOB_HASH_ALGORITHM);
  for (guint i = 0; i < 16; i++)
    {
      static const char hex[] = "0123456789abcdef";

      out[sizeof JOB_HASH_ALGORITHM + 2 * i] = hex[canonical.digest[i] >> 4];
      out[sizeof JOB_HASH_ALGORITHM + 2 * i + 1] = hex[canonical.digest[i] & 0xf];
    }
  out[sizeof JOB_HASH_ALGORITHM + 32] = '\0';

  return out;
}

/**
 * job_hash_variant:
 * @value: a #GVariant; a floating reference is consumed
 *
 * Computes the canonical hash of a value: its type and its content,
 * hashed with 128-bit XXH3. The same value gives the same hash however it
 * was built (with g_variant_new(), a builder, or deserialized from bytes
 * in normal form); values of different types hash differently even when
 * their bytes are equal (`int32 1` and `uint32 1`).
 *
 * Arrays of fixed-size numbers, such as a [struct@Joblib.Array]'s buffer
 * or an `ay` made from #GBytes, are hashed straight from their memory,
 * without a serialized copy; buffers of 16 MiB or more are hashed by
 * several threads.
 *
 * Numbers are hashed in host byte order, so hashes are stable across runs
 * and processes of one machine, not between little- and big-endian hosts.
 *
 * Thread safety: callable from any thread.
 *
 * Returns: (transfer full): the hash, `xxh3-128:` followed by 32 lowercase
 *   hexadecimal digits
 */
char *
job_hash_variant (GVariant *value)
{
  g_autoptr(GVariant) owned = NULL;
  const char *type;
  Hasher hasher;
  Hasher *h = &hasher;

  g_return_val_if_fail (value != NULL, NULL);

  owned = g_variant_ref_sink (value);

  h->state = NULL;
  h->len = 0;

  type = g_variant_get_type_string (owned);
  hasher_write (h, STREAM_TAG, sizeof STREAM_TAG);
  hasher_write (h, type, strlen (type) + 1);
  hash_value (h, owned);

  return hasher_finish (h);
}

/* The hash job_hash_variant() gives the value of @type, a tuple of
 * fixed-size basic types (such as "(xdb)"), serialized in @data (normal
 * form, host byte order), read straight from the bytes: no GVariant per
 * member. NULL for other types, or @size not the type's. */
char *
job_hash_serialized_fixed_tuple (const char   *type,
                                 const guint8 *data,
                                 gsize         size)
{
  Hasher hasher = { NULL, 0, { 0 } };
  gsize length = strlen (type);
  gsize offset = 0, alignment = 1;

  if (length < 2 || type[0] != '(' || type[length - 1] != ')' || length > 256)
    return NULL;
  hasher_write (&hasher, STREAM_TAG, sizeof STREAM_TAG);
  hasher_write (&hasher, type, length + 1);
  for (gsize i = 1; i < length - 1; i++)
    {
      gsize member;

      switch (type[i])
        {
        case 'b': case 'y': member = 1; break;
        case 'n': case 'q': member = 2; break;
        case 'i': case 'u': case 'h': member = 4; break;
        case 'x': case 't': case 'd': member = 8; break;
        default:
          if (hasher.state != NULL)
            XXH3_freeState (hasher.state);
          return NULL;
        }
      offset = (offset + member - 1) & ~(member - 1);
      alignment = MAX (alignment, member);
      if (offset + member > size)
        break;
      if (type[i] == 'b')
        hasher_write_byte (&hasher, data[offset] != 0 ? 1 : 0);
      else
        hasher_write (&hasher, data + offset, member);
      offset += member;
    }
  /* a fixed-size tuple's size is its members' rounded up to its
   * alignment; "()" is one byte */
  offset = length == 2 ? 1 : (offset + alignment - 1) & ~(alignment - 1);
  if (offset != size)
    {
      if (hasher.state != NULL)
        XXH3_freeState (hasher.state);
      return NULL;
    }
  return hasher_finish (&hasher);
}
