/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "job-cache-entry-private.h"

/**
 * JobCacheEntry:
 *
 * One cached result of a [class@Joblib.MemorizedFunction], as listed by
 * [method@Joblib.Memory.list_entries]: which function, which arguments
 * (their hash), how big it is on disk, when it was last used and how long
 * it took to compute.
 *
 * An entry is a snapshot taken when the list was made; it does not follow
 * later changes of the cache. Its properties are read-only, and it may be
 * used from any thread.
 */
struct _JobCacheEntry
{
  GObject  parent_instance;
  char    *path;            /* (owned) the entry folder */
  char    *function_name;   /* (owned) */
  char    *args_hash;       /* (owned) */
  char    *input_args;      /* (owned) (nullable) */
  guint64  size;
  gint64   last_access;     /* Unix time, µs */
  gint64   created;         /* Unix time, µs */
  double   duration;
};

enum {
  PROP_0,
  PROP_FUNCTION_NAME,
  PROP_ARGS_HASH,
  PROP_SIZE,
  PROP_LAST_ACCESS,
  PROP_CREATED,
  PROP_DURATION,
  PROP_INPUT_ARGS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (JobCacheEntry, job_cache_entry, G_TYPE_OBJECT)

static GDateTime *
date_time_from_usec (gint64 usec)
{
  return g_date_time_new_from_unix_utc (usec / G_USEC_PER_SEC);
}

static void
job_cache_entry_finalize (GObject *object)
{
  JobCacheEntry *self = JOB_CACHE_ENTRY (object);

  g_free (self->path);
  g_free (self->function_name);
  g_free (self->args_hash);
  g_free (self->input_args);

  G_OBJECT_CLASS (job_cache_entry_parent_class)->finalize (object);
}

static void
job_cache_entry_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  JobCacheEntry *self = JOB_CACHE_ENTRY (object);

