/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <inttypes.h>

#include <glib.h>

G_BEGIN_DECLS

/* The library's messages are looked up in its own text domain, bound on
 * first use so that applications never have to call bindtextdomain() for
 * us and loading the library costs nothing. */
const char *job_gettext (const char *msgid) G_GNUC_FORMAT (1);

#define _(String) job_gettext (String)
#define N_(String) (String)

G_END_DECLS
