/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "job-cache-reclaimer-private.h"
#include "job-cache-remover-private.h"

/* One queued removal: a whole cache tree, or a batch of folders. */
typedef struct
{
  char      *tree;     /* (owned) (nullable) */
  GPtrArray *folders;  /* (owned) (nullable) (element-type filename) */
} Work;

/* All under @lock. @owner is the process whose thread drains @queue: a
 * child forked while it ran has no such thread, and starts its own.
 * @thread is joined by whoever next finds it idle, so that no finished
 * thread is left unjoined (its stack would count as leaked). */
static GMutex lock;
static GCond idle;
static GQueue queue = G_QUEUE_INIT;
static gboolean running;
static pid_t owner;
static GThread *thread;  /* (owned) (nullable) */

static void
work_free (Work *work)
{
  g_free (work->tree);
  g_clear_pointer (&work->folders, g_ptr_array_unref);
  g_free (work);
}

/* unlink() and rmdir() mostly wait (for the file system's journal, or
 * for a core on a busy machine): a few threads keep several in flight.
 * Plain threads, joined when done, so that none outlives the work. */
#define REMOVER_THREADS 4

typedef struct
{
  GPtrArray *paths;  /* (element-type filename) */
  gint       next;   /* (atomic) index of the next path to take */
} Share;

static gpointer
remove_share (gpointer data)
{
  Share *share = data;
  guint i;

  while ((i = (guint) g_atomic_int_add (&share->next, 1)) < share->paths->len)
    {
      g_autoptr(GError) error = NULL;

      /* what fails stays a hidden folder, swept later */
      if (!job_cache_remove_at (AT_FDCWD, share->paths->pdata[i], &error))
        g_debug ("Leaving %s to a later sweep: %s",
                 (const char *) share->paths->pdata[i], error->message);
    }
  return NULL;
}

static void
remove_folders (GPtrArray *paths)
{
  Share share = { paths, 0 };
  GThread *threads[REMOVER_THREADS - 1];
  guint n = 0;

  for (guint i = 0; i < G_N_ELEMENTS (threads) && (i + 1) * 32 < paths->len; i++)
    if ((threads[n] = g_thread_try_new ("joblib-reclaim", remove_share, &share, NULL)) != NULL)
      n++;
  remove_share (&share);
  for (guint i = 0; i < n; i++)
    g_thread_join (threads[i]);
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
static void
remove_tree (const char *path)
{
  g_autoptr(GPtrArray) entries = list_entry_folders (path);

  remove_folders (entries);
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

static void
run (Work *work)
{
  if (work->tree != NULL)
    remove_tree (work->tree);
  if (work->folders != NULL)
    remove_folders (work->folders);
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
  g_queue_push_tail (&queue, work);
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
job_cache_reclaimer_add_tree (const char *path)
{
  Work *work = g_new0 (Work, 1);

  g_return_if_fail (path != NULL);

  work->tree = g_strdup (path);
  push (work);
}

void
job_cache_reclaimer_add_folders (GPtrArray *paths)
{
  Work *work;

  g_return_if_fail (paths != NULL);

  if (paths->len == 0)
    {
      g_ptr_array_unref (paths);
      return;
    }
  work = g_new0 (Work, 1);
  work->folders = paths;
  push (work);
}

void
job_cache_reclaimer_wait (void)
{
  GThread *finished = NULL;

  g_mutex_lock (&lock);
  while (running && owner == getpid ())
    g_cond_wait (&idle, &lock);
  if (owner == getpid ())
    finished = g_steal_pointer (&thread);
  g_mutex_unlock (&lock);

  if (finished != NULL)
    g_thread_join (finished);
}
