/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE  /* O_PATH */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <string.h>
#include <unistd.h>

#include "job-cache-reclaimer-private.h"
#include "job-cache-remover-private.h"

/* One queued removal: a whole cache tree, or a batch of entry folders,
 * of the cache at @root; or descriptors of removed folders and files to
 * close, which frees their blocks (no @root: no wait for a cache waits
 * for them). */
typedef struct
{
  char      *root;     /* (owned) (nullable) absolute, the key of @pending */
  char      *tree;     /* (owned) (nullable) */
  GPtrArray *folders;  /* (owned) (nullable) (element-type filename) */
  GArray    *held;     /* (owned) (nullable) (element-type int) */
} Work;

/* All under @lock. @owner is the process whose thread drains @queue: a
 * child forked while it ran has no such thread, and starts its own.
 * @thread is joined by whoever next finds it idle, so that no finished
 * thread is left unjoined (its stack would count as leaked). @pending
 * counts, per cache root, the works queued or being run (by the thread
 * or by a waiter), so that a wait for one cache ends with its own. */
static GMutex lock;
static GCond idle;
static GQueue queue = G_QUEUE_INIT;
static gboolean running;
static pid_t owner;
static GThread *thread;       /* (owned) (nullable) */
static GHashTable *pending;   /* (owned) (nullable) root → count */

static void
work_free (Work *work)
{
  g_free (work->root);
  g_free (work->tree);
  g_clear_pointer (&work->folders, g_ptr_array_unref);
  g_clear_pointer (&work->held, g_array_unref);
  g_free (work);
}

/* A cache is known by its root's absolute path, whatever the spelling
 * its JobMemory was given ("dir", "./dir", "dir/"). */
static char *
root_key (const char *root)
{
  return g_canonicalize_filename (root, NULL);
}

/* Called with @lock held. */
static void
pending_add (const char *key,
             int         delta)
{
  guint count;

  if (key == NULL)
    return;
  if (pending == NULL)
    pending = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  count = GPOINTER_TO_UINT (g_hash_table_lookup (pending, key)) + delta;
  if (count == 0)
    g_hash_table_remove (pending, key);
  else
    g_hash_table_insert (pending, g_strdup (key), GUINT_TO_POINTER (count));
}

/* Each rmdir (and each unlink of a file whose blocks were written) frees
 * a block; on a file system mounted with online discard and no journal
 * (the ext4 of the 2-vCPU VMs measured here) that waits for a
 * synchronous discard of the device: 0.15-1.5 ms each, one after the
 * other when done by one thread. Two things keep that wait short and
 * off the waiting caller:
 *
 * - The names go first and the blocks later: an entry folder and its
 *   files are kept open while they are unlinked, so the unlinks return
 *   at once (the last close frees the blocks), and the descriptors are
 *   closed afterwards on the background thread; a caller waiting for
 *   its cache waits for the names only (about 35 us per entry with one
 *   thread, where the discards took 0.2-5 ms each). At most a quarter of
 *   the process's descriptor limit (and 4 096) are held at a time;
 *   beyond it folders are removed the plain way.
 * - Those threads wait, they do not compute, so several keep the device
 *   busy: 1 000 folders took 1.3 s with one thread, 0.36 s with four
 *   and 0.14-0.20 s with sixteen (thirty-two did no better). Plain
 *   threads, joined when done, so that none outlives the work; one per
 *   FOLDERS_PER_REMOVER folders (or three times as many descriptors). */
#define MAX_REMOVERS 16
#define FOLDERS_PER_REMOVER 16

static gint n_held;  /* (atomic) descriptors held, not closed yet */

