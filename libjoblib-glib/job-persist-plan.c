/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The writing side of the file format: a value's skeleton (its arrays of
 * fixed-size elements taken out), the table of those arrays with their
 * offsets, and the preamble + header that go before them. The reading side
 * and the helpers both share are in job-persist-format.c.
 */
#include "config.h"

#include <string.h>

#include "job-error.h"
#include "job-i18n-private.h"
#include "job-persist-private.h"
#include "job-variant-framing-private.h"

typedef struct
{
  GPtrArray *externals;  /* (element-type GVariant) */
  GArray    *entries;    /* (element-type JobPersistEntry) */
  guint64    ordinal;
  guint64    offset;
  gboolean   checksums;  /* FALSE: left 0, for the caller to fill in */
} StripState;

static GVariant *
strip (GVariant  *value,
       guint      depth,
       gpointer   data,
       gboolean  *changed,
       GError   **error)
{
  StripState *state = data;

  if (!job_persist_check_depth (depth, error))
    return NULL;

  if (job_persist_is_fixed_array (value))
    {
      g_autoptr(GVariant) stored = NULL;
      JobPersistEntry entry;

      entry.ordinal = state->ordinal++;
      if (g_variant_get_size (value) < JOB_PERSIST_EXTERNAL_MIN)
        return g_variant_ref (value);

      /* The file is little-endian; only big-endian hosts pay a copy. */
      if (G_BYTE_ORDER == G_BIG_ENDIAN)
        stored = g_variant_byteswap (value);
      else
        stored = g_variant_ref (value);

      entry.size = g_variant_get_size (stored);
      entry.checksum = state->checksums
                         ? job_persist_checksum (g_variant_get_data (stored), entry.size)
                         : 0;
      entry.offset = 0;  /* placed once the header size is known */
      g_array_append_val (state->entries, entry);
      g_ptr_array_add (state->externals, g_steal_pointer (&stored));
      *changed = TRUE;
      return g_variant_ref_sink (g_variant_new_array (g_variant_type_element (g_variant_get_type (value)),
                                                      NULL, 0));
    }

  if (!g_variant_is_container (value))
    return g_variant_ref (value);

  return job_persist_map_container (value, depth, strip, state, changed, error);
}

/* A bound on how deeply containers nest in a value of type @type, not
 * counting what its variants hold: each level needs a character of its
 * own in the type string. */
static guint
type_depth (const char *type)
{
  guint depth = 0;

  for (; *type != '\0'; type++)
    depth += strchr ("am({v", *type) != NULL;
  return depth;
}

/* Whether strip() would store any array of @value out of the skeleton,
 * without building a child for every node: a subtree smaller than
 * JOB_PERSIST_EXTERNAL_MIN bytes cannot hold such an array, so it is
 * skipped whole when its nesting is also bounded. Every variant in the
 * serialized form costs a separator and a type string, so a subtree of
 * @size bytes nests at most type_depth() + @size levels. A list of small
 * dicts is one child per dict instead of one per node. */
static gboolean
needs_strip (GVariant  *value,
             guint      depth,
             gboolean  *found,
             GError   **error)
{
  gsize size, n;

  if (!job_persist_check_depth (depth, error))
    return FALSE;
  if (job_persist_is_fixed_array (value))
    {
      *found = g_variant_get_size (value) >= JOB_PERSIST_EXTERNAL_MIN;
      return TRUE;
    }
  if (!g_variant_is_container (value))
    return TRUE;
  size = g_variant_get_size (value);
  if (size < JOB_PERSIST_EXTERNAL_MIN &&
      (guint64) depth + type_depth (g_variant_get_type_string (value)) + size <=
        JOB_PERSIST_MAX_DEPTH)
    return TRUE;

  n = g_variant_n_children (value);
  for (gsize i = 0; i < n && !*found; i++)
    {
      g_autoptr(GVariant) child = g_variant_get_child_value (value, i);

      if (!needs_strip (child, depth + 1, found, error))
        return FALSE;
    }
  return TRUE;
}

/* The skeleton has the value's type: stored arrays are left empty. */
static GVariant *
make_header (GVariant *skeleton,
             GArray   *entries)
{
  GVariantBuilder table;

  g_variant_builder_init (&table, G_VARIANT_TYPE ("a(tttt)"));
  for (guint i = 0; i < entries->len; i++)
    {
      JobPersistEntry *e = &g_array_index (entries, JobPersistEntry, i);

      g_variant_builder_add (&table, "(tttt)", e->ordinal, e->offset, e->size, e->checksum);
    }
  return g_variant_ref_sink (g_variant_new ("(s@va(tttt))",
                                            g_variant_get_type_string (skeleton),
                                            g_variant_new_variant (skeleton),
                                            &table));
}

