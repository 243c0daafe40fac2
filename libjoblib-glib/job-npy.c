/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "job-array-private.h"
#include "job-i18n-private.h"

/* numpy's .npy format: "\x93NUMPY", major and minor version bytes, the
 * header length (2 bytes in 1.0, 4 bytes in 2.0 and 3.0, little-endian),
 * a Python dict literal padded with spaces and ended by '\n' so that the
 * data starts on a 64-byte boundary, then the data. 3.0 only allows UTF-8
 * in the header, which we never need to write. */
#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_SIZE 6
/* numpy itself refuses headers longer than this by default. */
#define NPY_MAX_HEADER 10000

static char *
format_header (JobArray *self,
               guint8   *major)
{
  g_autoptr(GString) dict = g_string_new (NULL);
  guint n_dims;
  const gsize *shape = job_array_get_shape (self, &n_dims);
  gsize prefix, total;

  g_string_append_printf (dict, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                          job_array_get_typestr (self));
  for (guint i = 0; i < n_dims; i++)
    g_string_append_printf (dict, "%" G_GSIZE_FORMAT "%s", shape[i],
                            n_dims == 1 || i + 1 < n_dims ? ", " : "");
  if (n_dims == 1)
    g_string_truncate (dict, dict->len - 1);
  g_string_append (dict, "), }");

  *major = dict->len + 1 + NPY_MAGIC_SIZE + 2 + 2 > G_MAXUINT16 ? 2 : 1;
  prefix = NPY_MAGIC_SIZE + 2 + (*major == 1 ? 2 : 4);
  total = (prefix + dict->len + 1 + 63) / 64 * 64;
  while (prefix + dict->len + 1 < total)
    g_string_append_c (dict, ' ');
  g_string_append_c (dict, '\n');
  return g_string_free (g_steal_pointer (&dict), FALSE);
}

/**
 * job_array_save_npy:
 * @self: a #JobArray
 * @file: the file to write (replaced atomically when it exists)
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Writes @self in numpy's `.npy` format (version 1.0, or 2.0 when the
 * header needs it), which `numpy.load` reads. This function blocks; it
 * may be called from any thread.
 *
 * Returns: %TRUE on success; %FALSE with @error set
 */
gboolean
job_array_save_npy (JobArray      *self,
                    GFile         *file,
                    GCancellable  *cancellable,
                    GError       **error)
{
  g_autoptr(GFileOutputStream) stream = NULL;
  g_autofree char *header = NULL;
  guint8 prefix[NPY_MAGIC_SIZE + 2 + 4];
  gsize prefix_size, header_len, data_size;
  const guint8 *data;
  guint8 major;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (G_IS_FILE (file), FALSE);

  header = format_header (self, &major);
  header_len = strlen (header);
  memcpy (prefix, NPY_MAGIC, NPY_MAGIC_SIZE);
  prefix[6] = major;
  prefix[7] = 0;
  if (major == 1)
    {
      guint16 len = GUINT16_TO_LE (header_len);

      memcpy (prefix + 8, &len, 2);
      prefix_size = 10;
    }
  else
    {
      guint32 len = GUINT32_TO_LE (header_len);

      memcpy (prefix + 8, &len, 4);
      prefix_size = 12;
    }

  stream = g_file_replace (file, NULL, FALSE, G_FILE_CREATE_NONE, cancellable, error);
  if (stream == NULL)
    return FALSE;
  data = g_bytes_get_data (job_array_get_data (self), &data_size);
  return g_output_stream_write_all (G_OUTPUT_STREAM (stream), prefix, prefix_size,
                                    NULL, cancellable, error) &&
         g_output_stream_write_all (G_OUTPUT_STREAM (stream), header, header_len,
                                    NULL, cancellable, error) &&
         g_output_stream_write_all (G_OUTPUT_STREAM (stream), data, data_size,
                                    NULL, cancellable, error) &&
         g_output_stream_close (G_OUTPUT_STREAM (stream), cancellable, error);
}

static gboolean
npy_error (GError     **error,
           const char  *detail)
{
  g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_DATA,
               _("Invalid .npy header: %s"), detail);
  return FALSE;
}

static void
skip_spaces (const char **p)
{
  while (**p == ' ')
    (*p)++;
}

/* Parses the header dict: exactly the keys descr, fortran_order and shape,
 * in any order, as numpy writes them. No Python is evaluated. */
