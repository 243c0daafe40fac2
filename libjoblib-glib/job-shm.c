/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#ifdef __linux__
#include <sys/statfs.h>
#include <linux/magic.h>
#endif
#include <unistd.h>

#include <string.h>

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

/* The owner's pid when @name is one of ours ("joblib-glib-PID-XXXXXX",
 * the X from g_mkstemp()), else 0. */
static int
owner_of (const char *name)
{
  const char *digits = name + strlen (JOB_SHM_PREFIX);
  const char *dash;
  guint64 pid;

  if (!g_str_has_prefix (name, JOB_SHM_PREFIX))
    return 0;
  dash = strchr (digits, '-');
  if (dash == NULL || dash == digits || dash - digits > 10 || strlen (dash + 1) != 6)
    return 0;
  for (const char *c = digits; c < dash; c++)
    if (!g_ascii_isdigit (*c))
      return 0;
  for (const char *c = dash + 1; *c != '\0'; c++)
    if (!g_ascii_isalnum (*c))
      return 0;
  pid = g_ascii_strtoull (digits, NULL, 10);
  return pid > 0 && pid <= G_MAXINT ? (int) pid : 0;
}

/* Signal 0 reaches a live process (a zombie too); EPERM means a live
 * process of another user. Only ESRCH says the pid is free. */
static gboolean
process_is_gone (int pid)
{
  return kill (pid, 0) != 0 && errno == ESRCH;
}

guint
job_shm_sweep (const char *folder)
{
  DIR *dir;
  struct dirent *entry;
  guint removed = 0;
  uid_t uid = geteuid ();
  int fd;

  g_return_val_if_fail (folder != NULL, 0);

  fd = g_open (folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd < 0)
    return 0;
  dir = fdopendir (fd);
  if (dir == NULL)
    {
      close (fd);
      return 0;
    }

  while ((entry = readdir (dir)) != NULL)
    {
      struct stat st;
      int pid = owner_of (entry->d_name);

      if (pid == 0 || pid == getpid () || !process_is_gone (pid))
        continue;
      /* What job_shm_write_variant() makes, and nothing else: a regular
       * file (not a link: lstat), of this user, mode 0600, one name. In a
       * sticky folder such as /dev/shm only its owner can replace it
       * between this check and the unlink, and unlinkat() never follows
       * a link. */
      if (fstatat (dirfd (dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
          !S_ISREG (st.st_mode) || st.st_uid != uid ||
          (st.st_mode & 07777) != 0600 || st.st_nlink != 1)
        continue;
      if (unlinkat (dirfd (dir), entry->d_name, 0) == 0)
        removed++;
    }

  closedir (dir);
  return removed;
}

/* Sweeps @folder the first time this process writes into it. */
static void
sweep_once (const char *folder)
{
  static GMutex lock;
  static GHashTable *swept;  /* (owned) folder paths; guarded by lock */
  gboolean first;

  g_mutex_lock (&lock);
  if (swept == NULL)
    swept = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  first = g_hash_table_add (swept, g_strdup (folder));
  g_mutex_unlock (&lock);

  if (first)
    job_shm_sweep (folder);
}

int
job_shm_create (const char  *folder,
                char       **path,
                GError     **error)
{
  g_autofree char *name = NULL;
  int fd;

  if (folder == NULL)
    folder = job_shm_get_default_folder ();
  /* A parent killed during a run leaves its files behind: whoever comes
   * next into the folder removes them, as loky's resource tracker does
   * when a pool starts. */
  sweep_once (folder);

  /* The pid in the name tells which process a leftover belongs to. */
  name = g_strdup_printf ("%s/" JOB_SHM_PREFIX "%d-XXXXXX", folder, (int) getpid ());
  fd = g_mkstemp_full (name, O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, JOB_ERROR, JOB_ERROR_FAILED,
                   _("Could not create a shared-memory file in “%s”: %s"),
                   folder, g_strerror (saved_errno));
      return -1;
    }

  *path = g_steal_pointer (&name);
  return fd;
}

gboolean
job_shm_write (int            fd,
               const char    *path,
               const guint8  *data,
               gsize          size,
               GError       **error)
{
  gsize done = 0;

  while (done < size)
    {
      gssize n = pwrite (fd, data + done, MIN (size - done, (gsize) 1 << 30), done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          int saved_errno = n < 0 ? errno : ENOSPC;

          g_set_error (error, JOB_ERROR, JOB_ERROR_FAILED,
                       _("Could not write %zu bytes to “%s”: %s"),
                       size, path, g_strerror (saved_errno));
          return FALSE;
        }
      done += n;
    }

  return TRUE;
}

gboolean
job_shm_folder_is_memory (const char *folder)
{
#ifdef __linux__
  struct statfs st;

  if (folder == NULL)
    folder = job_shm_get_default_folder ();
  return statfs (folder, &st) == 0 && st.f_type == TMPFS_MAGIC;
#else
  return FALSE;
#endif
}
