/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <math.h>


#include "job-cache-evict-private.h"
#include "job-cache-clear-private.h"
#include "job-cache-reclaimer-private.h"
#include "job-cache-entry-private.h"
#include "job-compression.h"
#include "job-error.h"
#include "job-i18n-private.h"
#include "job-memorized-function-private.h"
#include "job-cache-settings-private.h"
#include "job-memory-private.h"

/**
 * JobMemory:
 *
 * A disk cache of function results: joblib's `Memory`.
 *
 * ```c
 * g_autoptr(JobMemory) memory = job_memory_new_for_path ("cache-dir");
 * g_autoptr(JobMemorizedFunction) cached =
 *   job_memory_cache (memory, my_function, NULL);
 * // computes, stores, returns
 * result = job_memorized_function_call (cached, g_variant_new ("(i)", 3), NULL, &error);
 * // loads from the cache
 * result = job_memorized_function_call (cached, g_variant_new ("(i)", 3), NULL, &error);
 * ```
 *
 * Results live under [property@Joblib.Memory:location], in
 * `joblib-glib/<function name>/<arguments hash>/`: the result in `output`
 * and the call's description (duration, time, arguments as text) in
 * `metadata.json`. The function's version is kept beside its entries in
 * `version`; when it changes, the function's entries are cleared with a
 * warning. Entries are written in a temporary folder and renamed in place,
 * so a reader never sees half an entry; a corrupt entry is recomputed.
 *
 * Unlike joblib, the cache can bound itself
 * ([property@Joblib.Memory:bytes-limit],
 * [property@Joblib.Memory:items-limit], [property@Joblib.Memory:age-limit],
 * checked after every write, least recently used entries first, with
 * access times that the cache records itself so that they work on
 * `noatime` mounts), and concurrent identical calls, from threads or from
 * processes sharing the location, compute once while the others wait for
 * the result.
 *
 * The location is a local folder, or any location GIO can write:
 * `sftp://`, `smb://`, `dav://`… through GVfs, mounted on first use
 * without prompting for a password. Local folders get the fast paths
 * (plain system calls, mmap); elsewhere every operation works through
 * GFile, with the guarantees the location allows: an entry still appears
 * whole where folders can be moved (sftp, smb, dav), and a torn entry is
 * never read as valid anywhere; across processes, single flight uses a
 * lock file created exclusively instead of `flock()`, and
 * [property@Joblib.Memory:mmap] has no effect (see the "more than one
 * machine" page). With a location that cannot be written, functions are
 * still computed, with a warning, and nothing is cached.
 *
 * Thread safety: the properties are meant to be set before the memory is
 * shared; the other methods may be called from any thread.
 */
struct _JobMemory
{
  GObject           parent_instance;
  GFile            *location;   /* (owned) */
  /* Everything but the location; handed down to memorized functions. */
  JobCacheSettings *settings;   /* (owned) */
};

enum {
  PROP_0,
  PROP_LOCATION,
  PROP_COMPRESSION,
  PROP_MMAP,
  PROP_VERBOSE,
  PROP_BYTES_LIMIT,
  PROP_ITEMS_LIMIT,
  PROP_AGE_LIMIT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (JobMemory, job_memory, G_TYPE_OBJECT)

static void
job_memory_finalize (GObject *object)
{
  JobMemory *self = JOB_MEMORY (object);

  g_clear_object (&self->location);
  g_clear_pointer (&self->settings, job_cache_settings_unref);

  G_OBJECT_CLASS (job_memory_parent_class)->finalize (object);
}

static void
job_memory_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  JobMemory *self = JOB_MEMORY (object);

