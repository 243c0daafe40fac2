/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE  /* F_OFD_SETLKW */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "job-cache-gio-store-private.h"
#include "job-cache-store-private.h"

/* A key's cross-process lock (job_cache_store_lock, declared with the
 * rest of the store): a byte of the function's `.locks` file, or a
 * per-key file where the filesystem has no open file description locks.
 *
 * Open `.locks` files are kept for the next cache miss of the same
 * function: opening, checking and closing one per miss cost three system
 * calls more than locking a byte of one already open. An fd is used by
 * one caller at a time (a byte lock belongs to its open file
 * description, so two callers must never share one); whoever takes an fd
 * checks that the file is still the one at the path, as for a fresh one.
 */

/* Enough for the callers of a few functions at once; a process that
 * caches many functions reopens beyond these. */
#define PER_PATH 4
#define TOTAL 64

typedef struct
{
  int   fd;
  dev_t dev;
  ino_t ino;
} Idle;

/* All under @pool_lock: path (owned) -> GArray of Idle; @owner is the
 * fork generation (below) of the process the fds belong to. */
static GMutex pool_lock;
static GHashTable *pool;
static guint n_idle;
static guint owner;

/* (atomic) Bumped in each forked child. glibc no longer caches getpid():
 * comparing pids cost two system calls per cache miss. */
static guint fork_generation;

static void
forked_child (void)
{
  g_atomic_int_inc (&fork_generation);
}

static guint
current_fork_generation (void)
{
  static gsize registered;

  if (g_once_init_enter (&registered))
    {
      /* From a shared library, glibc drops the handler at dlclose(). */
      pthread_atfork (NULL, NULL, forked_child);
      g_once_init_leave (&registered, 1);
    }
  return (guint) g_atomic_int_get (&fork_generation);
}

static void
idle_array_free (gpointer data)
{
  GArray *idle = data;

  for (guint i = 0; i < idle->len; i++)
    close (g_array_index (idle, Idle, i).fd);
  g_array_unref (idle);
}

/* Under @pool_lock. A forked child's fds share the parent's open file
 * descriptions, so its byte locks would not exclude the parent's: it
 * starts an empty pool. */
static void
ensure_pool (void)
{
  guint generation = current_fork_generation ();

  if (pool != NULL && owner == generation)
    return;
  g_clear_pointer (&pool, g_hash_table_unref);
  pool = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, idle_array_free);
  n_idle = 0;
  owner = generation;
}

static int
pool_take (const char *path,
           dev_t      *dev,
           ino_t      *ino)
{
  GArray *idle;
  int fd = -1;

  g_mutex_lock (&pool_lock);
  ensure_pool ();
  idle = g_hash_table_lookup (pool, path);
  if (idle != NULL && idle->len > 0)
    {
      Idle *last = &g_array_index (idle, Idle, idle->len - 1);

      fd = last->fd;
      *dev = last->dev;
      *ino = last->ino;
      g_array_set_size (idle, idle->len - 1);
      n_idle--;
    }
  g_mutex_unlock (&pool_lock);
  return fd;
}

static void
pool_give (const char *path,
           int         fd,
           dev_t       dev,
           ino_t       ino)
{
  GArray *idle;
  Idle kept = { fd, dev, ino };

  g_mutex_lock (&pool_lock);
  ensure_pool ();
  idle = g_hash_table_lookup (pool, path);
  if (idle == NULL && n_idle < TOTAL)
    {
      idle = g_array_new (FALSE, FALSE, sizeof (Idle));
      g_hash_table_insert (pool, g_strdup (path), idle);
    }
  if (idle != NULL && idle->len < PER_PATH && n_idle < TOTAL)
    {
      g_array_append_val (idle, kept);
      n_idle++;
      fd = -1;
    }
  g_mutex_unlock (&pool_lock);
  if (fd >= 0)
    close (fd);
}

void
job_cache_store_lock_pool_flush (void)
{
  g_mutex_lock (&pool_lock);
  g_clear_pointer (&pool, g_hash_table_unref);
  n_idle = 0;
  g_mutex_unlock (&pool_lock);
}

/* Takes a lock on an open lock file: TRUE once held, FALSE with errno
 * set when it cannot be taken. */
typedef gboolean (*LockFunc) (int      fd,
                              gpointer data);

/* Opens the lock file at @path and locks it with @lock. Whoever can write
 * the cache folder could plant a symbolic link (or a FIFO) at the lock's
 * name: never follow one, never lock anything but a regular file of ours;
 * take the name back a few times, then compute without the lock (-1). A
 * file unlinked or replaced between our open and our lock (a remover, a
 * clear of the function) protects nothing: the new one is taken. */
static int
open_locked (const char  *path,
             LockFunc     lock,
             gpointer     data,
             struct stat *held_out)
{
  for (guint attempt = 0; attempt < 8; attempt++)
    {
      struct stat held, current;
      int fd = g_open (path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);

      if (fd < 0 && (errno == ELOOP || errno == ENXIO || errno == EISDIR))
        {
          g_unlink (path);
          continue;
        }
      if (fd < 0)
        return -1;
      if (fstat (fd, &held) != 0 || !S_ISREG (held.st_mode))
        {
          close (fd);
          g_unlink (path);
          continue;
        }
      if (!lock (fd, data))
        {
          int saved = errno;

          close (fd);
          errno = saved;
          return -1;
        }
      if (fstat (fd, &held) == 0 && g_lstat (path, &current) == 0 &&
          held.st_dev == current.st_dev && held.st_ino == current.st_ino)
        {
          if (held_out != NULL)
            *held_out = held;
          return fd;
        }
      close (fd);
    }
  return -1;
}

