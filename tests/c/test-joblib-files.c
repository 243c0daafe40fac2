/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Files written by Python's joblib.dump (tests/data/joblib-files, made by
 * make-joblib-files.py there), read by job_load(): values and their
 * GVariant mapping, every codec and protocol, and hostile input. */
#include <string.h>

#include <glib/gstdio.h>
#include <joblib-glib.h>

static const char *const mixed_files[] = {
  "mixed.pkl",
  "mixed.pkl.z",
  "mixed.pkl.gz",
  "mixed.pkl.bz2",
  "mixed.pkl.lzma",
  "mixed.pkl.xz",
  "mixed.pkl.lz4",
  "mixed-p2.pkl",
  "mixed-p3.pkl",
  "mixed-p5.pkl",
};

static GFile *
data_file (const char *name)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "joblib-files",
                                                 name, NULL);

  return g_file_new_for_path (path);
}

static GBytes *
data_bytes (const char *name)
{
  g_autoptr (GFile)  file = data_file (name);
  g_autoptr (GError) error = NULL;
  GBytes            *bytes = g_file_load_bytes (file, NULL, NULL, &error);

  g_assert_no_error (error);
  return bytes;
}

static GVariant *
load_bytes (const guint8 *data,
            gsize         size,
            guint64       max_size,
            GError      **error)
{
  g_autoptr (GBytes)       bytes = g_bytes_new (data, size);
  g_autoptr (GInputStream) stream = g_memory_input_stream_new_from_bytes (bytes);

  return job_load_from_stream (stream, max_size, NULL, error);
}

static GVariant *
member (GVariant   *dict,
        const char *key)
{
  GVariant *value = g_variant_lookup_value (dict, key, NULL);

  g_assert_nonnull (value);
  return value;
}

/* The payload of a ("tag", <payload>) pair, checking the tag. */
static GVariant *
tagged (GVariant   *value,
        const char *tag)
{
  const char *found;
  GVariant   *payload;

  g_assert_cmpstr (g_variant_get_type_string (value), ==, "(sv)");
  g_variant_get (value, "(&sv)", &found, &payload);
  g_assert_cmpstr (found, ==, tag);
  return payload;
}

static void
assert_text (GVariant   *value,
             const char *expected)
{
  g_autofree char *text = g_variant_print (value, TRUE);

  g_assert_cmpstr (text, ==, expected);
}

static void
assert_member_text (GVariant   *dict,
                    const char *key,
                    const char *expected)
{
  g_autoptr (GVariant) value = member (dict, key);

  assert_text (value, expected);
}

