/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "job-cpu.h"
#include "job-error.h"
#include "job-i18n-private.h"
#include "job-persist-private.h"
#include "job-variant-framing-private.h"
#include "job-pickle-private.h"
#include "job-xxhash-private.h"

void
job_persist_layout_free (JobPersistLayout *layout)
{
  g_clear_pointer (&layout->skeleton, g_variant_unref);
  g_clear_pointer (&layout->entries, g_array_unref);
  g_free (layout);
}

guint64
job_persist_align (guint64 offset)
{
  return (offset + JOB_PERSIST_ALIGNMENT - 1) & ~(guint64) (JOB_PERSIST_ALIGNMENT - 1);
}

guint64
job_persist_checksum (gconstpointer data,
                      gsize         size)
{
  return XXH3_64bits (data, size);
}

/* Whether a CPU is idle at this moment, for the loads and dumps that
 * hash on a second thread: it only helps then. The fourth field of
 * /proc/loadavg counts the tasks running or ready to run, the caller
 * included. Thread-safe. */
gboolean
job_persist_cpu_is_free (void)
{
  char text[128];
  const char *field = text;
  gssize n;
  int fd = open ("/proc/loadavg", O_RDONLY | O_CLOEXEC);

  if (fd < 0)
    return TRUE;
  n = read (fd, text, sizeof text - 1);
  close (fd);
  if (n <= 0)
    return TRUE;
  text[n] = '\0';
  for (guint i = 0; i < 3 && field != NULL; i++)
    {
      field = strchr (field, ' ');
      if (field != NULL)
        field++;
    }
  if (field == NULL || !g_ascii_isdigit (*field))
    return TRUE;
  return g_ascii_strtoull (field, NULL, 10) < (guint64) job_cpu_count ();
}

/* Physical memory: a value larger than that cannot be loaded anyway, and
 * refusing it early turns a decompression bomb into an error. */
guint64
job_persist_default_max_size (void)
{
  long pages = sysconf (_SC_PHYS_PAGES);
  long page_size = sysconf (_SC_PAGESIZE);

  if (pages <= 0 || page_size <= 0)
    return G_MAXUINT64;
  return (guint64) pages * (guint64) page_size;
}

/* Arrays of fixed-size elements are stored as raw bytes and can be
 * externalized; the element type decides, not the contents. */
gboolean
job_persist_is_fixed_array (GVariant *value)
{
  const char *type = g_variant_get_type_string (value);

  return type[0] == 'a' && type[1 + strspn (type + 1, "bynqiuxthd(){}")] == '\0';
}

gboolean
job_persist_check_depth (guint    depth,
                         GError **error)
{
  if (depth <= JOB_PERSIST_MAX_DEPTH)
    return TRUE;
  g_set_error (error, JOB_ERROR, JOB_ERROR_TOO_LARGE,
               _("Values nest deeper than %d levels"), JOB_PERSIST_MAX_DEPTH);
  return FALSE;
}

/* Rebuilds @value with its children replaced by what @map_child makes of
 * them; returns @value itself when no child changed, so that untouched
 * subtrees stay in their serialized form (no copy). */
GVariant *
job_persist_map_container (GVariant            *value,
                           guint                depth,
                           JobPersistMapChild   map_child,
                           gpointer             data,
                           gboolean            *changed,
                           GError             **error)
{
  gsize n = g_variant_n_children (value);
  g_autofree GVariant **children = g_new0 (GVariant *, MAX (n, 1));
  gboolean any_changed = FALSE;
  GVariant *result = NULL;
  gsize i;

  for (i = 0; i < n; i++)
    {
      g_autoptr(GVariant) child = g_variant_get_child_value (value, i);
      gboolean child_changed = FALSE;

      children[i] = map_child (child, depth + 1, data, &child_changed, error);
      if (children[i] == NULL)
        goto out;
      any_changed |= child_changed;
    }

  if (!any_changed)
    result = g_variant_ref (value);
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_VARIANT))
    result = g_variant_ref_sink (g_variant_new_variant (children[0]));
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_MAYBE))
    result = g_variant_ref_sink (g_variant_new_maybe (NULL, children[0]));
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_ARRAY))
    result = g_variant_ref_sink (g_variant_new_array (g_variant_type_element (g_variant_get_type (value)),
                                                      children, n));
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_DICT_ENTRY))
    result = g_variant_ref_sink (g_variant_new_dict_entry (children[0], children[1]));
  else
    result = g_variant_ref_sink (g_variant_new_tuple (children, n));
  *changed = any_changed;

out:
  for (gsize j = 0; j < i; j++)
    g_variant_unref (children[j]);
  return result;
}

/* Whether @data (@size bytes) is a strict prefix of a magic that load
 * recognizes: ours, a pickle's, the longest codec magic (xz, 6 bytes; the
 * others are no longer than the shortest file). */