  switch (prop_id)
    {
    case PROP_LOCATION:
      g_value_set_object (value, self->location);
      break;

    case PROP_COMPRESSION:
      g_value_set_string (value, self->settings->compression);
      break;

    case PROP_MMAP:
      g_value_set_boolean (value, self->settings->mmap);
      break;

    case PROP_VERBOSE:
      g_value_set_int (value, self->settings->verbose);
      break;

    case PROP_BYTES_LIMIT:
      g_value_set_uint64 (value, self->settings->bytes_limit);
      break;

    case PROP_ITEMS_LIMIT:
      g_value_set_uint (value, self->settings->items_limit);
      break;

    case PROP_AGE_LIMIT:
      g_value_set_double (value, self->settings->age_limit);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
job_memory_set_property (GObject      *object,
                         guint         prop_id,
                         const GValue *value,
                         GParamSpec   *pspec)
{
  JobMemory *self = JOB_MEMORY (object);

  switch (prop_id)
    {
    case PROP_LOCATION:
      {
        g_autofree char *path = NULL;
        JobCacheSettings *settings;

        self->location = g_value_dup_object (value);
        /* Native folders take the system-call paths; any other location
         * (sftp:// even where GVfs offers a FUSE path) goes through GIO,
         * by its URI. */
        if (self->location != NULL)
          path = g_file_is_native (self->location) ? g_file_get_path (self->location)
                                                   : g_file_get_uri (self->location);
        /* init made one without a location; carry its fields over */
        settings = job_cache_settings_new (path);
        /* No network round trip while constructing: remote trash goes
         * at the next clear. */
        if (path != NULL && !job_cache_path_is_uri (path))
          job_cache_clear_sweep (path);
        job_cache_settings_set_compression (settings, self->settings->compression);
        settings->mmap = self->settings->mmap;
        settings->verbose = self->settings->verbose;
        settings->bytes_limit = self->settings->bytes_limit;
        settings->items_limit = self->settings->items_limit;
        settings->age_limit = self->settings->age_limit;
        job_cache_settings_unref (self->settings);
        self->settings = settings;
      }
      break;

    case PROP_COMPRESSION:
      job_memory_set_compression (self, g_value_get_string (value));
      break;

    case PROP_MMAP:
      job_memory_set_mmap (self, g_value_get_boolean (value));
      break;

    case PROP_VERBOSE:
      job_memory_set_verbose (self, g_value_get_int (value));
      break;

    case PROP_BYTES_LIMIT:
      job_memory_set_bytes_limit (self, g_value_get_uint64 (value));
      break;

    case PROP_ITEMS_LIMIT:
      job_memory_set_items_limit (self, g_value_get_uint (value));
      break;

    case PROP_AGE_LIMIT:
      job_memory_set_age_limit (self, g_value_get_double (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
job_memory_class_init (JobMemoryClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->finalize = job_memory_finalize;
  object_class->get_property = job_memory_get_property;
  object_class->set_property = job_memory_set_property;

  /**
   * JobMemory:location:
   *
   * The folder that holds the cache (in its `joblib-glib` subfolder): a
   * local folder, or any location GIO can write (`sftp://` through GVfs).
   */
  properties[PROP_LOCATION] =
    g_param_spec_object ("location", NULL, NULL, G_TYPE_FILE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * JobMemory:compression:
   *
   * The codec that compresses stored results, by name (`zlib`, `zstd`,
   * `lz4`…, see [enum@Joblib.Compression]), optionally with a level
   * (`zstd:9`), or %NULL to store them uncompressed (the default, the
   * fastest to load, and the only form that [property@Joblib.Memory:mmap]
   * maps). An unknown name makes every store fail with a warning.
   */
  properties[PROP_COMPRESSION] =
    g_param_spec_string ("compression", NULL, NULL, NULL, flags);

  /**
   * JobMemory:mmap:
   *
   * Whether stored results are loaded by mapping their file into memory
   * instead of reading it: big arrays then load without a copy.
   */
  properties[PROP_MMAP] =
    g_param_spec_boolean ("mmap", NULL, NULL, FALSE, flags);

  /**
   * JobMemory:verbose:
   *
   * How much to print on standard output: 0 nothing, 1 every computation
   * and its duration, 2 also every result loaded from the cache.
   */
  properties[PROP_VERBOSE] =
    g_param_spec_int ("verbose", NULL, NULL, 0, G_MAXINT, 0, flags);

  /**
   * JobMemory:bytes-limit:
   *
   * The most bytes the cache keeps on disk; 0 for no limit. Checked
   * after every write: past it, the least recently used entries are
   * removed down to a tenth below it.
   */
  properties[PROP_BYTES_LIMIT] =
    g_param_spec_uint64 ("bytes-limit", NULL, NULL, 0, G_MAXUINT64, 0, flags);

  /**
   * JobMemory:items-limit:
   *
   * The most entries the cache keeps; 0 for no limit. Checked after
   * every write: past it, the least recently used entries are removed
   * down to a tenth below it.
   */
  properties[PROP_ITEMS_LIMIT] =
    g_param_spec_uint ("items-limit", NULL, NULL, 0, G_MAXUINT, 0, flags);

  /**
   * JobMemory:age-limit:
   *
   * Entries not used for longer than this many seconds are removed by
   * the writes that follow (checked at least every quarter of the limit);
   * 0 or infinity for no limit.
   */
  properties[PROP_AGE_LIMIT] =
    g_param_spec_double ("age-limit", NULL, NULL, 0, INFINITY, 0, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
job_memory_init (JobMemory *self)
{
  self->settings = job_cache_settings_new (NULL);
}

/**
 * job_memory_new:
 * @location: the folder of the cache
 *
 * Creates a cache in @location (created on first write).
 *
 * Returns: (transfer full): a new #JobMemory
 */
JobMemory *
job_memory_new (GFile *location)
{
  g_return_val_if_fail (G_IS_FILE (location), NULL);

  return g_object_new (JOB_TYPE_MEMORY, "location", location, NULL);
}

/**
 * job_memory_new_for_path:
 * @path: (type filename): the folder of the cache
 *
 * Creates a cache in the folder @path (created on first write).
 *
 * Returns: (transfer full): a new #JobMemory
 */
JobMemory *
job_memory_new_for_path (const char *path)
{
  g_autoptr(GFile) location = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  location = g_file_new_for_path (path);
  return job_memory_new (location);
}

/* The cache of a reference (job-memory-reference.c): @settings, location
 * included, replace the default ones. */
JobMemory *
job_memory_new_with_settings (GFile            *location,
                              JobCacheSettings *settings)
{
  JobMemory *self = job_memory_new (location);

  job_cache_settings_unref (self->settings);
  self->settings = job_cache_settings_ref (settings);
  return self;
}

JobCacheSettings *
job_memory_get_settings (JobMemory *self)
{
  return self->settings;
}

/**
 * job_memory_get_location:
 * @self: a #JobMemory
 *
 * Gets the folder of the cache.
 *
 * Returns: (transfer none): the location
 */
GFile *
job_memory_get_location (JobMemory *self)
{
  g_return_val_if_fail (JOB_IS_MEMORY (self), NULL);

  return self->location;
}

/**
 * job_memory_get_compression:
 * @self: a #JobMemory
 *
 * Gets the codec of stored results.
 *
 * Returns: (transfer none) (nullable): the codec name, or %NULL
 */
const char *
job_memory_get_compression (JobMemory *self)
{
  g_return_val_if_fail (JOB_IS_MEMORY (self), NULL);

  return self->settings->compression;
}

/**
 * job_memory_set_compression:
 * @self: a #JobMemory
 * @compression: (nullable): a codec name, or %NULL for none
 *
 * Sets the codec of results stored from now on (`"zstd"`, `"gzip:6"`…).
 * Entries already stored keep theirs: loading detects it.
 *
 * An unknown codec or a level out of its range is a programming error: it
 * is reported with a critical and the setting is left unchanged, so that
 * caching never stops later, at call time. Check a setting that comes
 * from a user with [func@Joblib.Compression.parse] first.
 */
void
job_memory_set_compression (JobMemory  *self,
                            const char *compression)
{
  g_autoptr(GError) error = NULL;

  g_return_if_fail (JOB_IS_MEMORY (self));

  if (!job_compression_parse (compression, NULL, NULL, &error))
    {
      g_critical ("%s: %s", G_STRFUNC, error->message);
      return;
    }

  if (g_strcmp0 (self->settings->compression, compression) == 0)
    return;
  job_cache_settings_set_compression (self->settings, compression);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COMPRESSION]);
}

/**
 * job_memory_get_mmap:
 * @self: a #JobMemory
 *
 * Whether results are loaded by mapping their files.
 *
 * Returns: %TRUE if results are memory-mapped
 */
gboolean
job_memory_get_mmap (JobMemory *self)
{
  g_return_val_if_fail (JOB_IS_MEMORY (self), FALSE);

  return self->settings->mmap;
}

/**
 * job_memory_set_mmap:
 * @self: a #JobMemory
 * @mmap: whether to map result files
 *
 * Sets whether results are loaded by mapping their files into memory.
 */
void
job_memory_set_mmap (JobMemory *self,
                     gboolean   mmap)
{
  g_return_if_fail (JOB_IS_MEMORY (self));

  mmap = !!mmap;
  if (self->settings->mmap == mmap)
    return;
  self->settings->mmap = mmap;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MMAP]);
}

/**
 * job_memory_get_verbose:
 * @self: a #JobMemory
 *
 * Gets the verbosity level.
 *
 * Returns: the verbosity level
 */
int
job_memory_get_verbose (JobMemory *self)
{
  g_return_val_if_fail (JOB_IS_MEMORY (self), 0);

  return self->settings->verbose;
}

/**
 * job_memory_set_verbose:
 * @self: a #JobMemory
 * @verbose: the verbosity level
 *
 * Sets how much the cache prints (see [property@Joblib.Memory:verbose]).
 */
void
job_memory_set_verbose (JobMemory *self,
                        int        verbose)
{
  g_return_if_fail (JOB_IS_MEMORY (self));

  if (self->settings->verbose == verbose)
    return;
  self->settings->verbose = verbose;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VERBOSE]);
}

/**
 * job_memory_get_bytes_limit:
 * @self: a #JobMemory
 *
 * Gets the size limit of the cache.
 *
 * Returns: the limit in bytes, 0 for none
 */
guint64
job_memory_get_bytes_limit (JobMemory *self)
{
  g_return_val_if_fail (JOB_IS_MEMORY (self), 0);

  return self->settings->bytes_limit;
}

/**
 * job_memory_set_bytes_limit:
 * @self: a #JobMemory
 * @bytes_limit: the limit in bytes, 0 for none
 *
 * Sets the size limit that every write enforces.
 */
void
job_memory_set_bytes_limit (JobMemory *self,
                            guint64    bytes_limit)
{
  g_return_if_fail (JOB_IS_MEMORY (self));

  if (self->settings->bytes_limit == bytes_limit)
    return;
  self->settings->bytes_limit = bytes_limit;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BYTES_LIMIT]);
}

/**
 * job_memory_get_items_limit:
 * @self: a #JobMemory
 *
 * Gets the entry count limit of the cache.
 *
 * Returns: the most entries kept, 0 for no limit
 */
guint
job_memory_get_items_limit (JobMemory *self)
{
  g_return_val_if_fail (JOB_IS_MEMORY (self), 0);

  return self->settings->items_limit;
}

/**
 * job_memory_set_items_limit:
 * @self: a #JobMemory
 * @items_limit: the most entries kept, 0 for no limit
 *
 * Sets the entry count limit that every write enforces.
 */
void
job_memory_set_items_limit (JobMemory *self,
                            guint      items_limit)
{
  g_return_if_fail (JOB_IS_MEMORY (self));

  if (self->settings->items_limit == items_limit)
    return;
  self->settings->items_limit = items_limit;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ITEMS_LIMIT]);
}