static gboolean
lock_whole_file (int      fd,
                 gpointer data)
{
  while (flock (fd, LOCK_EX) != 0)
    if (errno != EINTR)
      return FALSE;
  return TRUE;
}

/* The per-key lock file of earlier versions (and of filesystems without
 * open file description locks): created, flock()ed, unlinked on unlock. */
static int
lock_key_file (const char *function_dir,
               const char *hex)
{
  g_autofree char *path = g_strconcat (function_dir, G_DIR_SEPARATOR_S, hex, ".lock", NULL);

  return open_locked (path, lock_whole_file, NULL, NULL);
}

/* The byte of the function's lock file that stands for key @hex: 62 bits
 * of the hash, so that two keys share a byte only if their hashes agree on
 * those bits. */
static off_t
key_offset (const char *hex)
{
  gsize len = strlen (hex);

  return (off_t) (g_ascii_strtoull (hex + (len > 16 ? len - 16 : 0), NULL, 16) &
                  G_GUINT64_CONSTANT (0x3fffffffffffffff));
}

typedef struct
{
  struct flock range;
  gboolean     supported;
} ByteLock;

static gboolean
lock_one_byte (int      fd,
               gpointer data)
{
  ByteLock *byte = data;

  while (fcntl (fd, F_OFD_SETLKW, &byte->range) != 0)
    if (errno != EINTR)
      {
        byte->supported = errno != EINVAL && errno != ENOLCK && errno != EOPNOTSUPP;
        return FALSE;
      }
  return TRUE;
}

/* One lock file per function, `.locks`, kept between calls; a key locks
 * one byte of it with an open file description lock (fcntl F_OFD_SETLKW:
 * held by this fd only, so two threads of one process exclude each other
 * as two processes do). Creating and unlinking a lock file per miss cost
 * two inode operations, about a third of a miss. Returns the fd, -1 with
 * *@supported FALSE where the filesystem has no such locks. */
static int
lock_key_byte (const char   *function_dir,
               const char   *hex,
               gboolean     *supported,
               JobCacheLock *lock)
{
  g_autofree char *path = g_strconcat (function_dir, "/.locks", NULL);
  ByteLock byte = { .range = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
                               .l_start = key_offset (hex), .l_len = 1 },
                    .supported = TRUE };
  struct stat held;
  int fd, saved;

  /* An fd kept from an earlier miss: lock, then check that its file is
   * still the one at the path (a clear may have moved it away). */
  fd = pool_take (path, &lock->dev, &lock->ino);
  if (fd >= 0)
    {
      struct stat current;

      if (lock_one_byte (fd, &byte) && g_lstat (path, &current) == 0 &&
          current.st_dev == lock->dev && current.st_ino == lock->ino)
        {
          *supported = TRUE;
          lock->kept = TRUE;
          return fd;
        }
      close (fd);  /* and its lock, if taken */
      byte.supported = TRUE;
    }

  fd = open_locked (path, lock_one_byte, &byte, &held);
  saved = errno;
  if (fd >= 0)
    {
      lock->dev = held.st_dev;
      lock->ino = held.st_ino;
    }
  *supported = byte.supported;
  errno = saved;
  return fd;
}

static int
lock_native (const char   *function_dir,
             const char   *hex,
             JobCacheLock *lock)
{
  gboolean supported;
  int fd;

  lock->per_key = FALSE;
  fd = lock_key_byte (function_dir, hex, &supported, lock);
  if (fd < 0 && errno == ENOENT)
    {
      if (g_mkdir_with_parents (function_dir, 0755) != 0)
        return -1;
      fd = lock_key_byte (function_dir, hex, &supported, lock);
    }
  if (fd >= 0 || supported)
    return fd;

  lock->per_key = TRUE;
  return lock_key_file (function_dir, hex);
}

void
job_cache_store_lock (const char   *function_dir,
                      const char   *hex,
                      JobCacheLock *lock)
{
  lock->fd = -1;
  lock->remote = NULL;
  lock->per_key = FALSE;
  lock->kept = FALSE;
  if (job_cache_path_is_uri (function_dir))
    lock->remote = job_cache_gio_store_lock (function_dir, hex);
  else
    lock->fd = lock_native (function_dir, hex, lock);
}

void
job_cache_store_unlock (const char   *function_dir,
                        const char   *hex,
                        JobCacheLock *lock)
{
  g_autofree char *path = NULL;
  int fd = lock->fd;

  job_cache_gio_store_unlock (g_steal_pointer (&lock->remote));
  lock->fd = -1;
  if (fd < 0)
    return;

  /* A per-key file is unlinked while still held: waiters wake up on the
   * old inode, see that it is no longer at the path and lock a fresh
   * file. So a cache keeps no per-key files between calls. The byte lock
   * goes with the fd. */
  if (lock->per_key)
    {
      path = g_strconcat (function_dir, G_DIR_SEPARATOR_S, hex, ".lock", NULL);
      g_unlink (path);
    }
  else
    {
      /* The byte lock is released here, and the fd kept for the next
       * miss (see the pool above). */
      struct flock range = { .l_type = F_UNLCK, .l_whence = SEEK_SET,
                             .l_start = key_offset (hex), .l_len = 1 };

      if (fcntl (fd, F_OFD_SETLK, &range) == 0)
        {
          path = g_strconcat (function_dir, "/.locks", NULL);
          pool_give (path, fd, lock->dev, lock->ino);
          return;
        }
    }
  close (fd);
}