static gboolean
is_magic_prefix (const guint8 *data,
                 gsize         size)
{
  static const struct
  {
    gsize       size;
    const char *magic;
  } magics[] = {
    { JOB_PERSIST_MAGIC_SIZE, JOB_PERSIST_MAGIC },
    { 2, "\x80\x02" },
    { 6, "\xfd" "7zXZ\0" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (magics); i++)
    if (size > 0 && size < magics[i].size && memcmp (data, magics[i].magic, size) == 0)
      return TRUE;
  return FALSE;
}

JobPersistHead
job_persist_classify_head (const guint8 *data,
                           gsize         size)
{
  if (size >= JOB_PERSIST_MAGIC_SIZE &&
      memcmp (data, JOB_PERSIST_MAGIC, JOB_PERSIST_MAGIC_SIZE) == 0)
    return JOB_PERSIST_HEAD_JOBLIB_GLIB;
  if (job_pickle_is_pickle (data, size))
    return JOB_PERSIST_HEAD_PICKLE;
  if (is_magic_prefix (data, size))
    return JOB_PERSIST_HEAD_PARTIAL;
  return JOB_PERSIST_HEAD_UNKNOWN;
}

/* The messages of the classes of bad input: a user reading one knows
 * what they have, whatever its length or its codec. */
gboolean
job_persist_error_truncated (GError **error)
{
  g_set_error_literal (error, JOB_ERROR, JOB_ERROR_INVALID_DATA, _("The file is truncated"));
  return FALSE;
}

gboolean
job_persist_error_too_short (GError **error,
                             gsize    size)
{
  g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_DATA,
               _("The file is too short to be a joblib-glib or joblib file: "
                 "it holds %u of the %u bytes of the shortest one"),
               (guint) MIN (size, G_MAXUINT), (guint) JOB_PERSIST_MIN_FILE_SIZE);
  return FALSE;
}

gboolean
job_persist_error_not_a_dump (GError **error)
{
  g_set_error_literal (error, JOB_ERROR, JOB_ERROR_INVALID_DATA,
                       _("Not a joblib-glib or joblib file (its first bytes "
                         "match neither format)"));
  return FALSE;
}

/* Codecs report a stream that ends early as G_IO_ERROR_PARTIAL_INPUT (as
 * GIO's zlib does), their other complaints as G_IO_ERROR_INVALID_DATA or
 * in JOB_ERROR. */
gboolean
job_persist_read_failed (GError **error,
                         GError  *local_error)
{
  if (local_error == NULL ||
      g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT))
    {
      g_clear_error (&local_error);
      return job_persist_error_truncated (error);
    }
  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA))
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_DATA,
                   _("Corrupt compressed data: %s"), local_error->message);
      g_error_free (local_error);
    }
  else
    g_propagate_error (error, local_error);
  return FALSE;
}

gboolean
job_persist_parse_preamble (const guint8  *data,
                            guint64       *header_size,
                            guint64       *header_checksum,
                            GError       **error)
{
  guint32 version, flags;

  if (memcmp (data, JOB_PERSIST_MAGIC, JOB_PERSIST_MAGIC_SIZE) != 0)
    return job_persist_error_not_a_dump (error);

  memcpy (&version, data + 8, 4);
  memcpy (&flags, data + 12, 4);
  memcpy (header_size, data + 16, 8);
  memcpy (header_checksum, data + 24, 8);
  version = GUINT32_FROM_LE (version);
  flags = GUINT32_FROM_LE (flags);
  *header_size = GUINT64_FROM_LE (*header_size);
  *header_checksum = GUINT64_FROM_LE (*header_checksum);

  if (version != JOB_PERSIST_FORMAT_VERSION || flags != 0)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_UNSUPPORTED,
                   _("Unsupported file format version %u (flags 0x%x); this "
                     "library reads version %d"),
                   version, flags, JOB_PERSIST_FORMAT_VERSION);
      return FALSE;
    }
  if (*header_size > JOB_PERSIST_MAX_HEADER)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_DATA,
                   _("Invalid header size %" PRIu64), *header_size);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_entries (GArray   *entries,
               guint64   header_end,
               guint64  *data_end,
               GError  **error)
{
  guint64 offset = header_end;

  for (guint i = 0; i < entries->len; i++)
    {
      JobPersistEntry *e = &g_array_index (entries, JobPersistEntry, i);

      if ((i > 0 && e->ordinal <= g_array_index (entries, JobPersistEntry, i - 1).ordinal) ||
          e->offset != job_persist_align (offset) ||
          e->size > G_MAXSSIZE || e->offset > G_MAXUINT64 - e->size)
        {
          g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_DATA,
                       _("Invalid array table entry %u (offset %" PRIu64
                         ", size %" PRIu64 ")"),
                       i, e->offset, e->size);
          return FALSE;
        }
      offset = e->offset + e->size;
    }
  *data_end = offset;
  return TRUE;
}