/* The size make_header() gives for @skeleton and @n_entries table entries,
 * without building it (a header built through GLib's format parser cost a
 * tenth of a small Memory store): "(sva(tttt))" is the type string and its
 * zero, the boxed skeleton at the next 8 (its bytes, a zero, its type
 * string), the table at the next 8, then the framing offsets of the first
 * two members. job_persist_layout_encode() checks the first entry's offset
 * against the header it builds. */
static guint64
header_size_of (GVariant *skeleton,
                guint     n_entries)
{
  gsize type_length = strlen (g_variant_get_type_string (skeleton));
  guint64 body = type_length + 1;

  body = ((body + 7) & ~(guint64) 7) + g_variant_get_size (skeleton) + 1 + type_length;
  body = ((body + 7) & ~(guint64) 7) + (guint64) n_entries * 4 * sizeof (guint64);
  return body + 2 * job_variant_offset_size_for_body (body, 2);
}

static JobPersistLayout *
plan (GVariant   *value,
      GPtrArray  *externals,
      gboolean    checksums,
      GError    **error)
{
  g_autoptr(JobPersistLayout) layout = g_new0 (JobPersistLayout, 1);
  StripState state = { externals, NULL, 0, 0, checksums };
  gboolean changed = FALSE;
  guint64 offset;

  layout->entries = g_array_new (FALSE, FALSE, sizeof (JobPersistEntry));
  state.entries = layout->entries;
  if (!needs_strip (value, 0, &changed, error))
    return NULL;
  if (changed)
    layout->skeleton = strip (value, 0, &state, &changed, error);
  else
    layout->skeleton = g_variant_ref (value);
  if (layout->skeleton == NULL)
    return NULL;

  /* Table entries are fixed-size: the header size does not depend on the
   * offsets or checksums, so the offsets can be placed before it exists. */
  offset = JOB_PERSIST_PREAMBLE_SIZE + header_size_of (layout->skeleton, layout->entries->len);
  for (guint i = 0; i < layout->entries->len; i++)
    {
      JobPersistEntry *e = &g_array_index (layout->entries, JobPersistEntry, i);

      e->offset = job_persist_align (offset);
      offset = e->offset + e->size;
    }
  layout->data_end = offset;
  return g_steal_pointer (&layout);
}

/* The skeleton and the array table of @value, for
 * job_persist_layout_encode(), the checksums left 0; fills @externals
 * with the arrays to write after the header, in order, each at its
 * entry's offset. The skeleton has the type of @value. */
JobPersistLayout *
job_persist_plan (GVariant   *value,
                  GPtrArray  *externals,
                  GError    **error)
{
  return plan (value, externals, FALSE, error);
}

/* Preamble + header of @layout. */
GBytes *
job_persist_layout_encode (JobPersistLayout *layout)
{
  g_autoptr(GVariant) header = NULL;
  guint64 header_size;
  guint8 *buffer;

  header = make_header (layout->skeleton, layout->entries);
  if (G_BYTE_ORDER == G_BIG_ENDIAN)
    {
      GVariant *swapped = g_variant_byteswap (header);

      g_variant_unref (header);
      header = swapped;
    }
  header_size = g_variant_get_size (header);
  g_assert (header_size == header_size_of (layout->skeleton, layout->entries->len));
  g_assert (layout->entries->len == 0 ||
            job_persist_align (JOB_PERSIST_PREAMBLE_SIZE + header_size) ==
              g_array_index (layout->entries, JobPersistEntry, 0).offset);

  buffer = g_malloc0 (JOB_PERSIST_PREAMBLE_SIZE + header_size);
  memcpy (buffer, JOB_PERSIST_MAGIC, JOB_PERSIST_MAGIC_SIZE);
  *(guint32 *) (buffer + 8) = GUINT32_TO_LE (JOB_PERSIST_FORMAT_VERSION);
  *(guint32 *) (buffer + 12) = 0;
  *(guint64 *) (buffer + 16) = GUINT64_TO_LE (header_size);
  g_variant_store (header, buffer + JOB_PERSIST_PREAMBLE_SIZE);
  *(guint64 *) (buffer + 24) =
    GUINT64_TO_LE (job_persist_checksum (buffer + JOB_PERSIST_PREAMBLE_SIZE, header_size));

  return g_bytes_new_take (buffer, JOB_PERSIST_PREAMBLE_SIZE + header_size);
}

/* Builds preamble + header; fills @externals with the arrays to write
 * after it, in order, each at the next 64-byte boundary. */
GBytes *
job_persist_encode (GVariant   *value,
                    GPtrArray  *externals,
                    GError    **error)
{
  g_autoptr(JobPersistLayout) layout = plan (value, externals, TRUE, error);

  if (layout == NULL)
    return NULL;
  return job_persist_layout_encode (layout);
}
