/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-bounded-converter-private.h"
#include "job-error.h"
#include "job-i18n-private.h"

struct _JobBoundedConverter
{
  GObject     parent_instance;
  GConverter *inner;       /* (owned) */
  guint64     max_output;  /* 0: no bound */
  guint       max_ratio;   /* 0: no bound */
  guint64     allowance;
  guint64     n_read;      /* compressed bytes consumed */
  guint64     n_written;   /* decompressed bytes produced */
};

static void job_bounded_converter_iface_init (GConverterIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (JobBoundedConverter, job_bounded_converter, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_CONVERTER,
                                                      job_bounded_converter_iface_init))

static gboolean
check_bounds (JobBoundedConverter  *self,
              GError              **error)
{
  if (self->max_output > 0 && self->n_written > self->max_output)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_TOO_LARGE,
                   _("The data decompresses to more than the limit of %" G_GUINT64_FORMAT
                     " bytes"), self->max_output);
      return FALSE;
    }
  if (self->max_ratio > 0 && self->n_written > self->allowance &&
      self->n_written / self->max_ratio > self->n_read)
    {
      g_set_error (error, JOB_ERROR, JOB_ERROR_TOO_LARGE,
                   _("The data expands more than %u times (%" G_GUINT64_FORMAT
                     " compressed bytes gave %" G_GUINT64_FORMAT "): a decompression "
                     "bomb, or give a size limit to load it"),
                   self->max_ratio, self->n_read, self->n_written);
      return FALSE;
    }
  return TRUE;
}

static GConverterResult
job_bounded_converter_convert (GConverter       *converter,
                               const void       *inbuf,
                               gsize             inbuf_size,
                               void             *outbuf,
                               gsize             outbuf_size,
                               GConverterFlags   flags,
                               gsize            *bytes_read,
                               gsize            *bytes_written,
                               GError          **error)
{
  JobBoundedConverter *self = JOB_BOUNDED_CONVERTER (converter);
  GConverterResult result;

  result = g_converter_convert (self->inner, inbuf, inbuf_size, outbuf, outbuf_size, flags,
                                bytes_read, bytes_written, error);
  if (result == G_CONVERTER_ERROR)
    return result;

  self->n_read += *bytes_read;
  self->n_written += *bytes_written;
  if (!check_bounds (self, error))
    return G_CONVERTER_ERROR;
  return result;
}

static void
job_bounded_converter_reset (GConverter *converter)
{
  JobBoundedConverter *self = JOB_BOUNDED_CONVERTER (converter);

  g_converter_reset (self->inner);
  self->n_read = 0;
  self->n_written = 0;
}

static void
job_bounded_converter_iface_init (GConverterIface *iface)
{
  iface->convert = job_bounded_converter_convert;
  iface->reset = job_bounded_converter_reset;
}

static void
job_bounded_converter_finalize (GObject *object)
{
  JobBoundedConverter *self = JOB_BOUNDED_CONVERTER (object);

  g_clear_object (&self->inner);

  G_OBJECT_CLASS (job_bounded_converter_parent_class)->finalize (object);
}

static void
job_bounded_converter_class_init (JobBoundedConverterClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = job_bounded_converter_finalize;
}

static void
job_bounded_converter_init (JobBoundedConverter *self)
{
}

GConverter *
job_bounded_converter_new (GConverter *inner,
                           guint64     max_output,
                           guint       max_ratio,
                           guint64     allowance)
{
  JobBoundedConverter *self;

  g_return_val_if_fail (G_IS_CONVERTER (inner), NULL);

  self = g_object_new (JOB_TYPE_BOUNDED_CONVERTER, NULL);
  self->inner = g_object_ref (inner);
  self->max_output = max_output;
  self->max_ratio = max_ratio;
  self->allowance = allowance;
  return G_CONVERTER (self);
}