/* GLib 2.74 frees the type information of a container type with its
 * last value, and builds it again for the next one: for a small load
 * that was a sixth of its instructions (three container types). A value
 * of the header's type, kept for the life of the process, keeps it. */
static void
keep_header_type (void)
{
  static GVariant *holder = NULL;

  if (g_once_init_enter (&holder))
    {
      GVariant *value = g_variant_new_from_data (JOB_PERSIST_HEADER_TYPE, NULL, 0, FALSE,
                                                 NULL, NULL);

      g_once_init_leave (&holder, g_variant_ref_sink (value));
    }
}

/* The children of a header that GLib has found in normal form, read from
 * its framing offsets rather than as three child values and a variant
 * (a third of a small load's instructions). "(sva(tttt))" ends with two
 * offsets, the ends of the string and of the variant, whose size follows
 * from the header's; the variant holds the value, a zero byte and the
 * value's type. Normal form already proved all of that consistent; a
 * header that still does not add up is left to read_children(). Sets
 * @layout's skeleton and entries. */
typedef enum
{
  SPLIT_DONE,
  SPLIT_FALLBACK,  /* left to read_children() */
  SPLIT_ERROR,
} SplitResult;

static SplitResult
split_header (GBytes            *header_bytes,
              JobPersistLayout  *layout,
              GError           **error)
{
  gsize size, offset_size, string_end, value_start, value_end, table_start, table_end;
  gsize zero, type_length;
  const guint8 *data = g_bytes_get_data (header_bytes, &size);
  const char *type_string, *value_type;
  g_autoptr(GBytes) value_bytes = NULL;

  offset_size = job_variant_offset_size (size);
  if (size < 2 * offset_size + 2)
    return SPLIT_FALLBACK;
  string_end = (gsize) job_variant_read_offset (data + size - offset_size, offset_size);
  value_end = (gsize) job_variant_read_offset (data + size - 2 * offset_size, offset_size);
  table_end = size - 2 * offset_size;
  value_start = (string_end + 7) & ~(gsize) 7;
  table_start = (value_end + 7) & ~(gsize) 7;
  if (string_end == 0 || string_end > value_end || value_start >= value_end ||
      table_start > table_end || (table_end - table_start) % sizeof (JobPersistEntry) != 0 ||
      data[string_end - 1] != '\0')
    return SPLIT_FALLBACK;
  for (zero = value_end - 1; zero > value_start && data[zero] != '\0'; zero--)
    ;
  if (data[zero] != '\0' || zero + 1 >= value_end)
    return SPLIT_FALLBACK;

  type_string = (const char *) data;
  value_type = (const char *) data + zero + 1;
  type_length = value_end - zero - 1;
  if (strlen (type_string) != type_length || memcmp (type_string, value_type, type_length) != 0)
    {
      g_autofree char *held = g_strndup (value_type, type_length);

      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_DATA,
                   _("The file says its value has type “%s” but holds a “%s”"),
                   type_string, held);
      return SPLIT_ERROR;
    }

  /* a child of a value in normal form is in normal form: trusted */
  value_bytes = g_bytes_new_from_bytes (header_bytes, value_start, zero - value_start);
  layout->skeleton = g_variant_ref_sink (g_variant_new_from_bytes (
    (const GVariantType *) type_string, value_bytes, TRUE));
  layout->entries = g_array_sized_new (FALSE, FALSE, sizeof (JobPersistEntry),
                                       (table_end - table_start) / sizeof (JobPersistEntry));
  g_array_append_vals (layout->entries, data + table_start,
                       (table_end - table_start) / sizeof (JobPersistEntry));
  return SPLIT_DONE;
}

/* The children of a header in normal form, as GLib reads them. */
static gboolean
read_children (GVariant          *header,
               JobPersistLayout  *layout,
               GError           **error)
{
  g_autoptr(GVariant) type_value = g_variant_get_child_value (header, 0);
  g_autoptr(GVariant) boxed = g_variant_get_child_value (header, 1);
  g_autoptr(GVariant) table = g_variant_get_child_value (header, 2);
  const char *type_string = g_variant_get_string (type_value, NULL);
  gconstpointer data;
  gsize n_entries;

  layout->skeleton = g_variant_get_variant (boxed);
  if (g_strcmp0 (type_string, g_variant_get_type_string (layout->skeleton)) != 0)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_DATA,
                   _("The file says its value has type “%s” but holds a “%s”"),
                   type_string, g_variant_get_type_string (layout->skeleton));
      return FALSE;
    }
  data = g_variant_get_fixed_array (table, &n_entries, sizeof (JobPersistEntry));
  layout->entries = g_array_sized_new (FALSE, FALSE, sizeof (JobPersistEntry), n_entries);
  g_array_append_vals (layout->entries, data, n_entries);
  return TRUE;
}

