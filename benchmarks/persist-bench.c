/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* job_dump/job_load timings, one JSON line per measurement, for
 * persist-compare.py. Usage: persist-bench ARRAY.npy DIR CODEC[:LEVEL]...
 * The array comes from a .npy file so that both sides use the same data. */
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>
#include <joblib-glib.h>

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  gdouble x = *(const gdouble *) a, y = *(const gdouble *) b;

  return (x > y) - (x < y);
}

static gdouble
median (gdouble *v, guint n)
{
  qsort (v, n, sizeof *v, compare_doubles);
  return v[n / 2];
}

/* VmRSS or VmHWM in bytes. */
static guint64
status_bytes (const char *key)
{
  g_autofree char *status = NULL;
  const char *line;

  g_file_get_contents ("/proc/self/status", &status, NULL, NULL);
  line = strstr (status, key);
  return line ? g_ascii_strtoull (line + strlen (key) + 1, NULL, 10) * 1024 : 0;
}

/* g_variant_equal prints containers to text to compare them: a minute for
 * 80 MB of doubles. Equal serialized bytes are the same value, as both are
 * in normal form. */
static gboolean
same_bytes (GVariant *a, GVariant *b)
{
  gsize n = g_variant_get_size (a);

  return g_variant_is_of_type (a, g_variant_get_type (b)) && n == g_variant_get_size (b) &&
         memcmp (g_variant_get_data (a), g_variant_get_data (b), n) == 0;
}

/* Resets VmHWM to the current RSS (Linux 4.0+). Not g_file_set_contents:
 * that writes a temporary file and renames it, which /proc refuses. */
static void
reset_peak (void)
{
  FILE *f = fopen ("/proc/self/clear_refs", "w");

  if (f != NULL)
    {
      fputs ("5", f);
      fclose (f);
    }
}

/* The first element of a loaded value, read as a user would: the first
 * byte of an array's data, or of a container's first child. */
static guint8
first_element (GVariant *value)
{
  g_autoptr(GVariant) child = NULL;

  if (g_variant_is_of_type (value, JOB_ARRAY_VARIANT_TYPE))
    child = g_variant_get_child_value (value, 3);
  else if (g_variant_is_container (value) && g_variant_n_children (value) > 0)
    child = g_variant_get_child_value (value, 0);
  else
    child = g_variant_ref (value);
  return g_variant_get_size (child) > 0 ? *(const guint8 *) g_variant_get_data (child) : 0;
}

static GVariant *
make_dicts (void)
{
  GVariantBuilder list;

  g_variant_builder_init (&list, G_VARIANT_TYPE ("aa{sv}"));
  for (int i = 0; i < 1000; i++)
    {
      g_autofree char *name = g_strdup_printf ("item%d", i);
      const char *tags[] = { "a", "b" };

      g_variant_builder_open (&list, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&list, "{sv}", "id", g_variant_new_int64 (i));
      g_variant_builder_add (&list, "{sv}", "name", g_variant_new_string (name));
      g_variant_builder_add (&list, "{sv}", "value", g_variant_new_double (i * 0.5));
      g_variant_builder_add (&list, "{sv}", "tags", g_variant_new_strv (tags, 2));
      g_variant_builder_close (&list);
    }
  return g_variant_ref_sink (g_variant_builder_end (&list));
}

static void
bench (const char *data_name,
       GVariant   *value,
       gsize       n_bytes,
       const char *dir,
       const char *spec,
       guint       repeats)
{
  g_auto(GStrv) parts = g_strsplit (spec, ":", 2);
  JobCompression compression;
  int level = parts[1] ? atoi (parts[1]) : JOB_COMPRESSION_DEFAULT_LEVEL;
  g_autofree char *path = g_strdup_printf ("%s/%s-%s.job", dir, data_name, parts[0]);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  gdouble dumps[16], loads[16], mmaps[16], firsts[16];
  volatile guint8 sink = 0;
  guint64 rss_before, peak = 0;
  char mmap_text[32] = "null";
  char first_text[32] = "null";
  GStatBuf st;

  if (!job_compression_from_name (parts[0], &compression))
    g_error ("unknown codec %s", parts[0]);

  for (guint r = 0; r < repeats; r++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) loaded = NULL;
      gint64 t0;

      g_unlink (path);
      rss_before = status_bytes ("VmRSS:");
      reset_peak ();
      t0 = g_get_monotonic_time ();
      if (!job_dump (value, file, compression, level, NULL, &error))
        g_error ("%s", error->message);
      dumps[r] = (g_get_monotonic_time () - t0) / 1e6;
      peak = MAX (peak, status_bytes ("VmHWM:") - MIN (rss_before, status_bytes ("VmHWM:")));

      t0 = g_get_monotonic_time ();
      loaded = job_load (file, JOB_LOAD_NONE, 0, NULL, &error);
      loads[r] = (g_get_monotonic_time () - t0) / 1e6;
      g_assert (loaded != NULL && same_bytes (loaded, value));
      g_clear_pointer (&loaded, g_variant_unref);

      t0 = g_get_monotonic_time ();
      if (compression == JOB_COMPRESSION_NONE)
        loaded = job_load (file, JOB_LOAD_MMAP, 0, NULL, &error);
      mmaps[r] = (g_get_monotonic_time () - t0) / 1e6;
      if (loaded != NULL)
        sink += first_element (loaded);
      firsts[r] = (g_get_monotonic_time () - t0) / 1e6;
    }
  g_stat (path, &st);
  if (compression == JOB_COMPRESSION_NONE)
    {
      g_snprintf (mmap_text, sizeof mmap_text, "%.7f", median (mmaps, repeats));
      g_snprintf (first_text, sizeof first_text, "%.7f", median (firsts, repeats));
    }
  printf ("{\"impl\": \"joblib-glib\", \"data\": \"%s\", \"codec\": \"%s\", \"level\": %d, "
          "\"bytes\": %" G_GSIZE_FORMAT ", \"file_size\": %" G_GINT64_FORMAT ", "
          "\"dump_s\": %.6f, \"load_s\": %.6f, \"mmap_s\": %s, \"mmap_first_s\": %s, "
          "\"dump_peak_extra\": %" G_GUINT64_FORMAT "}\n",
          data_name, parts[0], level, n_bytes, (gint64) st.st_size,
          median (dumps, repeats), median (loads, repeats),
          mmap_text, first_text,
          peak);
  fflush (stdout);
  g_unlink (path);
}

int
main (int argc, char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) npy = NULL;
  g_autoptr(JobArray) array = NULL;
  g_autoptr(GVariant) array_value = NULL;
  g_autoptr(GVariant) dicts = NULL;

  if (argc < 4)
    {
      fprintf (stderr, "usage: %s ARRAY.npy DIR CODEC[:LEVEL]...\n", argv[0]);
      return 2;
    }
  npy = g_file_new_for_path (argv[1]);
  array = job_array_load_npy (npy, NULL, &error);
  if (array == NULL)
    g_error ("%s", error->message);
  array_value = job_array_to_variant (array);
  dicts = make_dicts ();

  for (int i = 3; i < argc; i++)
    {
      gboolean slow = !g_str_has_prefix (argv[i], "none") && !g_str_has_prefix (argv[i], "lz4") &&
                      !g_str_has_prefix (argv[i], "zstd");

      bench ("array", array_value, g_bytes_get_size (job_array_get_data (array)), argv[2],
             argv[i], slow ? 3 : 7);
      bench ("dicts", dicts, g_variant_get_size (dicts), argv[2], argv[i], 7);
    }
  return 0;
}
