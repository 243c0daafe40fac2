/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GLib's locks for ThreadSanitizer runs (tools/reliability.sh tsan).
 *
 * Debian's GLib implements GMutex and GCond on raw futexes, which
 * ThreadSanitizer cannot see: every access that a GMutex orders would be
 * reported as a race. Preloaded (LD_PRELOAD) into the test programs of the
 * TSan build, this library replaces GMutex, GRecMutex, GRWLock and GCond
 * with pthread objects, which ThreadSanitizer intercepts. GLib calls its
 * own locks through the PLT, so GThreadPool and GAsyncQueue use these too.
 *
 * Each GLib lock holds a pointer to its pthread object, made on first use
 * (GLib locks may be zero-initialized statics), as GLib itself does on
 * platforms without futexes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include <glib.h>

/* The GLib functions defined here: declared by glib.h already. */

static gpointer
get_impl (gpointer  *slot,
          gpointer (*make) (void),
          void     (*destroy) (gpointer))
{
  gpointer impl = __atomic_load_n (slot, __ATOMIC_ACQUIRE);

  if (impl == NULL)
    {
      gpointer expected = NULL;

      impl = make ();
      if (!__atomic_compare_exchange_n (slot, &expected, impl, FALSE,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        {
          destroy (impl);
          impl = expected;
        }
    }
  return impl;
}

static gpointer
mutex_make (void)
{
  pthread_mutex_t *mutex = malloc (sizeof *mutex);

  pthread_mutex_init (mutex, NULL);
  return mutex;
}

static gpointer
rec_mutex_make (void)
{
  pthread_mutex_t *mutex = malloc (sizeof *mutex);
  pthread_mutexattr_t attr;

  pthread_mutexattr_init (&attr);
  pthread_mutexattr_settype (&attr, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_init (mutex, &attr);
  pthread_mutexattr_destroy (&attr);
  return mutex;
}

static void
mutex_destroy (gpointer mutex)
{
  pthread_mutex_destroy (mutex);
  free (mutex);
}

static gpointer
rw_lock_make (void)
{
  pthread_rwlock_t *lock = malloc (sizeof *lock);

  pthread_rwlock_init (lock, NULL);
  return lock;
}

static void
rw_lock_destroy (gpointer lock)
{
  pthread_rwlock_destroy (lock);
  free (lock);
}

static gpointer
cond_make (void)
{
  pthread_cond_t *cond = malloc (sizeof *cond);
  pthread_condattr_t attr;

  /* g_cond_wait_until() takes monotonic times */
  pthread_condattr_init (&attr);
  pthread_condattr_setclock (&attr, CLOCK_MONOTONIC);
  pthread_cond_init (cond, &attr);
  pthread_condattr_destroy (&attr);
  return cond;
}

static void
cond_destroy (gpointer cond)
{
  pthread_cond_destroy (cond);
  free (cond);
}

#define MUTEX(m)     ((pthread_mutex_t *) get_impl (&(m)->p, mutex_make, mutex_destroy))
#define REC_MUTEX(m) ((pthread_mutex_t *) get_impl (&(m)->p, rec_mutex_make, mutex_destroy))
#define RW_LOCK(l)   ((pthread_rwlock_t *) get_impl (&(l)->p, rw_lock_make, rw_lock_destroy))
#define COND(c)      ((pthread_cond_t *) get_impl (&(c)->p, cond_make, cond_destroy))

static void
clear_slot (gpointer *slot,
            void    (*destroy) (gpointer))
{
  gpointer impl = __atomic_exchange_n (slot, NULL, __ATOMIC_ACQ_REL);

  if (impl != NULL)
    destroy (impl);
}

void g_mutex_init (GMutex *mutex) { mutex->p = NULL; }
void g_mutex_clear (GMutex *mutex) { clear_slot (&mutex->p, mutex_destroy); }
void g_mutex_lock (GMutex *mutex) { pthread_mutex_lock (MUTEX (mutex)); }
void g_mutex_unlock (GMutex *mutex) { pthread_mutex_unlock (MUTEX (mutex)); }
gboolean g_mutex_trylock (GMutex *mutex) { return pthread_mutex_trylock (MUTEX (mutex)) == 0; }

void g_rec_mutex_init (GRecMutex *mutex) { mutex->p = NULL; }
void g_rec_mutex_clear (GRecMutex *mutex) { clear_slot (&mutex->p, mutex_destroy); }
void g_rec_mutex_lock (GRecMutex *mutex) { pthread_mutex_lock (REC_MUTEX (mutex)); }
void g_rec_mutex_unlock (GRecMutex *mutex) { pthread_mutex_unlock (REC_MUTEX (mutex)); }
gboolean g_rec_mutex_trylock (GRecMutex *mutex) { return pthread_mutex_trylock (REC_MUTEX (mutex)) == 0; }

void g_rw_lock_init (GRWLock *lock) { lock->p = NULL; }
void g_rw_lock_clear (GRWLock *lock) { clear_slot (&lock->p, rw_lock_destroy); }
void g_rw_lock_writer_lock (GRWLock *lock) { pthread_rwlock_wrlock (RW_LOCK (lock)); }
gboolean g_rw_lock_writer_trylock (GRWLock *lock) { return pthread_rwlock_trywrlock (RW_LOCK (lock)) == 0; }
void g_rw_lock_writer_unlock (GRWLock *lock) { pthread_rwlock_unlock (RW_LOCK (lock)); }
void g_rw_lock_reader_lock (GRWLock *lock) { pthread_rwlock_rdlock (RW_LOCK (lock)); }
gboolean g_rw_lock_reader_trylock (GRWLock *lock) { return pthread_rwlock_tryrdlock (RW_LOCK (lock)) == 0; }
void g_rw_lock_reader_unlock (GRWLock *lock) { pthread_rwlock_unlock (RW_LOCK (lock)); }

void g_cond_init (GCond *cond) { cond->p = NULL; }
void g_cond_clear (GCond *cond) { clear_slot (&cond->p, cond_destroy); }
void g_cond_wait (GCond *cond, GMutex *mutex) { pthread_cond_wait (COND (cond), MUTEX (mutex)); }
void g_cond_signal (GCond *cond) { pthread_cond_signal (COND (cond)); }
void g_cond_broadcast (GCond *cond) { pthread_cond_broadcast (COND (cond)); }

gboolean
g_cond_wait_until (GCond  *cond,
                   GMutex *mutex,
                   gint64  end_time)
{
  struct timespec ts = { end_time / G_USEC_PER_SEC, (end_time % G_USEC_PER_SEC) * 1000 };

  return pthread_cond_timedwait (COND (cond), MUTEX (mutex), &ts) != ETIMEDOUT;
}