static gint
held_budget (void)
{
  static gsize budget = 0;

  if (g_once_init_enter (&budget))
    {
      struct rlimit limit;
      gsize value = 4096;

      if (getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
        value = MIN (value, limit.rlim_cur / 4);
      g_once_init_leave (&budget, value + 1);  /* 0 means "not yet" */
    }
  return (gint) budget - 1;
}

typedef struct
{
  GPtrArray *paths;      /* (element-type filename) */
  GArray    *fds;        /* (element-type int) what a close work closes */
  gint       next;       /* (atomic) index of the next item to take */
  GMutex     held_lock;
  GArray    *held;       /* (element-type int) under @held_lock */
} Share;

static gpointer
remove_share (gpointer data)
{
  Share *share = data;
  g_autoptr(GArray) mine = g_array_new (FALSE, FALSE, sizeof (int));
  gint budget = held_budget ();
  guint i;

  while ((i = (guint) g_atomic_int_add (&share->next, 1)) < share->paths->len)
    {
      g_autoptr(GError) error = NULL;
      gboolean hold = g_atomic_int_add (&n_held, 3) + 3 <= budget;
      guint before = mine->len;

      if (!hold)
        g_atomic_int_add (&n_held, -3);
      /* what fails stays a hidden folder, swept later */
      if (!job_cache_remove_entry_folder (share->paths->pdata[i], hold ? mine : NULL, &error))
        g_debug ("Leaving %s to a later sweep: %s",
                 (const char *) share->paths->pdata[i], error->message);
      if (hold)
        g_atomic_int_add (&n_held, (gint) (mine->len - before) - 3);
    }

  g_mutex_lock (&share->held_lock);
  g_array_append_vals (share->held, mine->data, mine->len);
  g_mutex_unlock (&share->held_lock);
  return NULL;
}

static gpointer
close_share (gpointer data)
{
  Share *share = data;
  guint i;

  /* the last close of a removed file or folder frees its blocks */
  while ((i = (guint) g_atomic_int_add (&share->next, 1)) < share->fds->len)
    {
      close (g_array_index (share->fds, int, i));
      g_atomic_int_add (&n_held, -1);
    }
  return NULL;
}

/* Runs @func on the calling thread and on helper threads, one per @per
 * items of @n, @max threads in all. */
static void
share_out (GThreadFunc func,
           Share      *share,
           guint       n,
           guint       per,
           guint       max)
{
  GThread *threads[MAX_REMOVERS - 1];
  guint n_threads = 0;

  max = CLAMP (max, 1, MAX_REMOVERS);
  for (guint i = 0; i + 1 < max && (i + 1) * per < n; i++)
    if ((threads[n_threads] = g_thread_try_new ("joblib-reclaim", func, share, NULL)) != NULL)
      n_threads++;
  func (share);
  for (guint i = 0; i < n_threads; i++)
    g_thread_join (threads[i]);
}

static void push (Work *work);
static void remove_tree_now (const char *path);

static void
remove_folders (GPtrArray *paths)
{
  Share share = { .paths = paths };

  share.held = g_array_new (FALSE, FALSE, sizeof (int));
  g_mutex_init (&share.held_lock);
  /* Removing names only uses the processors, and many threads then
   * contend for the function folder's lock and the descriptor table: one
   * per processor, unless folders are left to remove the plain way. */
  share_out (remove_share, &share, paths->len, FOLDERS_PER_REMOVER,
             g_atomic_int_get (&n_held) + 3 * paths->len <= (guint) held_budget ()
             ? g_get_num_processors () : MAX_REMOVERS);
  g_mutex_clear (&share.held_lock);
  if (share.held->len > 0)
    {
      Work *work = g_new0 (Work, 1);

      work->held = share.held;
      push (work);
    }
  else
    g_array_unref (share.held);
}

static void
close_held (GArray *fds)
{
  Share share = { .fds = fds };

  share_out (close_share, &share, fds->len, 3 * FOLDERS_PER_REMOVER, MAX_REMOVERS);
}

/* The entry folders of a cache tree (<tree>/<function>/<entry>). */
static GPtrArray *
list_entry_folders (const char *tree)
{
  GPtrArray *paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GDir) dir = g_dir_open (tree, 0, NULL);
  const char *function;

  while (dir != NULL && (function = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *function_dir = g_build_filename (tree, function, NULL);
      g_autoptr(GDir) entries = NULL;
      const char *name;

      if (!g_file_test (function_dir, G_FILE_TEST_IS_DIR) ||
          g_file_test (function_dir, G_FILE_TEST_IS_SYMLINK))
        continue;
      entries = g_dir_open (function_dir, 0, NULL);
      while (entries != NULL && (name = g_dir_read_name (entries)) != NULL)
        g_ptr_array_add (paths, g_build_filename (function_dir, name, NULL));
    }
  return paths;
}

/* Writers that held files in a cleared tree may still add some while it
 * is removed (ENOTEMPTY): try again a few times, then leave the rest to
 * the sweep of the next JobMemory opened next to it. */
/* Keeps open what is left of the tree at @path once its entry folders
 * are gone (the tree, its function folders and their few files: `.locks`,
 * `version`), so that removing them does not wait for the device either;
 * the descriptors go to @held. Within the budget only. */
static void
hold_tree (const char *path,
           GArray     *held)
{
  int root = open (path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  g_autoptr(GDir) dir = NULL;
  const char *function;

  if (root < 0)
    return;
  g_array_append_val (held, root);
  dir = g_dir_open (path, 0, NULL);
  while (dir != NULL && (function = g_dir_read_name (dir)) != NULL &&
         g_atomic_int_get (&n_held) + (gint) held->len + 16 <= held_budget ())
    {
      int fd = openat (root, function, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      g_autoptr(GDir) files = NULL;
      g_autofree char *function_dir = NULL;
      const char *name;

      if (fd < 0)
        continue;
      g_array_append_val (held, fd);
      function_dir = g_build_filename (path, function, NULL);
      files = g_dir_open (function_dir, 0, NULL);
      for (guint n = 0; files != NULL && n < 8 && (name = g_dir_read_name (files)) != NULL; n++)
        {
          int file = openat (fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);

          if (file >= 0)
            g_array_append_val (held, file);
        }
    }
  g_atomic_int_add (&n_held, (gint) held->len);
}

static void
remove_tree (const char *path)
{
  g_autoptr(GPtrArray) entries = list_entry_folders (path);
  GArray *held = g_array_new (FALSE, FALSE, sizeof (int));

  remove_folders (entries);
  hold_tree (path, held);
  remove_tree_now (path);
  if (held->len > 0)
    {
      Work *work = g_new0 (Work, 1);

      work->held = held;
      push (work);
    }
  else
    g_array_unref (held);
}

static void
remove_tree_now (const char *path)
{
  for (guint attempt = 0; ; attempt++)
    {
      g_autoptr(GError) error = NULL;

      if (job_cache_remove_tree (path, &error))
        return;
      if (attempt == 4)
        {
          g_debug ("Leaving %s to the next sweep: %s", path, error->message);
          return;
        }
      g_usleep (10 * 1000);
    }
}

/* Runs @work, then frees it and counts it done. Called without @lock. */
static void
run (Work *work)
{
  if (work->tree != NULL)
    remove_tree (work->tree);
  if (work->folders != NULL)
    remove_folders (work->folders);
  if (work->held != NULL)
    close_held (work->held);

  g_mutex_lock (&lock);
  pending_add (work->root, -1);
  g_cond_broadcast (&idle);
  g_mutex_unlock (&lock);
  work_free (work);
}

static gpointer
drain (gpointer data)
{
  Work *work;

  g_mutex_lock (&lock);
  while ((work = g_queue_pop_head (&queue)) != NULL)
    {
      g_mutex_unlock (&lock);
      run (work);
      g_mutex_lock (&lock);
    }
  running = FALSE;
  g_cond_broadcast (&idle);
  g_mutex_unlock (&lock);
  return NULL;
}

/* A normal exit frees what the process renamed away: without this, a
 * script that clears its cache and ends would leave the space taken
 * until the next JobMemory opens there. */
static void
wait_at_exit (void)
{
  job_cache_reclaimer_wait ();
}

static void
push (Work *work)
{
  static gsize registered = 0;
  GThread *finished = NULL;
  gboolean here = FALSE;

  if (g_once_init_enter (&registered))
    {
      atexit (wait_at_exit);
      g_once_init_leave (&registered, 1);
    }

  g_mutex_lock (&lock);
  if (owner != getpid ())
    {
      /* a forked child: the parent's running works are not its own */
      g_clear_pointer (&pending, g_hash_table_unref);
      for (GList *link = queue.head; link != NULL; link = link->next)
        pending_add (((Work *) link->data)->root, 1);
    }
  g_queue_push_tail (&queue, work);
  pending_add (work->root, 1);
  if (!running || owner != getpid ())
    {
      /* a forked child cannot join its parent's thread: forget it */
      finished = owner == getpid () ? g_steal_pointer (&thread) : NULL;
      thread = NULL;
      running = TRUE;
      owner = getpid ();
      /* drain() takes @lock first: it starts once this returns */
      thread = g_thread_try_new ("joblib-reclaim", drain, NULL, NULL);
      here = thread == NULL;  /* no thread to be had: do the work here */
    }
  g_mutex_unlock (&lock);

  if (finished != NULL)
    g_thread_join (finished);
  if (here)
    drain (NULL);
}

void
job_cache_reclaimer_add_tree (const char *root,
                              const char *path)
{
  Work *work;

  g_return_if_fail (root != NULL);
  g_return_if_fail (path != NULL);

  work = g_new0 (Work, 1);
  work->root = root_key (root);
  work->tree = g_strdup (path);
  push (work);
}

void
job_cache_reclaimer_add_folders (const char *root,
                                 GPtrArray  *paths)
{
  Work *work;

  g_return_if_fail (root != NULL);
  g_return_if_fail (paths != NULL);

  if (paths->len == 0)
    {
      g_ptr_array_unref (paths);
      return;
    }
  work = g_new0 (Work, 1);
  work->root = root_key (root);
  work->folders = paths;
  push (work);
}

void
job_cache_reclaimer_wait (void)
{
  GThread *finished = NULL;

  g_mutex_lock (&lock);
  /* a waiter of one cache may still run a work it took off the queue */
  while (owner == getpid () &&
         (running || (pending != NULL && g_hash_table_size (pending) > 0)))
    g_cond_wait (&idle, &lock);
  if (owner == getpid ())
    finished = g_steal_pointer (&thread);
  g_mutex_unlock (&lock);

  if (finished != NULL)
    g_thread_join (finished);
}

/* The first queued work of the cache @key, taken off the queue; NULL
 * when none is left. Called with @lock held. */
static Work *
steal_queued (const char *key)
{
  for (GList *link = queue.head; link != NULL; link = link->next)
    {
      Work *work = link->data;

      if (g_strcmp0 (work->root, key) == 0)
        {
          g_queue_delete_link (&queue, link);
          return work;
        }
    }
  return NULL;
}

void
job_cache_reclaimer_wait_root (const char *root)
{
  g_autofree char *key = NULL;

  g_return_if_fail (root != NULL);

  key = root_key (root);
  g_mutex_lock (&lock);
  while (owner == getpid () && pending != NULL && g_hash_table_contains (pending, key))
    {
      Work *work = steal_queued (key);

      if (work == NULL)
        {
          /* being run by the thread: its end wakes us */
          g_cond_wait (&idle, &lock);
          continue;
        }
      g_mutex_unlock (&lock);
      run (work);
      g_mutex_lock (&lock);
    }
  g_mutex_unlock (&lock);
}
