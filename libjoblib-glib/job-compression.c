/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "job-bz2-converter.h"
#include "job-codec-private.h"
#include "job-compression.h"
#include "job-error.h"
#include "job-i18n-private.h"
#include "job-lz4-converter.h"
#include "job-lzma-converter.h"
#include "job-zstd-converter.h"

typedef struct
{
  const char *name;
  const char *extension;
  /* GIO's zlib levels; this library's codecs keep theirs in their class
   * (see JobCodec), where the converters read them */
  int         min_level;
  int         max_level;
  int         default_level;
} CodecInfo;

/* Indexed by JobCompression. Default levels follow joblib (3), except
 * lz4, whose levels from 3 up are the slow "HC" mode. */
static const CodecInfo codecs[] = {
  [JOB_COMPRESSION_NONE] = { "none", NULL, 0, 0, 0 },
  [JOB_COMPRESSION_ZLIB] = { "zlib", ".z", 1, 9, 3 },
  [JOB_COMPRESSION_GZIP] = { "gzip", ".gz", 1, 9, 3 },
  [JOB_COMPRESSION_BZ2] = { "bz2", ".bz2", },
  [JOB_COMPRESSION_LZMA] = { "lzma", ".lzma", },
  [JOB_COMPRESSION_XZ] = { "xz", ".xz", },
  [JOB_COMPRESSION_LZ4] = { "lz4", ".lz4", },
  [JOB_COMPRESSION_ZSTD] = { "zstd", ".zst", },
  [JOB_COMPRESSION_AUTO] = { "auto", NULL, 0, 0, 0 },
};

/* The level range of a codec: GIO's for zlib and gzip, the converter
 * class's for the others. */
static void
get_levels (JobCompression  compression,
            int            *min_level,
            int            *max_level,
            int            *default_level)
{
  GType type = G_TYPE_INVALID;
  const JobCodec *codec;

  switch (compression)
    {
    case JOB_COMPRESSION_BZ2:
      type = JOB_TYPE_BZ2_CONVERTER;
      break;
    case JOB_COMPRESSION_LZMA:
    case JOB_COMPRESSION_XZ:
      type = JOB_TYPE_LZMA_CONVERTER;
      break;
    case JOB_COMPRESSION_LZ4:
      type = JOB_TYPE_LZ4_CONVERTER;
      break;
    case JOB_COMPRESSION_ZSTD:
      type = JOB_TYPE_ZSTD_CONVERTER;
      break;
    case JOB_COMPRESSION_NONE:
    case JOB_COMPRESSION_ZLIB:
    case JOB_COMPRESSION_GZIP:
    case JOB_COMPRESSION_AUTO:
    default:
      *min_level = codecs[compression].min_level;
      *max_level = codecs[compression].max_level;
      *default_level = codecs[compression].default_level;
      return;
    }

  codec = job_codec_converter_type_get_codec (type);
  *min_level = codec->min_level;
  *max_level = codec->max_level;
  *default_level = codec->default_level;
}

static gboolean
is_codec (JobCompression compression)
{
  return compression > JOB_COMPRESSION_NONE && compression < JOB_COMPRESSION_AUTO;
}

/**
 * job_compression_get_name:
 * @compression: a #JobCompression
 *
 * Gets the name of a compression method, as joblib spells it (`"zlib"`,
 * `"gzip"`, `"bz2"`, `"lzma"`, `"xz"`, `"lz4"`) plus `"zstd"`, `"none"`
 * and `"auto"`. Thread-safe.
 *
 * Returns: (transfer none) (nullable): the name, or %NULL for a value
 *   outside the enumeration
 */
const char *
job_compression_get_name (JobCompression compression)
{
  if ((guint) compression >= G_N_ELEMENTS (codecs))
    return NULL;
  return codecs[compression].name;
}