/**
 * job_memory_get_age_limit:
 * @self: a #JobMemory
 *
 * Gets the age limit of the cache's entries.
 *
 * Returns: the limit in seconds since last use, 0 for none
 */
double
job_memory_get_age_limit (JobMemory *self)
{
  g_return_val_if_fail (JOB_IS_MEMORY (self), 0);

  return self->settings->age_limit;
}

/**
 * job_memory_set_age_limit:
 * @self: a #JobMemory
 * @age_limit: the limit in seconds since last use, 0 for none
 *
 * Sets the age limit that every write enforces.
 */
void
job_memory_set_age_limit (JobMemory *self,
                          double     age_limit)
{
  g_return_if_fail (JOB_IS_MEMORY (self));
  g_return_if_fail (age_limit >= 0);

  if (self->settings->age_limit == age_limit)
    return;
  self->settings->age_limit = age_limit;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_AGE_LIMIT]);
}

/**
 * job_memory_cache:
 * @self: a #JobMemory
 * @function: the function whose results to cache
 * @ignore: (nullable) (array zero-terminated=1): arguments that do not
 *   change the result (a verbosity flag, a worker count), by parameter name
 *   (see [property@Joblib.Function:parameter-names]) or by position
 *   (`"0"`, `"1"`…)
 *
 * Wraps @function in a function that caches its results in @self:
 * joblib's `memory.cache(f, ignore=[…])`. The wrapper is a
 * [class@Joblib.Function] with the same name, version and parameter
 * names, so it can be called through [class@Joblib.Parallel] too.
 *
 * An @ignore name that is neither a parameter name of @function nor a
 * position is a programming error.
 *
 * Returns: (transfer full): the cached function
 */
