/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

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