/**
 * job_compression_from_name:
 * @name: a name, as returned by [func@Joblib.Compression.get_name]
 * @compression: (out) (optional): return location for the method
 *
 * Looks a compression method up by name, as joblib's
 * `compress=("zlib", 3)`. `"zst"` is accepted for zstd. Thread-safe.
 *
 * Returns: whether @name is known
 */
gboolean
job_compression_from_name (const char     *name,
                           JobCompression *compression)
{
  g_return_val_if_fail (name != NULL, FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (codecs); i++)
    if (g_ascii_strcasecmp (name, codecs[i].name) == 0 ||
        (i == JOB_COMPRESSION_ZSTD && g_ascii_strcasecmp (name, "zst") == 0))
      {
        if (compression != NULL)
          *compression = i;
        return TRUE;
      }
  return FALSE;
}

/**
 * job_compression_parse:
 * @spec: (nullable): `"name"` or `"name:level"`, as [property@Joblib.Memory:compression]
 *   takes it; %NULL or `"none"` for no compression
 * @compression: (out) (optional): return location for the method
 * @level: (out) (optional): return location for the level
 *   (%JOB_COMPRESSION_DEFAULT_LEVEL when @spec has none)
 * @error: return location for a #GError
 *
 * Reads a compression setting such as `"zstd:3"` or `"gzip"`: a name known to
 * [func@Joblib.Compression.from_name] other than `"auto"`, and a level
 * within the codec's range. Use it to check a setting that comes from a
 * user before giving it to [method@Joblib.Memory.set_compression], which
 * treats an invalid one as a programming error. Thread-safe.
 *
 * Returns: %TRUE if @spec is valid; %FALSE with %JOB_ERROR_INVALID_ARGUMENT
 *   naming it otherwise
 */
gboolean
job_compression_parse (const char      *spec,
                       JobCompression  *compression,
                       int             *level,
                       GError         **error)
{
  g_autofree char *name = g_strdup (spec != NULL ? spec : "none");
  char *colon = strchr (name, ':');
  gint64 parsed = JOB_COMPRESSION_DEFAULT_LEVEL;
  JobCompression method;
  int min_level, max_level;

  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (colon != NULL)
    {
      *colon = '\0';
      if (!g_ascii_string_to_signed (colon + 1, 10, G_MININT, G_MAXINT, &parsed, NULL))
        {
          g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
                       _("Compression “%s”: the level after “:” is not a number"), spec);
          return FALSE;
        }
    }
  if (!job_compression_from_name (name, &method) || method == JOB_COMPRESSION_AUTO)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
                   _("Unknown compression “%s” (known: zlib, gzip, bz2, lzma, xz, lz4, zstd, none)"),
                   spec);
      return FALSE;
    }
  if (colon != NULL && method != JOB_COMPRESSION_NONE &&
      job_compression_get_level_range (method, &min_level, &max_level, NULL) &&
      (parsed < min_level || parsed > max_level))
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
                   _("Compression “%s”: level %d is outside %s’s range %d–%d"),
                   spec, (int) parsed, name, min_level, max_level);
      return FALSE;
    }
  if (compression != NULL)
    *compression = method;
  if (level != NULL)
    *level = (int) parsed;
  return TRUE;
}

/**
 * job_compression_from_filename:
 * @filename: (type filename): a file name or path
 *
 * Maps a file name extension to a compression method, as joblib does:
 * `.z` zlib, `.gz` gzip, `.bz2` bz2, `.lzma` lzma, `.xz` xz, `.lz4` lz4,
 * and `.zst` zstd. The comparison ignores ASCII case. Thread-safe.
 *
 * Returns: the method, %JOB_COMPRESSION_NONE for any other name
 */
JobCompression
job_compression_from_filename (const char *filename)
{
  gsize len;

  g_return_val_if_fail (filename != NULL, JOB_COMPRESSION_NONE);

  len = strlen (filename);
  for (guint i = 0; i < G_N_ELEMENTS (codecs); i++)
    {
      const char *ext = codecs[i].extension;
      gsize ext_len;

      if (ext == NULL)
        continue;
      ext_len = strlen (ext);
      if (len > ext_len &&
          g_ascii_strcasecmp (filename + len - ext_len, ext) == 0)
        return i;
    }
  return JOB_COMPRESSION_NONE;
}