static gboolean
parse_header (const char  *p,
              char         descr[8],
              gsize       *shape,
              guint       *n_dims,
              GError     **error)
{
  gboolean have_descr = FALSE, have_order = FALSE, have_shape = FALSE;

  skip_spaces (&p);
  if (*p++ != '{')
    return npy_error (error, _("not a dict"));
  for (;;)
    {
      const char *key;
      gsize key_len;

      skip_spaces (&p);
      if (*p == '}')
        break;
      if (*p != '\'')
        return npy_error (error, _("expected a key"));
      key = ++p;
      p = strchr (p, '\'');
      if (p == NULL)
        return npy_error (error, _("unterminated key"));
      key_len = p++ - key;
      skip_spaces (&p);
      if (*p++ != ':')
        return npy_error (error, _("expected “:”"));
      skip_spaces (&p);

      if (key_len == 5 && strncmp (key, "descr", 5) == 0 && *p == '\'')
        {
          const char *end = strchr (++p, '\'');

          if (end == NULL || end - p > 7 || end == p)
            return npy_error (error, _("bad descr"));
          memcpy (descr, p, end - p);
          descr[end - p] = '\0';
          p = end + 1;
          have_descr = TRUE;
        }
      else if (key_len == 13 && strncmp (key, "fortran_order", 13) == 0)
        {
          if (g_str_has_prefix (p, "False"))
            p += 5;
          else if (g_str_has_prefix (p, "True"))
            {
              g_set_error (error, JOB_ERROR, JOB_ERROR_UNSUPPORTED,
                           _("Fortran-ordered .npy files are not supported"));
              return FALSE;
            }
          else
            return npy_error (error, _("bad fortran_order"));
          have_order = TRUE;
        }
      else if (key_len == 5 && strncmp (key, "shape", 5) == 0 && *p == '(')
        {
          p++;
          *n_dims = 0;
          for (;;)
            {
              char *end;
              guint64 dim;

              skip_spaces (&p);
              if (*p == ')')
                break;
              if (!g_ascii_isdigit (*p) || *n_dims == JOB_ARRAY_MAX_DIMS)
                return npy_error (error, _("bad shape"));
              dim = g_ascii_strtoull (p, &end, 10);
              if (dim > G_MAXSSIZE || end == p)
                return npy_error (error, _("bad shape"));
              shape[(*n_dims)++] = dim;
              p = end;
              skip_spaces (&p);
              if (*p == ',')
                p++;
              else if (*p != ')')
                return npy_error (error, _("bad shape"));
            }
          p++;
          have_shape = TRUE;
        }
      else
        return npy_error (error, _("unknown key or value"));

      skip_spaces (&p);
      if (*p == ',')
        p++;
      else if (*p != '}')
        return npy_error (error, _("expected “,” or “}”"));
    }
  if (!have_descr || !have_order || !have_shape)
    return npy_error (error, _("missing key"));
  return TRUE;
}

/**
 * job_array_load_npy:
 * @file: a `.npy` file
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Reads an array from numpy's `.npy` format, versions 1.0, 2.0 and 3.0,
 * as written by `numpy.save`. Fortran-ordered arrays and structured or
 * object types are refused with [error@Joblib.Error.UNSUPPORTED]; a
 * malformed or truncated file gives [error@Joblib.Error.INVALID_DATA].
 * The header is parsed, never evaluated. This function blocks; it may be
 * called from any thread.
 *
 * Returns: (transfer full): the array, or %NULL with @error set
 */
JobArray *
job_array_load_npy (GFile         *file,
                    GCancellable  *cancellable,
                    GError       **error)
{
  g_autoptr(GFileInputStream) stream = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *header = NULL;
  g_autofree guint8 *data = NULL;
  guint8 prefix[NPY_MAGIC_SIZE + 2 + 4];
  gsize shape[JOB_ARRAY_MAX_DIMS];
  gsize n_read, data_size;
  guint32 header_len;
  char descr[8];
  guint n_dims = 0;

  g_return_val_if_fail (G_IS_FILE (file), NULL);

  stream = g_file_read (file, cancellable, error);
  if (stream == NULL)
    return NULL;
  if (!g_input_stream_read_all (G_INPUT_STREAM (stream), prefix, 10, &n_read,
                                cancellable, error))
    return NULL;
  if (n_read < 10 || memcmp (prefix, NPY_MAGIC, NPY_MAGIC_SIZE) != 0)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_DATA,
                   _("Not a .npy file (wrong magic bytes)"));
      return NULL;
    }
  if (prefix[6] < 1 || prefix[6] > 3 || prefix[7] != 0)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_UNSUPPORTED,
                   _("Unsupported .npy version %u.%u"), prefix[6], prefix[7]);
      return NULL;
    }
  if (prefix[6] == 1)
    header_len = prefix[8] | (prefix[9] << 8);
  else
    {
      if (!g_input_stream_read_all (G_INPUT_STREAM (stream), prefix + 10, 2, &n_read,
                                    cancellable, error))
        return NULL;
      header_len = prefix[8] | (prefix[9] << 8) | (prefix[10] << 16) |
                   ((guint32) prefix[11] << 24);
    }
  if (header_len > NPY_MAX_HEADER)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_DATA,
                   _("Invalid .npy header: %u bytes long"), header_len);
      return NULL;
    }

  header = g_malloc0 (header_len + 1);
  if (!g_input_stream_read_all (G_INPUT_STREAM (stream), header, header_len, &n_read,
                                cancellable, error))
    return NULL;
  if (n_read < header_len || memchr (header, '\0', header_len) != NULL)
    {
      npy_error (error, _("truncated"));
      return NULL;
    }
  if (!parse_header (header, descr, shape, &n_dims, error))
    return NULL;

  /* Validate type and shape before allocating anything. */
  if (!job_array_compute_size (descr, shape, n_dims, JOB_ERROR_INVALID_DATA,
                               &data_size, error))
    return NULL;

  data = g_try_malloc (MAX (data_size, 1));
  if (data == NULL)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_TOO_LARGE,
                   _("Cannot allocate %zu bytes for an array"),
                   data_size);
      return NULL;
    }
  if (!g_input_stream_read_all (G_INPUT_STREAM (stream), data, data_size, &n_read,
                                cancellable, error))
    return NULL;
  if (n_read < data_size)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_DATA,
                   _("The .npy file is truncated"));
      return NULL;
    }

  bytes = g_bytes_new_take (g_steal_pointer (&data), data_size);
  return job_array_new_checked (descr, shape, n_dims, bytes,
                                JOB_ERROR_INVALID_DATA, error);
}
