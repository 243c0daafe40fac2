/* SPDX-License-Identifier: LGPL-2.1-or-later */
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

/* Enough threads to keep several unlinks in flight while each waits. */
#define REMOVER_THREADS 8

struct _JobCacheRemover
{
  GThreadPool *pool;
  GMutex lock;
  GError *error;  /* (owned) (nullable): the first failure, under @lock */
};

typedef struct
{
  int dir_fd;  /* (owned): a dup, or AT_FDCWD for an absolute name */
  char *name;  /* (owned) */
} RemoveJob;

static void
remove_job (gpointer data,
            gpointer user_data)
{
  RemoveJob *job = data;
  JobCacheRemover *self = user_data;
  GError *local_error = NULL;

  if (!job_cache_remove_at (job->dir_fd, job->name, &local_error))
    {
      g_mutex_lock (&self->lock);
      if (self->error == NULL)
        self->error = g_steal_pointer (&local_error);
      g_mutex_unlock (&self->lock);
      g_clear_error (&local_error);
    }
  if (job->dir_fd >= 0)
    close (job->dir_fd);
  g_free (job->name);
  g_free (job);
}

JobCacheRemover *
job_cache_remover_new (void)
{
  JobCacheRemover *self = g_new0 (JobCacheRemover, 1);

  g_mutex_init (&self->lock);
  self->pool = g_thread_pool_new (remove_job, self, REMOVER_THREADS, FALSE, NULL);
  return self;
}

/* Queues the removal of the folder @name relative to @dir_fd (AT_FDCWD
 * for an absolute path), not following symbolic links. @dir_fd stays the
 * caller's. */
void
job_cache_remover_add_at (JobCacheRemover *self,
                          int              dir_fd,
                          const char      *name)
{
  RemoveJob *job = g_new0 (RemoveJob, 1);

  job->dir_fd = dir_fd == AT_FDCWD ? AT_FDCWD : fcntl (dir_fd, F_DUPFD_CLOEXEC, 0);
  job->name = g_strdup (name);
  if (job->dir_fd == -1)
    {
      GError *local_error = NULL;

      job_set_error_from_errno (&local_error, errno, _("Cannot remove"), name);
      g_mutex_lock (&self->lock);
      if (self->error == NULL)
        self->error = g_steal_pointer (&local_error);
      g_mutex_unlock (&self->lock);
      g_clear_error (&local_error);
      g_free (job->name);
      g_free (job);
      return;
    }
  g_thread_pool_push (self->pool, job, NULL);
}

/* Waits for every queued removal, frees @self and returns the first
 * failure. */
gboolean
job_cache_remover_finish (JobCacheRemover  *self,
                          GError          **error)
{
  gboolean ok;

  g_thread_pool_free (self->pool, FALSE, TRUE);
  ok = self->error == NULL;
  if (!ok)
    g_propagate_error (error, self->error);
  g_mutex_clear (&self->lock);
  g_free (self);
  return ok;
}

/* Removes the cache tree @path (its function folders hold the entry
 * folders) with the entries in parallel; fd-relative below @path, so no
 * symbolic link is followed. */
gboolean
job_cache_remover_remove_tree (const char  *path,
                               GError     **error)
{
  JobCacheRemover *remover;
  int fd = g_open (path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
  DIR *dir;
  struct dirent *child;
  gboolean ok;

  if (fd < 0)
    return job_cache_remove_tree (path, error);
  dir = fdopendir (fd);
  if (dir == NULL)
    {
      close (fd);
      return job_cache_remove_tree (path, error);
    }

  remover = job_cache_remover_new ();
  while ((child = readdir (dir)) != NULL)
    {
      int function_fd;
      DIR *function_dir;
      struct dirent *entry;

      if (strcmp (child->d_name, ".") == 0 || strcmp (child->d_name, "..") == 0)
        continue;
      function_fd = openat (dirfd (dir), child->d_name,
                            O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (function_fd < 0 || (function_dir = fdopendir (function_fd)) == NULL)
        {
          /* a file, a link, or gone: the final sequential pass handles it */
          if (function_fd >= 0)
            close (function_fd);
          continue;
        }
      while ((entry = readdir (function_dir)) != NULL)
        if (entry->d_type == DT_DIR && strcmp (entry->d_name, ".") != 0 &&
            strcmp (entry->d_name, "..") != 0)
          job_cache_remover_add_at (remover, dirfd (function_dir), entry->d_name);
      closedir (function_dir);
    }
  closedir (dir);

  ok = job_cache_remover_finish (remover, error);
  /* What is left (files, links, the function folders) goes in one pass. */
  return ok && job_cache_remove_tree (path, error);
}