static void
check_mixed (GVariant *value)
{
  g_autoptr (GVariant) f8 = NULL, fortran = NULL, fortran_dict = NULL;
  g_autoptr (GVariant) object = NULL, object_dict = NULL, scalar = NULL, scalar_array = NULL;
  g_autoptr (JobArray) array = NULL;
  g_autoptr (GError)   error = NULL;
  guint                n_dims;
  const gsize         *shape;

  g_assert_cmpstr (g_variant_get_type_string (value), ==, "a{sv}");
  assert_member_text (value, "int", "int64 1");
  assert_member_text (value, "negative", "int64 -5");
  assert_member_text (value, "int64", "int64 4611686018427387904");
  assert_member_text (value, "bigint", "('bigint', <'1180591620717411303424'>)");
  assert_member_text (value, "negbig", "('bigint', <'-1208925819614629174706176'>)");
  assert_member_text (value, "float", "1.5");
  assert_member_text (value, "complex", "('complex', <(1.0, 2.0)>)");
  assert_member_text (value, "str", "'h\u00e9llo \u2603'");
  assert_member_text (value, "nul", "('str', <[byte 0x61, 0x00, 0x62]>)");
  /* A lone surrogate, as Python's "surrogatepass" writes it */
  assert_member_text (value, "surrogate", "('str', <[byte 0x78, 0xed, 0xb2, 0x80, 0x79]>)");
  assert_member_text (value, "bytes", "[byte 0x00, 0xff]");
  assert_member_text (value, "bytearray", "('bytearray', <[byte 0x61, 0x62]>)");
  assert_member_text (value, "none", "@mv nothing");
  assert_member_text (value, "true", "true");
  assert_member_text (value, "false", "false");
  assert_member_text (value, "tuple", "(<int64 1>, <'a'>, <(<2.0>,)>)");
  assert_member_text (value, "empty_tuple", "()");
  assert_member_text (value, "list", "[<int64 1>, <[<int64 2>, <int64 3>]>, <@a{sv} {}>]");
  assert_member_text (value, "set", "('set', <[<int64 1>, <int64 2>, <int64 3>]>)");
  assert_member_text (value, "frozenset", "('frozenset', <[<'x'>]>)");
  assert_member_text (value, "odict",
                      "('collections.OrderedDict', <{'b': <int64 1>, 'a': <int64 2>}>)");
  assert_member_text (value, "intkeys",
                      "('dict', <[(<int64 1>, <'one'>), (<(<int64 2>, <int64 3>)>, <'pair'>), "
                      "(<@mv nothing>, <'none'>)]>)");
  assert_member_text (value, "shared", "[<[<int64 1>, <int64 2>]>, <[<int64 1>, <int64 2>]>]");
  assert_member_text (value, "dtype", "('numpy.dtype', <'<f4'>)");

  /* numeric C-order arrays are JobArrays */
  f8 = member (value, "f8");
  array = job_array_new_from_variant (f8, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (job_array_get_typestr (array), ==, "<f8");
  shape = job_array_get_shape (array, &n_dims);
  g_assert_cmpuint (n_dims, ==, 2);
  g_assert_cmpuint (shape[0], ==, 2);
  g_assert_cmpuint (shape[1], ==, 3);
  for (guint i = 0; i < 6; i++)
    g_assert_cmpfloat (job_array_get_double (array, i), ==, i);
  g_clear_pointer (&array, job_array_unref);

  /* stored big-endian, loaded in the machine's order as joblib does */
  {
    g_autoptr (GVariant) big = member (value, "big_endian");

    array = job_array_new_from_variant (big, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (job_array_get_typestr (array), ==,
                     G_BYTE_ORDER == G_LITTLE_ENDIAN ? "<i4" : ">i4");
    for (guint i = 0; i < 4; i++)
      g_assert_cmpint (job_array_get_int64 (array, i), ==, i);
    g_clear_pointer (&array, job_array_unref);
  }
  assert_member_text (value, "u1", "('joblib.array', '|u1', [uint64 2], [byte 0x00, 0xff])");
  assert_member_text (value, "b1", "('joblib.array', '|b1', [uint64 1, 2], b'\\001')");
  assert_member_text (value, "zero_d",
                      "('joblib.array', '<f8', @at [], [byte 0x00, 0x00, 0x00, 0x00, 0x00, "
                      "0x00, 0x0a, 0x40])");
  assert_member_text (value, "empty", "('joblib.array', '<f8', [uint64 0, 3], @ay [])");

  /* Fortran order keeps its memory layout in the generic form */
  fortran = member (value, "f4_fortran");
  fortran_dict = tagged (fortran, "numpy.ndarray");
  assert_member_text (fortran_dict, "dtype", "'<f4'");
  assert_member_text (fortran_dict, "shape", "[uint64 3, 4]");
  assert_member_text (fortran_dict, "order", "'F'");
  {
    g_autoptr (GVariant) data = member (fortran_dict, "data");
    gsize                size;
    const float         *floats = g_variant_get_fixed_array (data, &size, 1);

    g_assert_cmpuint (size, ==, 48);
    /* element [i, j] = 4 i + j sits at j * 3 + i */
    for (guint i = 0; i < 3; i++)
      for (guint j = 0; j < 4; j++)
        g_assert_cmpfloat (floats[j * 3 + i], ==, 4 * i + j);
  }
  {
    g_autoptr (GVariant) strings = member (value, "bytes_array");
    g_autoptr (GVariant) dict = tagged (strings, "numpy.ndarray");

    assert_text (dict, "{'dtype': <'|S3'>, 'shape': <[uint64 2]>, 'order': <'C'>, "
                       "'data': <[byte 0x61, 0x62, 0x00, 0x63, 0x64, 0x65]>}");
  }
  {
    g_autoptr (GVariant) dates = member (value, "datetime");
    g_autoptr (GVariant) dict = tagged (dates, "numpy.ndarray");

    assert_member_text (dict, "dtype", "'<M8[D]'");
  }
  {
    g_autoptr (GVariant) deltas = member (value, "timedelta");
    g_autoptr (GVariant) dict = tagged (deltas, "numpy.ndarray");

    assert_member_text (dict, "dtype", "'<m8[ms]'");
  }
  {
    g_autoptr (GVariant) unicode = member (value, "unicode_array");
    g_autoptr (GVariant) dict = tagged (unicode, "numpy.ndarray");

    assert_member_text (dict, "dtype", "'<U3'");
  }

  object = member (value, "object_array");
  object_dict = tagged (object, "numpy.ndarray");
  assert_text (object_dict, "{'dtype': <'|O'>, 'shape': <[uint64 3]>, 'order': <'C'>, "
                            "'items': <[<'a'>, <int64 1>, <@mv nothing>]>}");

  scalar = member (value, "scalar_f8");
  scalar_array = tagged (scalar, "numpy.scalar");
  array = job_array_new_from_variant (scalar_array, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (job_array_get_n_dims (array), ==, 0);
  g_assert_cmpfloat (job_array_get_double (array, 0), ==, 2.5);
  assert_member_text (value, "scalar_i4",
                      "('numpy.scalar', <('joblib.array', '<i4', @at [], "
                      "[byte 0xf9, 0xff, 0xff, 0xff])>)");
}

static void
test_mixed (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (mixed_files); i++)
    {
      g_autoptr (GFile)    file = data_file (mixed_files[i]);
      g_autoptr (GError)   error = NULL;
      g_autoptr (GVariant) value = NULL;

      g_test_message ("%s", mixed_files[i]);
      value = job_load (file, JOB_LOAD_NONE, 0, NULL, &error);
      g_assert_no_error (error);
      check_mixed (value);
      g_assert_cmpint (job_file_format_detect (file, NULL, &error), ==, JOB_FILE_FORMAT_JOBLIB);
      g_assert_no_error (error);
    }
}

static void
test_mmap (void)
{
  const char *const names[] = { "mixed.pkl", "mixed-p2.pkl", "arrays.pkl" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autoptr (GFile)    file = data_file (names[i]);
      g_autoptr (GError)   error = NULL;
      g_autoptr (GVariant) mapped = job_load (file, JOB_LOAD_MMAP, 0, NULL, &error);
      g_autoptr (GVariant) read = job_load (file, JOB_LOAD_NONE, 0, NULL, &error);

      g_assert_no_error (error);
      g_assert_true (g_variant_equal (mapped, read));
      if (i == 0)
        check_mixed (mapped);
    }
}

static void
test_arrays (void)
{
  const char *const names[] = { "arrays.pkl", "arrays.pkl.gz" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autoptr (GFile)    file = data_file (names[i]);
      g_autoptr (GError)   error = NULL;
      g_autoptr (GVariant) value = job_load (file, JOB_LOAD_NONE, 0, NULL, &error);
      g_autoptr (GVariant) first = NULL, second = NULL, dict = NULL, data = NULL;
      g_autoptr (JobArray) array = NULL;
      const gint16        *ones;
      gsize                n;

      g_assert_no_error (error);
      g_assert_cmpuint (g_variant_n_children (value), ==, 2);
      first = g_variant_get_child_value (value, 0);
      g_variant_get (first, "v", &second);
      array = job_array_new_from_variant (second, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (job_array_get_n_elements (array), ==, 10000);
      g_assert_cmpfloat (job_array_get_double (array, 9999), ==, 9999);
      g_clear_pointer (&first, g_variant_unref);
      g_clear_pointer (&second, g_variant_unref);

      first = g_variant_get_child_value (value, 1);
      g_variant_get (first, "v", &second);
      dict = tagged (second, "numpy.ndarray");
      assert_member_text (dict, "order", "'F'");
      assert_member_text (dict, "shape", "[uint64 50, 20]");
      data = member (dict, "data");
      ones = g_variant_get_fixed_array (data, &n, 1);
      g_assert_cmpuint (n, ==, 2000);
      for (guint j = 0; j < 1000; j++)
        g_assert_cmpint (ones[j], ==, 1);
    }
}

static void
test_detect (void)
{
  g_autoptr (GError)   error = NULL;
  g_autofree char     *dir = g_dir_make_tmp ("joblib-files-XXXXXX", &error);
  g_autofree char     *ours_path = g_build_filename (dir, "ours.z", NULL);
  g_autofree char     *text_path = g_build_filename (dir, "text", NULL);
  g_autoptr (GFile)    ours = g_file_new_for_path (ours_path);
  g_autoptr (GFile)    text = g_file_new_for_path (text_path);
  g_autoptr (GFile)    missing = data_file ("missing.pkl");
  g_autoptr (GVariant) value = g_variant_ref_sink (g_variant_new_int32 (3));

  g_assert_no_error (error);
  g_assert_true (job_dump (value, ours, JOB_COMPRESSION_ZLIB, 3, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (job_file_format_detect (ours, NULL, &error), ==,
                   JOB_FILE_FORMAT_JOBLIB_GLIB);
  g_assert_no_error (error);

  g_assert_true (g_file_set_contents (text_path, "\x80\x01hello", -1, NULL));
  g_assert_cmpint (job_file_format_detect (text, NULL, &error), ==, JOB_FILE_FORMAT_UNKNOWN);
  g_assert_no_error (error);

  g_assert_cmpint (job_file_format_detect (missing, NULL, &error), ==, JOB_FILE_FORMAT_UNKNOWN);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);

  g_unlink (ours_path);
  g_unlink (text_path);
  g_rmdir (dir);
}

static void
test_unsupported_class (void)
{
  g_autoptr (GFile)    file = data_file ("standard.pkl");
  g_autoptr (GError)   error = NULL;
  g_autoptr (GVariant) value = job_load (file, JOB_LOAD_NONE, 0, NULL, &error);

  g_assert_null (value);
  g_assert_error (error, JOB_ERROR, JOB_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "fractions.Fraction"));
}

/* Every cut of a joblib file is an error, never a value or a crash. */
static void
test_truncated (void)
{
  const char *const names[] = { "mixed.pkl", "mixed-p2.pkl" };

  for (guint n = 0; n < G_N_ELEMENTS (names); n++)
    {
      g_autoptr (GBytes) bytes = data_bytes (names[n]);
      gsize              size;
      const guint8      *data = g_bytes_get_data (bytes, &size);

      for (gsize cut = 0; cut < size; cut++)
        {
          g_autoptr (GError)   error = NULL;
          g_autoptr (GVariant) value = load_bytes (data, cut, 0, &error);

          g_assert_null (value);
          g_assert_error (error, JOB_ERROR, JOB_ERROR_INVALID_DATA);
        }
    }
}

typedef struct
{
  const char *name;
  const char *data;
  gsize       size;
  JobError    code;
} Hostile;

#define HOSTILE(name, bytes, code)      \
  {                                     \
    name, bytes, sizeof bytes - 1, code \
  }

static void
test_hostile (void)
{
  static const Hostile cases[] = {
    /* l = []; l.append(l) */
    HOSTILE ("recursive list", "\x80\x04]\x94h\x00\x61.", JOB_ERROR_UNSUPPORTED),
    HOSTILE ("code", "\x80\x04\x8c\x02os\x8c\x06system\x93\x8c\x02id\x85R.",
             JOB_ERROR_UNSUPPORTED),
    HOSTILE ("text global", "\x80\x02"
                            "cposix\nsystem\n.",
             JOB_ERROR_UNSUPPORTED),
    HOSTILE ("huge string", "\x80\x04\x8d\xff\xff\xff\xff\xff\xff\xff\x7f"
                            "ab.",
             JOB_ERROR_TOO_LARGE),
    HOSTILE ("short string", "\x80\x04X\x10\x00\x00\x00"
                             "ab.",
             JOB_ERROR_INVALID_DATA),
    HOSTILE ("huge long", "\x80\x04\x8b\xff\xff\xff\x7f"
                          "ab.",
             JOB_ERROR_UNSUPPORTED),
    HOSTILE ("memo miss", "\x80\x04h\x05.", JOB_ERROR_INVALID_DATA),
    HOSTILE ("empty stop", "\x80\x04.", JOB_ERROR_INVALID_DATA),
    HOSTILE ("stack underflow", "\x80\x04\x86.", JOB_ERROR_INVALID_DATA),
    HOSTILE ("tuple across a mark", "\x80\x04K\x01(K\x01\x86.", JOB_ERROR_INVALID_DATA),
    HOSTILE ("unhashable key", "\x80\x04}]K\x01s.", JOB_ERROR_INVALID_DATA),
    HOSTILE ("no mark", "\x80\x04K\x01t.", JOB_ERROR_INVALID_DATA),
    HOSTILE ("protocol 6", "\x80\x06N.", JOB_ERROR_INVALID_DATA),
    HOSTILE ("second protocol 6", "\x80\x04\x80\x06N.", JOB_ERROR_UNSUPPORTED),
    HOSTILE ("text opcode", "\x80\x04I1\n.", JOB_ERROR_UNSUPPORTED),
    HOSTILE ("call a string", "\x80\x04\x8c\x01x)R.", JOB_ERROR_INVALID_DATA),
    HOSTILE ("build an int", "\x80\x04K\x01}b.", JOB_ERROR_UNSUPPORTED),
    HOSTILE ("dtype without state",
             "\x80\x04\x8c\x05numpy\x8c\x05dtype\x93\x8c\x02"
             "f8\x89\x88\x87R.",
             JOB_ERROR_INVALID_DATA),
    HOSTILE ("no stop", "\x80\x04K\x01", JOB_ERROR_INVALID_DATA),
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError)   error = NULL;
      g_autoptr (GVariant) value = NULL;

      g_test_message ("%s", cases[i].name);
      value = load_bytes ((const guint8 *) cases[i].data, cases[i].size,
                          1024 * 1024, &error);
      g_assert_null (value);
      g_assert_error (error, JOB_ERROR, (gint) cases[i].code);
    }
}

/* Shared containers expand when they become a GVariant: a list holding
 * the previous one twice, 64 times over, must hit the size limit. */
static void
test_expansion (void)
{
  g_autoptr (GByteArray) pickle = g_byte_array_new ();
  g_autoptr (GError)     error = NULL;
  g_autoptr (GVariant)   value = NULL;

  g_byte_array_append (pickle, (const guint8 *) "\x80\x04]", 3);
  for (guint i = 0; i < 64; i++)
    g_byte_array_append (pickle, (const guint8 *) "\x32\x86", 2); /* DUP TUPLE2 */
  g_byte_array_append (pickle, (const guint8 *) ".", 1);
  value = load_bytes (pickle->data, pickle->len, 0, &error);
  g_assert_null (value);
  g_assert_error (error, JOB_ERROR, JOB_ERROR_TOO_LARGE);
}

/* The same as a dictionary key: refused at the key's size limit, fast. */
static void
test_expanding_key (void)
{
  g_autoptr (GByteArray) pickle = g_byte_array_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) value = NULL;

  g_byte_array_append (pickle, (const guint8 *) "\x80\x04}N", 4);
  for (guint i = 0; i < 64; i++)
    g_byte_array_append (pickle, (const guint8 *) "\x32\x86", 2); /* DUP TUPLE2 */
  g_byte_array_append (pickle, (const guint8 *) "Ns.", 3);
  value = load_bytes (pickle->data, pickle->len, 0, &error);
  g_assert_null (value);
  g_assert_error (error, JOB_ERROR, JOB_ERROR_TOO_LARGE);
}

static void
test_depth (void)
{
  g_autoptr (GByteArray) pickle = g_byte_array_new ();
  g_autoptr (GError)     error = NULL;
  g_autoptr (GVariant)   value = NULL;

  g_byte_array_append (pickle, (const guint8 *) "\x80\x04N", 3);
  for (guint i = 0; i < 1000; i++)
    g_byte_array_append (pickle, (const guint8 *) "\x85", 1); /* TUPLE1 */
  g_byte_array_append (pickle, (const guint8 *) ".", 1);
  value = load_bytes (pickle->data, pickle->len, 0, &error);
  g_assert_null (value);
  g_assert_error (error, JOB_ERROR, JOB_ERROR_TOO_LARGE);
}

static void
test_max_size (void)
{
  g_autoptr (GBytes)   bytes = data_bytes ("arrays.pkl");
  g_autoptr (GError)   error = NULL;
  g_autoptr (GVariant) value = NULL;
  gsize                size;
  const guint8        *data = g_bytes_get_data (bytes, &size);

  value = load_bytes (data, size, 50000, &error);
  g_assert_null (value);
  g_assert_error (error, JOB_ERROR, JOB_ERROR_TOO_LARGE);
  g_clear_error (&error);
  value = load_bytes (data, size, 200000, &error);
  g_assert_no_error (error);
  g_assert_nonnull (value);
}

/* Python keeps one entry per key that compares equal: 1, 1.0 and True. */
static void
test_duplicate_keys (void)
{
  /* {1: 'a', 1.0: 'b', True: 'c', 2: 'd'} written by hand */
  static const char pickle[] =
    "\x80\x04}(K\x01\x8c\x01"
    "a"
    "G\x3f\xf0\x00\x00\x00\x00\x00\x00\x8c\x01"
    "b"
    "\x88\x8c\x01"
    "c"
    "K\x02\x8c\x01"
    "du.";
  g_autoptr (GError)   error = NULL;
  g_autoptr (GVariant) value = load_bytes ((const guint8 *) pickle, sizeof pickle - 1, 0, &error);

  g_assert_no_error (error);
  assert_text (value, "('dict', <[(<int64 1>, <'c'>), (<int64 2>, <'d'>)]>)");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/joblib/joblib-files/mixed", test_mixed);
  g_test_add_func ("/joblib/joblib-files/mmap", test_mmap);
  g_test_add_func ("/joblib/joblib-files/arrays", test_arrays);
  g_test_add_func ("/joblib/joblib-files/detect", test_detect);
  g_test_add_func ("/joblib/joblib-files/unsupported-class", test_unsupported_class);
  g_test_add_func ("/joblib/joblib-files/truncated", test_truncated);
  g_test_add_func ("/joblib/joblib-files/hostile", test_hostile);
  g_test_add_func ("/joblib/joblib-files/expansion", test_expansion);
  g_test_add_func ("/joblib/joblib-files/expanding-key", test_expanding_key);
  g_test_add_func ("/joblib/joblib-files/depth", test_depth);
  g_test_add_func ("/joblib/joblib-files/max-size", test_max_size);
  g_test_add_func ("/joblib/joblib-files/duplicate-keys", test_duplicate_keys);
  return g_test_run ();
}
