/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the targets of job_load() share: an input read by the stream
 * loader, then by the mapped loader from a temporary file. */
#pragma once

#include <unistd.h>

#include <glib/gstdio.h>
#include <joblib-glib.h>

/* Small enough that a hostile size is refused, not allocated. */
#define FUZZ_MAX_SIZE (64 * 1024 * 1024)

/* Loads @data with job_load_from_stream() and, if @mapped_too, with
 * job_load() and JOB_LOAD_MMAP from a file made from @tmp_template;
 * @consume takes each value that loads (owned). */
static void
fuzz_load_paths (const guint8  *data,
                 size_t         size,
                 gboolean       mapped_too,
                 const char    *tmp_template,
                 void         (*consume) (GVariant *value))
{
  g_autoptr(GBytes) bytes = g_bytes_new (data, size);
  g_autoptr(GInputStream) stream = g_memory_input_stream_new_from_bytes (bytes);
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GFile) file = NULL;
  GVariant *value;
  int fd;

  value = job_load_from_stream (stream, FUZZ_MAX_SIZE, NULL, &error);
  if (value != NULL)
    consume (value);
  g_clear_error (&error);

  if (!mapped_too)
    return;
  fd = g_file_open_tmp (tmp_template, &path, NULL);
  if (fd < 0)
    return;
  /* write(), not g_file_set_contents(): its fsync() would be most of
   * the time of a run */
  if (write (fd, data, size) == (gssize) size)
    {
      file = g_file_new_for_path (path);
      value = job_load (file, JOB_LOAD_MMAP, FUZZ_MAX_SIZE, NULL, &error);
      if (value != NULL)
        consume (value);
    }
  g_close (fd, NULL);
  g_unlink (path);
}
