/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-codec-converter.h"
#include "job-enums.h"

/**
 * JobCodecConverter:
 *
 * The abstract parent of this library's codec converters
 * ([class@Joblib.Bz2Converter], [class@Joblib.LzmaConverter],
 * [class@Joblib.Lz4Converter], [class@Joblib.ZstdConverter]): it holds
 * their direction and level. Each subclass implements
 * [iface@Gio.Converter].
 */
typedef struct
{
  JobConverterMode mode;
  int              level;
} JobCodecConverterPrivate;

enum {
  PROP_0,
  PROP_MODE,
  PROP_LEVEL,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE (JobCodecConverter, job_codec_converter, G_TYPE_OBJECT)

static void
job_codec_converter_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  JobCodecConverter *self = JOB_CODEC_CONVERTER (object);
  JobCodecConverterPrivate *priv = job_codec_converter_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_MODE:
      g_value_set_enum (value, priv->mode);
      break;

    case PROP_LEVEL:
      g_value_set_int (value, priv->level);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
job_codec_converter_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  JobCodecConverter *self = JOB_CODEC_CONVERTER (object);
  JobCodecConverterPrivate *priv = job_codec_converter_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_MODE:
      priv->mode = g_value_get_enum (value);
      break;

    case PROP_LEVEL:
      priv->level = g_value_get_int (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
job_codec_converter_class_init (JobCodecConverterClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = job_codec_converter_get_property;
  object_class->set_property = job_codec_converter_set_property;

  /**
   * JobCodecConverter:mode:
   *
   * Whether the converter compresses or decompresses.
   */
  properties[PROP_MODE] =
    g_param_spec_enum ("mode", NULL, NULL,
                       JOB_TYPE_CONVERTER_MODE, JOB_CONVERTER_COMPRESS,
                       (G_PARAM_READWRITE |
                        G_PARAM_CONSTRUCT_ONLY |
                        G_PARAM_STATIC_STRINGS));

  /**
   * JobCodecConverter:level:
   *
   * The compression level, or %JOB_COMPRESSION_DEFAULT_LEVEL for the
   * codec's default (see [func@Joblib.Compression.get_level_range]).
   * A level outside the codec's range is clamped when compression starts.
   * Ignored when decompressing.
   */
  properties[PROP_LEVEL] =
    g_param_spec_int ("level", NULL, NULL,
                      -1, G_MAXINT, -1,
                      (G_PARAM_READWRITE |
                       G_PARAM_CONSTRUCT_ONLY |
                       G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
job_codec_converter_init (JobCodecConverter *self)
{
  JobCodecConverterPrivate *priv = job_codec_converter_get_instance_private (self);

  priv->level = -1;
}

/**
 * job_codec_converter_get_mode:
 * @self: a #JobCodecConverter
 *
 * Gets whether @self compresses or decompresses.
 *
 * Returns: whether @self compresses or decompresses
 */
JobConverterMode
job_codec_converter_get_mode (JobCodecConverter *self)
{
  JobCodecConverterPrivate *priv = job_codec_converter_get_instance_private (self);

  g_return_val_if_fail (JOB_IS_CODEC_CONVERTER (self), JOB_CONVERTER_COMPRESS);

  return priv->mode;
}

/**
 * job_codec_converter_get_level:
 * @self: a #JobCodecConverter
 *
 * Gets the compression level given at construction.
 *
 * Returns: the level as given at construction, possibly
 *   %JOB_COMPRESSION_DEFAULT_LEVEL
 */
int
job_codec_converter_get_level (JobCodecConverter *self)
{
  JobCodecConverterPrivate *priv = job_codec_converter_get_instance_private (self);

  g_return_val_if_fail (JOB_IS_CODEC_CONVERTER (self), -1);

  return priv->level;
}