JobMemorizedFunction *
job_memory_cache (JobMemory          *self,
                  JobFunction        *function,
                  const char * const *ignore)
{
  g_autoptr(GArray) positions = NULL;
  g_autoptr(GError) error = NULL;

  g_return_val_if_fail (JOB_IS_MEMORY (self), NULL);
  g_return_val_if_fail (JOB_IS_FUNCTION (function), NULL);

  positions = job_memorized_ignore_positions (function, ignore, &error);
  if (positions == NULL)
    {
      g_critical ("%s: %s", G_STRFUNC, error->message);
      return NULL;
    }
  return job_memorized_function_new (self, self->settings, function, ignore, positions);
}

/**
 * job_memory_clear:
 * @self: a #JobMemory
 * @error: return location for a #GError
 *
 * Removes every cached result of every function of the cache.
 *
 * On a local location the whole tree is renamed away in one step: when
 * this returns, no call, lookup or listing (in this process or another)
 * sees any of the entries, and none sees one half removed. The files
 * themselves are deleted afterwards on a background thread, so the disk
 * space comes back shortly after; [method@Joblib.Memory.wait_reclaimed]
 * waits for it (for example before removing the location folder). A
 * process that exits normally waits for it too; the leftovers of one that
 * is killed are removed by the next #JobMemory opened on the location.
 * A remote (GIO) location is emptied before this returns.
 *
 * Thread safety: callable from any thread.
 *
 * Returns: %TRUE on success
 */
