/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GLib for ThreadSanitizer runs (tools/reliability.sh tsan).
 *
 * Debian's GLib is not built with ThreadSanitizer: its atomics and its
 * futex-based GMutex and GCond are invisible to TSan, so every access that
 * they order would be reported as a race. Preloaded (LD_PRELOAD) into the
 * test programs of the TSan build, this library makes what GLib really
 * synchronizes visible again:
 *
 *  - it replaces GLib primitives by instrumented equivalents: GMutex,
 *    GRecMutex, GRWLock and GCond by pthread objects (which TSan
 *    intercepts), g_atomic_ref_count_*() and g_once_init_enter/leave() by
 *    compiler atomics (which TSan instruments);
 *  - it tells TSan, with its annotation API (__tsan_release() before a
 *    hand-off, __tsan_acquire() where the other thread receives it), about
 *    the hand-offs that GLib orders with a lock or a sequentially
 *    consistent atomic on both sides: an item pushed to a GThreadPool and
 *    the pool function that gets it; a source attached to a GMainContext,
 *    or a g_main_context_invoke(), and the callback run by the owner of
 *    the context; g_cancellable_cancel() and a thread that sees the
 *    cancellable cancelled; the unrefs of a GObject or a GMainContext and
 *    its finalization; a GObject class initialized in one thread and used
 *    in another. GTask needs nothing of its own: GIO runs its threads on
 *    a GThreadPool and completes tasks from an idle source, through the
 *    functions here;
 *  - it keeps TSan from recording GLib's own memory accesses inside a few
 *    of those hand-offs (GLIB_ONLY_BEGIN below), which allocate memory that
 *    the other thread frees under a lock TSan cannot see.
 *
 * Only calls that go through the dynamic linker reach this library: calls
 * from our code, and calls from one GLib library into another (GIO's
 * GTask pushes to a GThreadPool and attaches its completion source through
 * libglib's exported functions). libglib and libgobject are linked with
 * -Bsymbolic-functions: what they do inside themselves stays invisible,
 * which is why GLib's internal pthread locks and the default GMainContext
 * get special care below.
 *
 * Every annotation stands for a guarantee of GLib, none for an assumption
 * about our own code: a race on data that our code shares without one of
 * these hand-offs is still reported, and tests/tsan.supp suppresses
 * nothing.
 *
 * GObject and GIO are only reached through dlsym() (the library links
 * libglib alone): the test environment preloads it into every program the
 * tests start, a worker script's shell among them, which must not run
 * libgobject's constructor (it takes GLib locks) without TSan running.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <sanitizer/tsan_interface.h>

#include <gio/gio.h>

/* The GLib functions defined here: declared by glib.h and gio.h already. */

/* The next definition of a function (GLib's own), found once. */
static gpointer
real_function (gpointer   *slot,
               const char *name)
{
  gpointer function = __atomic_load_n (slot, __ATOMIC_ACQUIRE);

  if (function == NULL)
    {
      function = dlsym (RTLD_NEXT, name);
      if (function == NULL)
        {
          fprintf (stderr, "glib-tsan-shim: no %s: %s\n", name, dlerror ());
          abort ();
        }
      __atomic_store_n (slot, function, __ATOMIC_RELEASE);
    }
  return function;
}

#define REAL(name) \
  ({ static gpointer real_##name; \
     (__typeof__ (&name)) real_function (&real_##name, #name); })

/* TSan's dynamic annotations (libtsan; no header declares them). */
void AnnotateIgnoreWritesBegin (const char *file, int line);
void AnnotateIgnoreWritesEnd (const char *file, int line);

/* Memory that GLib allocates for itself inside a hand-off (the node of a
 * GAsyncQueue, the idle source of g_main_context_invoke(), a GMainContext's
 * list of sources) is freed by the receiving thread, under a GLib lock TSan
 * cannot see. Memory accesses inside those calls, which run no code of ours,
 * are not recorded (AnnotateIgnoreWritesBegin ignores reads and writes):
 * TSan takes their allocations as fresh memory. Synchronization is still
 * recorded. Used around g_thread_pool_push(), g_thread_pool_free(),
 * g_source_attach(), g_main_context_invoke_full() (not around the function
 * when GLib calls it at once) and in a GThreadPool thread between items. */
#define GLIB_ONLY_BEGIN() AnnotateIgnoreWritesBegin (__FILE__, __LINE__)
#define GLIB_ONLY_END() AnnotateIgnoreWritesEnd (__FILE__, __LINE__)

/* Locks ------------------------------------------------------------------
 *
 * Each GLib lock holds a pointer to its pthread object, made on first use
 * (GLib locks may be zero-initialized statics), as GLib itself does on
 * platforms without futexes. */

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

/* GLib's own GRecMutex and GRWLock (libglib's calls into itself do not
 * come here) are pthread objects that GLib makes on first use and
 * publishes with an atomic compare-and-exchange: a thread that finds one
 * sees it initialized. The initialization releases, each lock operation
 * first acquires, on a sync object of their own (the lock's address plus
 * one): that orders the lock after its initialization, nothing more (a
 * failed trylock still orders nothing). */
#define INITIALIZED(lock) ((char *) (lock) + 1)

int
pthread_mutex_init (pthread_mutex_t           *mutex,
                    const pthread_mutexattr_t *attr)
{
  int result = REAL (pthread_mutex_init) (mutex, attr);

  __tsan_release (INITIALIZED (mutex));
  return result;
}

int
pthread_rwlock_init (pthread_rwlock_t           *lock,
                     const pthread_rwlockattr_t *attr)
{
  int result = REAL (pthread_rwlock_init) (lock, attr);

  __tsan_release (INITIALIZED (lock));
  return result;
}

#define LOCK_AFTER_INIT(name, type) \
  int name (type *lock) \
  { \
    __tsan_acquire (INITIALIZED (lock)); \
    return REAL (name) (lock); \
  }

LOCK_AFTER_INIT (pthread_mutex_lock, pthread_mutex_t)
LOCK_AFTER_INIT (pthread_mutex_trylock, pthread_mutex_t)
LOCK_AFTER_INIT (pthread_rwlock_rdlock, pthread_rwlock_t)
LOCK_AFTER_INIT (pthread_rwlock_tryrdlock, pthread_rwlock_t)
LOCK_AFTER_INIT (pthread_rwlock_wrlock, pthread_rwlock_t)
LOCK_AFTER_INIT (pthread_rwlock_trywrlock, pthread_rwlock_t)

/* Reference counts and one-time initialization ---------------------------
 *
 * GLib's versions are sequentially consistent atomics: the decrement that
 * reaches zero sees every earlier decrement's thread, and the thread that
 * reads a g_once_init_leave() value sees what was done to compute it. The
 * same with instrumented atomics. */

void
g_atomic_ref_count_init (gatomicrefcount *arc)
{
  __atomic_store_n (arc, 1, __ATOMIC_RELAXED);
}

void
g_atomic_ref_count_inc (gatomicrefcount *arc)
{
  int old = __atomic_fetch_add (arc, 1, __ATOMIC_RELAXED);

  g_return_if_fail (old > 0);
  if (old == G_MAXINT)
    g_critical ("Reference count has reached saturation");
}

gboolean
g_atomic_ref_count_dec (gatomicrefcount *arc)
{
  int old = __atomic_fetch_sub (arc, 1, __ATOMIC_ACQ_REL);

  g_return_val_if_fail (old > 0, FALSE);
  return old == 1;
}

gboolean
g_atomic_ref_count_compare (gatomicrefcount *arc,
                            gint             val)
{
  return __atomic_load_n (arc, __ATOMIC_ACQUIRE) == val;
}

static pthread_mutex_t once_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t once_cond = PTHREAD_COND_INITIALIZER;
static GSList *once_running;  /* (element-type gsize*): guarded by once_mutex */

gboolean
(g_once_init_enter) (volatile void *location)
{
  gsize *value = (gsize *) location;
  gboolean first = FALSE;

  if (__atomic_load_n (value, __ATOMIC_ACQUIRE) != 0)
    return FALSE;

  pthread_mutex_lock (&once_mutex);
  while (g_slist_find (once_running, value) != NULL)
    pthread_cond_wait (&once_cond, &once_mutex);
  if (__atomic_load_n (value, __ATOMIC_ACQUIRE) == 0)
    {
      once_running = g_slist_prepend (once_running, value);
      first = TRUE;
    }
  pthread_mutex_unlock (&once_mutex);
  return first;
}

void
(g_once_init_leave) (volatile void *location,
                     gsize          result)
{
  gsize *value = (gsize *) location;

  g_return_if_fail (result != 0);

  __atomic_store_n (value, result, __ATOMIC_RELEASE);
  pthread_mutex_lock (&once_mutex);
  once_running = g_slist_remove (once_running, value);
  pthread_cond_broadcast (&once_cond);
  pthread_mutex_unlock (&once_mutex);
}

/* GThreadPool ------------------------------------------------------------
 *
 * g_thread_pool_push() queues the item in a GAsyncQueue (a GMutex and a
 * GCond) that the pool's thread pops before calling the pool's function:
 * the push happens before the call. g_thread_pool_free() with wait_ TRUE
 * returns once the pool's threads finished their items. Pools made here
 * run a trampoline that tells TSan both. Pools GLib makes for itself
 * (GTask's) come here too when GIO makes them. */

typedef struct
{
  GFunc    func;
  gpointer user_data;
} PoolFunc;

/* Between two items, a pool's thread only runs GLib's own code: it moves
 * queue nodes and itself between pools under GLib's locks. Its accesses
 * are not recorded there (GLIB_ONLY_BEGIN), from the end of its first
 * item until its next item or its exit. */
static pthread_key_t pool_loop_key;
static pthread_once_t pool_loop_once = PTHREAD_ONCE_INIT;

static void
pool_loop_exit (gpointer value)
{
  /* TSan refuses a thread that ends with its accesses ignored. */
  GLIB_ONLY_END ();
}

static void
pool_loop_key_create (void)
{
  pthread_key_create (&pool_loop_key, pool_loop_exit);
}

static void
pool_trampoline (gpointer data,
                 gpointer user_data)
{
  PoolFunc *pool_func = user_data;

  pthread_once (&pool_loop_once, pool_loop_key_create);
  if (pthread_getspecific (pool_loop_key) != NULL)
    {
      pthread_setspecific (pool_loop_key, NULL);
      GLIB_ONLY_END ();
    }

  __tsan_acquire (data);
  __tsan_acquire (pool_func);
  pool_func->func (data, pool_func->user_data);
  __tsan_release (pool_func);

  GLIB_ONLY_BEGIN ();
  pthread_setspecific (pool_loop_key, pool_func);
}

GThreadPool *
g_thread_pool_new (GFunc     func,
                   gpointer  user_data,
                   gint      max_threads,
                   gboolean  exclusive,
                   GError  **error)
{
  PoolFunc *pool_func = g_new (PoolFunc, 1);
  GThreadPool *pool;

  pool_func->func = func;
  pool_func->user_data = user_data;
  /* The pool's threads may be older threads of GLib's shared pool. The
   * pool itself is GLib's: whichever of its threads is the last frees it,
   * under GLib's own lock. */
  __tsan_release (pool_func);
  GLIB_ONLY_BEGIN ();
  pool = REAL (g_thread_pool_new) (pool_trampoline, pool_func, max_threads,
                                   exclusive, error);
  GLIB_ONLY_END ();
  if (pool == NULL)
    g_free (pool_func);
  return pool;
}

gboolean
g_thread_pool_push (GThreadPool  *pool,
                    gpointer      data,
                    GError      **error)
{
  gboolean pushed;

  __tsan_release (data);
  GLIB_ONLY_BEGIN ();
  pushed = REAL (g_thread_pool_push) (pool, data, error);
  GLIB_ONLY_END ();
  return pushed;
}

void
g_thread_pool_free (GThreadPool *pool,
                    gboolean     immediate,
                    gboolean     wait_)
{
  PoolFunc *pool_func;

  /* The pool's last thread frees it: its fields are GLib's too. */
  GLIB_ONLY_BEGIN ();
  pool_func = pool->func == pool_trampoline ? pool->user_data : NULL;
  REAL (g_thread_pool_free) (pool, immediate, wait_);
  GLIB_ONLY_END ();
  /* Without waiting, the pool's threads may still run its function: the
   * small PoolFunc is left to them for good. */
  if (pool_func != NULL && wait_)
    {
      __tsan_acquire (pool_func);
      g_free (pool_func);
    }
}

/* GMainContext -----------------------------------------------------------
 *
 * g_source_attach() adds the source to its context under the context's
 * lock, which the owner of the context takes before it dispatches the
 * source: attaching happens before every dispatch of the source. The
 * callbacks of idle and timeout sources (GSourceFunc, the only kind of
 * callback this knows the type of) are wrapped to acquire what attaching
 * released. g_main_context_invoke() runs its function in the owner of the
 * context, after the call. */

typedef struct
{
  GSource       *source;
  GSourceFunc    func;
  gpointer       data;
  GDestroyNotify notify;
} SourceCallback;

static gboolean
source_trampoline (gpointer user_data)
{
  SourceCallback *callback = user_data;

  __tsan_acquire (callback);
  __tsan_acquire (callback->source);
  return callback->func (callback->data);
}

static void
source_callback_free (gpointer user_data)
{
  SourceCallback *callback = user_data;

  __tsan_acquire (callback);
  __tsan_acquire (callback->source);
  if (callback->notify != NULL)
    callback->notify (callback->data);
  g_free (callback);
}

void
g_source_set_callback (GSource        *source,
                       GSourceFunc     func,
                       gpointer        data,
                       GDestroyNotify  notify)
{
  SourceCallback *callback;

  if (source == NULL || func == NULL ||
      (source->source_funcs != &g_idle_funcs &&
       source->source_funcs != &g_timeout_funcs))
    {
      REAL (g_source_set_callback) (source, func, data, notify);
      return;
    }

  callback = g_new (SourceCallback, 1);
  callback->source = source;
  callback->func = func;
  callback->data = data;
  callback->notify = notify;
  __tsan_release (callback);
  REAL (g_source_set_callback) (source, source_trampoline, callback,
                                source_callback_free);
}

guint
g_source_attach (GSource      *source,
                 GMainContext *context)
{
  guint id;

  __tsan_release (source);
  GLIB_ONLY_BEGIN ();
  id = REAL (g_source_attach) (source, context);
  GLIB_ONLY_END ();
  return id;
}

typedef struct
{
  GSourceFunc    func;
  gpointer       data;
  GDestroyNotify notify;
} InvokeCall;

/* Set while this thread is inside g_main_context_invoke_full() with its
 * accesses ignored: GLib may call the function from there, and the
 * function's accesses count. */
static __thread gboolean in_invoke;

static gboolean
invoke_trampoline (gpointer user_data)
{
  InvokeCall *call = user_data;
  gboolean called_at_once = in_invoke;
  gboolean again;

  if (called_at_once)
    {
      in_invoke = FALSE;
      GLIB_ONLY_END ();
    }
  __tsan_acquire (call);
  again = call->func (call->data);
  if (called_at_once)
    {
      GLIB_ONLY_BEGIN ();
      in_invoke = TRUE;
    }
  return again;
}

static void
invoke_call_free (gpointer user_data)
{
  InvokeCall *call = user_data;
  gboolean called_at_once = in_invoke;

  if (called_at_once)
    {
      in_invoke = FALSE;
      GLIB_ONLY_END ();
    }
  __tsan_acquire (call);
  if (call->notify != NULL)
    call->notify (call->data);
  g_free (call);
  if (called_at_once)
    {
      GLIB_ONLY_BEGIN ();
      in_invoke = TRUE;
    }
}

void
g_main_context_invoke_full (GMainContext   *context,
                            gint            priority,
                            GSourceFunc     function,
                            gpointer        data,
                            GDestroyNotify  notify)
{
  InvokeCall *call = g_new (InvokeCall, 1);
  gboolean outer_in_invoke = in_invoke;

  call->func = function;
  call->data = data;
  call->notify = notify;
  __tsan_release (call);
  in_invoke = TRUE;
  GLIB_ONLY_BEGIN ();
  REAL (g_main_context_invoke_full) (context, priority, invoke_trampoline,
                                     call, invoke_call_free);
  GLIB_ONLY_END ();
  in_invoke = outer_in_invoke;
}

void
g_main_context_invoke (GMainContext *context,
                       GSourceFunc   function,
                       gpointer      data)
{
  g_main_context_invoke_full (context, G_PRIORITY_DEFAULT, function, data, NULL);
}

/* GCancellable -----------------------------------------------------------
 *
 * g_cancellable_cancel() sets the cancelled flag under GIO's cancellable
 * lock, and g_cancellable_is_cancelled() reads it with a sequentially
 * consistent atomic: a thread that sees the cancellable cancelled sees
 * what the cancelling thread did before cancelling it. Handlers connected
 * to an already cancelled cancellable run in the connecting thread. */

void
g_cancellable_cancel (GCancellable *cancellable)
{
  if (cancellable != NULL)
    __tsan_release (cancellable);
  REAL (g_cancellable_cancel) (cancellable);
}

gboolean
g_cancellable_is_cancelled (GCancellable *cancellable)
{
  gboolean cancelled = REAL (g_cancellable_is_cancelled) (cancellable);

  if (cancelled)
    __tsan_acquire (cancellable);
  return cancelled;
}

gboolean
g_cancellable_set_error_if_cancelled (GCancellable  *cancellable,
                                      GError       **error)
{
  gboolean cancelled = REAL (g_cancellable_set_error_if_cancelled) (cancellable, error);

  if (cancelled)
    __tsan_acquire (cancellable);
  return cancelled;
}

gulong
g_cancellable_connect (GCancellable   *cancellable,
                       GCallback       callback,
                       gpointer        data,
                       GDestroyNotify  data_destroy_func)
{
  g_cancellable_is_cancelled (cancellable);
  return REAL (g_cancellable_connect) (cancellable, callback, data, data_destroy_func);
}

/* GObject ----------------------------------------------------------------
 *
 * g_object_unref() drops the reference with a sequentially consistent
 * atomic, and finalizes the object when it drops the last one: every
 * thread's unref happens before the finalization. Each unref releases;
 * the finalizing thread acquires, from a weak reference that GLib notifies
 * once the last reference is gone, just before finalize(). Objects made
 * here (all but those libgobject makes for itself) get that weak
 * reference; for others, an unref that starts with the only reference
 * acquires. */

void
g_object_unref (gpointer object)
{
  if (object != NULL)
    {
      /* Read before the release: the finalizing thread must see it. */
      gboolean last = __atomic_load_n (&((GObject *) object)->ref_count,
                                       __ATOMIC_SEQ_CST) == 1;

      __tsan_release (object);
      if (last)
        __tsan_acquire (object);
    }
  REAL (g_object_unref) (object);
}

static void
object_finalizing (gpointer  data,
                   GObject  *where_the_object_was)
{
  __tsan_acquire (where_the_object_was);
}

static GObject *
watch_finalize (GObject *object)
{
  static GQuark watched;  /* (atomic) */
  GQuark quark = __atomic_load_n (&watched, __ATOMIC_ACQUIRE);

  if (quark == 0)
    {
      quark = g_quark_from_static_string ("glib-tsan-shim-watched");
      __atomic_store_n (&watched, quark, __ATOMIC_RELEASE);
    }
  /* A constructor may return an existing object: watched once. */
  if (object != NULL && REAL (g_object_get_qdata) (object, quark) == NULL)
    {
      REAL (g_object_set_qdata) (object, quark, GINT_TO_POINTER (TRUE));
      REAL (g_object_weak_ref) (object, object_finalizing, NULL);
    }
  return object;
}

/* GMainContext's reference count: the int at byte 48 of GLib 2.74's
 * private struct (gmain.c). Checked once against g_main_context_ref(). */
#define MAIN_CONTEXT_REF_COUNT(context) ((gint *) ((char *) (context) + 48))

static void
check_main_context_layout (void)
{
  GMainContext *context = g_main_context_new ();
  gboolean right = *MAIN_CONTEXT_REF_COUNT (context) == 1;

  g_main_context_ref (context);
  right = right && *MAIN_CONTEXT_REF_COUNT (context) == 2;
  REAL (g_main_context_unref) (context);
  REAL (g_main_context_unref) (context);
  if (!right)
    {
      fprintf (stderr, "glib-tsan-shim: this GLib's GMainContext has another layout\n");
      abort ();
    }
}

/* GLib may make a context in one thread and hand it to another through
 * its own, invisible, synchronization: the default context is made by the
 * first thread that asks for it. Peeking at its count is not checked. */
__attribute__ ((no_sanitize_thread)) static gint
peek_main_context_ref_count (GMainContext *context)
{
  return *(volatile gint *) MAIN_CONTEXT_REF_COUNT (context);
}

/* The same rule as g_object_unref(): the context is freed, its wakeup
 * file descriptor closed, by the thread that drops the last reference. */
void
g_main_context_unref (GMainContext *context)
{
  static pthread_once_t layout_once = PTHREAD_ONCE_INIT;

  pthread_once (&layout_once, check_main_context_layout);
  if (context != NULL)
    {
      gboolean last = peek_main_context_ref_count (context) == 1;

      __tsan_release (context);
      if (last)
        __tsan_acquire (context);
    }
  REAL (g_main_context_unref) (context);
}

/* GObject classes ----------------------------------------------------------
 *
 * A class is initialized once, under GLib's type locks, and GLib publishes
 * it with an atomic: any thread that creates an instance sees the class
 * whole. Type checks and virtual calls then read the class. The first
 * object of a class made here initializes the class under a lock of this
 * library and marks the class ready with a release; later creations acquire
 * that mark. */

#define N_READY_CLASSES 4096
static GType ready_classes[N_READY_CLASSES];  /* (atomic): 0 or a type */
static pthread_mutex_t class_lock = PTHREAD_MUTEX_INITIALIZER;

static GType *
ready_slot (GType type)
{
  guint i = (guint) (type >> 2) % N_READY_CLASSES;

  for (guint n = 0; n < N_READY_CLASSES; n++, i = (i + 1) % N_READY_CLASSES)
    {
      GType found = __atomic_load_n (&ready_classes[i], __ATOMIC_ACQUIRE);

      if (found == type || found == 0)
        return &ready_classes[i];
    }
  fprintf (stderr, "glib-tsan-shim: over %d classes\n", N_READY_CLASSES);
  abort ();
}

static void
class_acquire (GType type)
{
  GType *slot;

  if (!REAL (g_type_is_a) (type, G_TYPE_OBJECT))
    return;  /* GLib reports it */
  if (__atomic_load_n (ready_slot (type), __ATOMIC_ACQUIRE) == type)
    return;

  pthread_mutex_lock (&class_lock);
  slot = ready_slot (type);
  if (__atomic_load_n (slot, __ATOMIC_ACQUIRE) != type)
    {
      REAL (g_type_class_unref) (REAL (g_type_class_ref) (type));
      __atomic_store_n (slot, type, __ATOMIC_RELEASE);
    }
  pthread_mutex_unlock (&class_lock);
}

gpointer
g_object_new (GType       object_type,
              const char *first_property_name,
              ...)
{
  GObject *object;
  va_list args;

  class_acquire (object_type);
  va_start (args, first_property_name);
  object = REAL (g_object_new_valist) (object_type, first_property_name, args);
  va_end (args);
  return watch_finalize (object);
}

GObject *
g_object_new_valist (GType       object_type,
                     const char *first_property_name,
                     va_list     var_args)
{
  class_acquire (object_type);
  return watch_finalize (REAL (g_object_new_valist) (object_type, first_property_name,
                                                     var_args));
}

GObject *
g_object_new_with_properties (GType         object_type,
                              guint         n_properties,
                              const char   *names[],
                              const GValue  values[])
{
  class_acquire (object_type);
  return watch_finalize (REAL (g_object_new_with_properties) (object_type, n_properties,
                                                             names, values));
}

G_GNUC_BEGIN_IGNORE_DEPRECATIONS
gpointer
g_object_newv (GType       object_type,
               guint       n_parameters,
               GParameter *parameters)
{
  class_acquire (object_type);
  return watch_finalize (REAL (g_object_newv) (object_type, n_parameters, parameters));
}
G_GNUC_END_IGNORE_DEPRECATIONS
