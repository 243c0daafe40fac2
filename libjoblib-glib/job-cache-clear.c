/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE  /* renameat2 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "job-cache-clear-private.h"
#include "job-cache-reclaimer-private.h"
#include "job-cache-remover-private.h"
#include "job-cache-store-private.h"
#include "job-i18n-private.h"

#define TRASH_PREFIX ".joblib-glib-trash-"

/* A clear moves the cache to a trash folder beside it, which the
 * reclaimer then removes. A process killed before that, or a clear that
 * lost a race with writers still finishing in the old tree, leaves the
 * folder behind, and no reader ever looks at it: remove every such folder
 * next to @root. Safe while another process empties one of them (removal
 * tolerates vanishing entries). This process's own pending removals are
 * waited for first, so that they are not done twice. */
void
job_cache_clear_sweep (const char *root)
{
  g_autofree char *parent = g_path_get_dirname (root);
  g_autoptr(GDir) dir = NULL;
  const char *name;

  job_cache_reclaimer_wait ();
  dir = g_dir_open (parent, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_prefix (name, TRASH_PREFIX))
      {
        g_autofree char *path = g_build_filename (parent, name, NULL);

        job_cache_remove_tree (path, NULL);
      }
}

gboolean
job_cache_clear_tree (const char  *root,
                      GError     **error)
{
  g_autofree char *trash = NULL;
  g_autofree char *parent = NULL;

  if (root == NULL || !g_file_test (root, G_FILE_TEST_EXISTS))
    return TRUE;

  job_cache_store_lock_pool_flush ();

  /* Move the tree away first, in one step, so that no call sees it half
   * removed. A fresh name, never an existing folder replaced: no mkdtemp
   * (an inode more to create and remove) where the filesystem has
   * renameat2's RENAME_NOREPLACE. */
  parent = g_path_get_dirname (root);
  for (guint attempt = 0; ; attempt++)
    {
      int saved_errno;

      g_free (trash);
      trash = g_strdup_printf ("%s/" TRASH_PREFIX "%d-%08x", parent, (int) getpid (),
                               g_random_int ());
      if (renameat2 (AT_FDCWD, root, AT_FDCWD, trash, RENAME_NOREPLACE) == 0)
        break;
      saved_errno = errno;
      if (saved_errno == ENOENT)
        return TRUE;  /* another clear took it first */
      if ((saved_errno == EEXIST || saved_errno == ENOTEMPTY) && attempt < 8)
        continue;
      if (saved_errno == EINVAL || saved_errno == ENOSYS)
        {
          g_free (trash);
          trash = g_build_filename (parent, TRASH_PREFIX "XXXXXX", NULL);
          if (g_mkdtemp (trash) != NULL && g_rename (root, trash) == 0)
            break;
          saved_errno = errno;
          g_rmdir (trash);
        }
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("Cannot clear the cache in %s: %s"), root,
                   g_strerror (saved_errno));
      return FALSE;
    }

  /* Out of every reader's sight now: the files go in the background. */
  job_cache_reclaimer_add_tree (root, trash);
  return TRUE;
}
