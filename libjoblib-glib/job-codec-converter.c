/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-codec-private.h"
#include "job-enums.h"
#include "job-error.h"
#include "job-i18n-private.h"

/**
 * JobCodecConverter:
 *
 * The abstract parent of this library's codec converters
 * ([class@Joblib.Bz2Converter], [class@Joblib.LzmaConverter],
 * [class@Joblib.Lz4Converter], [class@Joblib.ZstdConverter]): it holds
 * their direction and level and implements [iface@Gio.Converter] for
 * them; each subclass only makes the calls into its codec's library.
 *
 * A converter is used by one stream at a time; it is not thread-safe.
 */
typedef struct
{
  JobConverterMode mode;
  int              level;
  gboolean         started;
  gboolean         no_frame_checksum;
} JobCodecConverterPrivate;

enum {
  PROP_0,
  PROP_MODE,
  PROP_LEVEL,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void job_codec_converter_iface_init (GConverterIface *iface);

G_DEFINE_ABSTRACT_TYPE_WITH_CODE (JobCodecConverter, job_codec_converter, G_TYPE_OBJECT,
                                  G_ADD_PRIVATE (JobCodecConverter)
                                  G_IMPLEMENT_INTERFACE (G_TYPE_CONVERTER,
                                                         job_codec_converter_iface_init))

static const JobCodec *
get_codec (JobCodecConverter *self)
{
  const JobCodec *codec = JOB_CODEC_CONVERTER_GET_CLASS (self)->codec;

  g_assert (codec != NULL);
  return codec;
}

/* The GConverter contract, shared by our codec classes: report progress,
 * ask for more input or more output space rather than spin, and call a
 * stream that ends before the codec's end marker what it is: truncated,
 * with G_IO_ERROR_PARTIAL_INPUT as GIO's GZlibDecompressor. */
static GConverterResult
step_result (const JobCodecStep  *step,
             gboolean             decompressing,
             gsize                inbuf_size,
             gsize                outbuf_size,
             GConverterFlags      flags,
             const char          *codec_name,
             GError             **error)
{
  if (step->stream_end)
    return G_CONVERTER_FINISHED;

  if ((flags & G_CONVERTER_FLUSH) != 0 && step->flushed &&
      step->consumed == inbuf_size)
    return G_CONVERTER_FLUSHED;

  if (step->consumed == 0 && step->produced == 0)
    {
      if (outbuf_size > 0 && decompressing &&
          (flags & G_CONVERTER_INPUT_AT_END) != 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT,
                       _("The %s stream is truncated"), codec_name);
          return G_CONVERTER_ERROR;
        }
      if (outbuf_size > 0 && inbuf_size == 0 &&
          (flags & (G_CONVERTER_INPUT_AT_END | G_CONVERTER_FLUSH)) == 0)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT,
                               _ ("Need more input"));
          return G_CONVERTER_ERROR;
        }
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                           _ ("Need more output space"));
      return G_CONVERTER_ERROR;
    }

  return G_CONVERTER_CONVERTED;
}

void
job_codec_set_error (GError     **error,
                     gboolean     decompressing,
                     const char  *codec_name,
                     const char  *detail)
{
  if (decompressing)
    g_set_error (error, JOB_ERROR, JOB_ERROR_INVALID_DATA,
                 _("Invalid %s data: %s"), codec_name, detail);
  else
    g_set_error (error, JOB_ERROR, JOB_ERROR_FAILED,
                 _("%s compression failed: %s"), codec_name, detail);
}

/* Levels outside the codec's range are clamped rather than refused: the
 * constructors cannot fail, and job_compression_new_compressor() checks
 * the range with a proper error before a converter is made. */
static int
clamp_level (const JobCodec *codec,
             int             level)
{
  if (level == -1)
    return codec->default_level;
  return CLAMP (level, codec->min_level, codec->max_level);
}

static void
end (JobCodecConverter *self)
{
  JobCodecConverterPrivate *priv = job_codec_converter_get_instance_private (self);

  if (!priv->started)
    return;
  get_codec (self)->end (self, priv->mode == JOB_CONVERTER_DECOMPRESS);
  priv->started = FALSE;
}

static GConverterResult
job_codec_converter_convert (GConverter       *converter,
                             const void       *inbuf,
                             gsize             inbuf_size,
                             void             *outbuf,
                             gsize             outbuf_size,
                             GConverterFlags   flags,
                             gsize            *bytes_read,
                             gsize            *bytes_written,
                             GError          **error)
{
  JobCodecConverter *self = JOB_CODEC_CONVERTER (converter);
  JobCodecConverterPrivate *priv = job_codec_converter_get_instance_private (self);
  const JobCodec *codec = get_codec (self);
  gboolean decompressing = priv->mode == JOB_CONVERTER_DECOMPRESS;
  JobCodecStep step = { 0, };

  if (!priv->started)
    {
      if (!codec->start (self, decompressing, clamp_level (codec, priv->level), error))
        return G_CONVERTER_ERROR;
      priv->started = TRUE;
    }

  if (!codec->step (self, decompressing, inbuf, inbuf_size, outbuf, outbuf_size, flags,
                    &step, error))
    return G_CONVERTER_ERROR;
  *bytes_read = step.consumed;
  *bytes_written = step.produced;

  return step_result (&step, decompressing, inbuf_size, outbuf_size, flags,
                      codec->instance_name != NULL ? codec->instance_name (self) : codec->name,
                      error);
}

static void
job_codec_converter_reset (GConverter *converter)
{
  end (JOB_CODEC_CONVERTER (converter));
}

static void
job_codec_converter_iface_init (GConverterIface *iface)
{
  iface->convert = job_codec_converter_convert;
  iface->reset = job_codec_converter_reset;
}

static void
job_codec_converter_finalize (GObject *object)
{
  end (JOB_CODEC_CONVERTER (object));

  G_OBJECT_CLASS (job_codec_converter_parent_class)->finalize (object);
}

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

  object_class->finalize = job_codec_converter_finalize;
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

void
job_codec_converter_class_set_codec (JobCodecConverterClass *klass,
                                     const JobCodec         *codec)
{
  klass->codec = codec;
}

const JobCodec *
job_codec_converter_type_get_codec (GType type)
{
  JobCodecConverterClass *klass = g_type_class_ref (type);
  const JobCodec *codec = klass->codec;

  /* classes of this library are never unloaded */
  g_type_class_unref (klass);
  return codec;
}

void
job_codec_converter_set_frame_checksum (JobCodecConverter *self,
                                        gboolean           checksum)
{
  JobCodecConverterPrivate *priv = job_codec_converter_get_instance_private (self);

  g_return_if_fail (JOB_IS_CODEC_CONVERTER (self));
  g_return_if_fail (!priv->started);

  priv->no_frame_checksum = !checksum;
}

gboolean
job_codec_converter_get_frame_checksum (JobCodecConverter *self)
{
  JobCodecConverterPrivate *priv = job_codec_converter_get_instance_private (self);

  return !priv->no_frame_checksum;
}
