/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "job-error.h"
#include "job-i18n-private.h"
#include "job-shm-private.h"

const char *
job_shm_get_default_folder (void)
{
  static gsize initialised;
  static const char *folder;

  if (g_once_init_enter (&initialised))
    {
      const char *found = g_get_tmp_dir ();

      if (g_file_test ("/dev/shm", G_FILE_TEST_IS_DIR) &&
          g_access ("/dev/shm", W_OK | X_OK) == 0)
        found = "/dev/shm";
      folder = found;
      g_once_init_leave (&initialised, 1);
    }

  return folder;
}

char *
job_shm_write_variant (const char  *folder,
                       GVariant    *value,
                       GError     **error)
{
  g_autofree char *path = NULL;
  const guint8 *data;
  gsize size;
  gsize done = 0;
  int fd;

  if (folder == NULL)
    folder = job_shm_get_default_folder ();

  /* The pid in the name tells which process a leftover belongs to. */
  path = g_strdup_printf ("%s/" JOB_SHM_PREFIX "%d-XXXXXX", folder, (int) getpid ());
  fd = g_mkstemp_full (path, O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, JOB_ERROR, JOB_ERROR_FAILED,
                   _("Could not create a shared-memory file in “%s”: %s"),
                   folder, g_strerror (saved_errno));
      return NULL;
    }

  /* For a value built from a buffer (a byte array of a GBytes), this is
   * the buffer itself: no copy before the write. */
  data = g_variant_get_data (value);
  size = g_variant_get_size (value);

  while (done < size)
    {
      gssize n = write (fd, data + done, MIN (size - done, (gsize) 1 << 30));

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          int saved_errno = errno;

          g_set_error (error, JOB_ERROR, JOB_ERROR_FAILED,
                       _("Could not write %zu bytes to “%s”: %s"),
                       size, path, g_strerror (saved_errno));
          close (fd);
          g_unlink (path);
          return NULL;
        }
      done += n;
    }

  close (fd);
  return g_steal_pointer (&path);
}
