/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "job-cache-metadata-private.h"

/* Whether @text is one JSON object and nothing else but white space.
 * json-glib 1.6 leaks the values that follow the first one ("{}{}" loses
 * the second object; found by fuzz-metadata), so such files never reach
 * it. Only the nesting is followed here: the parser checks the rest. */
static gboolean
is_one_json_object (const char *text,
                    gsize       length)
{
  const char *end = text + length;
  const char *p = text;
  gsize depth = 0;

  if (length >= 3 && memcmp (p, "\xef\xbb\xbf", 3) == 0)
    p += 3;
  while (p < end && g_ascii_isspace (*p))
    p++;
  if (p == end || *p != '{')
    return FALSE;

  for (; p < end; p++)
    {
      if (*p == '"')
        {
          for (p++; p < end && *p != '"'; p++)
            if (*p == '\\')
              p++;
          if (p >= end)
            return FALSE;
        }
      else if (*p == '{' || *p == '[')
        depth++;
      else if (*p == '}' || *p == ']')
        {
          if (--depth == 0)
            break;
        }
    }
  if (p == end)
    return FALSE;
  for (p++; p < end; p++)
    if (!g_ascii_isspace (*p))
      return FALSE;
  return TRUE;
}

gboolean
job_cache_metadata_parse (const char  *contents,
                          gsize        length,
                          double      *duration,
                          char       **input_args)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root;
  JsonObject *object;

  if (contents == NULL || !is_one_json_object (contents, length) ||
      !json_parser_load_from_data (parser, contents, (gssize) length, NULL))
    return FALSE;

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return FALSE;
  object = json_node_get_object (root);

  if (duration != NULL)
    *duration = json_object_get_double_member_with_default (object, "duration", -1.0);

  if (input_args != NULL)
    {
      JsonObject *args = json_object_get_member (object, "input_args") != NULL &&
                         JSON_NODE_HOLDS_OBJECT (json_object_get_member (object, "input_args"))
                         ? json_object_get_object_member (object, "input_args") : NULL;
      g_autoptr(GString) text = g_string_new (NULL);
      g_autoptr(GList) names = NULL;

      if (args != NULL)
        {
          names = json_object_get_members (args);
          for (GList *l = names; l != NULL; l = l->next)
            {
              JsonNode *node = json_object_get_member (args, l->data);

              if (text->len > 0)
                g_string_append (text, ", ");
              g_string_append_printf (text, "%s=%s", (const char *) l->data,
                                      JSON_NODE_HOLDS_VALUE (node) &&
                                      json_node_get_value_type (node) == G_TYPE_STRING
                                      ? json_node_get_string (node) : "?");
            }
        }
      *input_args = args != NULL ? g_string_free (g_steal_pointer (&text), FALSE) : NULL;
    }

  return TRUE;
}

/* A JSON string: quotes, backslashes and control characters escaped, the
 * rest (UTF-8) as it is. */
static void
append_string (GString    *out,
               const char *text)
{
  g_string_append_c (out, '"');
  for (const char *p = text; *p != '\0'; p++)
    {
      guchar c = (guchar) *p;

      switch (c)
        {
        case '"':  g_string_append (out, "\\\""); break;
        case '\\': g_string_append (out, "\\\\"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        case '\t': g_string_append (out, "\\t"); break;
        default:
          if (c < 0x20 || c == 0x7f)
            g_string_append_printf (out, "\\u%04x", c);
          else
            g_string_append_c (out, (char) c);
        }
    }
  g_string_append_c (out, '"');
}

/* A JSON number that reads back as a float ("2.0", not "2"), to the
 * microsecond (times and durations: what g_get_real_time() resolves),
 * written without printf (whose floating-point path cost 4 000
 * instructions a number). JSON has no NaN or infinity: those become 0.0,
 * as do magnitudes beyond 1e12 s. */
static void
append_double (GString *out,
               double   value)
{
  char digits[24];
  gint64 micros;
  guint64 whole;
  guint frac, n = 0;

  if (!isfinite (value) || fabs (value) >= 1e12)
    value = 0.0;
  micros = (gint64) llround (value * G_USEC_PER_SEC);
  if (micros < 0)
    {
      g_string_append_c (out, '-');
      micros = -micros;
    }
  whole = (guint64) micros / G_USEC_PER_SEC;
  frac = (guint) ((guint64) micros % G_USEC_PER_SEC);
  do
    digits[n++] = (char) ('0' + whole % 10);
  while ((whole /= 10) != 0);
  while (n > 0)
    g_string_append_c (out, digits[--n]);
  g_string_append_c (out, '.');
  /* six fraction digits, trailing zeros dropped, one kept at least */
  for (int i = 5; i >= 0; i--, frac /= 10)
    digits[i] = (char) ('0' + frac % 10);
  n = 6;
  while (n > 1 && digits[n - 1] == '0')
    n--;
  g_string_append_len (out, digits, n);
}

char *
job_cache_metadata_build (const char         *function,
                          const char         *version,
                          const char         *args_hash,
                          double              duration,
                          double              time,
                          const char * const *arg_names,
                          const char * const *arg_texts,
                          gsize               n_args)
{
  GString *out = g_string_sized_new (192);

  g_string_append (out, "{\"function\":");
  append_string (out, function);
  g_string_append (out, ",\"version\":");
  append_string (out, version);
  g_string_append (out, ",\"args_hash\":");
  append_string (out, args_hash);
  g_string_append (out, ",\"duration\":");
  append_double (out, duration);
  g_string_append (out, ",\"time\":");
  append_double (out, time);
  g_string_append (out, ",\"input_args\":{");
  for (gsize i = 0; i < n_args; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      append_string (out, arg_names[i]);
      g_string_append_c (out, ':');
      append_string (out, arg_texts[i]);
    }
  g_string_append (out, "}}");
  return g_string_free (out, FALSE);
}