  switch (prop_id)
    {
    case PROP_FUNCTION_NAME:
      g_value_set_string (value, self->function_name);
      break;

    case PROP_ARGS_HASH:
      g_value_set_string (value, self->args_hash);
      break;

    case PROP_SIZE:
      g_value_set_uint64 (value, self->size);
      break;

    case PROP_LAST_ACCESS:
      g_value_take_boxed (value, date_time_from_usec (self->last_access));
      break;

    case PROP_CREATED:
      g_value_take_boxed (value, date_time_from_usec (self->created));
      break;

    case PROP_DURATION:
      g_value_set_double (value, self->duration);
      break;

    case PROP_INPUT_ARGS:
      g_value_set_string (value, self->input_args);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
job_cache_entry_class_init (JobCacheEntryClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->finalize = job_cache_entry_finalize;
  object_class->get_property = job_cache_entry_get_property;

  /**
   * JobCacheEntry:function-name:
   *
   * The name of the function the entry belongs to, as used for its cache
   * folder.
   */
  properties[PROP_FUNCTION_NAME] =
    g_param_spec_string ("function-name", NULL, NULL, NULL, flags);

  /**
   * JobCacheEntry:args-hash:
   *
   * The hash of the call's arguments (without the ignored ones), as
   * returned by [func@Joblib.hash_variant].
   */
  properties[PROP_ARGS_HASH] =
    g_param_spec_string ("args-hash", NULL, NULL, NULL, flags);

  /**
   * JobCacheEntry:size:
   *
   * The size of the entry's files on disk, in bytes.
   */
  properties[PROP_SIZE] =
    g_param_spec_uint64 ("size", NULL, NULL, 0, G_MAXUINT64, 0, flags);

  /**
   * JobCacheEntry:last-access:
   *
   * When the entry was last written or read back (UTC). Tracked by the
   * cache itself, so it is exact on `noatime` and `relatime` mounts.
   */
  properties[PROP_LAST_ACCESS] =
    g_param_spec_boxed ("last-access", NULL, NULL, G_TYPE_DATE_TIME, flags);

  /**
   * JobCacheEntry:created:
   *
   * When the result was computed and stored (UTC).
   */
  properties[PROP_CREATED] =
    g_param_spec_boxed ("created", NULL, NULL, G_TYPE_DATE_TIME, flags);

  /**
   * JobCacheEntry:duration:
   *
   * How long the computation took, in seconds; negative when unknown (the
   * entry's metadata is missing or unreadable).
   */
  properties[PROP_DURATION] =
    g_param_spec_double ("duration", NULL, NULL, -1.0, G_MAXDOUBLE, -1.0, flags);

  /**
   * JobCacheEntry:input-args:
   *
   * The arguments of the call, as text (`name=value, …` when the function
   * declares parameter names), or %NULL when unknown.
   */
  properties[PROP_INPUT_ARGS] =
    g_param_spec_string ("input-args", NULL, NULL, NULL, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
job_cache_entry_init (JobCacheEntry *self)
{
  self->duration = -1.0;
}

JobCacheEntry *
job_cache_entry_new (const char *path,
                     const char *function_name,
                     const char *args_hash,
                     guint64     size,
                     gint64      last_access,
                     gint64      created,
                     double      duration,
                     const char *input_args)
{
  JobCacheEntry *self = g_object_new (JOB_TYPE_CACHE_ENTRY, NULL);

  self->path = g_strdup (path);
  self->function_name = g_strdup (function_name);
  self->args_hash = g_strdup (args_hash);
  self->size = size;
  self->last_access = last_access;
  self->created = created;
  self->duration = duration;
  self->input_args = g_strdup (input_args);

  return self;
}

const char *
job_cache_entry_get_path (JobCacheEntry *self)
{
  return self->path;
}

gint64
job_cache_entry_get_last_access_usec (JobCacheEntry *self)
{
  return self->last_access;
}

/**
 * job_cache_entry_get_function_name:
 * @self: a #JobCacheEntry
 *
 * Gets the name of the function the entry belongs to.
 *
 * Returns: (transfer none): the function name
 */
const char *
job_cache_entry_get_function_name (JobCacheEntry *self)
{
  g_return_val_if_fail (JOB_IS_CACHE_ENTRY (self), NULL);

  return self->function_name;
}

/**
 * job_cache_entry_get_args_hash:
 * @self: a #JobCacheEntry
 *
 * Gets the hash of the call's arguments.
 *
 * Returns: (transfer none): the tagged hash (`xxh3-128:…`)
 */
const char *
job_cache_entry_get_args_hash (JobCacheEntry *self)
{
  g_return_val_if_fail (JOB_IS_CACHE_ENTRY (self), NULL);

  return self->args_hash;
}

/**
 * job_cache_entry_get_size:
 * @self: a #JobCacheEntry
 *
 * Gets the size of the entry on disk.
 *
 * Returns: the size in bytes
 */
guint64
job_cache_entry_get_size (JobCacheEntry *self)
{
  g_return_val_if_fail (JOB_IS_CACHE_ENTRY (self), 0);

  return self->size;
}

/**
 * job_cache_entry_get_last_access:
 * @self: a #JobCacheEntry
 *
 * Gets when the entry was last written or read.
 *
 * Returns: (transfer full): the time of the last access, in UTC
 */
GDateTime *
job_cache_entry_get_last_access (JobCacheEntry *self)
{
  g_return_val_if_fail (JOB_IS_CACHE_ENTRY (self), NULL);

  return date_time_from_usec (self->last_access);
}

/**
 * job_cache_entry_get_created:
 * @self: a #JobCacheEntry
 *
 * Gets when the result was stored.
 *
 * Returns: (transfer full): the creation time, in UTC
 */
GDateTime *
job_cache_entry_get_created (JobCacheEntry *self)
{
  g_return_val_if_fail (JOB_IS_CACHE_ENTRY (self), NULL);

  return date_time_from_usec (self->created);
}

/**
 * job_cache_entry_get_duration:
 * @self: a #JobCacheEntry
 *
 * Gets how long the computation took.
 *
 * Returns: the duration in seconds, negative when unknown
 */
double
job_cache_entry_get_duration (JobCacheEntry *self)
{
  g_return_val_if_fail (JOB_IS_CACHE_ENTRY (self), -1.0);

  return self->duration;
}

/**
 * job_cache_entry_get_input_args:
 * @self: a #JobCacheEntry
 *
 * Gets the arguments of the call as text, from the entry's metadata.
 *
 * Returns: (transfer none) (nullable): the arguments, or %NULL if unknown
 */
const char *
job_cache_entry_get_input_args (JobCacheEntry *self)
{
  g_return_val_if_fail (JOB_IS_CACHE_ENTRY (self), NULL);

  return self->input_args;
}

int
job_cache_entry_compare (gconstpointer a,
                         gconstpointer b)
{
  JobCacheEntry *ea = *(JobCacheEntry * const *) a;
  JobCacheEntry *eb = *(JobCacheEntry * const *) b;
  int by_function = strcmp (job_cache_entry_get_function_name (ea),
                            job_cache_entry_get_function_name (eb));

  if (by_function != 0)
    return by_function;
  return strcmp (job_cache_entry_get_args_hash (ea), job_cache_entry_get_args_hash (eb));
}