/**
 * job_compression_detect:
 * @data: (array length=size): the first bytes of a stream (8 are enough)
 * @size: the number of bytes in @data
 *
 * Recognizes a compressed stream by its magic bytes, whatever the file is
 * called: zlib by its header check, gzip `1f 8b`, bz2 `BZh`, xz
 * `fd 37 7a 58 5a 00`, lzma `5d 00`, lz4 `04 22 4d 18`, zstd
 * `28 b5 2f fd`. Thread-safe.
 *
 * Returns: the method, or %JOB_COMPRESSION_NONE when none matches
 */
JobCompression
job_compression_detect (const guint8 *data,
                        gsize         size)
{
  static const struct
  {
    JobCompression compression;
    guint          size;
    const char    *magic;
  } magics[] = {
    { JOB_COMPRESSION_GZIP, 2, "\x1f\x8b" },
    { JOB_COMPRESSION_BZ2, 3, "BZh" },
    { JOB_COMPRESSION_XZ, 6, "\xfd" "7zXZ\0" },
    { JOB_COMPRESSION_LZMA, 2, "\x5d\0" },
    { JOB_COMPRESSION_LZ4, 4, "\x04\x22\x4d\x18" },
    { JOB_COMPRESSION_ZSTD, 4, "\x28\xb5\x2f\xfd" },
  };

  g_return_val_if_fail (data != NULL || size == 0, JOB_COMPRESSION_NONE);

  for (guint i = 0; i < G_N_ELEMENTS (magics); i++)
    if (size >= magics[i].size && memcmp (data, magics[i].magic, magics[i].size) == 0)
      return magics[i].compression;

  /* RFC 1950: deflate with a window of at most 32 KiB, and a header
   * that is a multiple of 31 read as a big-endian number. */
  if (size >= 2 && (data[0] & 0x0f) == 8 && (data[0] >> 4) <= 7 &&
      ((data[0] << 8) | data[1]) % 31 == 0)
    return JOB_COMPRESSION_ZLIB;

  return JOB_COMPRESSION_NONE;
}

/**
 * job_compression_get_level_range:
 * @compression: a #JobCompression
 * @min_level: (out) (optional): return location for the lowest level
 * @max_level: (out) (optional): return location for the highest level
 * @default_level: (out) (optional): return location for the level used
 *   for %JOB_COMPRESSION_DEFAULT_LEVEL
 *
 * Gets the levels a codec accepts. Thread-safe.
 *
 * Returns: %TRUE for a codec, %FALSE for %JOB_COMPRESSION_NONE and
 *   %JOB_COMPRESSION_AUTO, which have no levels
 */
gboolean
job_compression_get_level_range (JobCompression  compression,
                                 int            *min_level,
                                 int            *max_level,
                                 int            *default_level)
{
  int min, max, fallback;

  if (!is_codec (compression))
    return FALSE;
  get_levels (compression, &min, &max, &fallback);
  if (min_level != NULL)
    *min_level = min;
  if (max_level != NULL)
    *max_level = max;
  if (default_level != NULL)
    *default_level = fallback;
  return TRUE;
}

static gboolean
check_codec (JobCompression   compression,
             GError         **error)
{
  if (is_codec (compression))
    return TRUE;
  g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
               _("“%s” is not a compression codec"),
               job_compression_get_name (compression) ?: "?");
  return FALSE;
}

/**
 * job_compression_new_compressor:
 * @compression: a codec: neither %JOB_COMPRESSION_NONE nor
 *   %JOB_COMPRESSION_AUTO
 * @level: a level in the codec's range (see
 *   [func@Joblib.Compression.get_level_range]), or
 *   %JOB_COMPRESSION_DEFAULT_LEVEL
 * @error: return location for a #GError
 *
 * Creates a converter that compresses with @compression: a
 * [class@Gio.ZlibCompressor] for zlib and gzip, one of this library's
 * converters for the others. Thread-safe.
 *
 * Returns: (transfer full): a new converter, or %NULL with
 *   [error@Joblib.Error.INVALID_ARGUMENT] for a level out of range or a
 *   value that is not a codec
 */