gboolean
job_memory_clear (JobMemory  *self,
                  GError    **error)
{
  const char *root;

  g_return_val_if_fail (JOB_IS_MEMORY (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  job_cache_settings_next_generation (self->settings);
  root = self->settings->root;
  if (job_cache_path_is_uri (root))
    return job_cache_gio_store_clear (root, error);
  return job_cache_clear_tree (root, error);
}

/**
 * job_memory_reduce_size:
 * @self: a #JobMemory
 * @bytes_limit: the most bytes to keep, 0 for no limit
 * @items_limit: the most entries to keep, 0 for no limit
 * @age_limit: remove entries unused for longer than this many seconds,
 *   0 for no limit
 * @n_removed: (out) (optional): how many entries were removed
 * @error: return location for a #GError
 *
 * Removes entries, least recently used first, until the cache fits the
 * given limits: joblib's `reduce_size`. The memory's own limits are
 * applied after every write; this applies other ones once.
 *
 * As for [method@Joblib.Memory.clear], each removed entry is renamed away
 * in one step before this returns, and its files are deleted on a
 * background thread ([method@Joblib.Memory.wait_reclaimed] waits for it).
 *
 * Returns: %TRUE on success
 */
gboolean
job_memory_reduce_size (JobMemory  *self,
                        guint64     bytes_limit,
                        guint       items_limit,
                        double      age_limit,
                        guint      *n_removed,
                        GError    **error)
{
  g_autoptr(GError) local_error = NULL;
  guint removed = 0;

  g_return_val_if_fail (JOB_IS_MEMORY (self), FALSE);
  g_return_val_if_fail (age_limit >= 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->settings->root != NULL)
    removed = job_cache_evict (self->settings->root, bytes_limit, items_limit,
                                     age_limit, NULL, NULL, &local_error);
  if (n_removed != NULL)
    *n_removed = removed;
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  return TRUE;
}

/**
 * job_memory_wait_reclaimed:
 * @self: a #JobMemory
 *
 * Waits until the files of the entries that this process took away from
 * the cache at this memory's location (through
 * [method@Joblib.Memory.clear], [method@Joblib.Memory.reduce_size],
 * [method@Joblib.MemorizedFunction.clear], eviction on write, from any
 * #JobMemory on the same location) are deleted: no name of them is left,
 * so the location folder can be removed. Removals from caches at other
 * locations are not waited for. The calling thread deletes the files
 * that no background thread has started on yet, rather than waiting for
 * one to get to them. The files are kept open while they are unlinked
 * and closed afterwards on a background thread, which is when the file
 * system frees their blocks: the disk space comes back shortly after
 * this returns (a process that exits normally waits for that too). The
 * entries were already invisible to every reader when those calls
 * returned; this only matters to code that removes the location folder
 * itself or measures what is left in it.
 *
 * Thread safety: callable from any thread; it blocks.
 */
void
job_memory_wait_reclaimed (JobMemory *self)
{
  g_return_if_fail (JOB_IS_MEMORY (self));

  if (self->settings->root != NULL && !job_cache_path_is_uri (self->settings->root))
    job_cache_reclaimer_wait_root (self->settings->root);
}

/**
 * job_memory_list_entries:
 * @self: a #JobMemory
 *
 * Lists the entries of the cache, sorted by function name then arguments
 * hash, for example to show them in a `GtkColumnView`. The list is a
 * snapshot: it does not follow later changes.
 *
 * Thread safety: callable from any thread; it reads the disk, so a GUI
 * should call it from a worker thread for big caches.
 *
 * Returns: (transfer full): a list of [class@Joblib.CacheEntry]
 */
GListModel *
job_memory_list_entries (JobMemory *self)
{
  GListStore *store;
  g_autoptr(GPtrArray) entries = NULL;

  g_return_val_if_fail (JOB_IS_MEMORY (self), NULL);

  store = g_list_store_new (JOB_TYPE_CACHE_ENTRY);
  if (self->settings->root == NULL)
    return G_LIST_MODEL (store);

  entries = job_cache_store_scan (self->settings->root, NULL, TRUE);
  g_ptr_array_sort (entries, job_cache_entry_compare);
  g_list_store_splice (store, 0, 0, entries->pdata, entries->len);

  return G_LIST_MODEL (store);
}
