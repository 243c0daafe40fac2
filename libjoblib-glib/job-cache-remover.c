/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE  /* O_PATH */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gio/gio.h>

#include "job-cache-remover-private.h"
#include "job-cache-gio-store-private.h"
#include "job-error-private.h"
#include "job-i18n-private.h"

/* Removes the contents of the directory open as @dir_fd (which it
 * closes), relative to it: no path is built and no lstat() made per
 * file (readdir() tells the type), as rm -r does. @path is for errors. */
static gboolean
remove_contents (int          dir_fd,
                 const char  *path,
                 GError     **error)
{
  DIR *dir = fdopendir (dir_fd);
  struct dirent *entry;
  gboolean ok = TRUE;

  if (dir == NULL)
    {
      int saved = errno;

      close (dir_fd);
      return job_set_error_from_errno (error, saved, _("Cannot remove"), path);
    }

  while (ok && (entry = readdir (dir)) != NULL)
    {
      const char *name = entry->d_name;
      gboolean is_dir = entry->d_type == DT_DIR;

      if (strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
        continue;
      if (entry->d_type == DT_UNKNOWN)
        {
          struct stat st;

          is_dir = fstatat (dirfd (dir), name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                   S_ISDIR (st.st_mode);
        }
      if (is_dir)
        {
          int child = openat (dirfd (dir), name,
                              O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

          if (child < 0)
            ok = errno == ENOENT || job_set_error_from_errno (error, errno, _("Cannot remove"), path);
          else
            ok = remove_contents (child, path, error);
        }
      if (ok && unlinkat (dirfd (dir), name, is_dir ? AT_REMOVEDIR : 0) != 0 && errno != ENOENT)
        ok = job_set_error_from_errno (error, errno, _("Cannot remove"), path);
    }
  closedir (dir);
  return ok;
}

gboolean
job_cache_remove_tree (const char  *path,
                       GError     **error)
{
  int fd;

  if (job_cache_path_is_uri (path))
    return job_cache_gio_store_remove_tree (path, error);
  fd = g_open (path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
  if (fd < 0)
    {
      if (errno == ENOENT)
        return TRUE;
      /* not a directory (or a link to one): a file to unlink */
      if (errno == ENOTDIR || errno == ELOOP)
        return g_unlink (path) == 0 || errno == ENOENT ||
               job_set_error_from_errno (error, errno, _("Cannot remove"), path);
      return job_set_error_from_errno (error, errno, _("Cannot remove"), path);
    }
  if (!remove_contents (fd, path, error))
    return FALSE;
  if (g_rmdir (path) != 0 && errno != ENOENT)
    return job_set_error_from_errno (error, errno, _("Cannot remove"), path);
  return TRUE;
}

/* Removes the folder @name relative to @dir_fd (AT_FDCWD for a path),
 * without following a symbolic link; a file or a link is unlinked. */
gboolean
job_cache_remove_at (int          dir_fd,
                     const char  *name,
                     GError     **error)
{
  int fd = openat (dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

  if (fd < 0)
    {
      if (errno == ENOENT)
        return TRUE;
      if (errno == ENOTDIR || errno == ELOOP)
        return unlinkat (dir_fd, name, 0) == 0 || errno == ENOENT ||
               job_set_error_from_errno (error, errno, _("Cannot remove"), name);
      return job_set_error_from_errno (error, errno, _("Cannot remove"), name);
    }
  if (!remove_contents (fd, name, error))
    return FALSE;
  if (unlinkat (dir_fd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
    return job_set_error_from_errno (error, errno, _("Cannot remove"), name);
  return TRUE;
}

/* An entry folder holds two files whose names the layout fixes: unlinked
 * by name, relative to the folder opened without following a link, they
 * need no fdopendir(), no getdents64() and no close of a DIR stream. */
gboolean
job_cache_remove_entry_folder (const char  *path,
                               GArray      *held,
                               GError     **error)
{
  static const char * const names[] = { "output", "metadata.json" };
  int fd = open (path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

  if (fd >= 0)
    {
      for (guint i = 0; i < G_N_ELEMENTS (names); i++)
        {
          if (held != NULL)
            {
              /* O_PATH: no read access needed, the inode kept all the same */
              int file = openat (fd, names[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);

              if (file >= 0)
                g_array_append_val (held, file);
            }
          unlinkat (fd, names[i], 0);
        }
      if (rmdir (path) == 0 || errno == ENOENT)
        {
          if (held != NULL)
            g_array_append_val (held, fd);
          else
            close (fd);
          return TRUE;
        }
      close (fd);
    }
  else if (errno == ENOENT)
    return TRUE;
  /* a link, a file, a folder with more in it, or an error to report */
  return job_cache_remove_at (AT_FDCWD, path, error);
}