GConverter *
job_compression_new_compressor (JobCompression   compression,
                                int              level,
                                GError         **error)
{
  const CodecInfo *info;
  int min_level, max_level, default_level;

  if (!check_codec (compression, error))
    return NULL;

  info = &codecs[compression];
  get_levels (compression, &min_level, &max_level, &default_level);
  if (level == JOB_COMPRESSION_DEFAULT_LEVEL)
    level = default_level;
  if (level < min_level || level > max_level)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_ARGUMENT,
                   _("Compression level %d is out of range for %s (%d to %d)"),
                   level, info->name, min_level, max_level);
      return NULL;
    }

  switch (compression)
    {
    case JOB_COMPRESSION_ZLIB:
      return G_CONVERTER (g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_ZLIB, level));
    case JOB_COMPRESSION_GZIP:
      return G_CONVERTER (g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, level));
    case JOB_COMPRESSION_BZ2:
      return G_CONVERTER (job_bz2_converter_new (JOB_CONVERTER_COMPRESS, level));
    case JOB_COMPRESSION_LZMA:
      return G_CONVERTER (job_lzma_converter_new (JOB_CONVERTER_COMPRESS, FALSE, level));
    case JOB_COMPRESSION_XZ:
      return G_CONVERTER (job_lzma_converter_new (JOB_CONVERTER_COMPRESS, TRUE, level));
    case JOB_COMPRESSION_LZ4:
      return G_CONVERTER (job_lz4_converter_new (JOB_CONVERTER_COMPRESS, level));
    case JOB_COMPRESSION_ZSTD:
      return G_CONVERTER (job_zstd_converter_new (JOB_CONVERTER_COMPRESS, level));
    case JOB_COMPRESSION_NONE:
    case JOB_COMPRESSION_AUTO:
    default:
      g_assert_not_reached ();
    }
}

/**
 * job_compression_new_decompressor:
 * @compression: a codec: neither %JOB_COMPRESSION_NONE nor
 *   %JOB_COMPRESSION_AUTO
 * @error: return location for a #GError
 *
 * Creates a converter that decompresses @compression. Thread-safe.
 *
 * Returns: (transfer full): a new converter, or %NULL with
 *   [error@Joblib.Error.INVALID_ARGUMENT] for a value that is not a codec
 */
GConverter *
job_compression_new_decompressor (JobCompression   compression,
                                  GError         **error)
{
  if (!check_codec (compression, error))
    return NULL;

  switch (compression)
    {
    case JOB_COMPRESSION_ZLIB:
      return G_CONVERTER (g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_ZLIB));
    case JOB_COMPRESSION_GZIP:
      return G_CONVERTER (g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP));
    case JOB_COMPRESSION_BZ2:
      return G_CONVERTER (job_bz2_converter_new (JOB_CONVERTER_DECOMPRESS, -1));
    case JOB_COMPRESSION_LZMA:
      return G_CONVERTER (job_lzma_converter_new (JOB_CONVERTER_DECOMPRESS, FALSE, -1));
    case JOB_COMPRESSION_XZ:
      return G_CONVERTER (job_lzma_converter_new (JOB_CONVERTER_DECOMPRESS, TRUE, -1));
    case JOB_COMPRESSION_LZ4:
      return G_CONVERTER (job_lz4_converter_new (JOB_CONVERTER_DECOMPRESS, -1));
    case JOB_COMPRESSION_ZSTD:
      return G_CONVERTER (job_zstd_converter_new (JOB_CONVERTER_DECOMPRESS, -1));
    case JOB_COMPRESSION_NONE:
    case JOB_COMPRESSION_AUTO:
    default:
      g_assert_not_reached ();
    }
}
