/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "job-cache-clear-private.h"
#include "job-cache-remover-private.h"
#include "job-i18n-private.h"

#define TRASH_PREFIX ".joblib-glib-trash-"

/* A clear moves the cache to a trash folder beside it, then removes that.
 * A clear that was killed, or that lost a race with writers still
 * finishing in the old tree, leaves the folder behind, and no reader ever
 * looks at it: remove every such folder next to @root. Safe while another
 * clear empties one of them (removal tolerates vanishing entries). */
void
job_cache_clear_sweep (const char *root)
{
  g_autofree char *parent = g_path_get_dirname (root);
  g_autoptr(GDir) dir = g_dir_open (parent, 0, NULL);
  const char *name;

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

  /* Move the tree away first, so that no call sees it half removed. */
  parent = g_path_get_dirname (root);
  trash = g_build_filename (parent, TRASH_PREFIX "XXXXXX", NULL);
  if (g_mkdtemp (trash) == NULL || g_rename (root, trash) != 0)
    {
      int saved_errno = errno;

      if (trash != NULL)
        g_rmdir (trash);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("Cannot clear the cache in %s: %s"), root,
                   g_strerror (saved_errno));
      return FALSE;
    }

  /* Writers that opened files in the old tree may still add some while
   * it is removed (ENOTEMPTY): try again, and leave the rest to the
   * sweep of the next JobMemory opened here. */
  for (guint attempt = 0; ; attempt++)
    {
      g_autoptr(GError) local_error = NULL;

      if (job_cache_remover_remove_tree (trash, &local_error))
        return TRUE;
      if (attempt == 4)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      g_usleep (10 * 1000);
    }
}