JobPersistLayout *
job_persist_parse_header (GBytes   *header_bytes,
                          guint64   header_checksum,
                          GError  **error)
{
  g_autoptr(JobPersistLayout) layout = g_new0 (JobPersistLayout, 1);
  g_autoptr(GVariant) header = NULL;
  gsize size;
  gconstpointer data;

  data = g_bytes_get_data (header_bytes, &size);
  if (job_persist_checksum (data, size) != header_checksum)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_DATA,
                   _("The file header fails its checksum"));
      return NULL;
    }

  keep_header_type ();
  header = g_variant_ref_sink (g_variant_new_from_bytes (JOB_PERSIST_HEADER_TYPE,
                                                         header_bytes, FALSE));
  if (G_BYTE_ORDER == G_BIG_ENDIAN)
    {
      GVariant *swapped = g_variant_byteswap (header);

      g_variant_unref (header);
      header = swapped;
    }
  /* The checksum only proves the header is what was written; whoever
   * wrote it may be hostile, so check the serialized form too. */
  if (!g_variant_is_normal_form (header))
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_DATA,
                   _("The file header is malformed"));
      return NULL;
    }

  switch (G_BYTE_ORDER == G_LITTLE_ENDIAN ? split_header (header_bytes, layout, error)
                                          : SPLIT_FALLBACK)
    {
    case SPLIT_DONE:
      break;
    case SPLIT_ERROR:
      return NULL;
    case SPLIT_FALLBACK:
    default:
      if (!read_children (header, layout, error))
        return NULL;
      break;
    }
  if (!check_entries (layout->entries, JOB_PERSIST_PREAMBLE_SIZE + size,
                      &layout->data_end, error))
    return NULL;

  return g_steal_pointer (&layout);
}

typedef struct
{
  JobPersistLayout  *layout;
  GBytes           **buffers;
  guint64            ordinal;
  guint              next;
} RebuildState;

static GVariant *
rebuild (GVariant  *value,
         guint      depth,
         gpointer   data,
         gboolean  *changed,
         GError   **error)
{
  RebuildState *state = data;

  if (!job_persist_check_depth (depth, error))
    return NULL;

  if (job_persist_is_fixed_array (value))
    {
      guint64 ordinal = state->ordinal++;
      JobPersistEntry *e;
      GVariant *array;

      if (state->next >= state->layout->entries->len)
        return g_variant_ref (value);
      e = &g_array_index (state->layout->entries, JobPersistEntry, state->next);
      if (e->ordinal != ordinal)
        return g_variant_ref (value);

      array = g_variant_new_from_bytes (g_variant_get_type (value),
                                        state->buffers[state->next], FALSE);
      g_variant_ref_sink (array);
      state->next++;
      /* A size that is not a multiple of the element size makes GVariant
       * see an empty array: call that what it is. */
      if (g_variant_n_children (value) != 0 ||
          (e->size > 0 && g_variant_n_children (array) == 0))
        {
          g_variant_unref (array);
          g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_DATA,
                       _("Stored array %u does not match its place in the value"),
                       state->next - 1);
          return NULL;
        }
      if (G_BYTE_ORDER == G_BIG_ENDIAN)
        {
          GVariant *swapped = g_variant_byteswap (array);

          g_variant_unref (array);
          array = swapped;
        }
      *changed = TRUE;
      return array;
    }

  if (!g_variant_is_container (value))
    return g_variant_ref (value);

  return job_persist_map_container (value, depth, rebuild, state, changed, error);
}

/* Puts the stored arrays, one GBytes per table entry, back in place. */
GVariant *
job_persist_rebuild (JobPersistLayout  *layout,
                     GBytes           **buffers,
                     GError           **error)
{
  RebuildState state = { layout, buffers, 0, 0 };
  g_autoptr(GVariant) value = NULL;
  gboolean changed = FALSE;

  /* Nothing to put back: the walk would change nothing, and the header's
   * normal-form check has already bounded the nesting (GLib rejects more
   * than 128 levels, as check_depth does). Small values with many nodes
   * (a list of dicts) spent a fifth of their load here. */
  if (layout->entries->len == 0)
    return g_variant_ref (layout->skeleton);

  value = rebuild (layout->skeleton, 0, &state, &changed, error);
  if (value == NULL)
    return NULL;
  if (state.next != layout->entries->len)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_DATA,
                   _("The file stores %u arrays but its value has room for %u"),
                   layout->entries->len, state.next);
      return NULL;
    }
  return g_steal_pointer (&value);
}
